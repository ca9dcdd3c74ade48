"""What makes the engine fast, checked by what it records (never by time):
the collector paused during differentiation, and ``x[i]`` recorded once per element."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from adbench.ad import compile_grad, grad, hessian, jacrev, record
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
