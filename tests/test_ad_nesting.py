"""Nested differentiation: no perturbation confusion, higher derivatives, and
every way the public transformations compose."""

import itertools
import math

import numpy as np
import pytest

from adbench.ad import PASSES, grad, hessian, hvp, jacfwd, jacrev, jvp, vjp
from adbench.interpret import primitives as P
from adbench.registry import load_registry

MODES = ("fwd", "rev")


def derivative(mode, f):
    """d/dx f(x) for a scalar function of a scalar, by one JVP or one VJP."""
    def df(x):
        if mode == "fwd":
            return jvp(lambda z, xp: f(z))(x, 1.0)[1]
        return vjp(lambda z, xp: f(z))(x, 1.0)[1]
    return df


@pytest.mark.parametrize("outer,inner", list(itertools.product(MODES, MODES)))
def test_no_perturbation_confusion(outer, inner):
    """d/dx [x * (d/dy (x + y))|_(y=1)] at x = 1 is 1; confusing the two
    perturbations gives 2 (Siskind and Pearlmutter 2005)."""
    def f(x):
        return x * derivative(inner, lambda y: x + y)(1.0)
    assert derivative(outer, f)(1.0) == 1.0


@pytest.mark.parametrize("modes", list(itertools.product(MODES, repeat=3)), ids="-".join)
def test_third_derivative_of_sin_by_triple_nesting(modes):
    f = P.sin
    for mode in modes:
        f = derivative(mode, f)
    for x in (0.5, -1.3):
        assert f(x) == pytest.approx(-math.cos(x), rel=1e-15)


@pytest.mark.parametrize("modes", list(itertools.product(MODES, repeat=2)), ids="-".join)
def test_second_derivative_through_a_scalar_loop(modes):
    def logistic(x):  # l_4 of the survey's Table 1
        for _ in range(3):
            x = 4 * x * (1 - x)
        return x
    d2 = derivative(modes[0], derivative(modes[1], logistic))
    # l_4 = 64x(1-x)(1-2x)^2(1-8x+8x^2)^2; its second derivative at 0.2, by central differences
    # of the exact first derivative 64(1 - 42x + 504x^2 - 2640x^3 + 7040x^4 - 9984x^5 + ...)
    c = [1, -42, 504, -2640, 7040, -9984, 7168, -2048]
    exact = 64 * sum(k * ck * 0.2 ** (k - 1) for k, ck in enumerate(c) if k)
    assert d2(0.2) == pytest.approx(exact, rel=1e-12)


def rosenbrock_hessian(x):
    """The hand-written Hessian of sum_i 100 (x_(i+1) - x_i^2)^2 + (1 - x_i)^2."""
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i, i + 1] -= 400 * x[i]
        H[i + 1, i] -= 400 * x[i]
        H[i + 1, i + 1] += 200
    return H


@pytest.fixture(scope="module")
def rosenbrock():
    return load_registry().get("rosenbrock").instance(n=5).f


X5 = np.array([-1.2, 1.0, 0.5, 0.3, 2.0])


@pytest.mark.parametrize("how", ["hessian", "jacfwd(grad)", "jacrev(grad)", "jacfwd(jacfwd)",
                                 "jacrev(jacrev)", "jacfwd(jacrev)", "jacrev(jacfwd)"])
def test_rosenbrock_hessian_against_the_hand_written_one(rosenbrock, how):
    H = {"hessian": lambda: hessian(rosenbrock),
         "jacfwd(grad)": lambda: jacfwd(grad(rosenbrock)),
         "jacrev(grad)": lambda: jacrev(grad(rosenbrock)),
         "jacfwd(jacfwd)": lambda: jacfwd(jacfwd(rosenbrock)),
         "jacrev(jacrev)": lambda: jacrev(jacrev(rosenbrock)),
         "jacfwd(jacrev)": lambda: jacfwd(jacrev(rosenbrock)),
         "jacrev(jacfwd)": lambda: jacrev(jacfwd(rosenbrock))}[how]()(X5)
    np.testing.assert_allclose(H, rosenbrock_hessian(X5), rtol=1e-14, atol=1e-12)


def test_hvp_is_the_hessian_times_v_without_forming_it(rosenbrock):
    v = np.arange(5.0) - 2
    PASSES.update(forward=0, reverse=0)
    np.testing.assert_allclose(hvp(rosenbrock)(X5, v), rosenbrock_hessian(X5) @ v, rtol=1e-14)
    assert PASSES == {"forward": 1, "reverse": 1}


def test_grad_of_a_function_that_calls_grad_jacfwd_and_hessian_on_closures():
    x = np.array([0.7, -1.1, 0.4])

    def f(x, xp):
        g = grad(lambda z, xp: xp.sum(xp.sin(z) * x))(x)          # cos(x) * x
        J = jacfwd(lambda z, xp: z * z * x[0])(x)                 # diag(2 x x0)
        H = hessian(lambda z, xp: xp.sum(z ** 3) * x[1])(x)       # diag(6 x x1)
        return xp.sum(g) + xp.sum(J) + xp.sum(H)
    # f = sum(x cos x) + 2 x0 sum(x) + 6 x1 sum(x)
    expected = np.cos(x) - x * np.sin(x) + 2 * x[0] + 6 * x[1]
    expected[0] += 2 * np.sum(x)
    expected[1] += 6 * np.sum(x)
    for outer in (grad, jacfwd, jacrev):
        np.testing.assert_allclose(outer(f)(x), expected, rtol=1e-13)


