"""adbench.ad.checkpoint: the same derivatives for less tape, one more evaluation."""

import numpy as np
import pytest

from adbench.ad import checkpoint, grad, hessian, jacfwd, jacrev, record
from adbench.interpret.counting import count_ops
from adbench.interpret.xp import numpy_xp
from adbench.measure.metrics.memory import peak_bytes
from adbench.registry import load_registry

REGISTRY = load_registry()
#: One segment: 32 symplectic-Euler steps of the pendulum, (q, p) -> (q, p) (the
#: registry's unrolled-loop); its derivatives stay bounded over long chains.
SEGMENT = REGISTRY.get("unrolled-loop").instance(steps=32).f
SEGMENTS = 32
X = np.array([1.0, 0.0])


def chain(step, segments=SEGMENTS):
    """sum(q, p) after ``segments`` applications of ``step``."""
    def f(x, xp):
        for _ in range(segments):
            x = step(x, xp)
        return xp.sum(x)
    return f


FULL, LIGHT = chain(SEGMENT), chain(checkpoint(SEGMENT))


def test_checkpointing_changes_no_derivative():
    expected = grad(FULL)(X)
    assert np.all(np.isfinite(expected)) and np.all(np.abs(expected) > 0.1)
    np.testing.assert_allclose(grad(LIGHT)(X), expected, rtol=1e-13)
    np.testing.assert_allclose(jacfwd(LIGHT)(X), jacfwd(FULL)(X), rtol=1e-13)
    np.testing.assert_allclose(jacrev(LIGHT)(X), jacrev(FULL)(X), rtol=1e-13)
    # second order: forward over reverse, through the checkpoints' own rules
    short, short_light = chain(SEGMENT, 4), chain(checkpoint(SEGMENT), 4)
    H = hessian(short)(X)
    assert np.all(np.isfinite(H)) and np.abs(H).max() > 0.1
    np.testing.assert_allclose(hessian(short_light)(X), H, rtol=1e-12)


def test_the_tape_holds_one_entry_per_segment():
    full, _, _ = record(FULL, X)
    light, _, _ = record(LIGHT, X)
    segment, _, _ = record(SEGMENT, X)
    assert len(light.tape) == 1 + SEGMENTS + 1  # the input, the segments, the sum
    assert len(full.tape) == 1 + SEGMENTS * (len(segment.tape) - 1) + 1


def test_checkpointing_trades_memory_for_one_more_evaluation():
    g, g_light = grad(FULL), grad(LIGHT)
    g(X), g_light(X)
    full, light = peak_bytes(lambda: g(X)), peak_bytes(lambda: g_light(X))
    assert light < 0.15 * full, (light, full)  # measured 0.06
    ops_segment = count_ops(lambda v: SEGMENT(v, numpy_xp), X).ops
    extra = count_ops(g_light, X).ops - count_ops(g, X).ops
    assert extra == SEGMENTS * ops_segment  # each segment is evaluated once more


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


def test_a_problem_that_checkpoints_its_loop_runs_under_every_method(tmp_path):
    from adbench.measure import harness
    from adbench.methods import DEFAULT_METHODS
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "pendulum.py").write_text(
        "from adbench import problem\n"
        "from adbench.ad import checkpoint\n\n"
        "@checkpoint\n"
        "def two_steps(x, xp):\n"
        "    q, p = x[0], x[1]\n"
        "    for _ in range(2):\n"
        "        p = p - 0.1 * xp.sin(q)\n"
        "        q = q + 0.1 * p\n"
        "    return xp.stack([q, p])\n\n"
        "@problem(name='checkpointed-pendulum', n=2, m=2, x0=[1.0, 0.0])\n"
        "def pendulum(x, xp):\n"
        "    for _ in range(2):  # few steps: SymPy's expressions double with each\n"
        "        x = two_steps(x, xp)\n"
        "    return x\n")
    df = harness.run(problems=["checkpointed-pendulum"], problems_dirs=[folder],
                     isolate=False).set_index("method")
    assert set(df.index) == set(DEFAULT_METHODS)
    assert df.loc["manual", "status"] == "unsupported"  # no hand-written Jacobian
    df = df.drop(index="manual")
    assert (df.status == "ok").all(), df[["status", "message"]]
    exact = df.drop(index=["fd-forward", "fd-central"])
    assert (exact.max_rel_error < 1e-12).all(), exact[["method", "max_rel_error"]]
