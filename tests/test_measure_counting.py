"""Op counting: exact on hand-counted cases, and the survey's bounds on every problem."""

import numpy as np
import pytest

from adbench.ad import jacrev, jvp
from adbench.interpret import primitives as P
from adbench.interpret.counting import count_ops
from adbench.interpret.xp import numpy_xp
from adbench.measure.metrics.memory import tape_memory
from adbench.methods import METHODS
from adbench.registry import load_registry

REGISTRY = load_registry()


def survey(x, xp):
    return xp.log(x[0]) + x[0] * x[1] - xp.sin(x[1])


def test_costs_come_from_the_table():
    A, B = np.ones((3, 4)), np.ones((4, 5))
    assert count_ops(lambda a: P.matmul(a, B), A).ops == 2 * 3 * 4 * 5
    assert count_ops(lambda x: P.sum(x), np.ones(7)).ops == 6
    assert count_ops(lambda x: x * 2.0 + 1.0, np.ones(7)).ops == 14
    assert count_ops(lambda x: x[1:3].reshape((2, 1)), np.ones(7)).ops == 0


def test_transcendental_calls_are_counted_apart_and_pow_depends_on_its_exponent():
    c = count_ops(lambda x: survey(x, numpy_xp), [2.0, 5.0])
    assert (c.ops, c.transcendental, c.arithmetic) == (5, 2, 3)
    assert count_ops(lambda x: x ** 2, np.ones(3)).transcendental == 0
    assert count_ops(lambda x: x ** 2.0, np.ones(3)).transcendental == 0
    assert count_ops(lambda x: x ** 0.5, np.ones(3)).transcendental == 3
    assert count_ops(lambda x: x ** x, np.ones(3)).transcendental == 3


def test_reverse_jacobian_count_matches_a_hand_count():
    # forward sweep: log, mul, add, sin, sub = 5. Reverse sweep from the seed 1.0:
    # sub -> -g (1); sin -> g cos x (2); mul -> g y, g x (2); log -> g / x (1);
    # four getitem cotangents of shape (2,) summed into x's adjoint: 3 adds of 2 (6).
    c = count_ops(lambda x: jacrev(survey)(x), [2.0, 5.0])
    assert c.ops == 5 + 1 + 2 + 2 + 1 + 6
    assert c.transcendental == 3  # log, sin, cos
    assert c.by_primitive["neg"] == 1  # on the plain seed: seen through the evaluation hook


def test_forward_mode_tangent_through_a_constant_matrix_is_counted():
    W = np.arange(6.0).reshape(2, 3)
    c = count_ops(lambda x: jvp(lambda y, xp: W @ y)(x, np.ones(3)), np.ones(3))
    assert c.ops == 2 * (2 * 2 * 3)  # W x and W t: the tangent involves no counted value


def test_counting_leaves_values_unchanged_and_removes_its_hook():
    from adbench.interpret.core import EVALUATION_HOOKS
    inst = REGISTRY.get("rosenbrock").instance(n=5)
    prepared = METHODS["ad-reverse"].prepare(inst)
    plain = prepared.jacobian(inst.x0.copy())
    with pytest.raises(ZeroDivisionError):
        count_ops(lambda x: 1 / 0, inst.x0)
    assert EVALUATION_HOOKS == []
    count_ops(prepared.traceable, inst.x0)
    np.testing.assert_array_equal(prepared.jacobian(inst.x0.copy()), plain)


def _small_scalar_instances():
    """Every registered problem with m = 1, at its two smallest default sizes."""
    out = []
    for prob in REGISTRY.problems.values():
        for inst in prob.instances()[:2]:
            if inst.m == 1:
                out.append(inst)
    return out


SCALAR = _small_scalar_instances()


@pytest.mark.parametrize("inst", SCALAR, ids=[i.label for i in SCALAR])
def test_reverse_gradient_and_one_jvp_cost_under_six_times_f(inst):
    """The survey (Section 3): ops(grad) <= c ops(f) with c < 6, typically 2-3."""
    ops_f = count_ops(lambda x: inst.f(x, numpy_xp), inst.x0).ops
    if ops_f == 0:
        pytest.skip("f is the identity: no operations to compare against")
    with np.errstate(all="ignore"):
        reverse = count_ops(METHODS["ad-reverse"].prepare(inst).traceable, inst.x0).ops
        v = np.random.default_rng(4).normal(size=inst.n)
        one_jvp = count_ops(lambda x: jvp(inst.f)(x, v), inst.x0).ops
    assert reverse / ops_f <= 6, (inst.label, reverse, ops_f)
    assert one_jvp / ops_f <= 6, (inst.label, one_jvp, ops_f)


@pytest.mark.parametrize("inst", SCALAR, ids=[i.label for i in SCALAR])
def test_fd_central_makes_exactly_2n_evaluations_of_f(inst):
    prepared = METHODS["fd-central"].prepare(inst)
    with np.errstate(all="ignore"):
        count_ops(prepared.traceable, inst.x0)
    assert prepared.info["f_evaluations"] == 2 * inst.n


def test_peak_bytes_sees_numpy_arrays_and_the_running_trace():
    import tracemalloc

    from adbench.measure.metrics.memory import peak_bytes
    big = peak_bytes(lambda: np.ones(1_000_000).sum())  # 8 MB at once, freed at the end
    assert 8_000_000 <= big < 8_100_000
    assert peak_bytes(lambda: None) < 1_000
    tracemalloc.start()
    try:
        assert 8_000_000 <= peak_bytes(lambda: np.ones(1_000_000)) < 8_100_000
        assert tracemalloc.is_tracing()  # someone else's trace is left running
    finally:
        tracemalloc.stop()
    assert not tracemalloc.is_tracing()


def test_tape_length_grows_linearly_with_logistic_map_depth():
    from adbench.ad import record
    prob = REGISTRY.get("logistic-map")
    lengths, sizes = [], []
    for d in (2, 4, 8):
        trace, _, _ = record(prob.instance(depth=d).f, np.array([0.2]))
        mem = tape_memory(trace)
        lengths.append(mem["tape_length"])
        sizes.append(mem["tape_bytes"])
    assert lengths == [1 + 3 * (d - 1) for d in (2, 4, 8)]  # x[0], then 3 per step
    assert sizes[0] < sizes[1] < sizes[2]


def test_peak_memory_is_skipped_where_tracing_could_outlast_the_timeout():
    from adbench.measure.harness import Context
    from adbench.measure.metrics.memory import peak_columns
    from adbench.methods.base import Unsupported
    inst = REGISTRY.get("rosenbrock").instance(n=3)
    prepared = METHODS["ad-reverse"].prepare(inst)
    J = prepared.jacobian(inst.x0.copy())
    slow = Context(inst, METHODS["ad-reverse"], prepared, None, J, inst.x0, timeout=60.0,
                   jacobian_s=1.0)
    with pytest.raises(Unsupported, match="one Jacobian took 1 s"):
        peak_columns(slow)
    untimed = Context(inst, METHODS["ad-reverse"], prepared, None, J, inst.x0, timeout=None,
                      jacobian_s=4.0)
    with pytest.raises(Unsupported, match="could take 80 s, over 60 s"):
        peak_columns(untimed)
    quick = Context(inst, METHODS["ad-reverse"], prepared, None, J, inst.x0, timeout=60.0,
                    jacobian_s=1e-4)
    row = peak_columns(quick)
    assert row["mem_derivative_bytes"] > 0 and row["mem_f_bytes"] > 0
