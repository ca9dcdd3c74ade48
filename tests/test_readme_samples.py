"""The README's sample outputs are what the commands print.

A sample is a ```sh block holding one ``adbench ...`` command, followed directly by a
plain ``` block: the output the command prints, which this test runs and compares line
by line (trailing spaces aside).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from adbench.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SAMPLE = re.compile(r"```sh\n(adbench [^\n]*)\n```\n\n```\n(.*?)```", re.S)
SAMPLES = SAMPLE.findall(README)


def _output(command: str) -> str:
    args = shlex.split(command)[1:]
    runner = CliRunner()
    with runner.isolation() as streams:
        try:
            main(args)
        except SystemExit as exc:
            assert not exc.code, f"{command} exited with {exc.code}"
        return streams[0].getvalue().decode()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def test_the_readme_shows_samples_of_diff_and_trace():
    commands = [c.split()[1] for c, _ in SAMPLES]
    assert "diff" in commands and "trace" in commands, commands


@pytest.mark.parametrize("command,shown", SAMPLES, ids=[c for c, _ in SAMPLES])
def test_a_readme_sample_is_what_the_command_prints(command, shown):
    assert _lines(_output(command)) == _lines(shown)
