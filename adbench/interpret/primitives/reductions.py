"""Reductions: sum, max and mean along axes."""

from __future__ import annotations

import builtins
import functools
import math

import numpy as np

from adbench.interpret import primitives as P  # later families, looked up when a rule runs
from adbench.interpret.core import EVALUATION_HOOKS, Primitive, apply, primal
from adbench.interpret.primitives.elementwise import divide, multiply
from adbench.interpret.primitives.rules import _register, linear, shape_of, size_of


def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim for a in axis))


@functools.lru_cache(maxsize=1024)
def _keepdims_shape(x_shape: tuple, axis) -> tuple:
    """The shape of a reduction of an array of ``x_shape`` along ``axis``, with keepdims."""
    axes = _norm_axes(axis, len(x_shape))
    return tuple(1 if i in axes else n for i, n in enumerate(x_shape))


#: The plain cotangent of a sum over at most this many entries is spread into a new
#: array (one or two numpy calls); above it, into a broadcast view (no memory).
FULL_SIZE = 1 << 12


def _sum_transpose(k, g, args, out, axis=None, keepdims=False):
    x_shape = shape_of(args[0])
    if not EVALUATION_HOOKS and math.prod(x_shape) <= FULL_SIZE:
        if type(g) is float or type(g) is np.float64:
            return np.full(x_shape, g)
        if type(g) is np.ndarray:
            spread = np.empty(x_shape, g.dtype)
            spread[...] = g if keepdims else g.reshape(_keepdims_shape(x_shape, axis))
            return spread
    if not keepdims:
        g = P.reshape(g, _keepdims_shape(x_shape, axis))
    return P.broadcast_to(g, x_shape)


def _count_reduction(args, out, **params) -> int:
    return builtins.max(size_of(args[0]) - size_of(out), 0)


def _sum_impl(x, axis=None, keepdims=False):
    if type(x) is np.ndarray:  # the method skips numpy.sum's Python wrappers
        return x.sum(axis=axis, keepdims=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims)


def _max_impl(x, axis=None, keepdims=False):
    if type(x) is np.ndarray:
        return x.max(axis=axis, keepdims=keepdims)
    return np.max(x, axis=axis, keepdims=keepdims)


sum_p = linear("sum", _sum_impl, transpose=_sum_transpose, kind="reduction",
               cost=_count_reduction)


def _amax_mask(x, out, axis, keepdims):
    xv, ov = primal(x), primal(out)
    ok = ov if keepdims else np.reshape(ov, _keepdims_shape(np.shape(xv), axis))
    mask = (xv == ok).astype(float)
    return mask / np.sum(mask, axis=axis, keepdims=True)


def _weighted_reduction_rules(weights):
    """The JVP and VJP of a reduction whose partial derivatives are
    ``weights(x, out, axis, keepdims)``, an array of x's shape (max: the
    argmax mask; logsumexp: the softmax): JVP sum(t w), VJP g w (g broadcast
    back over the reduced axes)."""
    def jvp(tangents, args, out, axis=None, keepdims=False):
        w = weights(args[0], out, axis, keepdims)
        return sum(multiply(tangents[0], w), axis=axis, keepdims=keepdims)

    def vjp(k, g, args, out, axis=None, keepdims=False):
        return _weighted_vjp(g, weights(args[0], out, axis, keepdims), axis, keepdims)
    return jvp, vjp


def _weighted_vjp(g, w, axis, keepdims):
    """g w, g broadcast back over the reduced axes of w (the reduction's
    partial derivatives, of its argument's shape)."""
    if not keepdims:
        g = P.reshape(g, _keepdims_shape(shape_of(w), axis))
    return multiply(g, w)


amax_p = _register(Primitive("max", _max_impl, kind="reduction", analytic=False,
                             cost=_count_reduction, uses=(0, "out")))
amax_p.jvp, amax_p.vjp = _weighted_reduction_rules(_amax_mask)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy
    return apply(sum_p, P.asarray(x), axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    x = P.asarray(x)
    shape = shape_of(x)
    n = int(math.prod(shape[a] for a in _norm_axes(axis, len(shape))))
    return divide(sum(x, axis=axis, keepdims=keepdims), float(n))


def max(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy
    return apply(amax_p, P.asarray(x), axis=axis, keepdims=keepdims)


amax = max

