"""Evaluation traces (the survey's Tables 2 and 3) and ``adbench trace``."""

import csv
import io
import math

import numpy as np
import pytest
from test_cli import invoke

from adbench.ad import grad
from adbench.studies.evaltrace import forward_trace, reverse_trace

Y = math.log(2) + 10 - math.sin(5)  # 11.652071455223084


@pytest.fixture(scope="module")
def survey(registry):
    return registry.get("survey-example").instance().f


def test_forward_trace_of_the_survey_example_is_table_2(survey):
    t = forward_trace(survey, [2.0, 5.0], wrt=0)
    primal = [(r.name, r.expression) for r in t.section("primal")]
    assert primal == [("v_-1", "x1"), ("v_0", "x2"), ("v_1", "ln v_-1"), ("v_2", "v_-1 * v_0"),
                      ("v_3", "sin v_0"), ("v_4", "v_1 + v_2"), ("v_5", "v_4 - v_3")]
    values = [r.value for r in t.section("primal")]
    np.testing.assert_allclose(values, [2, 5, math.log(2), 10, math.sin(5), math.log(2) + 10, Y])
    tangents = [r.value for r in t.section("tangent")]
    np.testing.assert_allclose(tangents, [1, 0, 0.5, 5, 0, 5.5, 5.5])  # Table 2
    assert t.value_of("result", "y") == pytest.approx(Y, rel=1e-15)
    assert t.value_of("result", "dy/dx1") == 5.5


def test_forward_trace_seeded_on_x2(survey):
    t = forward_trace(survey, [2.0, 5.0], wrt=1)
    assert t.value_of("result", "dy/dx2") == pytest.approx(2 - math.cos(5), rel=1e-15)


def test_reverse_trace_of_the_survey_example_is_table_3(survey):
    t = reverse_trace(survey, [2.0, 5.0])
    adjoints = [(r.name, r.expression, round(float(r.value), 3)) for r in t.section("adjoint")]
    assert adjoints == [
        ("vbar_5", "ybar", 1.0),                            # Table 3, in its order
        ("vbar_4", "vbar_5 * dv_5/dv_4", 1.0),
        ("vbar_3", "vbar_5 * dv_5/dv_3", -1.0),
        ("vbar_1", "vbar_4 * dv_4/dv_1", 1.0),
        ("vbar_2", "vbar_4 * dv_4/dv_2", 1.0),
        ("vbar_0", "vbar_3 * dv_3/dv_0", -0.284),          # after the sine: -cos 5
        ("vbar_-1", "vbar_2 * dv_2/dv_-1", 5.0),           # after the product: x2
        ("vbar_0", "vbar_0 + vbar_2 * dv_2/dv_0", 1.716),  # + x1
        ("vbar_-1", "vbar_-1 + vbar_1 * dv_1/dv_-1", 5.5),  # + 1/x1
    ]
    assert t.value_of("adjoint", "vbar_0", 0) == pytest.approx(-math.cos(5), rel=1e-15)
    assert t.value_of("result", "xbar_1") == 5.5
    assert t.value_of("result", "xbar_2") == pytest.approx(2 - math.cos(5), rel=1e-15)


def test_traces_of_an_array_program_end_with_the_engines_gradient(registry):
    inst = registry.get("rosenbrock").instance(n=3)
    x = np.array([-1.2, 1.0, 0.7])
    g = grad(inst.f)(x)
    r = reverse_trace(inst.f, x)
    np.testing.assert_allclose([r.value_of("result", f"xbar_{i}") for i in (1, 2, 3)], g)
    for i in range(3):
        assert forward_trace(inst.f, x, wrt=i).value_of("result", f"dy/dx{i + 1}") == \
            pytest.approx(g[i], rel=1e-14)


def test_trace_command_prints_the_survey_tables():
    out = invoke(["trace", "survey-example", "--mode", "forward", "--at", "2,5"])
    assert out.exit_code == 0, out.output
    for text in ("v_5", "v_4 - v_3", "11.652", "dy/dx1", "5.5", "Forward tangent trace"):
        assert text in out.output
    out = invoke(["trace", "survey-example", "--mode", "reverse"])
    assert out.exit_code == 0, out.output
    for text in ("vbar_0 + vbar_2 * dv_2/dv_0", "-0.284", "1.716", "xbar_1", "5.5"):
        assert text in out.output
    out = invoke(["trace", "survey-example", "--wrt", "x2"])
    assert "dy/dx2" in out.output and "1.716" in out.output


def test_trace_command_formats():
    out = invoke(["trace", "survey-example", "--mode", "reverse", "--format", "csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert {r["section"] for r in rows} == {"primal", "adjoint", "result"}
    assert [r["value"] for r in rows if r["name"] == "vbar_0"] == ["-0.284", "1.716"]
    out = invoke(["trace", "survey-example", "--format", "md", "--digits", "5"])
    assert out.exit_code == 0, out.output
    assert "| v_5" in out.output and "11.65207" in out.output
    out = invoke(["trace", "rosenbrock", "--sizes", "n=3", "--mode", "reverse"])
    assert out.exit_code == 0, out.output
    assert "sum(v_9)" in out.output


@pytest.mark.parametrize("args,needle", [
    (["trace", "survey-exampel"], "unknown problem 'survey-exampel'"),
    (["trace", "survey-example", "--at", "2"], "--at '2': the problem has 2 inputs"),
    (["trace", "survey-example", "--at", "2,five"], "--at '2,five': expected 2"),
    (["trace", "survey-example", "--wrt", "x3"], "--wrt 'x3': expected an input x1..x2"),
    (["trace", "survey-example", "--mode", "reverse", "--wrt", "x1"], "reverse mode seeds"),
    (["trace", "survey-example", "--output", "2", "--mode", "reverse"], "the problem has 1 output"),
    (["trace", "survey-example", "--mode", "sideways"], "'sideways' is not one of"),
    (["trace", "rosenbrock", "--sizes", "n=2,3"], "trace takes one value"),
])
def test_trace_command_rejects_bad_input_in_one_line(args, needle):
    out = invoke(args)
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1, out.output
    assert needle in lines[0]
