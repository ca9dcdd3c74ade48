"""adbench.ad.checkpoint: the same derivatives for less tape, one more evaluation."""

import numpy as np
import pytest

from adbench.ad import checkpoint, grad, hessian, jacfwd, jacrev, record
from adbench.counting import count_ops
from adbench.metrics.memory import peak_bytes
from adbench.registry import load_registry
from adbench.xp import numpy_xp

REGISTRY = load_registry()
#: 32 steps of the logistic map (the registry's definition, depth 33), x[0] -> l(x[0])
LOGISTIC_32 = REGISTRY.get("logistic-map").instance(depth=33).f
SEGMENTS = 32


def SEGMENT(x, xp):  # noqa: N802 - a constant of the tests
    """One segment: shape (1,) in and out, so that segments chain."""
    return xp.reshape(LOGISTIC_32(x, xp), (1,))


def chain(x, xp):
    """1,024 steps of the logistic map, as 32 segments of 32."""
    for _ in range(SEGMENTS):
        x = SEGMENT(x, xp)
    return xp.sum(x)


def chain_checkpointed(x, xp):
    step = checkpoint(SEGMENT)
    for _ in range(SEGMENTS):
        x = step(x, xp)
    return xp.sum(x)


X = np.array([0.2])


def test_checkpointing_changes_no_derivative():
    np.testing.assert_allclose(grad(chain_checkpointed)(X), grad(chain)(X), rtol=1e-13)
    np.testing.assert_allclose(jacfwd(chain_checkpointed)(X), jacfwd(chain)(X), rtol=1e-13)
    np.testing.assert_allclose(jacrev(chain_checkpointed)(X), jacrev(chain)(X), rtol=1e-13)
    # second order: forward over reverse, through the checkpoints' own rules
    np.testing.assert_allclose(hessian(chain_checkpointed)(X), hessian(chain)(X), rtol=1e-10)


def test_the_tape_holds_one_entry_per_segment():
    full, _, _ = record(chain, X)
    light, _, _ = record(chain_checkpointed, X)
    segment, _, _ = record(SEGMENT, X)
    assert len(light.tape) == 1 + SEGMENTS + 1  # the input, the segments, the sum
    assert len(full.tape) == 1 + SEGMENTS * (len(segment.tape) - 1) + 1


def test_checkpointing_trades_memory_for_one_more_evaluation():
    g, g_light = grad(chain), grad(chain_checkpointed)
    g(X), g_light(X)
    full, light = peak_bytes(lambda: g(X)), peak_bytes(lambda: g_light(X))
    # measured 0.26: the tape of one segment at a time, plus the small objects the
    # inner passes leave in CPython's free lists (see adbench.metrics.memory)
    assert light < 0.35 * full, (light, full)
    ops_f = count_ops(lambda v: chain(v, numpy_xp), X).ops
    extra = count_ops(g_light, X).ops - count_ops(g, X).ops
    assert extra == ops_f  # each segment is evaluated once more in the backward sweep


def test_a_closure_over_the_differentiated_value_is_refused():
    def f(x, xp):
        return checkpoint(lambda v, xp: x * v)(x, xp)  # x is captured, not passed
    with pytest.raises(ValueError, match="closes over a value being differentiated"):
        grad(f)(1.5)
    with pytest.raises(ValueError, match="closes over a value being differentiated"):
        jacfwd(f)(1.5)


def test_a_closure_over_an_enclosing_derivative_is_nesting():
    # d/dx [x * d/dy (x y)] = d/dx x^2 = 2x, with the inner function checkpointed
    def outer(x, xp):
        inner = grad(checkpoint(lambda y, xp: x * y))(1.0)
        return x * inner
    assert grad(outer)(3.0) == pytest.approx(6.0, rel=1e-15)
    assert jacfwd(outer)(3.0) == pytest.approx(6.0, rel=1e-15)
