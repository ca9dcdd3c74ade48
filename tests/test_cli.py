"""The command line through click's test runner."""

import pandas as pd
import pytest
from click.testing import CliRunner

from adbench.cli import main
from adbench.measure.harness import BASE_COLUMNS
from adbench.methods import DEFAULT_METHODS


class Result:
    def __init__(self, exit_code, output):
        self.exit_code = exit_code
        self.output = output


def invoke(args):
    """Run the real entry point (one-line errors, exit codes), capturing its output."""
    runner = CliRunner()
    with runner.isolation() as streams:
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code
        output = streams[0].getvalue().decode() + streams[1].getvalue().decode()
    return Result(code, output)


def test_list_shows_problems_methods_and_suites():
    result = invoke(["list"])
    assert result.exit_code == 0, result.output
    for word in ("survey-example", "logistic-map", "rosenbrock", "piecewise", "tanh-layer",
                 "ad-reverse", "fd-central", "symbolic", "quick"):
        assert word in result.output


def test_run_writes_csv_and_report(tmp_path):
    out = tmp_path / "out"
    result = invoke(["run", "--problem", "survey-example", "--problem", "piecewise",
                     "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out / "results.csv")
    for col in ("problem", "n", "m", "method", "status", "max_rel_error", "mean_rel_error",
                "message"):
        assert col in df.columns
    assert list(df.columns[:len(BASE_COLUMNS)]) == BASE_COLUMNS
    assert len(df) == 2 * len(DEFAULT_METHODS)
    row = df[(df.problem == "piecewise") & (df.method == "symbolic")].iloc[0]
    assert row.status == "unsupported"
    assert (df[df.status == "ok"].max_rel_error < 1e-4).all()
    report = (out / "report.md").read_text()
    assert "## survey-example" in report and "## piecewise" in report


def test_run_with_sizes_runs_the_cartesian_product(tmp_path):
    result = invoke(["run", "--problem", "tanh-layer", "--sizes", "n=1,3", "--sizes", "m=2",
                     "--method", "ad-forward", "--method", "ad-reverse",
                     "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 0, result.output
    df = pd.read_csv(tmp_path / "o" / "results.csv")
    assert sorted(set(zip(df.n, df.m))) == [(1, 2), (3, 2)]
    assert set(df.method) == {"ad-forward", "ad-reverse"}
    assert (df.status == "ok").all()


@pytest.mark.parametrize("args,needle", [
    (["run", "--problem", "rosenbrok"], "unknown problem 'rosenbrok'; did you mean rosenbrock"),
    (["run", "--method", "ad-revers"], "unknown method 'ad-revers'; did you mean ad-reverse"),
    (["run", "nosuch"], "unknown suite 'nosuch'"),
    (["run", "--sizes", "n"], "malformed --sizes 'n'"),
    (["run", "--problem", "rosenbrock", "--sizes", "depth=2"], "no selected problem has"),
])
def test_bad_names_give_one_line_and_exit_code_2(args, needle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the default output folder would go
    result = invoke(args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert needle in lines[0]
    assert list(tmp_path.iterdir()) == []  # a refused run leaves no folder behind


def test_a_refused_run_does_not_make_its_out_folder(tmp_path):
    out = tmp_path / "new" / "deeper"
    result = invoke(["run", "--problem", "nosuch", "--out", str(out)])
    assert result.exit_code == 2
    assert not (tmp_path / "new").exists()


def test_problems_dir_adds_a_users_problem(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "quartic.py").write_text(
        "from adbench import problem\n\n"
        "@problem(name='quartic', n=2, m=1, x0=[1.5, -0.5], tags=['user'],\n"
        "         description='x1^4 + x1 x2')\n"
        "def quartic(x, xp):\n"
        "    return x[0] ** 4 + x[0] * x[1]\n\n"
        "@quartic.manual\n"
        "def _(x, xp):\n"
        "    return [[4 * x[0] ** 3 + x[1], x[0]]]\n")
    out = tmp_path / "out"
    result = invoke(["run", "--problems-dir", str(folder), "--problem", "quartic",
                     "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out / "results.csv")
    assert (df.status == "ok").all() and len(df) == len(DEFAULT_METHODS)
    assert (df[df.method != "fd-forward"].max_rel_error < 1e-6).all()


def test_broken_problem_file_is_named(tmp_path):
    (tmp_path / "broken.py").write_text("def f(:\n")
    result = invoke(["list", "--problems-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "broken.py:1: syntax error" in result.output


def test_list_md_is_a_catalogue_with_every_problem(registry):
    result = invoke(["list", "--format", "md"])
    assert result.exit_code == 0, result.output
    for name in registry.problems:
        assert f"\n## {name}\n" in result.output
    assert "# Methods" in result.output and "# Suites" in result.output


def test_catalogue_support_is_measured():
    from adbench.registry import load_registry
    from adbench.report.catalogue import support

    # Three methods, each in its own worker: every method (the peers' imports and
    # compilations included) took a minute here, and `adbench list --support` runs them all.
    sup = support(load_registry().get("piecewise"), timeout=30,
                  methods=["ad-reverse", "fd-central", "symbolic"])
    assert list(sup) == ["ad-reverse", "fd-central", "symbolic"]
    assert sup["ad-reverse"] == "yes" and sup["fd-central"] == "yes"
    assert sup["symbolic"].startswith("no: control flow depends on the input")


def test_list_support_needs_markdown():
    result = invoke(["list", "--support"])
    assert result.exit_code == 2
    assert "--support needs --format md" in result.output
