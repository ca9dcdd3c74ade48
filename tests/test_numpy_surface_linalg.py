"""Cases transcribed from HIPS autograd's numpy tests (tests/test_numpy.py,
test_linalg.py, test_systematic.py: the functions and shapes) for the
reductions and linear algebra of xp: each compares adbench.ad's grad, jacfwd,
jacrev and hessian with central differences, the float64 value with mpmath_xp
at 80 digits, and, where cheap, SymPy's value."""

import mpmath
import numpy as np
import pytest
import sympy

from adbench.ad import grad, hessian, jacfwd, jacrev
from adbench.interpret.xp import mpmath_xp, numpy_xp, sympy_xp

RNG = np.random.default_rng(11)


def _spd(x, xp, n):
    m = xp.reshape(x[:n * n], (n, n))
    return m @ xp.transpose(m) + xp.eye(n)


def _square(x, xp, n):
    return xp.reshape(x[:n * n], (n, n)) + 2.0 * xp.eye(n)


#: name -> (f(x, xp) scalar, x0 size, whether SymPy is checked)
CASES = {
    "prod_axis": (lambda x, xp: xp.sum(xp.prod(xp.reshape(x, (2, 3)), axis=1) ** 2), 6, True),
    "prod_keepdims": (lambda x, xp: xp.sum(xp.sin(xp.prod(xp.reshape(x, (2, 3)), axis=0,
                                                         keepdims=True))), 6, True),
    "min_axis": (lambda x, xp: xp.sum(xp.min(xp.reshape(x, (2, 3)), axis=1) ** 2), 6, False),
    "var_ddof": (lambda x, xp: xp.var(xp.reshape(x, (2, 3)), axis=1, ddof=1).sum(), 6, True),
    "std": (lambda x, xp: xp.std(x) * x[0], 5, True),
    "cumsum": (lambda x, xp: xp.sum(xp.cumsum(xp.reshape(x, (2, 3)), axis=1) ** 2), 6, True),
    "cumprod": (lambda x, xp: xp.sum(xp.cumprod(x) * xp.arange(4.0)), 4, True),
    "norm_vector": (lambda x, xp: xp.linalg.norm(x) * x[1], 4, True),
    "norm_fro": (lambda x, xp: xp.linalg.norm(xp.reshape(x, (2, 3)), "fro") ** 3, 6, True),
    "norm_ord1": (lambda x, xp: xp.linalg.norm(x * x - 0.3, 1), 4, False),
    "einsum_matvec": (lambda x, xp: xp.sum(xp.einsum("ij,j->i", xp.reshape(x[:6], (2, 3)),
                                                     x[6:]) ** 2), 9, True),
    "einsum_three": (lambda x, xp: xp.einsum("ij,jk,ki->", xp.reshape(x[:4], (2, 2)),
                                             xp.reshape(x[4:8], (2, 2)),
                                             xp.reshape(x[:4], (2, 2))), 8, True),
    "tensordot": (lambda x, xp: xp.sum(xp.tensordot(xp.reshape(x[:6], (2, 3)),
                                                    xp.reshape(x[6:], (3, 2)), 1) ** 2),
                  12, True),
    "dot_3d": (lambda x, xp: xp.sum(xp.dot(xp.reshape(x[:4], (2, 2)),
                                           xp.reshape(x[4:], (2, 2, 2))) ** 2), 12, True),
    "inner_kron": (lambda x, xp: xp.inner(x[:3], x[3:]) + xp.sum(xp.kron(x[:2], x[2:4]) ** 2),
                   6, True),
    "trace_diag": (lambda x, xp: xp.trace(xp.reshape(x, (3, 3)), 1) ** 2
                   + xp.sum(xp.diag(x[:3]) @ x[3:6]) + xp.sum(xp.diagonal(
                       xp.reshape(x, (3, 3)), -1) ** 3), 9, True),
    "tril_triu": (lambda x, xp: xp.sum(xp.tril(xp.reshape(x, (3, 3)), -1) ** 2
                                       + xp.triu(xp.reshape(x, (3, 3)), 1) ** 3), 9, True),
    "solve": (lambda x, xp: xp.sum(xp.linalg.solve(_square(x, xp, 3), x[9:]) ** 2), 12, True),
    "inv": (lambda x, xp: xp.sum(xp.linalg.inv(_square(x, xp, 2)) ** 2), 4, True),
    "det": (lambda x, xp: xp.linalg.det(_square(x, xp, 3)), 9, True),
    "slogdet": (lambda x, xp: xp.linalg.slogdet(_square(x, xp, 3))[1], 9, False),
    "cholesky": (lambda x, xp: xp.sum(xp.linalg.cholesky(_spd(x, xp, 3)) ** 2
                                      * xp.arange(9.0).reshape(3, 3)), 9, False),
}


