"""report.md and its plots, from synthetic rows with every measurement column and
from a real small run with the columns measured today."""

import re

import numpy as np
import pandas as pd
import pytest
from synthetic_results import MEASUREMENT_COLUMNS, synthetic_fd_sweep, synthetic_results

import adbench
from adbench.measure.harness import BASE_COLUMNS, read_results
from adbench.methods import METHODS
from adbench.report import (
    compare_runs,
    find_fd_sweeps,
    format_table,
    render_diff,
    render_report,
    summary_table,
    write_report,
)
from adbench.report import plots as P

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    """The report of the synthetic run, written once with its plots."""
    out = tmp_path_factory.mktemp("full")
    df = synthetic_results()
    synthetic_fd_sweep().to_csv(out / "fd-sweep-logistic-map.csv", index=False)
    path = write_report(df, out)
    return out, path.read_text()


def test_summary_table_has_a_row_per_method_and_every_measured_metric():
    df = synthetic_results()
    table = summary_table(df)
    registered = [m for m in METHODS if m in set(df["method"])]  # in the registry's order
    assert list(table["method"]) == registered + sorted(set(df["method"]) - set(registered))
    for column in ("worst error", "median error", "ops ratio (median)", "time ratio (median)",
                   "memory ratio (median)", "setup s (median)",
                   "swell (max expr_ops / f_ops_tree)"):
        assert column in table.columns
    fd = df[(df.method == "fd-central") & (df.status == "ok")]
    assert table.set_index("method").loc["fd-central", "memory ratio (median)"] == \
        pytest.approx(fd["mem_ratio"].median())
    row = table.set_index("method").loc["symbolic"]
    assert row["unsupported"] == 1 and row["worst error"] == 0
    # 2096 / 18 at depth 7: the largest expr_ops over the size of f
    assert row["swell (max expr_ops / f_ops_tree)"] == pytest.approx(2096 / 18)
    assert np.isnan(table.set_index("method").loc["ad-reverse",
                                                  "swell (max expr_ops / f_ops_tree)"])


