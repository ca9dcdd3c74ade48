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


# --------------------------------------------------------------------------
# SymEngine's and CasADi's own sizes, beside SymPy's
# --------------------------------------------------------------------------

SURVEY = load_registry().get("survey-example")


def _require(library):
    return pytest.importorskip(library, reason=f"{library} is not installed "
                               f"(pip install 'adbench[{library}]')")


def test_symengine_tree_size_is_sympys_count_of_the_same_expression():
    se = _require("symengine")
    from adbench.methods.symbolic import tree_size
    # Add(Mul(x, y), sin(x)): 1 + 3 + 2 nodes; Add(Pow(x, -1), Mul(-1, cos(y))): 1 + 3 + 4
    for build, nodes in ((lambda lib, x, y: x * y + lib.sin(x), 6),
                         (lambda lib, x, y: 1 / x - lib.cos(y), 8)):
        x, y = se.symbols("x y")
        X, Y = sympy.symbols("x y")
        assert tree_size([build(se, x, y)]) == tree_size([build(sympy, X, Y)]) == nodes


def test_swell_row_has_each_symbolic_tools_own_sizes():
    _require("symengine")
    _require("casadi")
    row = swell_row(SURVEY.instance(), simplify_budget=0)
    # J = [1/x1 + x2, x1 - cos x2]: trees of 5 and 6 nodes; f = ln x1 + x1 x2 - sin x2: 10
    # (the same trees in SymPy); no subexpression is shared, so cse leaves 11.
    assert (row["symengine_expr_nodes"], row["symengine_expr_nodes_cse"],
            row["symengine_f_nodes_tree"]) == (row["expr_nodes"], row["expr_nodes_cse"],
                                               row["f_nodes_tree"]) == (11, 11, 10)
    # CasADi's algorithm: 2 input instructions, 1./x1, +, cos, -, 2 output instructions;
    # its graph: the 2 inputs and the 4 operations
    assert (row["casadi_expr_ops_cse"], row["casadi_expr_nodes_cse"]) == (8, 6)
    assert row["symengine_status"] == row["casadi_status"] == "ok"


def test_casadi_sizes_are_what_its_api_reports_for_the_graph():
    ca = _require("casadi")
    from adbench.studies.swell import peer_sizes
    x = ca.SX.sym("x", 2)
    fn = ca.Function("j", [x], [ca.jacobian(ca.log(x[0]) + x[0] * x[1] - ca.sin(x[1]), x)])
    row = peer_sizes(SURVEY.instance())
    assert row["casadi_expr_ops_cse"] == fn.n_instructions()
    assert row["casadi_expr_nodes_cse"] == fn.n_nodes()


def test_symengine_and_sympy_trees_agree_on_the_logistic_map_derivative():
    _require("symengine")
    row = swell_row(LOGISTIC.instance(depth=4), simplify_budget=0)
    assert row["symengine_expr_nodes"] == row["expr_nodes"] == 166
    assert row["symengine_expr_nodes_cse"] == row["expr_nodes_cse"]


def test_swell_sizes_of_a_peer_are_its_run_rows_sizes():
    """One definition: adbench run's symengine and casadi rows count as swell does."""
    _require("symengine")
    _require("casadi")
    from adbench.measure import harness
    from adbench.measure.metrics import timing
    from adbench.studies.swell import peer_sizes

    saved = timing.settings()["budget_s"]
    timing.configure(budget_s=0)
    try:
        df = harness.run(problems=["logistic-map"], sizes={"depth": [5]},
                         methods=["symengine", "casadi"], isolate=False)
    finally:
        timing.configure(budget_s=saved)
    rows = {r["method"]: r for _, r in df.iterrows()}
    sizes = peer_sizes(LOGISTIC.instance(depth=5))
    assert rows["symengine"]["status"] == rows["casadi"]["status"] == "ok"
    for tool, columns in (("symengine", ("expr_nodes", "expr_nodes_cse", "f_nodes_tree")),
                          ("casadi", ("expr_ops_cse", "expr_nodes_cse"))):
        for column in columns:
            assert rows[tool][column] == sizes[f"{tool}_{column}"] > 0


