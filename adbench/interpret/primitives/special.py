"""Special functions: logsumexp, logaddexp, erf, gammaln and its derivatives
polygamma, and multigammaln made of gammaln.

The float implementations of erf, gammaln and polygamma are
:mod:`adbench.interpret.primitives.special_float`'s, written on :mod:`math`, numpy
and mpmath (no scipy); mpmath and SymPy have their own. Each derivative is again a
function of the table: d gammaln = polygamma(0, .), d polygamma(n, .) =
polygamma(n + 1, .), so derivatives of every order exist.
"""

from __future__ import annotations

import builtins
import math

import mpmath
import numpy as np
import sympy

from adbench.interpret import primitives as P  # later families, looked up when a rule runs
from adbench.interpret.core import Primitive, apply, primal
from adbench.interpret.primitives.elementwise import (
    add,
    divide,
    exp,
    log,
    multiply,
    negative,
    subtract,
)
from adbench.interpret.primitives.reductions import (
    _keepdims_shape,
    _weighted_reduction_rules,
    _weighted_vjp,
    max,
    sum,
)
from adbench.interpret.primitives.rules import (
    _count_nothing,
    _elementwise_function,
    _register,
    _vec,
    elementwise,
    shape_of,
)
from adbench.interpret.primitives.special_float import (
    float_erf,
    float_gammaln,
    float_polygamma,
)


def _logsumexp_parts(x, axis, keepdims):
    """(logsumexp(x), e, sum e) for the shifted exponentials e = exp(x - m),
    m = max x along ``axis`` (0 where a whole slice is -inf), none of which
    overflows: logsumexp = m + log sum e."""
    shift = max(x, axis=axis, keepdims=True)
    if not np.isfinite(shift).all():
        shift = np.where(np.isfinite(shift), shift, 0.0)
    e = exp(subtract(x, shift))
    total = sum(e, axis=axis, keepdims=keepdims)
    out = log(total)
    return add(out, shift if keepdims else np.reshape(shift, np.shape(out))), e, total


def _logsumexp_impl(x, axis=None, keepdims=False):
    """log sum exp(x) along ``axis``, shifted by the maximum so that nothing
    overflows: m + log sum exp(x - m), m = max x (0 where a whole slice is
    -inf). Composed of the table's primitives, so that an op counter sees, and
    counts, each of them; it is only ever called on plain values."""
    return _logsumexp_parts(x, axis, keepdims)[0]


def _logsumexp_and_softmax(x, axis=None, keepdims=False):
    """(logsumexp(x), softmax(x)) from one set of exponentials: the softmax
    exp(x - logsumexp x) is e / sum e for the shifted e the value needs anyway."""
    out, e, total = _logsumexp_parts(x, axis, keepdims)
    if not keepdims:
        total = P.reshape(total, _keepdims_shape(shape_of(x), axis))
    return out, divide(e, total)


def _logsumexp_softmax_vjp(k, g, w, args, out, axis=None, keepdims=False):
    return _weighted_vjp(g, w, axis, keepdims)


def _softmax_factor(x, out, axis, keepdims):
    """exp(x - logsumexp(x)): the partial derivatives of logsumexp (softmax)."""
    return exp(subtract(x, P.reshape(out, _keepdims_shape(shape_of(x), axis))
                        if not keepdims else out))


def _object_logsumexp(exp_, log_):
    """logsumexp on numpy object arrays of mpmath or SymPy numbers: log sum exp,
    unshifted (exact in their arithmetic, and SymPy then differentiates no maximum)."""
    def logsumexp(x, axis=None, keepdims=False):
        return log_(np.sum(exp_(np.asarray(x, dtype=object)), axis=axis, keepdims=keepdims))
    return logsumexp


logsumexp_p = _register(Primitive(
    "logsumexp", _logsumexp_impl, kind="reduction", transcendental=True,
    mp=_object_logsumexp(_vec(mpmath.exp), _vec(mpmath.log)),
    sym=_object_logsumexp(_vec(sympy.exp), _vec(sympy.log)),
    cost=_count_nothing, uses=(0, "out"),
    residual=(_logsumexp_and_softmax, _logsumexp_softmax_vjp)))
logsumexp_p.jvp, logsumexp_p.vjp = _weighted_reduction_rules(_softmax_factor)


def logsumexp(x, axis=None, keepdims=False):
    """log sum exp(x) along ``axis``, computed without overflow (shifted by
    the maximum); its derivative is the softmax exp(x - logsumexp(x))."""
    return apply(logsumexp_p, P.asarray(x), axis=axis, keepdims=keepdims)



