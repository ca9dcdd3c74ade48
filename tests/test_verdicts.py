"""Verdicts a user can trust: a wrong Jacobian is never ``ok``, ``--strict`` fails on
it, a run where nothing worked says so, and the end of a run prints its result."""

import pandas as pd
import pytest
from test_cli import invoke

from adbench.measure.harness import STATUSES
from adbench.report import summary_table

#: d/dx1 (x1^2 + x1 x2) is 2 x1 + x2: the hand-written Jacobian drops the factor 2.
WRONG_MANUAL = (
    "from adbench import problem\n\n"
    "@problem(name='halfjac', n=2, m=1, x0=[1.5, -0.5], description='x1^2 + x1 x2')\n"
    "def halfjac(x, xp):\n"
    "    return x[0] ** 2 + x[0] * x[1]\n\n"
    "@halfjac.manual\n"
    "def _(x, xp):\n"
    "    return [[x[0] + x[1], x[0]]]\n")

RAISES = (
    "from adbench import problem\n\n"
    "@problem(name='raises', n=2, m=1, x0=[1.5, -0.5], description='f raises')\n"
    "def raises(x, xp):\n"
    "    raise RuntimeError('no value here')\n")


@pytest.fixture(scope="module")
def wrong(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wrong")
    (folder / "halfjac.py").write_text(WRONG_MANUAL)
    return folder


def _run(folder, out, *extra):
    """``adbench run`` of the one problem in ``folder`` with manual and ad-reverse."""
    name = next(folder.glob("*.py")).stem
    return invoke(["run", "--problems-dir", str(folder), "--problem", name, "--method", "manual",
                   "--method", "ad-reverse", "--out", str(out), "--quiet", *extra])


def test_a_jacobian_over_its_tolerance_is_inaccurate_not_ok(wrong, tmp_path):
    result = _run(wrong, tmp_path / "out")
    assert result.exit_code == 0, result.output  # without --strict the run succeeds
    df = pd.read_csv(tmp_path / "out" / "results.csv").set_index("method")
    assert "inaccurate" in STATUSES
    assert df.loc["manual", "status"] == "inaccurate"
    assert df.loc["manual", "n_over_tol"] == 1
    # at (1.5, -0.5): rho(x1 + x2, 2 x1 + x2) = |1 - 2.5| / (1 + 2.5)
    assert df.loc["manual", "max_rel_error"] == pytest.approx(1.5 / 3.5)
    assert "max error 0.429 exceeds the tolerance 1e-12 (1 entries over it)" in \
        df.loc["manual", "message"]
    assert df.loc["ad-reverse", "status"] == "ok"
    assert "(1 ok, 1 inaccurate)" in result.output
    # counted apart in the summary of report.md and of `adbench report`
    table = summary_table(pd.read_csv(tmp_path / "out" / "results.csv")).set_index("method")
    assert table.loc["manual", ["ok", "inaccurate", "failed"]].tolist() == [0, 1, 0]
    assert table.loc["manual", "worst error"] == pytest.approx(1.5 / 3.5)
    regenerated = invoke(["report", str(tmp_path / "out"), "--out", str(tmp_path / "again"),
                          "--no-plots"])
    assert regenerated.exit_code == 0, regenerated.output
    text = (tmp_path / "again" / "report.md").read_text()
    assert "(1 ok, 1 inaccurate)" in text and "| inaccurate |" in text.replace("   ", " ")


def test_strict_fails_on_an_inaccurate_row(wrong, tmp_path):
    result = _run(wrong, tmp_path / "out", "--strict")
    assert result.exit_code == 1
    assert "--strict: 1 inaccurate rows" in result.output


def test_strict_passes_a_run_that_is_all_ok(tmp_path):
    result = invoke(["run", "--problem", "survey-example", "--method", "ad-reverse",
                     "--method", "manual", "--out", str(tmp_path / "o"), "--quiet", "--strict"])
    assert result.exit_code == 0, result.output


def test_a_run_whose_every_row_is_an_error_exits_1_and_says_so(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "raises.py").write_text(RAISES)
    result = _run(folder, tmp_path / "out")
    assert result.exit_code == 1
    assert "every one of the 2 measurements failed with an error" in result.output


def test_conditioning_of_f_excuses_rounding_but_not_a_wrong_derivative():
    from adbench.measure.accuracy import FLOOR_MARGIN, evaluation_floor, inaccurate

    # f good to 2e-13 in float64: an exact method's 1.3e-11 is rounding, not a bug
    floor = evaluation_floor([0.0041 + 2e-13], [0.0041])
    assert floor == pytest.approx(2e-13, rel=1e-3)
    scores = {"max_rel_error": 1.3e-11, "n_over_tol": 1}
    assert inaccurate(scores, 1e-12, floor) is None
    assert inaccurate(scores, 1e-12, 0.0) == \
        "max error 1.3e-11 exceeds the tolerance 1e-12 (1 entries over it)"
    wrong = inaccurate({"max_rel_error": 0.43, "n_over_tol": 1}, 1e-12, floor)
    assert wrong.startswith("max error 0.43 exceeds the tolerance 1e-12 and "
                            f"{FLOOR_MARGIN:g} x the float64 error of f itself")
    assert inaccurate({"max_rel_error": 1e-13, "n_over_tol": 0}, 1e-12) is None
