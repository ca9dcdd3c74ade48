"""The functions of xp made of other xp functions (adbench/interpret/compositions.py):
one definition in every namespace, the points where a composition needs care
(sinc at 0, nan_to_num's replaced entries, select's first true condition,
partition's order, linspace's end point), the index objects r_ and c_, the
refusals, and the op counts.

The value oracle is numpy itself; the derivative oracles are mpmath at high
precision (sinc), numpy applied to unit vectors (gradient and diff are linear,
so numpy's own function gives their Jacobian column by column), and the
definition (linspace's points start + i (stop - start) / div).
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest

from adbench import ad
from adbench.interpret import compositions as C
from adbench.interpret.counting import count_ops
from adbench.interpret.xp import XP_FUNCTIONS, mpmath_xp, numpy_xp, sympy_xp
from adbench.measure.reference import reference_jacobian
from adbench.problem import problem

X = numpy_xp


def test_every_composition_is_in_xp_and_bound_to_each_namespace():
    for name in list(C.COMPOSITIONS) + list(C.INDEX_OBJECTS):
        assert name in XP_FUNCTIONS
        for ns in (numpy_xp, mpmath_xp, sympy_xp):
            fn = getattr(ns, name)
            assert callable(fn) or name in C.INDEX_OBJECTS, (name, ns.name)
    # the same definition, bound to each namespace's own functions
    assert numpy_xp.diff.__wrapped__ is mpmath_xp.diff.__wrapped__ is C.diff
    assert numpy_xp.r_.xp is numpy_xp and sympy_xp.c_.xp is sympy_xp


# --------------------------------------------------------------------------
# sinc at its removable singularity
# --------------------------------------------------------------------------

def _mp_sinc_derivatives(x: float, order: int) -> float:
    with mpmath.workdps(60):
        f = (lambda t: mpmath.sin(mpmath.pi * t) / (mpmath.pi * t)) if x else \
            (lambda t: mpmath.sinc(mpmath.pi * t))
        return float(mpmath.diff(f, mpmath.mpf(x), order))


def test_sinc_is_one_with_exact_derivatives_at_zero():
    f = lambda v, xp: xp.sinc(v)  # noqa: E731
    x0 = np.array([0.0])
    assert X.sinc(x0)[0] == 1.0
    assert ad.grad(lambda v, xp: xp.sum(xp.sinc(v)))(x0)[0] == 0.0
    assert ad.jacfwd(f)(x0)[0, 0] == 0.0 and ad.jacrev(f)(x0)[0, 0] == 0.0
    h = ad.hessian(lambda v, xp: xp.sum(xp.sinc(v)))(x0)[0, 0]
    assert h == pytest.approx(-math.pi ** 2 / 3, rel=1e-15)
    third = ad.jacfwd(lambda v, xp: ad.hessian(lambda w, xq: xq.sum(xq.sinc(w)))(v))(x0)
    assert np.ravel(third)[0] == 0.0
    inst = problem(name="sinc-at-0", n=1, m=1, x0=[0.0])(
        lambda v, xp: xp.sinc(v[0]) + v[0]).instance()
    assert reference_jacobian(inst).jacobian[0, 0] == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("x", [1e-9, 1e-4, 0.0318, 0.0319, 0.2, -1.3])
def test_sinc_derivatives_near_zero_are_accurate(x):
    g = ad.grad(lambda v, xp: xp.sum(xp.sinc(v)))
    assert g(np.array([x]))[0] == pytest.approx(_mp_sinc_derivatives(x, 1), rel=1e-12,
                                                abs=1e-15)
    h = ad.hessian(lambda v, xp: xp.sum(xp.sinc(v)))(np.array([x]))[0, 0]
    assert h == pytest.approx(_mp_sinc_derivatives(x, 2), rel=1e-12)
    assert X.sinc(np.array([x]))[0] == pytest.approx(float(np.sinc(x)), rel=2e-16)


def test_sinc_away_from_zero_is_numpys_and_costs_what_numpy_computes():
    x = np.array([0.3, -1.7, 2.5, 0.11])
    np.testing.assert_array_equal(X.sinc(x), np.sinc(x))
    counts = count_ops(lambda v: X.sinc(v), x)
    assert counts.by_primitive == {"mul": 4, "sin": 4, "div": 4}
    # an entry within the polynomial's range adds its 12 operations per entry
    assert count_ops(lambda v: X.sinc(v), np.array([0.0, 0.3])).ops > 6


# --------------------------------------------------------------------------
# nan_to_num, select
# --------------------------------------------------------------------------

def test_nan_to_num_is_numpys_with_derivative_one_where_finite():
    c = np.array([0.0, np.nan, np.inf, -np.inf, 0.0])
    f = lambda v, xp: xp.nan_to_num(v + c)  # noqa: E731
    x = np.array([0.3, 0.4, 0.5, 0.6, -0.7])
    np.testing.assert_array_equal(f(x, X), np.nan_to_num(x + c))
    g = lambda v, xp: xp.nan_to_num(v + c, nan=1.5, posinf=2.0, neginf=-3.0)  # noqa: E731
    np.testing.assert_array_equal(g(x, X), np.nan_to_num(x + c, nan=1.5, posinf=2.0,
                                                         neginf=-3.0))
    expected = np.diag([1.0, 0.0, 0.0, 0.0, 1.0])
    for mode in (ad.jacfwd, ad.jacrev):
        np.testing.assert_array_equal(mode(f)(x), expected)
    assert X.nan_to_num(2.5) == 2.5


def test_select_takes_the_first_true_condition():
    x = np.array([-1.0, 0.5, 2.0, 3.0])
    conds = [x > 1.0, x > 0.0]
    f = lambda v, xp: xp.select(conds, [v * v, 10.0 * v], default=-1.0)  # noqa: E731
    np.testing.assert_array_equal(f(x, X), np.select(conds, [x * x, 10.0 * x], -1.0))
    # entry 2 and 3 satisfy both: the first (v * v) wins, derivative 2 v
    np.testing.assert_array_equal(ad.jacrev(f)(x), np.diag([0.0, 10.0, 4.0, 6.0]))
    with pytest.raises(ValueError, match="2 conditions but 1 choices"):
        X.select(conds, [x])


# --------------------------------------------------------------------------
# partition: a sort
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kth", [0, 3, -1, (1, 4)])
def test_partition_puts_kth_in_place_and_differentiates_as_sort(kth):
    x = np.array([0.3, -1.2, 2.5, 0.9, -0.4, 1.1])
    out = X.partition(x, kth)
    at = list(np.atleast_1d(kth))
    np.testing.assert_array_equal(out[at], np.partition(x, kth)[at])
    for k in np.atleast_1d(kth) % len(x):
        assert np.all(out[:k] <= out[k]) and np.all(out[k + 1:] >= out[k])
    for mode in (ad.jacfwd, ad.jacrev):
        np.testing.assert_array_equal(mode(lambda v, xp: xp.partition(v, kth))(x),
                                      mode(lambda v, xp: xp.sort(v))(x))


def test_partition_follows_sorts_tie_convention_and_checks_kth():
    x = np.array([3.0, 1.0, 3.0, 2.0])
    J = ad.jacrev(lambda v, xp: xp.partition(v, 2))(x)
    np.testing.assert_array_equal(J[2:], [[0.5, 0, 0.5, 0], [0.5, 0, 0.5, 0]])
    with pytest.raises(ValueError, match="kth 4 is out of bounds for length 4"):
        X.partition(x, 4)


# --------------------------------------------------------------------------
# linear compositions: diff and gradient are numpy's operators
# --------------------------------------------------------------------------

def _numpy_operator(fn, shape):
    """The Jacobian of the linear map fn (numpy's own function) at any point."""
    cols = [np.ravel(fn(e.reshape(shape))) for e in np.eye(int(np.prod(shape)))]
    return np.array(cols).T


@pytest.mark.parametrize("label,call,shape", [
    ("gradient", lambda f, xp: xp.gradient(f), (6,)),
    ("gradient-order2", lambda f, xp: xp.gradient(f, 0.4, edge_order=2), (5,)),
    ("gradient-coords", lambda f, xp: xp.gradient(f, [0.0, 0.3, 0.4, 1.0, 1.2], edge_order=2),
     (5,)),
    ("gradient-axis0", lambda f, xp: xp.gradient(f, 0.5, axis=0), (3, 4)),
    ("diff-n3", lambda f, xp: xp.diff(f, 3), (6,)),
    ("diff-axis0", lambda f, xp: xp.diff(f, axis=0), (3, 2)),
])
def test_linear_compositions_have_numpys_operator_as_jacobian(label, call, shape):
    x = np.random.default_rng(5).uniform(-1, 1, shape)
    expected = _numpy_operator(lambda f: call(f, np), shape)
    flat = lambda v, xp: xp.ravel(call(xp.reshape(v, shape), xp))  # noqa: E731
    for mode in (ad.jacfwd, ad.jacrev):
        np.testing.assert_allclose(mode(flat)(x.ravel()), expected, rtol=1e-15, atol=1e-15)


def test_gradient_and_diff_refuse_as_numpy_does():
    with pytest.raises(ValueError, match="at least \\(edge_order \\+ 1\\) elements"):
        X.gradient(np.arange(2.0), edge_order=2)
    with pytest.raises(ValueError, match="edge_order"):
        X.gradient(np.arange(5.0), edge_order=3)
    with pytest.raises(ValueError, match="at least one dimensional"):
        X.diff(1.5)
    with pytest.raises(ValueError, match="must be non-negative"):
        X.diff(np.arange(3.0), -1)


# --------------------------------------------------------------------------
# linspace: differentiable in start and stop
# --------------------------------------------------------------------------

@pytest.mark.parametrize("num,endpoint", [(5, True), (4, False), (1, True), (2, True)])
def test_linspace_is_numpys_and_linear_in_start_and_stop(num, endpoint):
    x = np.array([0.3, 1.9])
    f = lambda v, xp: xp.linspace(v[0], v[1], num, endpoint=endpoint)  # noqa: E731
    np.testing.assert_array_equal(f(x, X), np.linspace(0.3, 1.9, num, endpoint=endpoint))
    div = max((num - 1) if endpoint else num, 1)
    w = np.arange(num) / div  # point i = start + (stop - start) w_i; the last is stop itself
    expected = np.stack([1.0 - w, w], axis=1)
    for mode in (ad.jacfwd, ad.jacrev):
        np.testing.assert_allclose(mode(f)(x), expected, rtol=1e-15, atol=1e-16)


def test_linspace_is_analytic_for_the_complex_step():
    from adbench.methods import METHODS
    inst = problem(name="linspace-complex-step", n=2, m=3, x0=[0.3, 1.9])(
        lambda v, xp: xp.linspace(v[0], v[1], 3)).instance()
    J = METHODS["fd-complex"].prepare(inst).jacobian(inst.x0)
    np.testing.assert_allclose(J, [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]], rtol=1e-15, atol=1e-16)