def _logaddexp_scalar(x, y):
    """log(e^x + e^y) of two floats: the larger plus log1p(e^-|x - y|), no overflow."""
    if x == y:  # also both infinite: inf - inf would be nan below
        return x + math.log(2.0)
    return builtins.max(x, y) + math.log1p(math.exp(-abs(x - y)))


def _object_logaddexp(x, y, exp_, log_):
    return log_(exp_(x) + exp_(y))


def _mp_logaddexp(x, y):
    return _object_logaddexp(x, y, mpmath.exp, mpmath.log)


def _sym_logaddexp(x, y):
    return _object_logaddexp(x, y, sympy.exp, sympy.log)


#: log(e^x + e^y); d/dx = e^(x - out), d/dy = e^(y - out) (a two-entry softmax). Counted
#: as one transcendental call per entry, as numpy computes it.
logaddexp_p = elementwise("logaddexp", np.logaddexp, scalar=_logaddexp_scalar,
                          mp=_vec(_mp_logaddexp, 2), sym=_vec(_sym_logaddexp, 2),
                          transcendental=True, uses=(0, 1, "out"),
                          lin=(lambda g, x, y, out: multiply(g, exp(subtract(x, out))),
                               lambda g, x, y, out: multiply(g, exp(subtract(y, out)))))

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

erf_p = elementwise("erf", float_erf, scalar=math.erf, mp=_vec(mpmath.erf),
                    sym=_vec(sympy.erf), transcendental=True, uses=(0,),
                    lin=(lambda g, x, out: multiply(g, multiply(
                        TWO_OVER_SQRT_PI, exp(negative(multiply(x, x))))),))


def _mp_gammaln(x):
    """log |Gamma(x)|: mpmath's loggamma is complex (log of a negative) below 0."""
    if x > 0:
        return mpmath.loggamma(x)
    return mpmath.log(abs(mpmath.gamma(x)))


def _mp_polygamma(n, x):
    return mpmath.psi(int(n), x)


gammaln_p = elementwise("gammaln", float_gammaln, scalar=math.lgamma, mp=_vec(_mp_gammaln),
                        sym=_vec(sympy.loggamma), transcendental=True, uses=(0,),
                        lin=(lambda g, x, out: multiply(g, polygamma(0.0, x)),))
#: polygamma(n, x): the n-th derivative of digamma = d gammaln / dx, for an integer n >= 0
#: (a constant: no derivative with respect to it).
polygamma_p = elementwise(
    "polygamma", float_polygamma, mp=_vec(_mp_polygamma, 2), sym=_vec(sympy.polygamma, 2),
    transcendental=True, nondiff=(0,), uses=(0, 1),
    lin=(None, lambda g, n, x, out: multiply(g, polygamma(primal(n) + 1.0, x))))


logaddexp = _elementwise_function(logaddexp_p, "logaddexp",
                                  "log(exp(x) + exp(y)), without overflow.")
erf = _elementwise_function(erf_p, "erf", "The error function 2/sqrt(pi) int_0^x exp(-t^2) dt.")
gammaln = _elementwise_function(gammaln_p, "gammaln",
                                "log |Gamma(x)| (inf at the poles 0, -1, -2, ...).")
polygamma = _elementwise_function(
    polygamma_p, "polygamma", "polygamma(n, x): the (n + 1)-th derivative of gammaln at x.")


def multigammaln_with(gammaln_, log_pi):
    """multigammaln written with ``gammaln_`` and the constant ``log_pi()`` (read at the
    call, so that mpmath's is taken at its working precision): one definition for the
    float, mpmath and SymPy namespaces."""
    def multigammaln(a, d: int):
        """log Gamma_d(a) = d (d - 1) / 4 log pi + sum_{j=1..d} gammaln(a + (1 - j) / 2),
        the multivariate log-gamma of dimension d (scipy.special.multigammaln's); defined
        for a > (d - 1) / 2. Its derivatives are those of the gammaln terms."""
        if int(d) != d or d < 1:
            raise ValueError(f"multigammaln: the dimension d must be a positive integer, not {d!r}")
        d = int(d)
        total = d * (d - 1) / 4 * log_pi()
        for j in range(1, d + 1):
            total = total + gammaln_(a + (1 - j) / 2)
        return total
    return multigammaln


multigammaln = multigammaln_with(gammaln, lambda: math.log(math.pi))
