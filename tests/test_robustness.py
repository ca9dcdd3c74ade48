"""Fault isolation, hard time limits and bad input: every failure is a row or one line.

Each fault is real: a user problem that raises, returns nan, hangs inside C code
(a catastrophic regular expression holds the GIL, so no Python-level flag could
stop it), exhausts memory or crashes the interpreter; a symbolic derivation that
swells; a reference that fails. The run must go on and say what happened.
"""

from __future__ import annotations

import ctypes
import errno
import faulthandler
import os
from pathlib import Path

import pandas as pd
import pytest
from test_cli import invoke

from adbench.measure import harness
from adbench.measure.harness import ResultsCSVError, read_results
from adbench.measure.isolation import run_isolated

#: A hang inside C code: the regex engine holds the GIL and checks no signal.
HANG = 're.match(r"(a+)+$", "a" * 64 + "b")'

FAULTS = f'''
import re
import numpy as np
from adbench import problem

@problem(name="raiser", n=1, m=1, x0=[1.0])
def raiser(x, xp):
    raise RuntimeError("boom")

@problem(name="nan-out", n=1, m=1, x0=[1.0])
def nan_out(x, xp):
    return x[0] * float("nan")

@problem(name="neg-log", n=1, m=1, x0=[-1.0], description="log outside its domain")
def neg_log(x, xp):
    return xp.log(x[0])

@problem(name="sqrt-at-zero", n=1, m=1, x0=[0.0])
def sqrt_at_zero(x, xp):
    return xp.sqrt(x[0])

@problem(name="wrong-shape", n=2, m=2, x0=[1.0, 2.0])
def wrong_shape(x, xp):
    return [x[0], x[1], x[0] * x[1]]

@problem(name="non-numeric", n=1, m=1, x0=[1.0])
def non_numeric(x, xp):
    return "hello"

@problem(name="c-hang", n=1, m=1, x0=[1.0])
def c_hang(x, xp):
    {HANG}
    return x[0]

@problem(name="hangs-on-symbols", n=2, m=1, x0=[1.0, 2.0])
def hangs_on_symbols(x, xp):
    if xp.name == "sympy":
        {HANG}
    return x[0] * x[1]

@problem(name="hog-on-symbols", n=2, m=1, x0=[1.0, 2.0])
def hog_on_symbols(x, xp):
    if xp.name == "sympy":
        hog = []
        while True:
            hog.append(np.ones(2**22))  # 32 MiB a step, touched
    return x[0] * x[1]

@problem(name="no-reference", n=2, m=1, x0=[1.0, 2.0])
def no_reference(x, xp):
    if xp.name == "mpmath":
        raise ArithmeticError("no high precision here")
    return xp.sin(x[0]) * x[1]

@problem(name="slow-reference", n=2, m=1, x0=[1.0, 2.0])
def slow_reference(x, xp):
    if xp.name == "mpmath":
        {HANG}
    return xp.sin(x[0]) * x[1]
'''


@pytest.fixture(scope="module", autouse=True)
def warm_sympy():
    """One symbolic derivation here, so that forked workers inherit SymPy's
    caches: a cold first lambdify can take a second on a loaded machine, and
    the tests below give normal measurements a time limit of 2 s."""
    from adbench.methods import METHODS
    from adbench.registry import load_registry
    inst = load_registry().get("survey-example").instance()
    METHODS["symbolic"].prepare(inst).jacobian(inst.x0)


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    (folder / "faults.py").write_text(FAULTS)
    return folder


def _run(faults, problems, methods=("ad-forward", "ad-reverse", "symbolic"), **kw):
    df = harness.run(problems=problems, methods=methods, problems_dirs=[faults],
                     timeout=kw.pop("timeout", 30), **kw)
    return {(r.problem, r.method): r for r in df.itertuples()}


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# --------------------------------------------------------------------------
# 1. Fault isolation and time limits
# --------------------------------------------------------------------------