def _central_gradient(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e, numpy_xp) - f(x - e, numpy_xp)) / (2 * h)
    return g


@pytest.mark.parametrize("name", sorted(CASES))
def test_derivatives_agree_with_central_differences(name):
    f, n, _ = CASES[name]
    x = RNG.uniform(0.3, 1.2, n)
    fd = _central_gradient(f, x)
    np.testing.assert_allclose(grad(f)(x), fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(jacfwd(f)(x), fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(jacrev(f)(x), fd, rtol=1e-6, atol=1e-7)
    g = grad(f)
    fd_h = np.array([_central_gradient(lambda y, xp, i=i: g(y)[i], x) for i in range(n)])
    np.testing.assert_allclose(hessian(f)(x), fd_h, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float64_value_agrees_with_mpmath_and_sympy(name):
    f, n, with_sympy = CASES[name]
    x = RNG.uniform(0.3, 1.2, n)
    value = f(x, numpy_xp)
    with mpmath.workdps(80):
        high = f(np.array([mpmath.mpf(float(v)) for v in x], dtype=object), mpmath_xp)
        assert abs(float(high) - value) <= 1e-12 * (1 + abs(value))
    if with_sympy:
        syms = sympy.symbols(f"x0:{n}", real=True)
        expr = sympy.sympify(f(np.array(syms, dtype=object), sympy_xp))
        assert abs(float(expr.subs(dict(zip(syms, x.tolist())))) - value) <= 1e-10 * (
            1 + abs(value))


def test_prod_and_cumprod_derivatives_are_exact_at_zeros():
    one_zero = np.array([2.0, 0.0, 3.0, -1.5])
    np.testing.assert_array_equal(grad(lambda x, xp: xp.prod(x))(one_zero), [0.0, -9.0, 0.0, 0.0])
    two_zeros = np.array([2.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(grad(lambda x, xp: xp.prod(x))(two_zeros), np.zeros(4))
    # d/dx_j of sum cumprod(x): at x = (2, 0, 3), d/dx_1 = 2 + 2*3 = 8
    np.testing.assert_array_equal(grad(lambda x, xp: xp.sum(xp.cumprod(x)))(
        np.array([2.0, 0.0, 3.0])), [1.0, 8.0, 0.0])


def test_norm_has_derivative_zero_at_zero_and_min_splits_ties():
    np.testing.assert_array_equal(grad(lambda x, xp: xp.linalg.norm(x))(np.zeros(3)), np.zeros(3))
    np.testing.assert_array_equal(grad(lambda x, xp: xp.min(x))(np.array([1.0, 3.0, 1.0])),
                                  [0.5, 0.0, 0.5])


def test_cumprod_derivatives_are_exact_at_zeros_and_cost_o_n_operations():
    from adbench.ad import grad, jacfwd
    from adbench.interpret.counting import count_ops
    from adbench.interpret.xp import numpy_xp

    def f(x, xp):
        return xp.sum(xp.cumprod(x))
    x = np.array([0.5, 0.0, 2.0, 3.0, 0.0, 1.5])
    # d/dx0 = 1 + x1 (...) = 1; d/dx1 = x0 (1 + x2 + x2 x3) = 4.5; every later term has x1 = 0
    np.testing.assert_array_equal(grad(f)(x), [1.0, 4.5, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(jacfwd(f)(x), [1.0, 4.5, 0.0, 0.0, 0.0, 0.0])
    xs = np.linspace(0.5, 1.5, 50)
    ops_f = count_ops(lambda v: f(v, numpy_xp), xs).ops
    assert count_ops(grad(f), xs).ops <= 6 * ops_f  # was quadratic in n before