def test_jvp_and_vjp_of_a_nested_gradient():
    x, v, u = np.array([0.3, 0.9]), np.array([1.0, -2.0]), np.array([0.5, 1.5])

    def g(x, xp):  # gradient of sum(exp(x0 x1) x): a vector function of x
        return grad(lambda z, xp: xp.exp(z[0] * z[1]) * xp.sum(z))(x)
    J = jacfwd(g)(x)
    np.testing.assert_allclose(jvp(g)(x, v)[1], J @ v, rtol=1e-14)
    np.testing.assert_allclose(vjp(g)(x, u)[1], u @ J, rtol=1e-14)
    np.testing.assert_allclose(J, jacrev(g)(x), rtol=1e-14)
    np.testing.assert_allclose(J, J.T, rtol=1e-14)  # a Hessian is symmetric


def test_jacfwd_makes_n_forward_passes_and_jacrev_m_reverse_passes():
    def f(x, xp):  # R^4 -> R^2
        return xp.stack([x[0] * x[1] + x[2], xp.sin(x[3]) * x[0]])
    x = np.array([0.5, -1.0, 2.0, 0.3])
    PASSES.update(forward=0, reverse=0)
    Jf = jacfwd(f)(x)
    assert PASSES == {"forward": 4, "reverse": 0}
    PASSES.update(forward=0, reverse=0)
    Jr = jacrev(f)(x)
    assert PASSES == {"forward": 0, "reverse": 2}
    np.testing.assert_array_equal(Jf, Jr)
    PASSES.update(forward=0, reverse=0)
    grad(lambda x, xp: f(x, xp)[0])(x)
    assert PASSES == {"forward": 0, "reverse": 1}
    PASSES.update(forward=0, reverse=0)
    hessian(lambda x, xp: f(x, xp)[1])(x)
    assert PASSES == {"forward": 4, "reverse": 4}  # one gradient per forward pass


def test_grad_refuses_a_vector_function():
    with pytest.raises(ValueError, match="scalar"):
        grad(lambda x, xp: x * 2)(np.ones(3))


def test_outputs_that_do_not_depend_on_the_input_have_zero_derivatives():
    f = lambda x, xp: xp.stack([x[0] * 0 + 1.0, 3.0])  # noqa: E731
    np.testing.assert_array_equal(jacrev(f)(np.ones(2)), [[0, 0], [0, 0]])
    np.testing.assert_array_equal(jacfwd(f)(np.ones(2)), [[0, 0], [0, 0]])
    assert jvp(lambda x, xp: 2.0)(1.0, 1.0) == (2.0, 0.0)
    np.testing.assert_array_equal(grad(lambda x, xp: 2.0)(np.ones(3)), np.zeros(3))


def test_the_examples_in_the_api_docstring_run():
    import doctest

    import adbench.ad
    result = doctest.testmod(adbench.ad)
    assert result.attempted >= 5 and result.failed == 0


@pytest.mark.parametrize("outer", [jacfwd, jacrev])
def test_a_traced_cotangent_flows_through_the_scalar_fast_paths(outer):
    """vjp with a cotangent that is itself traced: the tape holds plain floats
    (compact entries, scatter of x[i] reads) while the cotangent is boxed."""
    def f(x, xp):
        a, b, c = x[0], x[1], x[2]
        return xp.stack([a * b - c / a, xp.exp(b) * c + a ** 2])
    x0, u0 = np.array([0.5, -1.0, 2.0]), np.array([1.5, -0.5])
    J = jacrev(f)(x0)
    np.testing.assert_allclose(outer(lambda u, xp: vjp(f)(x0, u)[1])(u0), J.T, rtol=1e-14)
    np.testing.assert_allclose(outer(lambda v, xp: jvp(f)(x0, v)[1])(np.ones(3)), J,
                               rtol=1e-14)


@pytest.mark.parametrize("how", ["hessian", "jacrev(grad)", "jacfwd(jacfwd)"])
def test_hessian_of_a_scalar_loop_program(how):
    """Scalar reads x[i] under nesting: the cotangents are boxed, so the reads'
    scatter takes the functional path (untake) and stays differentiable."""
    def f(x, xp):
        total, s = 0.0, 0.0
        for xi in x:
            total = total + xi * xp.log(xi)
            s = s + xi
        return total + s * s
    x = np.array([0.3, 1.2, 2.5, 0.7])
    H = {"hessian": hessian, "jacrev(grad)": lambda f: jacrev(grad(f)),
         "jacfwd(jacfwd)": lambda f: jacfwd(jacfwd(f))}[how](f)(x)
    np.testing.assert_allclose(H, np.diag(1 / x) + 2.0, rtol=1e-14)
