"""What makes the engine fast, checked by what it records (never by time):
the collector paused during differentiation, and ``x[i]`` recorded once per element."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from adbench.ad import compile_grad, grad, hessian, jacrev, record
from adbench.interpret import primitives as P
from adbench.registry import load_registry

HELMHOLTZ = load_registry().get("helmholtz").instance(n=10)
ENERGY = __import__(HELMHOLTZ.problem.fn.__module__, fromlist=["helmholtz_energy"]) \
    .helmholtz_energy
DATA = {k: HELMHOLTZ.params[k] for k in ("A", "b")}


def indexed(x, xp):
    """Helmholtz with x[i] read from the array inside its loops."""
    return ENERGY(x, xp, **DATA)


def test_x_i_in_loops_records_one_entry_per_element_as_list_x_does():
    tape_list = len(record(HELMHOLTZ.f, HELMHOLTZ.x0)[0].tape)
    tape_indexed = len(record(indexed, HELMHOLTZ.x0)[0].tape)
    assert tape_indexed == tape_list
    np.testing.assert_array_equal(grad(indexed)(HELMHOLTZ.x0), grad(HELMHOLTZ.f)(HELMHOLTZ.x0))


def test_x_i_in_loops_compiles_to_the_same_gradient():
    g = compile_grad(indexed)
    x1 = HELMHOLTZ.x0 * 1.1
    g(HELMHOLTZ.x0)
    np.testing.assert_allclose(g(x1), grad(HELMHOLTZ.f)(x1), rtol=1e-13)
    assert g.stats["recorded"] == 1 and g.stats["compiled"] == 1


def test_repeated_reads_share_their_cotangent():
    # f = x0 * x0 + 3 x1 x0 - x[-1]: every read of an element feeds its gradient entry
    def f(x, xp):
        return x[0] * x[0] + 3.0 * x[1] * x[0] - x[-1] + x[0]
    x = np.array([2.0, 5.0, 7.0])
    np.testing.assert_allclose(grad(f)(x), [2 * 2.0 + 3 * 5.0 + 1, 3 * 2.0, -1.0], rtol=1e-15)
    np.testing.assert_allclose(hessian(f)(x), [[2, 3, 0], [3, 0, 0], [0, 0, 0]], atol=1e-15)
    assert len(record(f, x)[0].tape) == 1 + 3 + 6  # input, 3 reads, 6 operations


def test_an_out_of_range_read_raises_as_numpy_does():
    with pytest.raises(IndexError):
        grad(lambda x, xp: x[3])(np.array([1.0, 2.0]))


def test_reads_of_a_matrix_and_of_a_large_vector_are_still_right():
    A = np.arange(6.0).reshape(2, 3) + 1
    J = jacrev(lambda a, xp: a[1] * a[0])(A)
    assert J.shape == (3, 2, 3)
    big = np.linspace(0, 1, (1 << 16) + 1)
    np.testing.assert_allclose(grad(lambda x, xp: x[5] * x[5] + x[-1])(big)[[5, -1]],
                               [2 * big[5], 1.0])


def test_the_collector_is_paused_while_differentiating_and_restored():
    seen = []

    def f(x, xp):
        seen.append(gc.isenabled())
        return xp.sum(x * x)
    assert gc.isenabled()
    grad(f)(np.ones(3))
    jacrev(f)(np.ones(3))
    compile_grad(f)(np.ones(3))
    assert seen == [False, False, False] and gc.isenabled()
    gc.disable()
    try:
        grad(f)(np.ones(3))
        assert not gc.isenabled()  # a caller's paused collector stays paused
    finally:
        gc.enable()
    with pytest.raises(ValueError):
        grad(lambda x, xp: x * 2)(np.ones(2))  # not scalar
    assert gc.isenabled()


def test_a_gradient_leaves_no_reference_cycle_behind():
    gc.collect()
    grad(indexed)(HELMHOLTZ.x0)
    grad(HELMHOLTZ.f)(HELMHOLTZ.x0)
    assert gc.collect() == 0


def _scalar_partial_primitives():
    from adbench.interpret.primitives import PRIMITIVES
    return [p for p in PRIMITIVES.values() if p.scalar_partial is not None]


def test_each_scalar_partial_is_its_lin_rule_on_floats():
    from adbench.interpret.core import DOMAIN_ERRORS
    from adbench.interpret.primitives import _lin_term  # lin[0](g, ...), markers included
    prims = _scalar_partial_primitives()
    assert {"neg", "exp", "log", "sin", "cos", "tan", "tanh", "sqrt", "log1p", "expm1",
            "arcsin", "arccosh", "arctanh", "sinh", "erf"} <= {p.name for p in prims}
    for prim in prims:
        checked = 0
        for x in (-0.6, 0.3, 0.7, 1.9, 12.5):
            try:
                out = prim.scalar(x)
                partial = prim.scalar_partial(x, out)
            except DOMAIN_ERRORS:  # outside the float domain: the sweep calls the rule
                continue
            assert partial == _lin_term(prim.lin[0], 1.0, (x,), out), (prim.name, x)
            checked += 1
        assert checked >= 2, prim.name


def test_partials_are_written_from_the_rules():
    from adbench.interpret.primitives import PRIMITIVES
    from adbench.interpret.primitives.rules import elementwise
    expressions = {name: PRIMITIVES[name].scalar_partial.expression
                   for name in ("sin", "cos", "exp", "sqrt", "tanh")}
    assert expressions == {"sin": "math.cos(x)", "cos": "(-math.sin(x))", "exp": "out",
                           "sqrt": "(0.5 / out)", "tanh": "(1.0 - (out * out))"}
    # a rule that decides by the value (abs: the sign of x) has no partial
    assert PRIMITIVES["abs"].scalar_partial is None
    try:  # a primitive defined after the table gets one from its rule too
        probe = elementwise(
            "cube_probe_for_test", lambda x: x ** 3, scalar=lambda x: x ** 3,
            lin=(lambda g, x, out: P.multiply(g, P.multiply(3.0, P.multiply(x, x))),))
        assert probe.scalar_partial.expression == "(3.0 * (x * x))"
        assert probe.scalar_partial(2.0, 8.0) == 12.0
    finally:
        PRIMITIVES.pop("cube_probe_for_test", None)


def test_a_unary_float_entry_holds_its_partial_and_the_sweep_multiplies_by_it():
    import math

    def f(x, xp):
        return xp.sin(xp.cos(xp.sqrt(xp.tanh(-x))))
    x = -0.8
    trace, _, _ = record(f, x)
    d = [entry[4] for entry in trace.tape[1:]]  # neg, tanh, sqrt, cos, sin: (prim, j, x, out, d)
    t = math.tanh(0.8)
    s = math.sqrt(t)
    assert d == pytest.approx([-1.0, 1 - t * t, 0.5 / s, -math.sin(s), math.cos(math.cos(s))],
                              rel=1e-15)
    # the chain rule by hand
    expected = math.cos(math.cos(s)) * -math.sin(s) * (0.5 / s) * (1 - t * t) * -1.0
    assert grad(f)(x) == pytest.approx(expected, rel=1e-14)


def test_a_partial_outside_the_float_domain_is_left_to_the_rule():
    # d sqrt(x)/dx at 0: 0.5 / 0 raises on floats; the rule gives inf, as numpy does
    trace, _, _ = record(lambda x, xp: xp.sqrt(x), 0.0)
    assert trace.tape[1][4] is None
    with pytest.warns(RuntimeWarning):
        assert grad(lambda x, xp: xp.sqrt(x))(0.0) == np.inf


def test_scalar_partials_of_markers_need_a_float_implementation():
    from adbench.interpret.primitives import IDENTITY, NEGATE, PRIMITIVES
    from adbench.interpret.primitives.rules import elementwise
    with_float = PRIMITIVES["neg"]  # lin = (NEGATE,), scalar operator.neg
    assert with_float.lin == (NEGATE,) and with_float.scalar_partial(2.0, -2.0) == -1.0
    try:  # a marker primitive with no float implementation is defined, without one
        probe = elementwise("identity_probe_for_test", np.positive, lin=(IDENTITY,))
        assert probe.scalar_partial is None
        with pytest.raises(ValueError, match="scalar_partial is for unary"):
            elementwise("binary_probe_for_test", np.add, scalar=float.__add__,
                        lin=(IDENTITY, IDENTITY), scalar_partial=lambda x, out: 1.0)
    finally:
        PRIMITIVES.pop("identity_probe_for_test", None)
        PRIMITIVES.pop("binary_probe_for_test", None)
