"""Deep and wide programs in reverse mode: no recursion, every contribution counted."""

import math
import sys

import numpy as np
import pytest

from adbench.ad import grad, jacfwd, record
from adbench.ad.reverse import backward


def test_reverse_mode_survives_a_1e5_deep_chain():
    depth = 100_000
    assert depth > 10 * sys.getrecursionlimit()

    def chain(x, xp):
        v = x[0]
        for _ in range(depth // 2):
            v = xp.sin(v) * 0.999  # two primitives per step
        return v
    trace, _, y = record(chain, np.array([0.5]))
    assert len(trace.tape) >= depth
    # the derivative of the same recurrence, by hand
    v, dv = 0.5, 1.0
    for _ in range(depth // 2):
        v, dv = math.sin(v) * 0.999, math.cos(v) * 0.999 * dv
    assert grad(chain)(np.array([0.5]))[0] == pytest.approx(dv, rel=1e-12)


def test_reverse_mode_survives_a_deep_chain_of_array_operations():
    def chain(x, xp):
        for _ in range(5_000):
            x = x * 1.0001 - 0.001
        return xp.sum(x)
    np.testing.assert_allclose(grad(chain)(np.ones(3)), np.full(3, 1.0001 ** 5_000),
                               rtol=1e-12)


def test_a_value_used_1000_times_gets_every_contribution():
    def f(x, xp):
        a = x[0]
        total = 0.0
        for k in range(1, 1001):
            total = total + a * k  # a used 1000 times, with different weights
        return total * a
    a = 0.75
    # f = a^2 sum k = 500500 a^2
    assert grad(f)(np.array([a]))[0] == pytest.approx(2 * 500500 * a, rel=1e-14)
    assert jacfwd(f)(np.array([a]))[0] == pytest.approx(2 * 500500 * a, rel=1e-14)


def test_an_array_used_1000_times_gets_every_contribution():
    w = np.linspace(-1.0, 1.0, 1000)

    def f(x, xp):
        total = 0.0
        for k in range(1000):
            total = total + xp.sum(x * w[k]) + x[k % 3] ** 2
        return total
    x = np.array([0.3, -0.2, 0.9])
    counts = np.bincount(np.arange(1000) % 3)
    np.testing.assert_allclose(grad(f)(x), np.sum(w) + 2 * counts * x, rtol=1e-12, atol=1e-12)


def test_a_shared_node_in_a_diamond_is_complete_before_it_propagates():
    # y = (a + a) * a, with a = x^2: the reuse of a inside and outside a sum
    def f(x, xp):
        a = x[0] * x[0]
        b = a + a
        return b * a + xp.exp(b)
    x = 0.6
    a = x * x
    expected = (4 * a + 2 * math.exp(2 * a)) * 2 * x
    assert grad(f)(np.array([x]))[0] == pytest.approx(expected, rel=1e-14)


def test_backward_twice_on_one_tape_gives_the_same_adjoints():
    trace, xv, y = record(lambda x, xp: xp.sum(x[:2] * x[1:] + x[0]), np.array([1.0, 2.0, 3.0]))
    first = backward(trace, y, 1.0)[xv.index].copy()
    second = backward(trace, y, 1.0)[xv.index]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, [4.0, 4.0, 2.0])
