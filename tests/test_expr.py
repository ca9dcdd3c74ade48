"""adbench diff: the expression parser (what it accepts and refuses), --at, and every
method on a typed expression."""

import math

import numpy as np
import pytest
import sympy
from test_cli import invoke

from adbench.interpret.xp import mpmath_xp, numpy_xp, sympy_xp
from adbench.methods import DEFAULT_METHODS, METHODS
from adbench.studies.expr import (
    ExpressionError,
    differentiate,
    expression_problem,
    parse_expression,
    parse_point,
)


@pytest.mark.parametrize("text,point,expected", [
    ("log(x) + x*y - sin(y)", {"x": 2.0, "y": 5.0}, math.log(2) + 10 - math.sin(5)),
    ("-x**2", {"x": 3.0}, -9.0),                      # ** binds tighter than unary minus
    ("2**-1 * x", {"x": 4.0}, 2.0),
    ("(x + 1) / (x - 1) - 1.5e-1", {"x": 3.0}, 2.0 - 0.15),
    ("maximum(x, y) + power(x, 2) + abs(-y)", {"x": 1.0, "y": 2.0}, 2.0 + 1.0 + 2.0),
    ("exp(log1p(x)) + expm1(0) + sqrt(tanh(x)**2) + cos(pi)", {"x": 0.5},
     1.5 + 0.0 + math.tanh(0.5) - 1.0),
    ("+x - -x", {"x": 2.0}, 4.0),
])
def test_accepted_expressions_evaluate_like_python(text, point, expected):
    expr = parse_expression(text)
    assert expr.evaluate(point, numpy_xp) == pytest.approx(expected, rel=1e-15)


def test_variables_in_order_of_appearance_and_constants():
    assert parse_expression("y * sin(x) + e * y + pi").variables == ("y", "x")


def test_the_same_program_runs_on_sympy_and_mpmath():
    expr = parse_expression("log(x) + x*y - sin(y)")
    x, y = sympy.symbols("x y")
    assert sympy.simplify(expr.evaluate({"x": x, "y": y}, sympy_xp)
                          - (sympy.log(x) + x * y - sympy.sin(y))) == 0
    import mpmath
    with mpmath.workdps(50):
        value = expr.evaluate({"x": mpmath.mpf(2), "y": mpmath.mpf(5)}, mpmath_xp)
        assert abs(value - (mpmath.log(2) + 10 - mpmath.sin(5))) < mpmath.mpf(10) ** -45


