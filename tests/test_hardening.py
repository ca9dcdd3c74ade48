"""Faults found by injecting them: two processes in one run folder, descendants of
a problem that outlive it, signals at every moment, problem files that exit or
hang at import, nonsense limits, settings a resume forgot, damaged results.csv
files, and expressions folded wrongly by the parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import invoke
from test_resume import ROOT, _start_held_run, held_dir  # noqa: F401 - a fixture

from adbench.measure import harness
from adbench.measure.harness import read_results
from adbench.methods import METHODS


def test_a_second_process_in_a_held_run_folder_is_refused_naming_the_holder(held_dir, tmp_path):
    out = tmp_path / "run"
    first = _start_held_run(held_dir, out)
    try:
        second = subprocess.Popen(
            [sys.executable, "-m", "adbench", "run", "--resume", str(out), "--quiet"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _, err = second.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # it went on measuring in the same folder
            second.kill()
            second.communicate()
            raise AssertionError("a resume ran while the run still held its folder")
        assert second.returncode == 2
        assert err.strip().splitlines() == [
            f"adbench: error: {out} is in use by another adbench run (pid {first.pid}); wait "
            "for it to finish or choose another --out"]
    finally:
        (held_dir / "hold").unlink()
    assert first.wait(60) == 0, first.communicate()
    df = read_results(out / "results.csv")
    assert len(df) == 3 * len(METHODS)  # every row of the first run, each once
    assert not df.duplicated(list(harness.KEY)).any()