def test_report_links_every_plot_it_writes_and_every_plot_is_a_png(full_report):
    out, text = full_report
    written = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert written == sorted(["errors-by-method.png", "ratios-by-method.png",
                              "logistic-map-error.png", "logistic-map-cost.png",
                              "logistic-map-swell.png", "fd-sweep-logistic-map.png",
                              "tanh-layer-n-m.png"])
    for name in written:
        assert f"](plots/{name})" in text
        data = (out / "plots" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
    assert "## Notes" not in text  # no plot failed
    # the sweep is plotted in its problem's section
    assert text.index("## logistic-map") < text.index("fd-sweep-logistic-map.png") < text.index(
        "## tanh-layer")
    assert not list(out.glob("**/*.tmp"))  # written atomically: no leftovers


def test_a_sweep_of_no_known_problem_gets_a_section_of_its_own():
    sweep = synthetic_fd_sweep().drop(columns="problem")
    text = render_report(synthetic_results(), fd_sweeps=[("study", sweep)])
    assert text.index("## Finite-difference step studies") > text.index("## piecewise")


def test_report_has_a_section_per_problem_with_its_tables(full_report):
    _, text = full_report
    for problem in ("survey-example", "logistic-map", "tanh-layer", "piecewise"):
        assert f"\n## {problem}\n" in text
    section = text.split("\n## logistic-map\n")[1].split("\n## tanh-layer\n")[0]
    assert "### Accuracy" in section and "### Operation counts" in section
    assert "### Time" in section
    assert "### Expression, tape and code sizes" in section
    assert "### Memory" in section and "mem_derivative_bytes" in section
    assert "| depth=7 " in section and "2,096" in section
    assert "control flow depends on the input" in text


def test_report_states_the_measured_crossover(full_report):
    _, text = full_report
    # synthetic costs: forward 3n ops_f, reverse (2 + 3m) ops_f; at m = 4 they meet at
    # n = 14/3, between the measured n = 4 and 16 (and at n = 16 at m = 46/3, between 4 and 16)
    found = re.search(r"ops_derivative, m = 4: ad-forward is cheaper at the smallest n measured "
                      r"and ad-reverse at the largest; they cross between n = 4 and n = 16 "
                      r"\(near n ≈ ([0-9.]+) with each method's log cost interpolated linearly "
                      r"in log n", text)
    assert found and 4 <= float(found.group(1)) <= 16
    found = re.search(r"ops_derivative, n = 16: ad-reverse is cheaper at the smallest m measured "
                      r"and ad-forward at the largest; they cross between m = 4 and m = 16", text)
    assert found


def test_the_plotted_crossover_is_the_measurements_one():
    from adbench.measure import crossover as C

    tidy = synthetic_results()
    tidy = tidy[tidy["problem"] == "tanh-layer"]
    _, found = P.dimension_sweep(tidy, metrics=("ops_derivative",))
    assert found
    for c in found:
        measured = C.crossover(tidy, c.along, int(c.fixed_value), "ops_derivative")
        assert c.at == measured.at and c.cheaper_below == measured.cheaper_below
        assert (c.low, c.high) == (measured.low, measured.high)
    with_swap = [c for c in found if c.at is not None]
    assert with_swap and "they cross between" in with_swap[0].note


def test_report_without_measurement_columns_leaves_them_out():
    df = synthetic_results()[BASE_COLUMNS]
    text = render_report(df)  # tables only; the plots are checked below and in a real run
    table = summary_table(df)
    assert not any("ratio" in c or "swell" in c for c in table.columns)
    assert "### Expression" not in text and "ops_ratio" not in text
    assert "### Operation counts" not in text
    cost = text.split("### Time")[1].split("###")[0]
    assert "setup_s" in cost  # the one cost the foundation measures
    assert P.ratios_by_method(df) is None
    assert P.dimension_sweep(df[df["problem"] == "tanh-layer"]) == (None, [])
    assert P.swell_vs_size(df[df["problem"] == "logistic-map"]) is None


def test_a_plot_that_fails_becomes_a_note_not_a_lost_report(tmp_path, monkeypatch):
    def broken(df):
        raise ValueError("no luck")

    monkeypatch.setattr(P, "error_by_method", broken)
    df = synthetic_results()
    text = write_report(df[df["problem"] == "survey-example"][BASE_COLUMNS], tmp_path).read_text()
    assert "## Notes" in text
    assert "- plot errors-by-method could not be drawn: ValueError: no luck" in text
    assert "## survey-example" in text


def test_report_of_no_rows_is_still_a_report():
    text = render_report(synthetic_results().iloc[:0])
    assert text.startswith("# adbench report") and "(no rows)" in text


def test_format_table_empty_cells_thousands_and_escaped_pipes():
    frame = pd.DataFrame({"method": ["a|b"], "expr_ops": [2096.0], "ops_ratio": [np.nan],
                          "max_rel_error": [1.23456e-16]})
    text = format_table(frame)
    assert "a\\|b" in text and "2,096" in text and "1.23e-16" in text and "nan" not in text


def test_fd_sweep_tables_are_found_and_plotted(tmp_path):
    synthetic_fd_sweep().to_csv(tmp_path / "sweep.csv", index=False)
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "other.csv", index=False)
    (tmp_path / "broken.csv").write_bytes(b"\xff\xfe\x00garbage")
    found = find_fd_sweeps(tmp_path)
    assert [name for name, _ in found] == ["sweep"]
    fig = P.fd_error_vs_step(found[0][1])
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "step h" and "error" in ax.get_ylabel()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "fd-forward", "fd-central", "fd-complex"]
    assert P.fd_error_vs_step(pd.DataFrame({"h": [1.0]})) is None


def test_fd_sweep_in_the_spelling_of_adbench_fd_sweep():
    sweep = synthetic_fd_sweep()
    sweep = sweep.assign(scheme=sweep["scheme"].str.replace("fd-", ""), sizes="depth=4",
                         at="0.2")
    fig = P.fd_error_vs_step(sweep)
    ax = fig.axes[0]
    assert ax.get_title().startswith("logistic-map[depth=4] at x = 0.2: finite-difference")
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "forward", "central", "complex"]
    guides = [t.get_text() for t in ax.texts if t.get_text().startswith("slope")]
    assert guides == ["slope 1", "slope 2"]


