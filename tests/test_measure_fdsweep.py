"""The finite-difference step study reproduces the survey's Figure 3."""

import math

import pandas as pd
import pytest

from adbench.registry import load_registry
from adbench.studies.fdsweep import (
    HRangeError,
    parse_h_range,
    plot_sweep,
    step_grid,
    summarise,
    sweep,
)
from tests.test_cli import invoke

REGISTRY = load_registry()


@pytest.fixture(scope="module")
def figure_3():
    inst = REGISTRY.get("logistic-map").instance(depth=4)
    table, notes = sweep(inst, [0.2], step_grid(1e-16, 1.0, per_decade=2))
    return table, notes, {r.scheme: r for r in summarise(table, [0.2])}


def test_truncation_slopes_are_1_forward_and_2_central_and_complex(figure_3):
    _, notes, results = figure_3
    assert notes == {}
    assert results["forward"].slope == pytest.approx(1.0, abs=0.05)
    assert results["central"].slope == pytest.approx(2.0, abs=0.05)
    assert results["complex"].slope == pytest.approx(2.0, abs=0.05)
    # error ~ |f''(x0)| h / 2 = 33.7 h and |f'''(x0)| h^2 / 6 = 658 h^2 (survey-facts)
    assert results["forward"].coefficient == pytest.approx(33.7, rel=0.02)
    assert results["central"].coefficient == pytest.approx(658, rel=0.02)


def test_round_off_makes_an_interior_best_step(figure_3):
    table, _, results = figure_3
    fwd, cen, cpx = results["forward"], results["central"], results["complex"]
    assert 1e-10 <= fwd.best_h <= 1e-7 and fwd.best_error < 1e-6
    assert 1e-8 <= cen.best_h <= 1e-5 and cen.best_error < 1e-8
    assert cpx.best_error < 1e-14  # no subtractive cancellation: rounding only
    tiny = table[(table.h == 1e-16)].set_index("scheme")["error"]
    assert tiny["forward"] > 1e-2 and tiny["central"] > 1e-2 and tiny["complex"] < 1e-13


def test_the_sweep_figure_is_the_reports_with_fit_bands(figure_3, tmp_path):
    from adbench.report.plots import fd_error_vs_step

    table, _, results = figure_3
    fig = fd_error_vs_step(table, fits=list(results.values()))
    ax = fig.axes[0]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:3] == ["forward", "central", "complex"]
    fitted = {label.split()[0]: label for label in labels[3:]}
    assert set(fitted) == {"forward", "central", "complex"}
    r = results["central"]
    assert fitted["central"] == (f"central fit: slope {r.slope:.2f}, "
                                 f"error ~ {r.coefficient:.3g} h^2")
    # the stars are the best steps that summarise reports
    stars = sorted(float(line.get_xdata()[0]) for line in ax.get_lines()
                   if line.get_marker() == "*")
    assert stars == sorted(r.best_h for r in results.values())
    # the report's figure is the same one without the bands
    plain = fd_error_vs_step(table)
    assert [t.get_text() for t in plain.legends[0].get_texts()] == labels[:3]

    png = plot_sweep(table, list(results.values()), tmp_path / "sweep.png")
    assert png == tmp_path / "sweep.png" and png.stat().st_size > 10_000
    nothing = table.assign(error=float("nan"))
    assert plot_sweep(nothing, [], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_h_range_and_grid():
    assert parse_h_range("1e-16:1") == (1e-16, 1.0)
    for bad in ("1e-16", "a:b", "1:1e-3", "0:1"):
        with pytest.raises(HRangeError):
            parse_h_range(bad)
    grid = step_grid(1e-3, 1.0, per_decade=1)
    assert list(grid) == [1e-3, 1e-2, 1e-1, 1.0]


def test_fd_sweep_command_writes_csv_and_plot(tmp_path):
    out = tmp_path / "sweep"
    result = invoke(["fd-sweep", "logistic-map", "--sizes", "depth=4", "--at", "0.2",
                     "--h-range", "1e-12:1e-2", "--per-decade", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "fitted slope" in result.output and "best h" in result.output
    df = pd.read_csv(out / "fd-sweep.csv")
    assert set(df.scheme) == {"forward", "central", "complex"} and len(df) == 3 * 11
    assert (out / "fd-sweep.png").stat().st_size > 10_000


def test_fd_sweep_leaves_out_the_complex_step_where_f_branches(tmp_path):
    result = invoke(["fd-sweep", "piecewise", "--h-range", "1e-8:1e-2", "--per-decade", "1",
                     "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "complex: left out:" in result.output and "comparison" in result.output
    assert set(pd.read_csv(tmp_path / "fd-sweep.csv").scheme) == {"forward", "central"}


@pytest.mark.parametrize("args,needle", [
    (["--h-range", "1:1e-3"], "--h-range '1:1e-3': need 0 < LO < HI"),
    (["--at", "0.1,0.2"], "the problem has 1 input, got 2 values"),
    (["--sizes", "depth=3,4"], "fd-sweep takes one value per size parameter"),
    (["--sizes", "n=3"], "logistic-map has no size parameter n"),
])
def test_fd_sweep_bad_options_are_one_line_errors(tmp_path, args, needle):
    result = invoke(["fd-sweep", "logistic-map", "--out", str(tmp_path)] + args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.output


def test_swell_command_prints_table_and_writes_plot(tmp_path):
    result = invoke(["swell", "logistic-map", "--sizes", "depth=2,3,4", "--simplify-budget", "20",
                     "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    df = pd.read_csv(tmp_path / "swell.csv")
    assert list(df.expr_ops) == [2, 21, 82] and list(df.tape_length) == [4, 7, 10]
    assert (tmp_path / "swell.png").stat().st_size > 10_000
    assert not math.isnan(df.expr_ops_simplified.iloc[-1])
