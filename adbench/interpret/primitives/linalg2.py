"""The matrix functions of ``xp.linalg``: solve, inv, det, slogdet, cholesky (and
norm, from :mod:`.reductions`), for one real square matrix.

Their rules are the standard matrix-calculus results, as collected by
M. B. Giles, "An extended collection of matrix derivative results for forward
and reverse mode automatic differentiation" (2008), and for the Cholesky
factor I. Murray, "Differentiation of the Cholesky decomposition" (2016).
Every rule is written with the table's functions (inv, solve, matmul...), so
that it is differentiable again (Hessians).

Costs are the scalar operations of the LU (or Cholesky) algorithm to leading
order plus the substitutions, as each docstring says. A singular matrix
raises numpy.linalg.LinAlgError in the value (solve, inv) or in the
derivative (det and slogdet need inv(A)).
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy

from adbench.interpret import primitives as P  # later families, looked up when a rule runs
from adbench.interpret.core import Primitive, apply, primal
from adbench.interpret.primitives.elementwise import add, multiply, negative, subtract
from adbench.interpret.primitives.linalg import matmul, tril
from adbench.interpret.primitives.rules import _register, shape_of


def _square(a, who: str) -> int:
    s = shape_of(a)
    if len(s) != 2 or s[0] != s[1]:
        raise ValueError(f"linalg.{who}: needs one square matrix, not shape {s}")
    return s[0]


def _t(a):
    return P.swapaxes(a, -1, -2)


# mpmath (80-digit reference) and SymPy versions on numpy object arrays.
def _mp(a):
    return mpmath.matrix(np.asarray(a, dtype=object).tolist())


def _sy(a):
    return sympy.Matrix(np.asarray(a, dtype=object).tolist())


def _back(m, shape):
    return np.array(m.tolist(), dtype=object).reshape(shape)


def _mp_solve(a, b):
    return _back(mpmath.lu_solve(_mp(a), _mp(np.reshape(b, (len(b), -1)))), np.shape(b))


def _sym_solve(a, b):
    return _back(_sy(a).LUsolve(_sy(np.reshape(b, (len(b), -1)))), np.shape(b))


# --- solve ----------------------------------------------------------------------------

def _solve_jvp(tangents, args, out, **params):
    """d x = A^-1 (db - dA x)."""
    ta, tb = tangents
    a, _ = args
    rhs = tb
    if ta is not None:
        da_x = matmul(ta, out)
        rhs = negative(da_x) if rhs is None else subtract(rhs, da_x)
    return solve(a, rhs)


def _solve_vjp(k, g, args, out, **params):
    """b_bar = A^-T g (one solve with A^T); A_bar = -b_bar x^T."""
    a, _ = args
    b_bar = solve(_t(a), g)
    if k == 1:
        return b_bar
    if len(shape_of(out)) == 1:
        return negative(P.outer(b_bar, out))
    return negative(matmul(b_bar, _t(out)))


def _count_solve(args, out, **params):
    """LU of A, 2n^3/3, then a forward and a back substitution per column of b, 2n^2 each."""
    n = shape_of(args[0])[0]
    sb = shape_of(args[1])
    cols = 1 if len(sb) == 1 else sb[1]
    return (2 * n ** 3) // 3 + 2 * n * n * cols


solve_p = _register(Primitive("solve", np.linalg.solve, kind="linalg", mp=_mp_solve,
                              sym=_sym_solve, jvp=_solve_jvp, vjp=_solve_vjp,
                              cost=_count_solve, uses=(0, "out")))


def solve(a, b):
    """x with A x = b, for a square A and b a vector (n,) or a matrix (n, k)."""
    n = _square(a, "solve")
    if len(shape_of(b)) not in (1, 2) or shape_of(b)[0] != n:
        raise ValueError(f"linalg.solve: b of shape {shape_of(b)} for A of {n} x {n}")
    return apply(solve_p, P.asarray(a), P.asarray(b))


# --- inv ------------------------------------------------------------------------------

def _inv_jvp(tangents, args, out, **params):
    """d inv(A) = -A^-1 dA A^-1."""
    return negative(matmul(matmul(out, tangents[0]), out))


def _inv_vjp(k, g, args, out, **params):
    """A_bar = -A^-T g A^-T."""
    return negative(matmul(matmul(_t(out), g), _t(out)))


def _count_inv(args, out, **params):
    """LU, 2n^3/3, and the n columns of the inverse by substitution, 4n^3/3: 2n^3."""
    return 2 * shape_of(args[0])[0] ** 3


inv_p = _register(Primitive("inv", np.linalg.inv, kind="linalg",
                            mp=lambda a: _back(mpmath.inverse(_mp(a)), np.shape(a)),
                            sym=lambda a: _back(_sy(a).inv(), np.shape(a)),
                            jvp=_inv_jvp, vjp=_inv_vjp, cost=_count_inv, uses=("out",)))


def inv(a):
    """The inverse of a square matrix."""
    _square(a, "inv")
    return apply(inv_p, P.asarray(a))


# --- det and slogdet --------------------------------------------------------------------

def _count_det(args, out, **params):
    """LU, 2n^3/3, and the product (or log-sum) of the n pivots."""
    n = shape_of(args[0])[0]
    return (2 * n ** 3) // 3 + n


def _det_jvp(tangents, args, out, **params):
    """d det A = det A tr(A^-1 dA)."""
    return multiply(out, P.sum(multiply(_t(inv(args[0])), tangents[0])))


def _det_vjp(k, g, args, out, **params):
    """A_bar = g det(A) A^-T."""
    return multiply(multiply(g, out), _t(inv(args[0])))


det_p = _register(Primitive("det", np.linalg.det, kind="linalg",
                            mp=lambda a: mpmath.det(_mp(a)), sym=lambda a: _sy(a).det(),
                            jvp=_det_jvp, vjp=_det_vjp, cost=_count_det, uses=(0, "out")))


def det(a):
    """The determinant of a square matrix."""
    _square(a, "det")
    return apply(det_p, P.asarray(a))


def _logabsdet_jvp(tangents, args, out, **params):
    """d log|det A| = tr(A^-1 dA)."""
    return P.sum(multiply(_t(inv(args[0])), tangents[0]))


def _logabsdet_vjp(k, g, args, out, **params):
    """A_bar = g A^-T."""
    return multiply(g, _t(inv(args[0])))


logabsdet_p = _register(Primitive(
    "logabsdet", lambda a: np.linalg.slogdet(a)[1], kind="linalg", transcendental=False,
    mp=lambda a: mpmath.log(abs(mpmath.det(_mp(a)))),
    sym=lambda a: sympy.log(sympy.Abs(_sy(a).det())),
    jvp=_logabsdet_jvp, vjp=_logabsdet_vjp, cost=_count_det, uses=(0,)))


def slogdet(a):
    """(sign, log|det A|) of a square matrix. The sign is piecewise constant
    (no derivative); log|det A| is the primitive logabsdet."""
    _square(a, "slogdet")
    sign = float(np.linalg.slogdet(primal(a))[0])
    return sign, apply(logabsdet_p, P.asarray(a))


def _object_slogdet(det_, sign_, log_abs):
    def slogdet(a):
        d = det_(a)
        return sign_(d), log_abs(d)
    return slogdet


mp_slogdet = _object_slogdet(lambda a: mpmath.det(_mp(a)), mpmath.sign,
                             lambda d: mpmath.log(abs(d)))
sym_slogdet = _object_slogdet(lambda a: _sy(a).det(), sympy.sign,
                              lambda d: sympy.log(sympy.Abs(d)))


# --- cholesky ----------------------------------------------------------------------------

def _sym(a):
    return multiply(add(a, _t(a)), 0.5)


def _cholesky_impl(a):
    return np.linalg.cholesky(0.5 * (a + np.swapaxes(a, -1, -2)))


def _phi(x):
    """The lower triangle of x with its diagonal halved (Murray 2016, eq. 9)."""
    n = shape_of(x)[-1]
    return multiply(tril(x), 1.0 - 0.5 * np.eye(n))


def _cholesky_jvp(tangents, args, out, **params):
    """dL = L Phi(L^-1 dA_s L^-T), dA_s the symmetric part of dA."""
    li = inv(out)
    return matmul(out, _phi(matmul(matmul(li, _sym(tangents[0])), _t(li))))


def _cholesky_vjp(k, g, args, out, **params):
    """A_bar = sym(L^-T Phi(L^T L_bar) L^-1) (Murray 2016, eq. 10)."""
    li = inv(out)
    return _sym(matmul(matmul(_t(li), _phi(matmul(_t(out), g))), li))


def _count_cholesky(args, out, **params):
    """n^3/3 multiply-adds, n^2 more to leading order, and n square roots."""
    n = shape_of(args[0])[0]
    return n ** 3 // 3 + n * n + n


def _mp_cholesky(a):
    a = np.asarray(a, dtype=object)
    return _back(mpmath.cholesky(_mp((a + a.T) / 2)), a.shape)


def _sym_cholesky(a):
    a = np.asarray(a, dtype=object)
    return _back(_sy((a + a.T) / 2).cholesky(hermitian=False), a.shape)


cholesky_p = _register(Primitive("cholesky", _cholesky_impl, kind="linalg", analytic=False,
                                 mp=_mp_cholesky, sym=_sym_cholesky, jvp=_cholesky_jvp,
                                 vjp=_cholesky_vjp, cost=_count_cholesky, uses=("out",)))


def cholesky(a):
    """The lower-triangular L with L L^T = A, for a symmetric positive definite A.

    The primitive is the factor of the symmetric part (A + A^T)/2, which is A
    for the symmetric matrices numpy expects; so its value and derivative
    agree in every direction, including non-symmetric perturbations (numpy
    reads only the lower triangle). Not positive definite: LinAlgError.
    """
    _square(a, "cholesky")
    return apply(cholesky_p, P.asarray(a))
