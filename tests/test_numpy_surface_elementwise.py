"""The elementwise and special functions of the numpy surface, function by
function and shape by shape.

The cases follow the function-and-shape cases of HIPS autograd's numpy tests
(tests/test_systematic.py, test_scalar_ops.py, test_scipy.py): the same domains
(``lims``), the same broadcasting pairs of shapes for binary functions, distinct
arguments where the gradient is undefined at a tie, and multigammaln at a in
(4, 5) for d = 1, 2, 3. Each case is checked here against independent oracles:
grad, jacfwd, jacrev against the mpmath reference Jacobian, the hessian
against central differences of the gradient, the float64 value against
mpmath_xp, and the symbolic method where SymPy has the function. scipy.special,
where it is installed (it is no dependency of adbench), is one more oracle for
multigammaln.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from adbench.ad import grad, hessian, jacfwd, jacrev
from adbench.interpret import primitives as P
from adbench.interpret.counting import count_ops
from adbench.interpret.xp import XP_FUNCTIONS, mpmath_xp, numpy_xp, sympy_xp
from adbench.measure.reference import reference_jacobian
from adbench.methods import METHODS
from adbench.methods.base import Unsupported
from adbench.problem import problem

RNG = np.random.default_rng(20240611)

#: name -> (lo, hi): autograd's lims where it gives them, else its default (-2, 2) or
#: the function's domain.
UNARY = {
    "sin": (-2, 2), "cos": (-2, 2), "tan": (-1.1, 1.1), "tanh": (-2, 2),
    "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctan": (-2, 2),
    "sinh": (-2, 2), "cosh": (-2, 2), "arcsinh": (-0.9, 0.9), "arccosh": (1.1, 4.0),
    "arctanh": (-0.9, 0.9), "exp": (-2, 2), "exp2": (-2, 2), "expm1": (-2, 2),
    "log": (0.2, 2.0), "log2": (0.2, 2.0), "log10": (0.2, 2.0), "log1p": (0.2, 2.0),
    "sqrt": (1.0, 3.0), "abs": (0.1, 4.0), "absolute": (0.1, 4.0), "reciprocal": (0.3, 2.0),
    "erf": (-2, 2), "gammaln": (0.3, 2.0), "floor": (-1.5, 1.5), "ceil": (-1.5, 1.5),
    "round": (-1.5, 1.5), "around": (-1.5, 1.5), "sign": (-2, 2), "square": (-2, 2),
    # compositions (adbench/interpret/compositions.py)
    "degrees": (-2, 2), "rad2deg": (-2, 2), "radians": (-2, 2), "deg2rad": (-2, 2),
    "fabs": (0.1, 4.0), "sinc": (-2, 2), "nan_to_num": (-2, 2),
}

#: name -> ((lo_A, hi_A), (lo_B, hi_B)): autograd's binary cases.
BINARY = {
    "add": ((-2, 2), (-2, 2)), "logaddexp": ((-2, 2), (-2, 2)),
    "arctan2": ((-2, 2), (-2, 2)), "hypot": ((-2, 2), (-2, 2)),
    "maximum": ((-2, 2), (-2, 2)), "minimum": ((-2, 2), (-2, 2)),
    "fmax": ((-2, 2), (-2, 2)), "fmin": ((-2, 2), (-2, 2)),
    "remainder": ((-0.9, 0.9), (0.7, 1.9)), "mod": ((-2, 2), (0.8, 2.1)),
    "mod_neg": ((-2, 2), (-2.0, -0.3)), "power": ((0.7, 2.0), (-2, 2)),
    "logaddexp2": ((-2, 2), (-2, 2)), "true_divide": ((-2, 2), (0.3, 2.0)),
}

#: the broadcasting pairs of autograd's maximum and minimum tests
SHAPES = [(1,), (1, 4), (3, 4)]

#: SymPy has no round half to even: the symbolic method must say so.
NO_SYMPY = {"round", "around"}


def _instance(f, x0, name):
    x0 = np.asarray(x0, dtype=float)
    m = int(np.size(f(x0, numpy_xp)))
    return problem(name=name, n=len(x0), m=m, x0=list(x0))(f).instance()


def _central_jacobian(g, x, h=1e-5):
    cols = []
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        cols.append((np.asarray(g(x + e)) - np.asarray(g(x - e))) / (2 * h))
    return np.stack(cols, axis=-1)


def _check_everything(f, x0, name, symbolic=True):
    """AD (all modes and the hessian) against the reference, values against mpmath,
    and the symbolic method against the reference."""
    inst = _instance(f, x0, name)
    ref = reference_jacobian(inst)
    weights = np.arange(1.0, inst.m + 1)
    scalar = lambda x, xp: xp.sum(xp.reshape(f(x, xp), (-1,)) * weights)  # noqa: E731
    np.testing.assert_allclose(grad(scalar)(inst.x0), weights @ ref.jacobian,
                               rtol=1e-10, atol=1e-12)
    vector = lambda x, xp: xp.reshape(f(x, xp), (-1,))  # noqa: E731
    np.testing.assert_allclose(jacfwd(vector)(inst.x0), ref.jacobian, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(jacrev(vector)(inst.x0), ref.jacobian, rtol=1e-10, atol=1e-12)
    H = hessian(scalar)(inst.x0)
    fd = _central_jacobian(lambda x: grad(scalar)(x), inst.x0)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.ravel(f(inst.x0, numpy_xp)), ref.value, rtol=1e-13, atol=1e-14)
    if symbolic:
        J = METHODS["symbolic"].prepare(inst).jacobian(inst.x0)
        np.testing.assert_allclose(J, ref.jacobian, rtol=1e-10, atol=1e-12)
    return inst, ref


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_unary_function_against_every_oracle(name, shape):
    lo, hi = UNARY[name]
    size = int(np.prod(shape))
    x0 = RNG.uniform(lo, hi, max(size, 1))
    if name in ("floor", "ceil", "round", "around"):  # away from the jumps
        x0 = np.floor(x0 * 2) / 2 + 0.25

    def f(x, xp):
        v = x[0] if shape == () else xp.reshape(x, shape)
        return 3.0 * getattr(xp, name)(v) * v  # times v: a nonzero gradient for floor & co
    _check_everything(f, x0, f"unary-{name}", symbolic=name not in NO_SYMPY)


def _binary_cases():
    """Every binary function x every pair of SHAPES. The default run keeps one pair per
    function, the pairs taken in turn (so each of the 9 pairs is met, each function once);
    the rest is marked ``study`` (``pytest -m study`` runs them)."""
    pairs = [(a, b) for b in SHAPES for a in SHAPES]
    for i, name in enumerate(sorted(BINARY)):
        for j, (shape_a, shape_b) in enumerate(pairs):
            marks = () if j == i % len(pairs) else pytest.mark.study
            yield pytest.param(name, shape_a, shape_b, marks=marks,
                               id=f"{name}-{shape_a}-{shape_b}")


@pytest.mark.parametrize("name,shape_a,shape_b", list(_binary_cases()))
def test_binary_function_against_every_oracle(name, shape_a, shape_b):
    (lo_a, hi_a), (lo_b, hi_b) = BINARY[name]
    na, nb = int(np.prod(shape_a)), int(np.prod(shape_b))
    x0 = np.concatenate([RNG.uniform(lo_a, hi_a, na), RNG.uniform(lo_b, hi_b, nb)])
    fname = name.replace("_neg", "")

    def f(x, xp):
        a = xp.reshape(x[:na], shape_a)
        b = xp.reshape(x[na:], shape_b)
        return getattr(xp, fname)(a, b)
    _check_everything(f, x0, f"binary-{name}")


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("shape", [(), (2, 3)])
def test_multigammaln_against_every_oracle(d, shape):
    x0 = RNG.uniform(4.0, 5.0, max(int(np.prod(shape)), 1))

    def f(x, xp):
        a = x[0] if shape == () else xp.reshape(x, shape)
        return xp.multigammaln(a, d) * 1.0
    _check_everything(f, x0, f"multigammaln-{d}")
    # d/da log Gamma_d(a) = sum_j digamma(a + (1 - j) / 2), digamma from mpmath at 50 digits
    g = grad(lambda x, xp: xp.multigammaln(x[0], d))(x0[:1])
    with mpmath.workdps(50):
        expected = float(sum(mpmath.psi(0, mpmath.mpf(x0[0]) + mpmath.mpf(1 - j) / 2)
                             for j in range(1, d + 1)))
    assert g[0] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("shape", [(), (2, 3)])
def test_multigammaln_is_scipys(d, shape):
    special = pytest.importorskip("scipy.special")
    a = RNG.uniform(4.0, 5.0, shape) if shape else float(RNG.uniform(4.0, 5.0))
    np.testing.assert_allclose(numpy_xp.multigammaln(a, d), special.multigammaln(a, d),
                               rtol=1e-13)
    g = grad(lambda x, xp: xp.multigammaln(x[0], d))(np.array([4.3]))
    assert g[0] == pytest.approx(sum(special.digamma(4.3 + (1 - j) / 2)
                                     for j in range(1, d + 1)), rel=1e-13)


def test_multigammaln_rejects_a_dimension_that_is_not_a_positive_integer():
    with pytest.raises(ValueError, match="positive integer"):
        numpy_xp.multigammaln(3.0, 1.5)


def _gmm_wishart_constant(multigammaln):
    """The gmm problem's constant term at D = 3, K = 5, N = 10, written from its
    definition with the given multigammaln: (its value, the instance's)."""
    from adbench.registry import load_problem_file
    from pathlib import Path
    (gmm,) = [p for p in load_problem_file(Path(__file__).parent.parent / "problems"
                                            / "benchmarks.py") if p.name == "gmm"]
    D, K, N = 3, 5, 10
    inst = gmm.instance(D=D, K=K, N=N)
    dof = D + 1  # m = 0
    expected = (-N * D / 2 * math.log(2 * math.pi)
                + K * (dof * D * math.log(1 / math.sqrt(2)) - multigammaln(dof / 2, D)))
    return expected, inst.params["constant"]


def test_the_gmm_wishart_constant_is_the_multigammaln_of_mpmath():
    def mp_multigammaln(a, d):  # log pi d(d - 1)/4 + sum_j log Gamma(a + (1 - j)/2), 50 digits
        with mpmath.workdps(50):
            return float(d * (d - 1) / 4 * mpmath.log(mpmath.pi) + sum(
                mpmath.loggamma(mpmath.mpf(a) + mpmath.mpf(1 - j) / 2) for j in range(1, d + 1)))
    expected, constant = _gmm_wishart_constant(mp_multigammaln)
    assert constant == pytest.approx(expected, rel=1e-13)


def test_the_gmm_wishart_constant_is_scipys_multigammaln():
    special = pytest.importorskip("scipy.special")
    expected, constant = _gmm_wishart_constant(special.multigammaln)
    assert constant == pytest.approx(expected, rel=1e-13)


# --------------------------------------------------------------------------
# 0 ** y: the exponent's derivative at a zero base
# --------------------------------------------------------------------------

C = np.array([0.0, 0.5, 2.0])
#: d/dy sum_i c_i^y at y = 1.5: 0 + 0.5^1.5 log 0.5 + 2^1.5 log 2
ZERO_BASE_SLOPE = 0.5 ** 1.5 * math.log(0.5) + 2 ** 1.5 * math.log(2.0)
ZERO_BASE_CURVATURE = 0.5 ** 1.5 * math.log(0.5) ** 2 + 2 ** 1.5 * math.log(2.0) ** 2


@pytest.mark.parametrize("form", ["xp.power", "operator"])
def test_the_exponent_derivative_at_a_zero_base_is_zero_in_every_mode(form):
    def f(x, xp):
        return xp.sum(xp.power(C, x[0]) if form == "xp.power" else C ** x[0])
    x0 = np.array([1.5])
    assert ZERO_BASE_SLOPE == pytest.approx(1.71545175, abs=1e-8)
    assert grad(f)(x0)[0] == pytest.approx(ZERO_BASE_SLOPE, rel=1e-14)
    assert jacfwd(f)(x0)[0] == pytest.approx(ZERO_BASE_SLOPE, rel=1e-14)
    assert jacrev(f)(x0)[0] == pytest.approx(ZERO_BASE_SLOPE, rel=1e-14)
    assert hessian(f)(x0)[0, 0] == pytest.approx(ZERO_BASE_CURVATURE, rel=1e-14)
    inst = problem(name=f"zero-base-{form}", n=1, m=1, x0=[1.5])(f).instance()
    assert reference_jacobian(inst).jacobian[0, 0] == pytest.approx(ZERO_BASE_SLOPE, rel=1e-14)
    J = METHODS["symbolic"].prepare(inst).jacobian(inst.x0)
    assert J[0, 0] == pytest.approx(ZERO_BASE_SLOPE, rel=1e-14)


def test_a_zero_base_that_is_an_input_has_zero_slopes_for_a_positive_exponent():
    f = lambda x, xp: x[0] ** x[1]  # noqa: E731
    np.testing.assert_array_equal(grad(f)(np.array([0.0, 2.5])), [0.0, 0.0])
    np.testing.assert_array_equal(jacfwd(f)(np.array([0.0, 2.5])), [0.0, 0.0])


# --------------------------------------------------------------------------
# Ties: the derivative is split evenly
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_a_tie_of_two_arguments_splits_the_derivative_evenly(name):
    f = lambda x, xp: getattr(xp, name)(x[0], x[1]) * 3.0  # noqa: E731
    x0 = np.array([0.7, 0.7])
    for d in (grad(f), jacfwd(f), jacrev(f)):
        np.testing.assert_array_equal(np.ravel(d(x0)), [1.5, 1.5])
    inst = problem(name=f"tie-{name}", n=2, m=1, x0=[0.7, 0.7])(f).instance()
    np.testing.assert_allclose(reference_jacobian(inst).jacobian, [[1.5, 1.5]], rtol=1e-14)
    np.testing.assert_allclose(METHODS["symbolic"].prepare(inst).jacobian(inst.x0),
                               [[1.5, 1.5]], rtol=1e-14)


def test_clip_at_its_bounds_splits_the_derivative_with_the_bound():
    f = lambda x, xp: xp.clip(x[:3], x[3], x[4])  # noqa: E731
    x0 = np.array([-1.0, 0.2, 1.0, -1.0, 1.0])
    expected = [[0.5, 0, 0, 0.5, 0], [0, 1, 0, 0, 0], [0, 0, 0.5, 0, 0.5]]
    np.testing.assert_array_equal(jacfwd(f)(x0), expected)
    np.testing.assert_array_equal(jacrev(f)(x0), expected)
    inst = problem(name="clip-bounds", n=5, m=3, x0=list(x0))(f).instance()
    np.testing.assert_allclose(reference_jacobian(inst).jacobian, expected, atol=1e-14)
    np.testing.assert_allclose(METHODS["symbolic"].prepare(inst).jacobian(inst.x0), expected,
                               atol=1e-14)


def test_abs_at_zero_and_the_max_reduction_follow_the_same_midpoint():
    assert grad(lambda x, xp: xp.abs(x[0]))(np.array([0.0]))[0] == 0.0
    np.testing.assert_array_equal(grad(lambda x, xp: xp.max(x))(np.array([1.0, 1.0, 0.0])),
                                  [0.5, 0.5, 0.0])


def test_fmax_ignores_a_nan_and_so_does_its_derivative():
    f = lambda x, xp: xp.fmax(x, np.array([np.nan, 0.0]))  # noqa: E731
    np.testing.assert_array_equal(jacfwd(f)(np.array([0.3, 1.0])), np.eye(2))
    np.testing.assert_array_equal(numpy_xp.fmin(np.array([np.nan, 1.0]), 0.5), [0.5, 0.5])


# --------------------------------------------------------------------------
# Rounding and mod
# --------------------------------------------------------------------------

def test_mod_has_slope_one_in_x_and_minus_floor_in_y():
    x0 = np.array([5.3, 1.5, -5.3, 1.5])
    f = lambda x, xp: xp.mod(x[::2], x[1::2])  # noqa: E731
    expected = [[1.0, -3.0, 0.0, 0.0], [0.0, 0.0, 1.0, 4.0]]
    np.testing.assert_array_equal(jacfwd(f)(x0), expected)
    np.testing.assert_array_equal(jacrev(f)(x0), expected)
    np.testing.assert_allclose(numpy_xp.mod(x0[::2], x0[1::2]), np.mod(x0[::2], x0[1::2]))
    assert numpy_xp.remainder is numpy_xp.mod


def test_the_symbolic_method_differentiates_mod_of_a_floor():
    # d floor(u) with u holding another floor: SymPy's Subs(Derivative(floor)) factors
    # are 0, and evaluating them made SymPy compare Relationals (a TypeError)
    def f(x, xp):
        r = xp.linalg.norm(x[:1])  # |x0|: SymPy writes its derivative with sign(x0)
        return xp.remainder(xp.array([xp.floor(r) * x[1], r]), -1.11)
    inst = problem(name="mod-of-floor", n=2, m=2, x0=[-1.3, 0.45])(f).instance()
    expected = [[0.0, 1.0], [-1.0, 0.0]]
    np.testing.assert_array_equal(jacrev(f)(inst.x0), expected)
    np.testing.assert_allclose(METHODS["symbolic"].prepare(inst).jacobian(inst.x0), expected,
                               atol=1e-15)


def test_round_half_to_even_with_decimals_as_numpy():
    x = np.array([0.5, 1.5, 2.5, -0.5, 0.125, 2.675])
    np.testing.assert_array_equal(numpy_xp.round(x), np.round(x))
    np.testing.assert_array_equal(numpy_xp.around(x, 2), np.round(x, 2))
    assert numpy_xp.round(2.5) == 2.0 and type(numpy_xp.round(2.5)) is float
    assert [float(v) for v in mpmath_xp.round(np.array(x[:4], dtype=object))] == [0, 2, 2, 0]


def test_the_symbolic_method_says_why_it_cannot_round():
    inst = problem(name="sym-round", n=1, m=1, x0=[0.3])(
        lambda x, xp: xp.round(x[0] * 4.0) * x[0]).instance()
    with pytest.raises(Unsupported, match="round-half-to-even"):
        METHODS["symbolic"].prepare(inst)


# --------------------------------------------------------------------------
# Values, namespaces and op counts
# --------------------------------------------------------------------------

def test_every_new_function_is_in_every_namespace():
    names = ["arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "arcsinh", "arccosh",
             "arctanh", "log2", "log10", "exp2", "logaddexp", "reciprocal", "hypot", "clip",
             "fmax", "fmin", "erf", "gammaln", "multigammaln", "floor", "ceil", "round",
             "around", "mod", "remainder", "square"]
    for name in names:
        assert name in XP_FUNCTIONS
        for ns in (numpy_xp, mpmath_xp, sympy_xp):
            assert callable(getattr(ns, name)), (name, ns.name)


def test_mpmath_values_at_high_precision_match_the_float64_ones():
    x = 0.37
    with mpmath.workdps(50):
        for name in ("arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arctanh",
                     "log2", "log10", "exp2", "reciprocal", "erf", "gammaln"):
            hi = getattr(mpmath_xp, name)(mpmath.mpf(x))
            assert float(hi) == pytest.approx(getattr(numpy_xp, name)(x), rel=2e-16), name
        assert float(mpmath_xp.arccosh(mpmath.mpf(1.37))) == pytest.approx(
            numpy_xp.arccosh(1.37), rel=2e-16)
        assert float(mpmath_xp.polygamma(1, mpmath.mpf(x))) == pytest.approx(
            float(numpy_xp.polygamma(1.0, x)), rel=1e-15)


def test_the_float_fast_path_and_the_array_path_agree():
    x = np.array([0.3, 1.7])
    for name in ("arctan", "sinh", "log2", "exp2", "reciprocal", "erf", "gammaln", "floor",
                 "ceil", "round"):
        fn = getattr(numpy_xp, name)
        np.testing.assert_allclose([fn(float(v)) for v in x], fn(x), rtol=1e-14)
    for name in ("erf", "gammaln"):  # math.erf and math.lgamma on both paths: the same bits
        fn = getattr(numpy_xp, name)
        np.testing.assert_array_equal([fn(float(v)) for v in x], fn(x))
    # polygamma's floats are 0-d arrays of its one numpy evaluation: the same bits
    np.testing.assert_array_equal([numpy_xp.polygamma(1.0, float(v)) for v in x],
                                  numpy_xp.polygamma(1.0, x))
    for name in ("arctan2", "hypot", "logaddexp", "fmax", "fmin", "mod"):
        fn = getattr(numpy_xp, name)
        np.testing.assert_allclose(fn(0.3, 1.7), fn(np.array([0.3]), np.array([1.7]))[0],
                                   rtol=1e-15)
    assert numpy_xp.logaddexp(-np.inf, -np.inf) == -np.inf
    assert numpy_xp.logaddexp(800.0, 800.0) == pytest.approx(800.0 + math.log(2.0))


@pytest.mark.parametrize("name, transcendental", [
    ("arcsin", True), ("sinh", True), ("log10", True), ("erf", True), ("gammaln", True),
    ("reciprocal", False), ("floor", False), ("round", False)])
def test_op_counts_say_which_functions_are_transcendental(name, transcendental):
    count = count_ops(lambda x: getattr(numpy_xp, name)(x), np.array([0.3, 0.4, 0.6]))
    assert count.ops == 3
    assert count.transcendental == (3 if transcendental else 0)


def test_clip_counts_two_comparisons_per_entry():
    count = count_ops(lambda x: numpy_xp.clip(x, 0.0, 1.0), np.array([0.3, -0.4, 1.6]))
    assert count.by_primitive == {"maximum": 3, "minimum": 3}


def test_derivative_rules_are_made_of_table_functions_to_any_order():
    # d^3/dx^3 gammaln = polygamma(2, x); d^2/dx^2 erf = -2x erf'(x)
    f = lambda x, xp: xp.gammaln(x[0])  # noqa: E731
    third = jacfwd(lambda x, xp: hessian(f)(x))(np.array([1.3]))
    with mpmath.workdps(50):
        expected = float(mpmath.psi(2, mpmath.mpf(1.3)))
    assert np.ravel(third)[0] == pytest.approx(expected, rel=1e-14)
    h = hessian(lambda x, xp: xp.erf(x[0]))(np.array([0.4]))
    assert h[0, 0] == pytest.approx(-2 * 0.4 * 2 / math.sqrt(math.pi) * math.exp(-0.16),
                                    rel=1e-14)
    assert P.PRIMITIVES["polygamma"].transcendental