@pytest.mark.parametrize("text,needle", [
    ("x.__class__", "attribute access is not allowed: 'x.__class__' at column 1"),
    ("__import__('os')", "unknown function '__import__' is not allowed"),
    ("x[0]", "subscript is not allowed: 'x[0]'"),
    ("lambda: 1", "lambda is not allowed"),
    ("'s'", "string is not allowed: \"'s'\""),
    ("foo(x)", "unknown function 'foo' is not allowed: 'foo(x)'"),
    ("x if y else 1", "conditional expression is not allowed"),
    ("x < y", "comparison is not allowed: 'x < y'"),
    ("exp(x=1)", "keyword argument is not allowed: 'x=1' at column 5"),
    ("exp(*x)", "starred argument is not allowed"),
    ("x ^ 2", "operator ^ is not allowed: 'x ^ 2' at column 1; write x**y for a power"),
    ("x % 2", "operator % is not allowed"),
    ("x and y", "boolean operator is not allowed"),
    ("(x, y)", "tuple is not allowed"),
    ("[x][0]", "subscript is not allowed"),
    ("exp + 1", "function 'exp' used as a value is not allowed"),
    ("(lambda: x)()", "call of an expression is not allowed"),
    ("_x + 1", "names starting with _ are reserved"),
    ("exp(x, x)", "exp() takes 1 argument, got 2"),
    ("1e999 * x", "number out of the float64 range"),
    ("2j * x", "complex number is not allowed"),
    ("x +", "cannot parse 'x +'"),
    ("x; y", "cannot parse"),
    ("x\ny", "one line"),
    ("", "empty expression"),
    ("x" * 6000, "at most 5000"),
    ("-" * 4000 + "x", "too deeply nested"),
])
def test_refused_expressions_name_the_construct(text, needle):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_refused_expression_on_the_command_line_is_one_line_exit_2():
    result = invoke(["diff", "x.__class__", "--at", "x=1"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("adbench: error: attribute access is not allowed")


def test_power_tower_is_not_computed_with_python_integers():
    # ints would make Python compute 9**387420489 exactly; float64 overflows at once
    # (to inf, which a constant part of a real expression may not be)
    expr = parse_expression("9**9**9**9 * x")
    with pytest.raises(ExpressionError, match=r"9\.0 \*\* 387420489\.0 is inf"):
        expr.evaluate({"x": 1.0}, numpy_xp)


def test_long_chains_need_no_recursion():
    prob = expression_problem("x+" * 2000 + "x", {"x": 1.5})
    J = METHODS["ad-reverse"].prepare(prob.instance()).jacobian(np.array([1.5]))
    assert J.tolist() == [[2001.0]]


@pytest.mark.parametrize("at,needle", [
    (["x=1"], "no value for y: give it with --at, such as --at x=1,y=1"),
    (["x=1,y=2,z=3"], "--at z: not a variable of 'x*y' (its variables: x, y)"),
    (["x=1,y"], "malformed --at 'y'"),
    (["x=1,y=two"], "--at y=two: 'two' is not a number"),
    (["x=1,x=2"], "--at gives x twice"),
    (["x=1,y=inf"], "the value must be finite"),
    (["x.y=1"], "'x.y' is not a variable name"),
    ([], "no value for x, y"),
])
def test_at_errors(at, needle):
    with pytest.raises(ExpressionError, match=None) as info:
        expression_problem("x*y", at)
    assert needle in str(info.value)
    args = ["diff", "x*y"] + [a for spec in at for a in ("--at", spec)]
    result = invoke(args)
    assert result.exit_code == 2 and needle in result.output


def test_at_order_defines_x_and_repeated_at_options_join():
    assert parse_point(["y=5", "x=2"]) == {"y": 5.0, "x": 2.0}
    prob = expression_problem("log(x) + x*y - sin(y)", ["y=5", "x=2"])
    assert prob.variables == ("y", "x")
    J = METHODS["ad-forward"].prepare(prob.instance()).jacobian(prob.instance().x0.copy())
    np.testing.assert_allclose(J[0], [2 - math.cos(5), 5.5], rtol=1e-15)


def test_a_constant_name_given_a_value_is_a_variable():
    prob = expression_problem("e * x", {"e": 3.0, "x": 2.0})
    J = METHODS["ad-reverse"].prepare(prob.instance()).jacobian(np.array([3.0, 2.0]))
    assert J.tolist() == [[2.0, 3.0]]


def test_every_method_differentiates_the_survey_example():
    table, info = differentiate("log(x) + x*y - sin(y)", "x=2,y=5", isolate=False)
    assert info["value"] == pytest.approx(11.652071455223084, rel=1e-15)
    rows = table.set_index("method")
    assert list(rows.index) == ["reference", *DEFAULT_METHODS]
    assert rows.loc["manual", "status"] == "unsupported"
    for method in ("symbolic", "ad-forward", "ad-reverse", "reference"):
        assert rows.loc[method, "d/dx"] == 5.5
        assert rows.loc[method, "d/dy"] == pytest.approx(2 - math.cos(5), rel=1e-15)
    assert rows.loc["fd-central", "max_rel_error"] < 1e-8
    assert rows.loc["ad-reverse", "max_rel_error"] < 1e-15


def test_diff_command_prints_the_table():
    result = invoke(["diff", "log(x) + x*y - sin(y)", "--at", "x=2,y=5",
                     "--method", "ad-forward", "--method", "ad-reverse"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "f(x, y) = log(x) + x*y - sin(y)   at x = 2, y = 5" in out
    assert "f = 11.652071455223084" in out
    for method in ("reference", "ad-forward", "ad-reverse"):
        line = next(line for line in out.splitlines() if line.startswith(method + " "))
        assert "5.5" in line and "1.7163378145367738" in line
    assert "fd-central" not in out


def test_outside_the_domain_there_is_no_reference_but_no_crash():
    result = invoke(["diff", "log(x)", "--at", "x=-1", "--method", "ad-reverse",
                     "--method", "fd-central"])
    assert result.exit_code == 0, result.output
    assert "no reference" in result.output and "outside the domain" in result.output
    assert "nonfinite" in result.output


def test_op_counts_are_shown_when_measured_and_timing_is_not_run(monkeypatch):
    from adbench.measure import harness

    def ops(ctx):
        return {"ops_f": 5, "ops_derivative": 10 * ctx.inst.n, "ops_ratio": 2.0 * ctx.inst.n,
                "passes": 1}

    def timing(ctx):
        raise AssertionError("diff must not time the methods")

    monkeypatch.setattr(harness, "METRICS", [
        harness.Metric("ops", ["ops_f", "ops_derivative", "ops_ratio", "passes"], ops),
        harness.Metric("timing", ["time_f_s", "time_ratio"], timing)])
    table, _ = differentiate("x*y", "x=1,y=2", methods=["ad-reverse"], isolate=False)
    row = table.set_index("method").loc["ad-reverse"]
    assert row["ops_derivative"] == 20 and row["ops_ratio"] == 4.0
    assert "passes" not in table.columns and row["message"] == ""
