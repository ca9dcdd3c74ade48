"""Staged rules: the compiled reverse sweep writes each array rule out once, as lines."""

import re

import numpy as np
import pytest

from adbench.ad import grad
from adbench.ad.codegen import Writer
from adbench.ad.compiled import compile_grad
from adbench.ad.staging import StageTrace, Unstageable, stage_rule
from adbench.interpret import primitives as P
from adbench.interpret.core import primal
from adbench.interpret.xp import numpy_xp
from adbench.registry import load_registry

RULE_CALL = re.compile(r"\b[br]\d+(?:_\d+)?\(")  # a rule called at every gradient


def _gmm():
    inst = load_registry().get("gmm").instance(D=3, K=4, N=30)
    return inst


def test_every_rule_of_gmm_is_written_out_and_the_gradient_is_the_engines():
    inst = _gmm()
    c = compile_grad(inst.f)
    c(inst.x0)
    key = next(iter(c.sources))
    source = c.sources[key]
    assert c.unstaged[key] == []
    assert RULE_CALL.search(source) is None
    assert re.search(r"\bt\d+ = p_matmul\(", source)  # the matmul rule's products, spelled
    x1 = inst.x0 + 0.05 * np.random.default_rng(3).standard_normal(inst.x0.shape)
    np.testing.assert_allclose(c(x1), grad(inst.f)(x1), rtol=1e-12, atol=1e-12)
    assert c.stats["compiled"] == 1


def test_a_rule_that_reads_values_stays_a_call_and_stays_right():
    # max's rule builds the argmax mask from the values: not stageable
    def f(x, xp):
        y = xp.reshape(x * x - x, (3, 2))
        return xp.sum(xp.max(y, axis=0))

    c = compile_grad(f)
    x0 = np.array([0.1, 0.9, 2.0, -1.0, 0.3, 0.5])
    c(x0)
    key = next(iter(c.sources))
    assert [name for name, _ in c.unstaged[key]] == ["max"]
    assert "reads a value" in c.unstaged[key][0][1]
    assert RULE_CALL.search(c.sources[key])
    # a point where the maximum of each column is another row: the call decides anew
    x1 = np.array([2.0, -1.0, 0.1, 0.9, 0.3, 3.0])
    np.testing.assert_allclose(c(x1), grad(f)(x1), rtol=1e-14)
    np.testing.assert_allclose(c(x1), [3.0, 0.0, 0.0, 0.0, 0.0, 5.0], rtol=1e-14)


def _stage(values):
    """A writer with nothing recorded, and staged boxes over ``values``."""
    writer = Writer.__new__(Writer)
    writer.namespace, writer._constants, writer._keep, writer.lines = {}, {}, [], []
    writer._temps = 0
    trace = StageTrace(writer, 1 << 12)
    return writer, trace, [trace.box(f"v{i}", v) for i, v in enumerate(values)]


def test_a_staged_rule_writes_one_line_per_primitive_it_applies():
    writer, trace, (g, a) = _stage([np.ones((4, 1)), np.ones((4, 3))])
    text = stage_rule(trace, lambda g, a: P.multiply(P.broadcast_to(g, (4, 3)), a), g, a)
    assert text == "t2"
    assert writer.lines == ["    t1 = p_broadcast_to(v0, shape=c0)",
                            "    t2 = p_mul(t1, v1)"]
    exec("def run(v0, v1):\n" + "\n".join(writer.lines) + "\n    return t2", writer.namespace)
    g0, a0 = np.arange(4.0).reshape(4, 1), np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(writer.namespace["run"](g0, a0), g0 * a0)


@pytest.mark.parametrize("rule", [
    lambda g, a: P.multiply(g, a) if primal(a).shape == (4, 3) and primal(a) == 0 else g,
    lambda g, a: g if bool(a > 0) else P.negative(g),
    lambda g, a: np.asarray(a),
    lambda g, a: float(primal(a)[0, 0]) * g,
])
def test_reading_a_value_is_refused_and_the_lines_taken_back(rule):
    writer, trace, (g, a) = _stage([np.ones((4, 3)), np.ones((4, 3))])
    P.negative(g)  # a line made before the rule: kept
    with pytest.raises(Unstageable):
        stage_rule(trace, rule, g, a)
    assert writer.lines == ["    t1 = p_neg(v0)"]


def test_a_bound_function_has_one_name():
    writer, trace, (g,) = _stage([np.ones(3)])
    for _ in range(3):
        P.exp(g)
    assert [line.split(" = ")[1] for line in writer.lines] == ["p_exp(v0)"] * 3
    assert writer.bind_function("p_exp", np.log) == "p_exp_1"


@pytest.mark.parametrize("x, shape", [
    (np.arange(3.0), (2, 3)), (np.arange(3.0).reshape(3, 1), (3, 4)), (2.5, (5,)),
    (np.arange(4.0).reshape(1, 4), (5000, 4)), (np.arange(2.0), (3000, 2)),
])
def test_broadcast_to_gives_numpys_values(x, shape):
    out = P.broadcast_to_p.impl(x, shape)
    np.testing.assert_array_equal(out, np.broadcast_to(x, shape))
    assert out.shape == shape and out.dtype == np.float64


@pytest.mark.parametrize("x, shape", [(np.ones((1, 2)), (2,)), (np.ones(3), (2, 4))])
def test_broadcast_to_refuses_what_numpy_refuses(x, shape):
    with pytest.raises(ValueError):
        np.broadcast_to(x, shape)
    with pytest.raises(ValueError):
        P.broadcast_to_p.impl(x, shape)


def test_numpy_xp_broadcast_to_is_the_primitive():
    np.testing.assert_array_equal(numpy_xp.broadcast_to(np.arange(2.0), (3, 2)),
                                  np.tile(np.arange(2.0), (3, 1)))


def test_a_function_never_takes_the_name_of_a_constant():
    writer, trace, _ = _stage([np.ones(2)])
    writer.namespace["p_exp"] = np.arange(3.0)  # a value under that name
    assert writer.bind_function("p_exp", np.exp) == "p_exp_1"
    assert writer.bind_function("p_exp", np.exp) == "p_exp_1"
