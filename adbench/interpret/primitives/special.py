"""Special functions: logsumexp."""

from __future__ import annotations

import mpmath
import numpy as np
import sympy

from adbench.interpret import primitives as P  # later families, looked up when a rule runs
from adbench.interpret.core import Primitive, apply
from adbench.interpret.primitives.elementwise import add, divide, exp, log, subtract
from adbench.interpret.primitives.reductions import (
    _keepdims_shape,
    _weighted_reduction_rules,
    _weighted_vjp,
    max,
    sum,
)
from adbench.interpret.primitives.rules import _count_nothing, _register, _vec, shape_of


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