def test_linspace_refuses_an_integer_dtype():
    with pytest.raises(ValueError, match="dtype int64 is not supported"):
        X.linspace(0.0, 1.0, 3, dtype=int)


# --------------------------------------------------------------------------
# r_ and c_
# --------------------------------------------------------------------------

def test_r_and_c_on_plain_values_are_numpys():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([[4.0, 5.0]])
    np.testing.assert_array_equal(X.r_[a, 0.5, 0:3, a], np.r_[a, 0.5, 0:3, a])
    np.testing.assert_array_equal(X.r_[0:1:5j], np.r_[0:1:5j])
    np.testing.assert_array_equal(X.r_[2.0], np.r_[2.0])
    np.testing.assert_array_equal(X.c_[a, a * 2], np.c_[a, a * 2])
    np.testing.assert_array_equal(X.c_[b, 0.5, b], np.c_[b, 0.5, b])
    assert repr(X.r_) == "xp.r_"


def test_r_refuses_string_directives_in_one_line():
    with pytest.raises(ValueError, match="^xp.r_: string directives such as '0,2' are not "
                                         "supported; use xp.concatenate or xp.stack$"):
        X.r_["0,2", np.ones(2)]


# --------------------------------------------------------------------------
# refusals and op counts
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call,message", [
    (lambda: X.fliplr(np.ones(3)), "fliplr: the array must have at least 2 dimensions"),
    (lambda: X.vsplit(np.ones(4), 2), "vsplit: the array must have at least 2 dimensions"),
    (lambda: X.dsplit(np.ones((2, 2)), 2), "dsplit: the array must have at least 3"),
    (lambda: X.rot90(np.ones((2, 2)), axes=(0, 0)), "rot90: the two axes must differ"),
    (lambda: X.cross(np.ones(4), np.ones(3)), "cross: vectors of dimension 4 and 3"),
    (lambda: X.array_split(np.ones(3), 0), "number of sections must be larger than 0"),
])
def test_refusals_name_what_was_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("name,call,ops", [
    ("degrees", lambda v: X.degrees(v), {"mul": 6}),
    ("radians", lambda v: X.deg2rad(v), {"mul": 6}),
    ("cross", lambda v: X.cross(v[:3], v[3:]), {"mul": 6, "sub": 3}),
    ("diff", lambda v: X.diff(v, 2), {"sub": 5 + 4}),
    ("gradient", lambda v: X.gradient(v), {"sub": 6, "div": 6}),
    ("rot90", lambda v: X.rot90(X.reshape(v, (2, 3)), 3), {}),
    ("rollaxis", lambda v: X.rollaxis(X.reshape(v, (1, 2, 3)), 2), {}),
    ("atleast_3d", lambda v: X.atleast_3d(v), {}),
    ("hsplit", lambda v: X.hsplit(v, 3)[1], {}),
    ("c_", lambda v: X.c_[v, v], {}),
])
def test_compositions_count_the_arithmetic_they_do(name, call, ops):
    counts = count_ops(call, np.linspace(0.1, 0.9, 6))
    assert counts.by_primitive == ops, name


def test_row_stack_is_vstack():
    x = np.arange(6.0).reshape(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        np.testing.assert_array_equal(X.row_stack([x, x[:1]]), np.vstack([x, x[:1]]))