def test_a_tool_that_cannot_run_f_is_unsupported_with_its_reason():
    _require("symengine")
    _require("casadi")
    from adbench.studies.swell import peer_sizes
    row = peer_sizes(load_registry().get("piecewise").instance())
    assert row["symengine_status"].startswith("unsupported: symengine: TypeError")
    assert row["casadi_status"].startswith("unsupported: casadi: RuntimeError")
    assert row["symengine_expr_nodes"] is None and row["casadi_expr_ops_cse"] is None


@pytest.fixture
def without_symbolic_peers(monkeypatch):
    """symengine and casadi cannot be imported (None in sys.modules blocks an import)."""
    import sys
    for name in ("symengine", "casadi"):
        monkeypatch.setitem(sys.modules, name, None)


def test_without_the_libraries_the_columns_are_empty_and_say_what_to_install(
        without_symbolic_peers):
    row = swell_row(LOGISTIC.instance(depth=3), simplify_budget=0)
    assert row["status"] == "ok" and row["expr_ops"] == 21  # SymPy's part is whole
    assert row["symengine_status"] == "unavailable: pip install 'adbench[symengine]'"
    assert row["casadi_status"] == "unavailable: pip install 'adbench[casadi]'"
    assert all(row[c] is None for c in ("symengine_expr_nodes", "symengine_expr_nodes_cse",
                                        "symengine_f_nodes_tree", "casadi_expr_ops_cse",
                                        "casadi_expr_nodes_cse"))


def test_swell_command_without_the_libraries_says_once_what_to_install(
        without_symbolic_peers, tmp_path):
    import pandas as pd
    from tests.test_cli import invoke
    result = invoke(["swell", "logistic-map", "--sizes", "depth=2,3", "--simplify-budget", "0",
                     "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for tool in ("symengine", "casadi"):
        said = f"{tool}: unavailable: pip install 'adbench[{tool}]'"
        assert lines.count(said) == 1, result.output
    df = pd.read_csv(tmp_path / "swell.csv")
    assert list(df.expr_ops) == [2, 21]
    assert df.symengine_expr_nodes.isna().all() and df.casadi_expr_ops_cse.isna().all()


def test_swell_command_shows_each_tools_sizes(tmp_path):
    _require("symengine")
    _require("casadi")
    import pandas as pd
    from tests.test_cli import invoke
    result = invoke(["swell", "logistic-map", "--sizes", "depth=3,4", "--simplify-budget", "0",
                     "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[0].split()
    assert {"symengine_expr_nodes", "symengine_expr_nodes_cse",
            "casadi_expr_ops_cse"} <= set(header)
    df = pd.read_csv(tmp_path / "swell.csv")
    assert list(df.symengine_expr_nodes) == list(df.expr_nodes)  # the same trees at 3 and 4
    assert (df.symengine_status == "ok").all() and (df.casadi_status == "ok").all()


def test_a_simplify_budget_of_0_skips_simplify():
    _, _, entries = derive(LOGISTIC.instance(depth=3))
    result = simplify_entries(entries, budget_s=0)
    assert result["simplify_status"] == "skipped: a time budget of 0 s"
    assert result["expr_ops_simplified"] is None and result["simplified"] is None


def test_a_time_budget_holds_when_code_inside_swallows_its_first_alarm():
    # Python discards an exception raised by a signal handler running inside a
    # finaliser; a library that catches BaseException does the same. The block
    # must still end, by the alarm that follows.
    import time

    from adbench.studies.swell import BudgetExceeded, time_limit

    swallowed = 0

    def stubborn_work():
        nonlocal swallowed
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                while time.monotonic() < deadline:
                    pass
            except BudgetExceeded:
                swallowed += 1
                if swallowed > 1:
                    raise
        return "ran to its own end"

    with pytest.raises(BudgetExceeded):
        with time_limit(0.05):
            stubborn_work()
    assert swallowed == 2