def test_plots_return_none_when_their_data_is_absent():
    df = synthetic_results()
    one_size = df[df["problem"] == "survey-example"]
    assert P.error_vs_size(one_size) is None
    assert P.swell_vs_size(df[df["problem"] == "tanh-layer"]) is None  # no symbolic rows
    assert P.ratios_by_method(df[BASE_COLUMNS]) is None
    assert P.dimension_sweep(df[df["problem"] == "logistic-map"]) == (None, [])


def test_real_run_writes_report_with_plots(tmp_path):
    df = adbench.run(problems=["logistic-map"], sizes={"depth": [1, 2, 3]},
                     methods=["fd-forward", "ad-reverse"], out=tmp_path, isolate=False)
    assert (df["status"] == "ok").all() and len(df) == 6
    text = (tmp_path / "report.md").read_text()
    assert "## logistic-map" in text and "| depth=3 " in text
    assert (tmp_path / "plots" / "logistic-map-error.png").read_bytes().startswith(PNG)
    # regenerating from the CSV gives the same report
    again = render_report(read_results(tmp_path / "results.csv"), out=tmp_path)
    assert again == text


# --------------------------------------------------------------------------
# Two runs
# --------------------------------------------------------------------------

def test_compare_runs_finds_changed_errors_ratios_statuses_and_rows():
    old = synthetic_results()
    new = old.copy()
    fd = (new["problem"] == "survey-example") & (new["method"] == "fd-central")
    new.loc[fd, "max_rel_error"] = old.loc[fd, "max_rel_error"] * 10
    ad = (new["problem"] == "survey-example") & (new["method"] == "ad-reverse")
    new.loc[ad, "ops_ratio"] = 4.0          # from 5: better
    new.loc[ad, "max_rel_error"] = 5e-16    # rounding level: not a change
    new.loc[(new["problem"] == "survey-example") & (new["method"] == "manual"),
            ["status", "message"]] = ["error", "ValueError: boom"]
    new = new[~((new["problem"] == "piecewise") & (new["method"] == "fd-forward"))]
    extra = new.iloc[[0]].assign(problem="new-problem")
    new = pd.concat([new, extra], ignore_index=True)

    diff = compare_runs(old, new)
    worse = diff.changes[diff.changes["direction"] == "worse"]
    assert worse[["problem", "method", "column"]].values.tolist() == [
        ["survey-example", "fd-central", "max_rel_error"]]
    assert worse["change"].iloc[0] == "x10"
    better = diff.changes[diff.changes["direction"] == "better"]
    assert better[["method", "column", "change"]].values.tolist() == [
        ["ad-reverse", "ops_ratio", "/1.25"]]
    assert diff.status[["method", "old status", "new status"]].values.tolist() == [
        ["manual", "ok", "error"]]
    assert diff.removed[["problem", "method"]].values.tolist() == [["piecewise", "fd-forward"]]
    assert diff.added["problem"].tolist() == ["new-problem"]
    text = render_diff(diff, "a.csv", "b.csv")
    assert "## Worse" in text and "## Better" in text and "## Rows removed" in text


def test_compare_runs_of_a_run_with_itself_is_empty():
    df = synthetic_results()
    diff = compare_runs(df, df.copy())
    assert diff.empty() and diff.compared == len(df)
    assert "no differences" in render_diff(diff)


def test_compare_runs_notices_columns_measured_only_in_the_new_run():
    new = synthetic_results()
    old = new[BASE_COLUMNS].copy()
    old["ops_ratio"] = np.nan
    diff = compare_runs(old, new)
    assert set(diff.changes["direction"]) == {"new"}
    assert set(diff.changes["column"]) == {"ops_ratio"}
    assert len(MEASUREMENT_COLUMNS) == 23