def test_a_problem_that_raises_gives_error_rows_and_the_run_goes_on(faults):
    rows = _run(faults, ["raiser", "survey-example"])
    for method in ("ad-forward", "ad-reverse", "symbolic"):
        assert rows["raiser", method].status == "error"
        assert rows["raiser", method].message == \
            "problem 'raiser': f(x0) raised RuntimeError: boom"
        assert rows["survey-example", method].status == "ok"
        assert rows["survey-example", method].max_rel_error < 1e-12


def test_a_nan_output_gives_nonfinite_rows(faults):
    rows = _run(faults, ["nan-out"])
    assert {r.status for r in rows.values()} == {"nonfinite"}
    assert rows["nan-out", "symbolic"].message == \
        "problem 'nan-out': f(x0) is not finite (1 of 1 values are nan or inf)"


def test_a_point_outside_the_domain_names_the_operation(faults):
    rows = _run(faults, ["neg-log", "survey-example"])
    row = rows["neg-log", "ad-reverse"]
    assert row.status == "nonfinite"
    assert "invalid value encountered in log" in row.message
    assert "outside the domain" in row.message
    assert rows["survey-example", "ad-reverse"].status == "ok"


def test_a_finite_value_with_an_infinite_derivative_is_nonfinite(faults):
    rows = _run(faults, ["sqrt-at-zero"], methods=("ad-forward",))
    row = rows["sqrt-at-zero", "ad-forward"]
    assert row.status == "nonfinite"
    assert row.message.startswith("1 of 1 Jacobian entries are not finite at x0 (f is finite")


@pytest.mark.parametrize("name,needle", [
    ("wrong-shape", "problem 'wrong-shape': f(x0) returned 3 values, expected m = 2"),
    ("non-numeric", "problem 'non-numeric': f(x0) returned a non-numeric value 'hello' (str)"),
])
def test_a_malformed_output_is_an_error_row_naming_the_problem(faults, name, needle):
    rows = _run(faults, [name])
    assert {r.status for r in rows.values()} == {"error"}
    assert {r.message for r in rows.values()} == {needle}


def test_a_hang_in_c_code_is_killed_and_the_run_goes_on(faults):
    rows = _run(faults, ["c-hang", "hangs-on-symbols", "survey-example"], timeout=2)
    assert rows["c-hang", "ad-reverse"].status == "timeout"
    assert "evaluating f(x0) alone was killed after the time limit of 2 s" in \
        rows["c-hang", "ad-reverse"].message
    # only the method that hangs is stopped; the others of the same problem finish
    assert rows["hangs-on-symbols", "symbolic"].status == "timeout"
    assert rows["hangs-on-symbols", "symbolic"].message == "killed after the time limit of 2 s"
    assert rows["hangs-on-symbols", "ad-reverse"].status == "ok"
    assert rows["survey-example", "symbolic"].status == "ok"


def test_symbolic_swell_times_out_and_larger_sizes_are_skipped():
    # SymPy needs 0.8 s at depth 10, 4 s at depth 12 and 25 s at depth 14 here (5x per
    # two levels): depth 16, ~2 minutes, is far beyond the 2 s limit on any machine.
    df = harness.run(problems=["logistic-map"], sizes={"depth": [16, 18]},
                     methods=["symbolic", "ad-reverse"], timeout=2)
    rows = {(r.sizes, r.method): r for r in df.itertuples()}
    assert rows["depth=16", "symbolic"].status == "timeout"
    assert rows["depth=16", "symbolic"].message == "killed after the time limit of 2 s"
    assert rows["depth=18", "symbolic"].message == \
        "skipped: the smaller size depth=16 timed out"
    assert rows["depth=18", "ad-reverse"].status == "ok"


def _address_space() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_a_memory_blowup_is_an_error_row_and_normal_measurements_still_fit(faults):
    limit = _address_space() + 384 * 2**20  # above what this process maps already
    rows = _run(faults, ["hog-on-symbols", "survey-example"], memory_limit=limit)
    row = rows["hog-on-symbols", "symbolic"]
    assert row.status == "error"
    assert row.message.startswith("MemoryError: the measurement ran out of memory (limit")
    assert rows["hog-on-symbols", "ad-reverse"].status == "ok"
    assert {rows["survey-example", m].status for m in ("ad-forward", "ad-reverse", "symbolic")} \
        == {"ok"}


