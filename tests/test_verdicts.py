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


def _same_run(tmp_path_factory, k):
    out = tmp_path_factory.mktemp(f"same{k}")
    result = invoke(["run", "--problem", "survey-example", "--problem", "rosenbrock",
                     "--method", "manual", "--method", "ad-reverse", "--method", "fd-central",
                     "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out / "results.csv"


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    """One run on two problems, its times measured."""
    return _same_run(tmp_path_factory, 0)


@pytest.fixture(scope="module")
def two_runs(one_run, tmp_path_factory):
    """Two runs of the same code on the same problems, one after the other."""
    return [one_run, _same_run(tmp_path_factory, 1)]


@pytest.mark.timing  # two real timed runs: under load their times differ beyond their noise
def test_two_runs_of_the_same_code_pass_the_check(two_runs):
    old, new = two_runs
    result = invoke(["report", str(old), str(new), "--check"])
    assert result.exit_code == 0, result.output
    assert "0 values worse" in result.output or "no differences" in result.output


def test_a_3x_slowdown_fails_the_check_and_check_accuracy_ignores_it(one_run, tmp_path):
    # The rows of one run as measured on a quiet machine (5 samples, 10% spread of
    # the derivative, 5% of f), against the same rows 3x slower in the derivative.
    df = pd.read_csv(one_run)
    target = (df["problem"] == "rosenbrock") & (df["method"] == "ad-reverse")
    assert target.sum() == 4
    df.loc[target, "time_samples"] = 5
    df.loc[target, "time_spread"] = 0.1
    df.loc[target, "time_f_median_s"] = 1.05 * df.loc[target, "time_f_s"]
    old = tmp_path / "quiet.csv"
    df.to_csv(old, index=False)
    df.loc[target, ["time_derivative_s", "time_ratio"]] *= 3
    slow = tmp_path / "slow.csv"
    df.to_csv(slow, index=False)
    result = invoke(["report", str(old), str(slow), "--check"])
    assert result.exit_code == 1, result.output
    assert f"{int(target.sum())} values worse" in result.output
    assert "| rosenbrock | n=" in result.output and "time_ratio" in result.output
    assert invoke(["report", str(old), str(slow), "--check", "accuracy"]).exit_code == 0
    assert invoke(["report", str(old), str(slow), "--check",
                   "--time-threshold", "5"]).exit_code == 0
    assert invoke(["report", str(old), str(slow), "--check",
                   "--time-threshold", "2"]).exit_code == 1


def test_noise_band_widens_with_the_spread_and_leaves_unsampled_rows_unjudged():
    from adbench.report.compare import noise_factor

    old = pd.DataFrame({"time_spread": [0.0, 0.1, 0.1], "time_samples": [5, 5, 1],
                        "time_f_s": [1.0, 1.0, 1.0], "time_f_median_s": [1.0, 1.5, 1.0]})
    new = pd.DataFrame({"time_spread": [0.0, 0.2, 0.2], "time_samples": [5, 5, 5],
                        "time_f_s": [2.0, 2.0, 2.0], "time_f_median_s": [2.0, 2.0, 2.0]})
    band = noise_factor(old, new, 1.25)
    assert band.tolist() == pytest.approx([1.25, 1.1 * 1.5 * 1.2, float("inf")])


def test_a_run_ends_with_a_table_per_method_on_stdout(wrong, tmp_path):
    from click.testing import CliRunner

    from adbench.cli import cli

    result = CliRunner().invoke(cli, ["run", "--problems-dir", str(wrong), "--problem",
                                      "halfjac", "--method", "manual", "--method", "ad-reverse",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["method", "ok"])
    assert lines[header].split()[:4] == ["method", "ok", "inaccurate", "failed"]
    assert "median error" in lines[header] and "time ratio (median)" in lines[header]
    manual = lines[header + 1].split()
    assert manual[:4] == ["manual", "0", "1", "0"] and manual[4] == "0.429"
    assert lines[header + 2].split()[:4] == ["ad-reverse", "1", "0", "0"]


def test_progress_with_little_left_says_under_1_s_left():
    import io

    from adbench.cli.run import _Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream, ticks = Terminal(), iter([0.0, 0.0, 0.1, 0.2, 0.3])
    progress = _Progress(stream=stream, clock=lambda: next(ticks))
    for done in range(3):
        progress(done, 3, "rosenbrock ad-reverse")
    progress(3, 3, "done")
    text = stream.getvalue()
    assert "1/3  under 1 s left" in text and "about under" not in text
