"""What a new reader meets first: crossover verdicts as precise as the data,
full messages under tables, readable plot axes and legends, output that fits
the terminal."""

import math

import numpy as np
import pandas as pd
import pytest

from adbench.measure import crossover as C
from adbench.report import plots as P
from adbench.report.plots import common


def _line(forward, reverse, sizes, fixed=8):
    """An n-sweep at m = ``fixed`` with the given cost functions of n."""
    rows = []
    for n in sizes:
        rows.append({"problem": "p", "n": n, "m": fixed, "method": "ad-forward", "status": "ok",
                     "ops_derivative": forward(n)})
        rows.append({"problem": "p", "n": n, "m": fixed, "method": "ad-reverse", "status": "ok",
                     "ops_derivative": reverse(n)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# 1. The crossover: the bracket measured, the estimate interpolated and said so
# --------------------------------------------------------------------------

def test_power_laws_cross_where_log_log_interpolation_says():
    # 2 n^2 against 32 n: equal at n = 16, measured at 1, 4 and 64 only
    c = C.crossover(_line(lambda n: 2 * n * n, lambda n: 32 * n, (1, 4, 64)), "n", 8)
    assert (c.low, c.high) == (4, 64)
    assert c.bracket == "between n = 4 and n = 64"
    assert c.at == pytest.approx(16.0)
    assert (c.cheaper_below, c.cheaper_above) == ("ad-forward", "ad-reverse")
    assert c.method == "log cost interpolated linearly in log n"


def test_two_sizes_give_the_bracket_not_its_geometric_mean():
    # n^2 against 8 sqrt(n): equal at n = 4; measured at 1 and 8 only
    c = C.crossover(_line(lambda n: n * n, lambda n: 8 * n ** 0.5, (1, 8)), "n", 8)
    assert c.bracket == "between n = 1 and n = 8"
    assert c.at == pytest.approx(4.0) and c.at != pytest.approx(math.sqrt(8))
    # the same points in linear n: log cost 0 -> log 64 against log 8 -> log(8 sqrt 8)
    lin = C.crossover(_line(lambda n: n * n, lambda n: 8 * n ** 0.5, (1, 8)), "n", 8,
                      log_x=False)
    d0, d1 = math.log(1 / 8), math.log(64 / (8 * 8 ** 0.5))
    assert lin.at == pytest.approx(1 + 7 * d0 / (d0 - d1))
    assert lin.method == "log cost interpolated linearly in n"


def test_interpolation_never_extrapolates_and_needs_positive_costs_on_log_axes():
    assert C.interpolate_crossing((1, 8), (1, 2), (3, 4)) is None  # no sign change
    assert C.interpolate_crossing((1, 8), (0, 10), (5, 5)) is None  # log of 0
    assert C.interpolate_crossing((1, 8), (0, 10), (5, 5), log_x=False,
                                  log_y=False) == pytest.approx(4.5)
    # halfway in log x: the geometric mean
    assert C.interpolate_crossing((1, 8), (0, 10), (5, 5), log_y=False) == pytest.approx(8 ** 0.5)
    assert C.interpolate_crossing((2, 4), (3, 5), (3, 1)) == 2.0  # equal at a measured end
    c = C.crossover(_line(lambda n: 0 if n == 1 else 100, lambda n: 10, (1, 8)), "n", 8)
    assert c.bracket == "between n = 1 and n = 8" and c.at is None


def test_a_measured_tie_is_the_crossover_itself():
    c = C.crossover(_line(lambda n: n, lambda n: 4, (1, 4, 16)), "n", 8)
    assert (c.low, c.high, c.at) == (4, 4, 4.0) and c.bracket == "at n = 4"


def test_the_table_gives_the_bracket_and_the_estimate():
    rows = _line(lambda n: 2 * n * n, lambda n: 32 * n, (1, 4, 64))
    table = C.crossovers(rows)
    row = table[table["along"] == "n"].iloc[0]
    assert row["crossover_between"] == "4 and 64"
    assert row["estimate_log_log"] == pytest.approx(16.0)
    assert bool(row["as_predicted"]) is True  # the bracket reaches n = m = 8


def _drawn_crossing(ax, first="ad-forward", second="ad-reverse"):
    """Where the two drawn lines cross, in data coordinates: the segments are
    straight on screen, so intersect them there and map back."""
    lines = {line.get_label(): line for line in ax.get_lines()}
    to_screen, back = ax.transData, ax.transData.inverted()
    (p0, p1), (q0, q1) = (to_screen.transform(lines[k].get_xydata()) for k in (first, second))
    d0, d1 = p0[1] - q0[1], p1[1] - q1[1]
    x_screen = p0[0] + d0 / (d0 - d1) * (p1[0] - p0[0])
    return back.transform((x_screen, 0))[0]


@pytest.mark.parametrize("sizes, log_x", [((1, 8), False), ((1, 64), True)])
def test_the_marker_and_the_text_are_where_the_plotted_lines_cross(sizes, log_x):
    rows = _line(lambda n: 10 * n * n, lambda n: 60 * n, sizes)
    fig, found = P.dimension_sweep(rows, metrics=("ops_derivative",))
    ax = fig.axes[0]
    assert (ax.get_xscale() == "log") is log_x and ax.get_yscale() == "log"
    (cross,) = [c for c in found if c.along == "n"]
    assert cross.at == pytest.approx(_drawn_crossing(ax), rel=1e-6)
    dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in dotted] == [cross.at]
    assert f"between n = {sizes[0]} and n = {sizes[1]}" in cross.note
    assert f"n ≈ {cross.at:.2g}" in cross.note
    words = "log n" if log_x else "linearly in n "
    assert words in cross.note


def test_the_survey_claim_gives_the_bracket_and_the_plot_agrees(tmp_path):
    from adbench.registry import load_registry
    from adbench.studies.reproduce import cost

    evidence = cost._crossover(load_registry(), tmp_path)
    assert evidence.passed and "crossover_between" in evidence.body
    assert "interpolated linearly in log size and log cost" in evidence.body
    df = pd.read_csv(tmp_path / "crossover-tanh-layer.csv")
    table = C.crossovers(df)
    row = table[(table["along"] == "n") & (table["fixed"] == "m=8")].iloc[0]
    assert row["crossover_between"] == "4 and 8"
    assert 4 < row["estimate_log_log"] < 8
    _, found = P.dimension_sweep(df, metrics=("ops_derivative",))
    assert found
    for c in found:  # the plot's axes are log-log, so its marks are the table's
        mine = table[(table["along"] == c.along)
                     & (table["fixed"] == f"{c.fixed}={c.fixed_value:g}")].iloc[0]
        assert (c.low, c.high) == tuple(int(v) for v in mine["crossover_between"].split(" and "))
        assert c.at == pytest.approx(mine["estimate_log_log"])


# --------------------------------------------------------------------------
# 3. Plots: one axis rule, integer sizes, legends off the data
# --------------------------------------------------------------------------

def test_the_axis_rule_is_a_factor_ten():
    assert not common.is_wide([1, 8]) and common.is_wide([1, 11])
    assert not common.is_wide([0, 1e-9, 1e-9 * 9])  # 0 is not on a log axis
    assert not common.is_wide([np.nan, 5.0])
    fig, axes = common._figure()
    ax = axes[0][0]
    assert common.scale_axis(ax, "y", [3e-5, 1.2e-3]) and ax.get_yscale() == "log"
    assert not common.scale_axis(ax, "x", [2, 10]) and ax.get_xscale() == "linear"


def test_every_panel_of_a_sweep_follows_the_rule():
    # time against m spans a factor 40: log, like its neighbours (once linear)
    rows = []
    for n in (1, 8):
        for m in (1, 8):
            for method, scale in (("ad-forward", n), ("ad-reverse", m), ("fd-richardson", 40)):
                rows.append({"problem": "p", "n": n, "m": m, "method": method, "status": "ok",
                             "ops_derivative": 10.0 * scale * m * n,
                             "time_derivative_s": 3e-5 * scale})
    fig, _ = P.dimension_sweep(pd.DataFrame(rows))
    assert [ax.get_yscale() for ax in fig.axes] == ["log"] * 4
    assert [ax.get_xscale() for ax in fig.axes] == ["linear"] * 4


def _ticks(axis):
    return list(axis.get_major_locator()())


def test_integer_sizes_get_integer_ticks():
    fig, axes = common._figure(ncols=4)
    few, many, wide, dense = axes[0]
    common.size_axis(few, [2, 3])
    few.set_xlim(1.9, 3.1)
    assert _ticks(few.xaxis) == [2.0, 3.0]  # not 2.25, 2.5, 2.75
    common.size_axis(many, range(5, 31))
    many.set_xlim(5, 30)
    assert many.get_xscale() == "linear" and len(_ticks(many.xaxis)) >= 3
    assert all(float(t).is_integer() for t in _ticks(many.xaxis))
    common.size_axis(dense, range(1, 41))
    dense.set_xlim(1, 40)
    shown = [t for t in _ticks(dense.xaxis) if 1 <= t <= 40]
    assert dense.get_xscale() == "log" and shown == [1, 2, 4, 8, 16, 32]
    common.size_axis(wide, [1, 2, 4, 8, 16, 32, 64])
    assert wide.get_xscale() == "log" and _ticks(wide.xaxis) == [1, 2, 4, 8, 16, 32, 64]
    assert wide.xaxis.get_major_formatter()(16, 0) == "16"


def test_sweep_and_size_plots_put_one_legend_below_the_axes():
    rows = _line(lambda n: 10 * n * n, lambda n: 80 * n, (1, 2, 3))
    fig, _ = P.dimension_sweep(rows, metrics=("ops_derivative",))
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    for ax in fig.axes:
        assert legend.y1 <= ax.get_window_extent().y0 + 1e-6  # wholly below every panel
    ticks = _ticks(fig.axes[0].xaxis)
    assert ticks == [1.0, 2.0, 3.0]


def test_identical_lines_are_both_visible_and_named_once():
    rows = pd.concat([_line(lambda n: n * n, lambda n: 8 * n, (1, 8)),
                      _line(lambda n: 8 * n, lambda n: 8 * n, (1, 8)).assign(
                          method=lambda d: d["method"].replace(
                              {"ad-forward": "ad-compiled", "ad-reverse": "drop"}))])
    rows = rows[rows["method"] != "drop"]
    fig, _ = P.dimension_sweep(rows, metrics=("ops_derivative",))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "ad-compiled (same as ad-reverse)" in labels
    band = [line for line in fig.axes[0].get_lines()
            if line.get_label() == "ad-compiled (same as ad-reverse)"]
    assert band and band[0].get_linewidth() > 3 and band[0].get_zorder() < 2


# --------------------------------------------------------------------------
# 2. Long messages: a head and a marker in the cell, in full under the table
# --------------------------------------------------------------------------

def test_long_messages_are_given_in_full_under_the_table():
    from adbench.report import format_table

    long = ("the complex step needs an analytic f: f compares a value depending on the "
            "input (gt): a branch on a comparison | is not analytic, so fd-complex is "
            "unsupported here")
    other = "x" * 130  # one word longer than the cell
    frame = pd.DataFrame({"method": ["fd-complex", "symbolic", "fd-complex", "ad-forward"],
                          "message": [long, "short enough", long, other]})
    text = format_table(frame)
    table, _, notes = text.partition("\n\n")
    assert "..." not in notes and "short enough" in table
    assert notes.splitlines() == [f"1. {long}", f"2. {other}"]
    rows = table.splitlines()[2:]
    assert rows[0].count("[1]") == 1 and rows[2].count("[1]") == 1 and "[2]" in rows[3]
    assert "the complex step needs an analytic f: f compares a value... [1]" in rows[0]
    assert long not in table and max(len(r) for r in rows) < 100
    assert format_table(frame.iloc[1:2]).count("\n\n") == 0  # no notes, no list


# --------------------------------------------------------------------------
# 4. Output that fits the terminal
# --------------------------------------------------------------------------

def _list_output(args, columns):
    from click.testing import CliRunner

    from adbench.cli import cli

    result = CliRunner().invoke(cli, ["list", *args], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def test_list_fits_80_columns_and_wide_gives_the_full_descriptions():
    from adbench.methods import METHODS

    narrow = _list_output([], 80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    wide = _list_output(["--wide"], 80)
    assert max(len(line) for line in wide.splitlines()) > 80
    for method in METHODS.values():
        assert method.description in wide  # whole, on one line
        assert method.description not in narrow or len(method.description) < 60
        # nothing is lost when wrapped: every word is still there
        assert set(method.description.split()) <= set(narrow.split())
    assert "fd-richardson" in narrow and "Suites" in narrow


def test_fit_table_wraps_text_then_deals_columns_into_blocks():
    from adbench.report.terminal import fit_table

    text = pd.DataFrame({"name": ["a", "b"], "description": ["word " * 40, "short"]})
    out = fit_table(text, width=40)
    assert max(len(line) for line in out.splitlines()) <= 40
    assert out.count("word") == 40 and "short" in out
    numbers = pd.DataFrame({"workload": ["gmm"], "size": ["D=2 K=3"],
                            **{f"column {k}": [f"{k}.25"] for k in range(20)}})
    out = fit_table(numbers, width=80, keys=2)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    blocks = out.split("\n\n")
    assert len(blocks) > 1 and all(b.startswith("workload") for b in blocks)
    assert all(f"{k}.25" in out for k in range(20))
    assert fit_table(numbers, width=1000).count("\n") == 2  # header, rule, one row


@pytest.mark.parametrize("headers, cells, right", [
    (["method", "rho", "n"], [["ad-reverse", "fd", "x"], ["1e-16", "2.5e-10", "-"],
                              ["3", "10", "200"]], [False, True, True]),
    (["a", "long header"], [["", "wide cell text"], ["1", "2"]], [True, False]),
    (["only"], [["x"]], [False]),
])
def test_the_row_at_a_time_table_writer_is_tabulates_pipe_format(headers, cells, right):
    # the report writes its tables a row at a time (a large results file would need
    # copies of every cell through tabulate); the text is tabulate's pipe table
    from tabulate import tabulate

    from adbench.report.tables import _pipe_table
    expected = tabulate(list(zip(*cells)), headers=headers, tablefmt="pipe",
                        colalign=["right" if r else "left" for r in right],
                        disable_numparse=True)
    assert _pipe_table(headers, cells, right) == expected