def _segfault():
    faulthandler.disable()  # pytest's handler would print the worker's stack
    ctypes.string_at(0)


def test_a_crashing_worker_is_an_error_naming_the_signal():
    outcome = run_isolated(_segfault, timeout=5)
    assert outcome.status == "error"
    assert outcome.message == "worker died: killed by SIGSEGV"


def test_a_failing_reference_leaves_a_note_not_a_crash(faults):
    rows = _run(faults, ["no-reference", "slow-reference"], timeout=2)
    row = rows["no-reference", "ad-reverse"]
    assert row.status == "ok" and pd.isna(row.max_rel_error)
    assert row.message == ("no reference (error: ArithmeticError: no high precision here)")
    row = rows["slow-reference", "symbolic"]
    assert row.status == "ok"
    assert row.message == "no reference (timeout: killed after the time limit of 2 s)"


# --------------------------------------------------------------------------
# 3. Bad input: one line naming the file or problem, exit code 2
# --------------------------------------------------------------------------

@pytest.mark.parametrize("spec,needle", [
    ("n=1,,2", "malformed --sizes 'n=1,,2': values must be numbers"),
    ("n=two", "malformed --sizes 'n=two': values must be numbers"),
    ("=3", "malformed --sizes '=3': expected NAME=V1,V2,..."),
    ("n=", "malformed --sizes 'n=': expected NAME=V1,V2,..."),
])
def test_malformed_sizes_is_one_line_and_exit_code_2(spec, needle):
    result = invoke(["run", "--problem", "rosenbrock", "--sizes", spec])
    assert result.exit_code == 2
    assert needle in _one_line(result.output)


@pytest.mark.parametrize("args,needle", [
    (["run", "--problem", "nosuch-problem"], "unknown problem 'nosuch-problem'"),
    (["run", "--problem", "rosenbrock", "--method", "autodiff"], "unknown method 'autodiff'"),
    (["run", "no-such-suite"], "unknown suite 'no-such-suite'"),
])
def test_unknown_names_are_one_line_and_exit_code_2(args, needle):
    result = invoke(args)
    assert result.exit_code == 2
    assert needle in _one_line(result.output)


