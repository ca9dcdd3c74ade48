"""Expression swell of the symbolic method: the survey's Table 1 and SymPy's counts."""

import pytest
import sympy

from adbench.methods.symbolic import derive
from adbench.registry import load_registry
from adbench.studies.swell import expression_sizes, simplify_entries, swell_row

LOGISTIC = load_registry().get("logistic-map")


def _sizes(depth):
    _, outputs, entries = derive(LOGISTIC.instance(depth=depth))
    replacements, reduced = sympy.cse(entries)
    return expression_sizes(outputs, entries, replacements, reduced)


def test_logistic_map_derivative_swells_as_sympy_counts_it():
    """count_ops of d l_n / dx without simplification, SymPy 1.14 (survey-facts)."""
    sizes = {d: _sizes(d) for d in range(2, 8)}
    assert [sizes[d]["expr_ops"] for d in (4, 6, 7)] == [82, 768, 2096]
    assert [sizes[d]["expr_ops_cse"] for d in range(2, 8)] == [2, 12, 27, 45, 67, 93]
    # The tree grows by a constant factor (> 2.5) a level: exponentially. After cse the
    # growth factor keeps falling (2.25, 1.67, 1.49, 1.39): polynomial growth (~2 d^2).
    factors = [sizes[d]["expr_ops_cse"] / sizes[d - 1]["expr_ops_cse"] for d in range(4, 8)]
    assert factors == sorted(factors, reverse=True) and factors[-1] < 1.5
    assert all(sizes[d]["expr_ops"] > 2.5 * sizes[d - 1]["expr_ops"] for d in range(4, 8))
    assert sizes[7]["expr_nodes"] == 4194 and sizes[7]["f_ops_tree"] == 158


def test_simplified_depth_4_derivative_is_the_survey_table_1_polynomial():
    _, _, entries = derive(LOGISTIC.instance(depth=4))
    result = simplify_entries(entries, budget_s=60)
    assert result["simplify_status"] == "ok"
    x = sympy.Symbol("x0", real=True)
    table_1 = 64 * (1 - 42 * x + 504 * x**2 - 2640 * x**3 + 7040 * x**4 - 9984 * x**5
                    + 7168 * x**6 - 2048 * x**7)
    assert sympy.expand(result["simplified"][0] - table_1) == 0
    assert result["expr_ops_simplified"] == 20


def test_simplify_stops_at_its_budgets_with_a_status():
    _, _, entries = derive(LOGISTIC.instance(depth=7))  # simplify needs ~10 s here
    late = simplify_entries(entries, budget_s=0.05)
    assert late["simplify_status"].startswith("timeout")
    assert late["expr_ops_simplified"] is None and late["setup_simplify_s"] < 5
    big = simplify_entries(entries, budget_s=60, node_budget=100)
    assert big["simplify_status"] == ("skipped: 4194 tree nodes exceed the size budget of 100")


def test_swell_row_reports_every_stage_and_the_tape():
    row = swell_row(LOGISTIC.instance(depth=3), simplify_budget=30)
    assert row["status"] == "ok"
    assert (row["expr_ops"], row["expr_ops_cse"], row["expr_ops_simplified"]) == (21, 12, 8)
    assert row["tape_length"] == 7 and row["f_ops_tree"] == 8
    assert (row["ops_f"], row["ops_reverse"]) == (6, 16)  # 3 and 8 scalar ops a level
    assert row["setup_derive_s"] >= 0 and row["setup_cse_s"] >= 0


def test_swell_row_of_an_input_dependent_branch_is_unsupported():
    row = swell_row(load_registry().get("piecewise").instance())
    assert row["status"] == "unsupported"
    assert "control flow depends on the input" in row["message"]


@pytest.mark.parametrize("budget", [0.5])
def test_symbolic_rows_of_a_run_carry_swell_and_compiled_size(budget):
    from adbench.measure import harness
    from adbench.measure.metrics import timing

    saved = timing.settings()["budget_s"]
    timing.configure(budget_s=0)
    try:
        df = harness.run(problems=["logistic-map"], sizes={"depth": [4]},
                         methods=["symbolic"], isolate=False)
    finally:
        timing.configure(budget_s=saved)
    row = df.iloc[0]
    assert row["status"] == "ok"
    assert (row["expr_ops"], row["expr_nodes"], row["expr_ops_cse"]) == (82, 166, 27)
    assert row["compiled_bytes"] > 100
    assert row["simplify_status"] == "ok" or row["simplify_status"].startswith("timeout")
    assert row["setup_derive_s"] > 0 and row["setup_cse_s"] > 0 and row["setup_compile_s"] > 0
