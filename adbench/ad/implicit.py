"""Implicit differentiation of a fixed point: x*(theta) = g(x*(theta), theta).

An iterative solver computes x* by repeating x <- g(x, theta). Reverse mode can
differentiate the iterations as they ran ("unrolling"), which records every
iteration on its tape, so memory grows with the iteration count. The implicit
function theorem gives the same derivative from x* alone: differentiating
x* = g(x*, theta),

    dx*/dtheta = (I - A)^-1 B,   A = dg/dx (x*, theta),  B = dg/dtheta (x*, theta),

so a JVP with tangent t is (I - A)^-1 (B t) and a VJP with cotangent u is
B^T w with (I - A)^T w = u: one linear solve at x*, whatever the number of
iterations (Griewank and Walther 2008, ch. 15; the survey, p. 23).
:func:`fixed_point` wraps the solver as one primitive whose derivative rules
are those formulas, so reverse mode records one tape entry for the whole solve.

Failure modes: the derivative is that of the exact fixed point, so it differs
from the unrolled derivative by the solver's convergence error (both agree to
rounding once the iterations have converged, where the unrolled tangent
contracts as fast as the iterate); I - A singular (g not a contraction at x*)
raises numpy's LinAlgError; a solve that has not converged within ``max_iter``
iterations raises RuntimeError (unless ``tol`` is None: then exactly
``max_iter`` iterations are run).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from adbench.interpret.core import Primitive, apply, primal
from adbench.interpret.xp import numpy_xp

__all__ = ["fixed_point", "iterate"]


def iterate(g: Callable, theta, x_init, xp=numpy_xp, tol: float | None = 1e-14,
            max_iter: int = 1000) -> tuple[Any, int]:
    """``(x, k)``: x <- g(x, theta, xp) from ``x_init``, k iterations, until the step
    ``max |x_new - x| <= tol (1 + max |x|)`` (on the primal values), or exactly
    ``max_iter`` iterations when ``tol`` is None.

    Runs on whatever values it is given, so reverse mode applied to it records
    every iteration: this is the unrolled route. RuntimeError if ``tol`` is set
    and the iteration has not converged after ``max_iter`` steps.
    """
    x = x_init
    for k in range(1, max_iter + 1):
        x_new = g(x, theta, xp)
        if tol is not None:
            new, old = np.asarray(primal(x_new), float), np.asarray(primal(x), float)
            if np.max(np.abs(new - old)) <= tol * (1.0 + np.max(np.abs(new))):
                return x_new, k
        x = x_new
    if tol is not None:
        raise RuntimeError(f"fixed_point: no convergence to {tol:g} in {max_iter} iterations")
    return x, max_iter


def _solve_impl(theta, g, x_init, tol, max_iter):
    return iterate(g, theta, x_init, numpy_xp, tol, max_iter)[0]


def _partials(g: Callable, x_star, theta) -> tuple[np.ndarray, Callable, Callable]:
    """A = dg/dx at (x*, theta) as a dense matrix over x's entries, and the JVP and
    VJP of g in theta there (each one pass of the engine)."""
    from adbench.ad import jacfwd, jvp, vjp

    shape = np.shape(x_star)
    size = int(np.prod(shape, dtype=int))
    A = np.reshape(np.asarray(jacfwd(lambda x, xp: g(x, theta, xp))(x_star), float),
                   (size, size))

    def in_theta(t):
        return jvp(lambda th, xp: g(x_star, th, xp))(theta, t)[1]

    def in_theta_t(u):
        return vjp(lambda th, xp: g(x_star, th, xp))(theta, u)[1]

    return A, in_theta, in_theta_t


def _solve_jvp(tangents, args, out, g, x_init, tol, max_iter):
    A, in_theta, _ = _partials(g, primal(out), primal(args[0]))
    rhs = np.ravel(np.asarray(primal(in_theta(tangents[0])), float))
    return np.reshape(np.linalg.solve(np.eye(len(A)) - A, rhs), np.shape(primal(out)))


def _solve_vjp(k, u, args, out, g, x_init, tol, max_iter):
    A, _, in_theta_t = _partials(g, primal(out), primal(args[0]))
    w = np.linalg.solve((np.eye(len(A)) - A).T, np.ravel(np.asarray(primal(u), float)))
    return in_theta_t(np.reshape(w, np.shape(primal(out))))


def _count_nothing(args, out, **params):
    return 0  # the iterations count themselves, as primitives evaluated on plain values


#: The whole solve as one operation; its rules are the implicit-function formulas.
#: Its derivatives are computed on plain values (first order: a derivative of the
#: derivative is not propagated through the linear solve).
fixed_point_p = Primitive("fixed_point", _solve_impl, kind="structural", jvp=_solve_jvp,
                          vjp=_solve_vjp, cost=_count_nothing)


def fixed_point(g: Callable, x_init, tol: float | None = 1e-14,
                max_iter: int = 1000) -> Callable[..., Any]:
    """``fixed_point(g, x_init)(theta, xp=None) -> x*`` with ``x* = g(x*, theta, xp)``.

    ``g(x, theta, xp)`` is written as a problem is, over ``xp``; x* is found by
    :func:`iterate` from ``x_init`` (a float or a 1-d array) and differentiated by
    the implicit function theorem (module docstring): under :func:`adbench.ad.grad`
    the tape holds one entry for the solve and its VJP makes one linear solve with
    I - dg/dx at x*. Given another ``xp`` than numpy's (SymPy symbols, mpmath
    numbers), the iteration simply runs on those values.

    >>> import numpy as np
    >>> from adbench.ad import grad
    >>> sqrt = fixed_point(lambda x, a, xp: 0.5 * (x + a / x), 1.0)
    >>> round(float(sqrt(2.0)), 12), round(float(grad(lambda a, xp: sqrt(a, xp))(2.0)), 12)
    (1.414213562373, 0.353553390593)
    """
    def solve(theta, xp=None):
        if xp is not None and xp is not numpy_xp:
            return iterate(g, theta, x_init, xp, tol, max_iter)[0]
        return apply(fixed_point_p, theta, g=g, x_init=x_init, tol=tol, max_iter=max_iter)
    return solve