@pytest.mark.parametrize("source,needle", [
    ("def f(:\n    pass\n", "bad.py:1: syntax error"),
    ("import math\nX = 1 / 0\n", "bad.py: import failed: ZeroDivisionError: division by zero"),
    ("import no_such_module_here\n", "bad.py: import failed: ModuleNotFoundError"),
])
def test_a_broken_problem_file_is_named(tmp_path, source, needle):
    (tmp_path / "bad.py").write_text(source)
    result = invoke(["run", "--problems-dir", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert needle in _one_line(result.output)


def test_debug_shows_the_traceback_instead(tmp_path):
    (tmp_path / "bad.py").write_text("X = 1 / 0\n")
    with pytest.raises(Exception, match="import failed"):
        invoke(["--debug", "run", "--problems-dir", str(tmp_path)])


def test_bad_rows_of_a_user_problem_through_the_command(faults, tmp_path):
    out = tmp_path / "o"
    result = invoke(["run", "--problems-dir", str(faults), "--problem", "wrong-shape",
                     "--problem", "neg-log", "--problem", "survey-example",
                     "--method", "ad-reverse", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    df = read_results(out / "results.csv").set_index("problem")
    assert df.loc["wrong-shape", "status"] == "error"
    assert df.loc["neg-log", "status"] == "nonfinite"
    assert df.loc["survey-example", "status"] == "ok"


@pytest.mark.parametrize("where,needle", [
    ("under-a-file", "is not a folder"),
    ("proc", "cannot write there"),
    ("read-only", "cannot write there (Permission denied)"),
])
def test_an_unwritable_output_folder_is_one_line_and_exit_code_2(tmp_path, where, needle):
    if where == "under-a-file":
        (tmp_path / "plain").write_text("")
        out = tmp_path / "plain" / "out"
    elif where == "proc":  # a file system that refuses new folders, even to root
        if not os.path.isdir("/proc/self"):
            pytest.skip("needs Linux /proc")
        out = "/proc/adbench-no-such-folder"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        (tmp_path / "ro").mkdir(mode=0o500)
        out = tmp_path / "ro" / "out"
    result = invoke(["run", "--problem", "survey-example", "--out", str(out)])
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert line.startswith(f"adbench: error: --out {out}:") and needle in line


def test_resume_of_a_missing_folder_is_one_line(tmp_path):
    result = invoke(["run", "--resume", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no results.csv there to complete" in _one_line(result.output)


# --------------------------------------------------------------------------
# Output that cannot be written: a full disk, a file in the way
# --------------------------------------------------------------------------

#: Five quick measurements of survey-example.
FIVE = ["--problem", "survey-example", "--method", "manual", "--method", "fd-forward",
        "--method", "fd-central", "--method", "ad-forward", "--method", "ad-reverse"]


class _FillsUp:
    """results.csv on a disk that is full after ``lines`` lines (the header counts)."""

    def __init__(self, real, lines: int):
        self._real, self._left = real, lines

    def write(self, text: str) -> int:
        if self._left <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._left -= text.count("\n")
        return self._real.write(text)

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_a_full_disk_mid_run_is_one_line_exit_code_1_and_keeps_the_rows(tmp_path, monkeypatch):
    real_open = open

    def opening(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        return _FillsUp(fh, 1 + 3) if Path(path).name == "results.csv" and "a" in mode else fh

    # results.csv is opened by the harness part that writes it
    monkeypatch.setattr(harness.results, "open", opening, raising=False)
    out = tmp_path / "run"
    result = invoke(["run", *FIVE, "--out", str(out), "--quiet"])
    assert result.exit_code == 1
    assert _one_line(result.output) == (
        f"adbench: error: cannot write {out / 'results.csv'}: No space left on device; the "
        f"finished rows are kept; complete the run with: adbench run --resume {out}")
    kept = read_results(out / "results.csv")
    assert list(kept.method) == ["manual", "fd-forward", "fd-central"]
    assert (kept.status == "ok").all()

    monkeypatch.undo()  # space again
    result = invoke(["run", "--resume", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    final = read_results(out / "results.csv")
    assert list(final.method) == ["manual", "fd-forward", "fd-central", "ad-forward",
                                  "ad-reverse"]
    assert (final.status == "ok").all()
    # the rows written before the disk filled up were kept, not measured again
    pd.testing.assert_frame_equal(final.iloc[:3], kept)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux /dev/full")
def test_a_results_csv_that_takes_no_data_is_one_line_and_exit_code_2(tmp_path):
    # /dev/full: every write fails with ENOSPC, already the header's
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.csv").symlink_to("/dev/full")
    result = invoke(["run", *FIVE, "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    assert _one_line(result.output) == (
        f"adbench: error: cannot write {out / 'results.csv'}: No space left on device")


def test_a_report_that_cannot_be_written_keeps_every_row(tmp_path):
    out = tmp_path / "run"
    (out / "report.md").mkdir(parents=True)  # a non-empty folder in the report's place
    (out / "report.md" / "keep").write_text("")
    result = invoke(["run", *FIVE, "--out", str(out), "--quiet"])
    assert result.exit_code == 1
    line = _one_line(result.output)
    assert line.startswith(f"adbench: error: cannot write {out / 'report.md'}: ")
    assert line.endswith(f"complete the run with: adbench run --resume {out}")
    assert len(read_results(out / "results.csv")) == 5


# --------------------------------------------------------------------------
# Corrupt results.csv: --resume and read_results
# --------------------------------------------------------------------------

def _header() -> str:
    return ",".join(harness.columns()) + "\n"


def _row(**values) -> str:
    row = {"problem": "survey-example", "sizes": "", "n": 2, "m": 1, "method": "ad-reverse",
           "status": "ok", "tolerance": 1e-12, "version": "abc"}
    row.update(values)
    return ",".join(str(row.get(c, "")) for c in harness.columns()) + "\n"


CORRUPT = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "contains NUL bytes"),
    "latin-1": ("problem,\xe9t\xe9\n".encode("latin-1"), "not UTF-8 text"),
    "empty": (b"", "empty"),
    "other-csv": (b"a,b,c\n1,2,3\n", "not an adbench results file (missing columns"),
    "bad-status": ((_header() + _row(status="fine") + _row()).encode(),
                   "line 2 has an unknown status 'fine'"),
    "short-row": ((_header() + "survey-example,,2\n" + _row()).encode(),
                  "line 2 has 3 fields"),
    "bad-number": ((_header() + _row(n="two")).encode(), "column n holds 'two'"),
    "open-quote": ((_header() + _row(message='"half')).encode(), "not a readable CSV"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_read_results_names_the_file_and_the_defect(tmp_path, case):
    data, needle = CORRUPT[case]
    path = tmp_path / "results.csv"
    path.write_bytes(data)
    with pytest.raises(ResultsCSVError) as info:
        read_results(path)
    assert str(info.value).startswith(str(path))
    assert needle in str(info.value)


@pytest.mark.parametrize("case", sorted(set(CORRUPT) - {"empty", "bad-number"}))
def test_resume_of_a_corrupt_csv_is_one_line_and_exit_code_2(tmp_path, case):
    data, needle = CORRUPT[case]
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "results.csv").write_bytes(data)
    harness._write_run_info(folder, ["survey-example"], ["ad-reverse"], {}, None, 5, [])
    result = invoke(["run", "--resume", str(folder), "--quiet"])
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert str(folder / "results.csv") in line and needle in line


@pytest.mark.parametrize("text,needle", [
    ("{not json", "unreadable"),
    ('{"problems": []}', "'methods' missing or of the wrong type"),
    ("[1, 2]", "not an adbench run description"),
])
def test_resume_with_a_corrupt_run_json_is_one_line(tmp_path, text, needle):
    (tmp_path / "results.csv").write_text(_header())
    (tmp_path / "run.json").write_text(text)
    result = invoke(["run", "--resume", str(tmp_path)])
    assert result.exit_code == 2
    assert needle in _one_line(result.output)


def test_a_torn_last_line_is_dropped_and_the_rest_kept(tmp_path):
    path = tmp_path / "results.csv"
    complete = _header() + _row() + _row(method="ad-forward")
    path.write_text(complete + _row(method="symbolic")[:-9])  # cut inside the last row
    df = read_results(path)
    assert list(df.method) == ["ad-reverse", "ad-forward"]
    # --resume's salvage rewrites the file without the torn line
    done, stale = harness._salvage(path, harness.columns())
    assert done == {("survey-example", "", "ad-reverse"): "ok",
                    ("survey-example", "", "ad-forward"): "ok"}
    assert stale == {}
    assert path.read_text() == complete


def test_a_torn_line_that_looks_complete_is_still_dropped(tmp_path):
    # Cut inside the last field: the CSV parser alone would see a complete row.
    path = tmp_path / "results.csv"
    path.write_text(_header() + _row() + _row(method="symbolic", version="0123456789ab")[:-5])
    assert list(read_results(path).method) == ["ad-reverse"]


def test_messages_are_written_on_one_line(tmp_path):
    writer = harness.ResultsWriter(tmp_path / "results.csv", harness.columns())
    writer.write({"problem": "p", "method": "symbolic", "status": "unsupported",
                  "message": "first line\nsecond\tline"})
    writer.close()
    text = (tmp_path / "results.csv").read_text()
    assert text.count("\n") == 2
    assert read_results(tmp_path / "results.csv").message[0] == "first line second line"

