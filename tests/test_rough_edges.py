"""What a new user meets first: a problem from their own script, size and tolerance
values that make no sense, f returning None, and where commands write by default."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import adbench
import adbench.methods
from adbench import problem
from adbench.cli.base import dated_folder
from adbench.problem import ProblemDefinitionError
from adbench.testing import jacobian_errors

ROOT = Path(__file__).resolve().parent.parent


@problem(name="script-square", n=2, m=1, x0=[1.0, 2.0])
def script_square(x, xp):
    return xp.sum(x * x)


@problem(name="script-no-return", n=2, m=1, x0=[1.0, 2.0])
def script_no_return(x, xp):
    x * 2  # noqa: B018 - the missing return is the point


def test_run_accepts_a_problem_defined_in_the_calling_script():
    df = adbench.run(problems=[script_square], methods=["ad-reverse"], timeout=None)
    assert list(df.status) == ["ok"]
    assert df.max_rel_error.iloc[0] == 0.0


def test_run_accepts_one_problem_one_instance_and_one_method_name():
    df = adbench.run(problems=script_square, methods="ad-forward", timeout=None)
    assert list(df.method) == ["ad-forward"] and list(df.status) == ["ok"]
    df = adbench.run(problems=script_square.instance(), methods="manual", timeout=None)
    assert list(df.status) == ["unsupported"]


def test_run_refuses_a_selection_item_that_is_not_a_problem():
    with pytest.raises(TypeError, match="expected names, Problems or Instances, not int"):
        adbench.run(problems=[3], methods=["ad-forward"])


def test_f_returning_none_is_an_error_that_says_so():
    df = adbench.run(problems=[script_no_return], methods=["ad-reverse"], timeout=None)
    assert list(df.status) == ["error"]
    assert "returned None" in df.message.iloc[0]


@pytest.mark.parametrize("value", [2.5, -3, 0, True])
def test_a_size_that_is_not_a_positive_integer_is_refused_naming_it(value):
    with pytest.raises(ProblemDefinitionError, match=rf"size parameter n={value!r} is not "
                                                     "allowed: sizes are counts"):
        adbench.run(problems=["rosenbrock"], sizes={"n": [value]}, methods=["ad-forward"])


def test_a_whole_float_size_is_the_integer():
    (inst,) = adbench.registry.load_registry().get("rosenbrock").instances({"n": [3.0]})
    assert inst.sizes == {"n": 3} and type(inst.sizes["n"]) is int and inst.n == 3


@pytest.mark.parametrize("spec", ["n=2.5", "n=-3"])
def test_a_bad_size_on_the_command_line_is_one_line_and_exit_2(spec):
    proc = subprocess.run(["adbench", "run", "--problem", "rosenbrock", "--sizes", spec,
                           "--method", "ad-forward", "--out", os.devnull + "-unused"],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "size parameter n=" in lines[0] and "positive integers" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("rtol", [-1, float("nan"), float("inf")])
def test_a_negative_or_nonfinite_rtol_is_refused(rtol):
    with pytest.raises(ValueError, match="rtol=.* is not allowed"):
        jacobian_errors("rosenbrock", "ad-reverse", rtol=rtol)


def test_default_output_folders_are_new_dated_and_ignored_by_git():
    folders = [dated_folder(kind) for kind in ("run", "survey", "swell", "fd-sweep")]
    for folder in folders:
        assert folder.parent == Path("results")
        assert folder.name.split("-")[-2].isdigit() and len(folder.name.split("-")[-2]) == 8
        probe = folder / "results.csv"
        check = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=ROOT)
        if check.returncode == 128:
            pytest.skip("not a git checkout")
        assert check.returncode == 0, f"{probe} is not ignored by git"
    committed = subprocess.run(["git", "check-ignore", "-q", "results/survey/REPORT.md"],
                               cwd=ROOT)
    assert committed.returncode != 0


def test_diff_outside_the_domain_says_nonfinite_for_every_method_and_prints_no_warning():
    proc = subprocess.run(["adbench", "diff", "log(x)", "--at", "x=-1"], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and proc.stderr.strip() == "", proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()
            if line.split()[:1] and line.split()[0] in adbench.methods.DEFAULT_METHODS]
    assert len(rows) == len(adbench.methods.DEFAULT_METHODS)
    assert all(row[1] == "nonfinite" for row in rows), rows
    assert "invalid value encountered in log" in proc.stdout
