"""The reverse sweep's shortcuts give the rules' answers: residual entries, numpy scalars."""

import math

import numpy as np

from adbench.ad import grad
from adbench.ad.reverse import ReverseTrace
from adbench.ad.tape import RESIDUAL, entry_parts, values_held
from adbench.interpret import primitives as P
from adbench.interpret.counting import CountTrace, count_ops
from adbench.interpret.xp import numpy_xp
from adbench.measure.metrics.memory import tape_memory


def _lse(x, xp):
    return xp.sum(xp.logsumexp(xp.reshape(x, (3, 4)), axis=0)) * 2.0


X = np.linspace(-1.5, 2.0, 12)


def _softmax_gradient(x):
    """2 softmax over each column of x as (3, 4), written out."""
    a = x.reshape(3, 4)
    e = np.exp(a - a.max(axis=0))
    return (2.0 * e / e.sum(axis=0)).reshape(-1)


def test_logsumexp_records_its_softmax_and_the_sweep_reads_it():
    trace = ReverseTrace()
    _lse(trace.input(X), numpy_xp)
    residual = [e for e in trace.tape if e is not None and len(e) == RESIDUAL]
    assert [e[0].name for e in residual] == ["logsumexp"]
    np.testing.assert_allclose(residual[0][RESIDUAL - 1], _softmax_gradient(X).reshape(3, 4) / 2,
                               rtol=1e-15)
    assert entry_parts(residual[0]) == residual[0][:5]
    assert any(v is residual[0][5] for v in values_held(residual[0]))
    np.testing.assert_allclose(grad(_lse)(X), _softmax_gradient(X), rtol=1e-14)


def test_the_residual_and_the_ordinary_rule_agree(monkeypatch):
    with_residual = grad(_lse)(X)
    monkeypatch.setattr(P.logsumexp_p, "residual", None)
    trace = ReverseTrace()
    _lse(trace.input(X), numpy_xp)
    assert all(e is None or len(e) != RESIDUAL for e in trace.tape)
    np.testing.assert_allclose(grad(_lse)(X), with_residual, rtol=1e-14)


def test_the_tape_memory_counts_the_residual():
    trace = ReverseTrace()
    _lse(trace.input(X), numpy_xp)
    held = tape_memory(trace)
    without = ReverseTrace()
    saved, P.logsumexp_p.residual = P.logsumexp_p.residual, None
    try:
        _lse(without.input(X), numpy_xp)
    finally:
        P.logsumexp_p.residual = saved
    # the softmax, 12 numbers, is the one value more
    assert held["tape_values"] - tape_memory(without)["tape_values"] == 12


def test_an_op_counter_sees_logsumexps_ordinary_path(monkeypatch):
    with CountTrace() as counter:
        trace = ReverseTrace()
        _lse(trace.input(X), numpy_xp)
    assert all(e is None or len(e) != RESIDUAL for e in trace.tape)
    # one exponential per entry and no division: the softmax is not computed
    assert counter.count.by_primitive["exp"] == 12 and "div" not in counter.count.by_primitive
    counted = count_ops(grad(_lse), X)
    monkeypatch.setattr(P.logsumexp_p, "residual", None)
    assert count_ops(grad(_lse), X).by_primitive == counted.by_primitive


def _tail(x, xp):
    # sum gives a numpy scalar, so f's value, its seed and the cotangents of the
    # float entries before it (sin of x[0], times 3) are numpy scalars
    return xp.sin(x[0]) * 3.0 + xp.sum(x * x)


X3 = np.array([0.3, -0.8, 1.1])


def test_a_scalar_tail_of_numpy_scalars_gets_the_rules_derivative():
    expected = 2 * X3 + np.array([3.0 * math.cos(0.3), 0.0, 0.0])
    np.testing.assert_allclose(grad(_tail)(X3), expected, rtol=1e-15)


def test_numpy_scalar_cotangents_take_the_float_paths(monkeypatch):
    # sin's float entry holds its partial derivative; a numpy scalar cotangent
    # multiplies by it, as a float one does (a wrong partial shows in the gradient)
    monkeypatch.setattr(P.sin_p, "scalar_partial", lambda v, out: 0.0)
    np.testing.assert_allclose(grad(_tail)(X3), 2 * X3, rtol=1e-15)
