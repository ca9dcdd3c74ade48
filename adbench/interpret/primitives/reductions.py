"""Reductions along axes: sum, max, min, mean, prod, var, std, the scans cumsum and
cumprod, and the norms."""

from __future__ import annotations

import builtins
import functools
import math

import mpmath
import numpy as np
import sympy

from adbench.interpret import primitives as P  # later families, looked up when a rule runs
from adbench.interpret.core import EVALUATION_HOOKS, Primitive, apply, primal
from adbench.interpret.primitives.elementwise import divide, multiply
from adbench.interpret.primitives.rules import (
    _register, _vec, apply_arrays, linear, shape_of, size_of)


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
    mask = (xv == ok).astype(np.result_type(xv, 0.0))
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
    return apply_arrays(sum_p, P.asarray(x), axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    x = P.asarray(x)
    shape = shape_of(x)
    n = int(math.prod(shape[a] for a in _norm_axes(axis, len(shape))))
    return divide(sum(x, axis=axis, keepdims=keepdims), float(n))


def max(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy
    return apply_arrays(amax_p, P.asarray(x), axis=axis, keepdims=keepdims)


amax = max



# --- min, prod, cumsum, cumprod, var, std, norm ------------------------------------------

def _min_impl(x, axis=None, keepdims=False):
    if type(x) is np.ndarray and x.dtype != object:
        return x.min(axis=axis, keepdims=keepdims)
    return np.min(x, axis=axis, keepdims=keepdims)


#: min: the same rules as max (its mask is x == out), ties split evenly among the minima.
amin_p = _register(Primitive("min", _min_impl, kind="reduction", analytic=False,
                             cost=_count_reduction, uses=(0, "out")))
amin_p.jvp, amin_p.vjp = _weighted_reduction_rules(_amax_mask)


def min(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy
    """Smallest entry along ``axis``; at a tie the derivative is split evenly
    among the entries that attain it (as for max)."""
    return apply(amin_p, P.asarray(x), axis=axis, keepdims=keepdims)


amin = min


def _to_last(x, axes):
    """x with ``axes`` moved to the end and flattened into one: (kept..., n),
    and what :func:`_from_last` needs to undo it."""
    shape = shape_of(x)
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    perm = kept + tuple(axes)
    moved = x if perm == tuple(range(len(shape))) else P.transpose(x, perm)
    n = int(math.prod(shape[a] for a in axes))
    return P.reshape(moved, tuple(shape[i] for i in kept) + (n,)), (shape, perm)


def _from_last(y, undo):
    shape, perm = undo
    y = P.reshape(y, tuple(shape[i] for i in perm))
    if perm == tuple(range(len(shape))):
        return y
    return P.transpose(y, tuple(int(i) for i in np.argsort(perm)))


def _prod_others(x, out, axis, keepdims):
    """For every entry, the product of the other entries of its slice: the
    partial derivatives of prod, without a division (so exact with zeros: one
    zero gives the product of the others at it and 0 elsewhere, two give 0).

    others_j = (x_0 ... x_{j-1}) (x_{j+1} ... x_{n-1}), the exclusive prefix
    product times the exclusive suffix product, both cumprods (O(n) each)."""
    axes = _norm_axes(axis, len(shape_of(x)))
    xr, undo = _to_last(x, axes)
    head = shape_of(xr)[:-1]
    one = np.ones(head + (1,))
    left = cumprod(P.concatenate([one, xr[..., :-1]], axis=-1), axis=-1)
    right = cumprod(P.concatenate([one, xr[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return _from_last(multiply(left, right), undo)


def _prod_impl(x, axis=None, keepdims=False):
    return np.prod(x, axis=axis, keepdims=keepdims)


#: prod: n - 1 multiplications per slice of n entries.
prod_p = _register(Primitive("prod", _prod_impl, kind="reduction", cost=_count_reduction,
                             uses=(0,)))
prod_p.jvp, prod_p.vjp = _weighted_reduction_rules(_prod_others)


def prod(x, axis=None, keepdims=False):
    """Product of the entries along ``axis``; derivative: the product of the
    other entries of the slice (exact at zeros, see :func:`_prod_others`)."""
    return apply(prod_p, P.asarray(x), axis=axis, keepdims=keepdims)


def _flip(x, axis):
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


def _count_scan(args, out, axis):
    """A scan of n entries along ``axis`` takes n - 1 operations per slice."""
    n = shape_of(args[0])[axis]
    return size_of(args[0]) - (size_of(args[0]) // n if n else 0)


def _cumsum_transpose(k, g, args, out, axis):
    """The transpose of a prefix sum is the suffix sum: flip, cumsum, flip."""
    return _flip(cumsum(_flip(g, axis), axis=axis), axis)


cumsum_p = linear("cumsum", lambda x, axis: np.cumsum(x, axis=axis), kind="linear",
                  transpose=_cumsum_transpose, cost=_count_scan)


def _scan_axis(x, axis):
    """(x, axis) with axis None meaning the flattened array, as numpy does."""
    x = P.asarray(x)
    if axis is None:
        return P.ravel(x), 0
    return x, axis % len(shape_of(x))


def cumsum(x, axis=None):
    """Prefix sums along ``axis`` (None: of the flattened array)."""
    x, axis = _scan_axis(x, axis)
    return apply(cumsum_p, x, axis=axis)


def _cumprod_jvp(tangents, args, out, axis):
    """The product rule step by step along ``axis``: dy_0 = t_0 and
    dy_i = dy_{i-1} x_i + y_{i-1} t_i. Division-free, so exact at zeros, and O(n)
    operations per slice (three per entry), as the cheap-gradient principle asks."""
    x, y, t = (P.swapaxes(v, axis, -1) for v in (args[0], out, tangents[0]))
    n = shape_of(x)[-1]
    if n == 0:
        return P.zeros_like(tangents[0])
    steps = [t[..., 0]]
    for i in range(1, n):
        steps.append(P.add(multiply(steps[-1], x[..., i]), multiply(y[..., i - 1], t[..., i])))
    return P.swapaxes(P.stack(steps, axis=-1), axis, -1)


def _cumprod_vjp(k, g, args, out, axis):
    """The same recurrence backwards: the cotangent reaching y_i is
    s_i = g_i + s_{i+1} x_{i+1}, and x_i receives s_i y_{i-1} (s_0 for x_0).
    Division-free and O(n) operations per slice."""
    x, y, g = (P.swapaxes(v, axis, -1) for v in (args[0], out, g))
    n = shape_of(x)[-1]
    if n == 0:
        return P.zeros_like(args[0])
    grads = [None] * n
    s = g[..., n - 1]
    for i in range(n - 1, -1, -1):
        if i < n - 1:
            s = P.add(g[..., i], multiply(s, x[..., i + 1]))
        grads[i] = multiply(s, y[..., i - 1]) if i > 0 else s
    return P.swapaxes(P.stack(grads, axis=-1), axis, -1)


cumprod_p = _register(Primitive("cumprod", lambda x, axis: np.cumprod(x, axis=axis),
                                kind="reduction", jvp=_cumprod_jvp, vjp=_cumprod_vjp,
                                cost=_count_scan, uses=(0, "out")))


def cumprod(x, axis=None):
    """Prefix products along ``axis`` (None: of the flattened array); the
    derivative is exact at zeros (:func:`_cumprod_jvp`)."""
    x, axis = _scan_axis(x, axis)
    return apply(cumprod_p, x, axis=axis)


def var(x, axis=None, ddof=0, keepdims=False):
    """sum (x - mean x)^2 / (n - ddof) along ``axis``: a composition (mean, subtract,
    multiply, sum, divide), whose derivative and count follow from its parts."""
    x = P.asarray(x)
    shape = shape_of(x)
    n = int(math.prod(shape[a] for a in _norm_axes(axis, len(shape))))
    d = P.subtract(x, mean(x, axis=axis, keepdims=True))
    return divide(sum(multiply(d, d), axis=axis, keepdims=keepdims), float(n - ddof))


def std(x, axis=None, ddof=0, keepdims=False, *, sqrt=None):
    """sqrt(var(x)); its derivative is infinite where the variance is 0.
    ``sqrt`` replaces the table's for object arrays (the mpmath and SymPy xp)."""
    return (sqrt or P.sqrt)(var(x, axis=axis, ddof=ddof, keepdims=keepdims))


def _norm2_impl(x, axis=None, keepdims=False):
    return np.sqrt(np.sum(np.square(x), axis=axis, keepdims=keepdims))


def _object_norm2(sqrt):
    def norm2(x, axis=None, keepdims=False):
        x = np.asarray(x, dtype=object)
        return sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
    return norm2


def _norm2_weights(x, out, axis, keepdims):
    """x / ||x||, and 0 for a slice whose norm is 0: there the norm has no
    derivative, and 0 is the least-norm element of its subdifferential (the unit ball)."""
    o = out if keepdims else P.reshape(out, _keepdims_shape(shape_of(x), axis))
    return divide(x, P.where(primal(o) == 0, 1.0, o))


def _count_norm2(args, out, **params):
    """n squares, n - 1 additions and one square root per slice: 2n."""
    return 2 * size_of(args[0])


norm2_p = _register(Primitive("norm2", _norm2_impl, kind="reduction", analytic=False,
                              mp=_object_norm2(_vec(mpmath.sqrt)),
                              sym=_object_norm2(_vec(sympy.sqrt)),
                              cost=_count_norm2, uses=(0, "out")))
norm2_p.jvp, norm2_p.vjp = _weighted_reduction_rules(_norm2_weights)


def norm2(x, axis=None, keepdims=False):
    """sqrt(sum x^2) along ``axis``; derivative x / norm, 0 at x = 0."""
    x = P.asarray(x)
    axes = None if axis is None else _norm_axes(axis, len(shape_of(x)))
    return apply(norm2_p, x, axis=axes, keepdims=keepdims)


def norm(x, ord=None, axis=None, keepdims=False, *, ops=None):  # noqa: A002 - numpy's name
    """numpy.linalg.norm for real arrays.

    Vectors (1-D, or an int ``axis``): ord None or 2 (sqrt sum x^2, the
    primitive norm2), 1 (sum |x|), inf (max |x|), -inf (min |x|), another
    p > 0 ((sum |x|^p)^(1/p)). Matrices (2-D with axis None, or a pair of
    axes): ord None or 'fro' (Frobenius: norm2 over both axes), 1 (max column
    sum of |x|), inf (max row sum). Arrays of more dimensions with ord and
    axis None: the 2-norm of all entries, as numpy.

    Derivatives at 0: the 2-norm and Frobenius norm give 0 (see
    :func:`_norm2_weights`); ord 1 and inf inherit abs's 0 at 0 and max's even
    split of ties. The spectral and nuclear norms (ord 2, -2, 'nuc' of a matrix)
    need singular values and raise NotImplementedError.

    ``ops`` supplies absolute, sum, max, min, power and norm2 for object arrays
    (the mpmath and SymPy xp); by default the table's.
    """
    o = ops or P
    nd = len(shape_of(x))
    if axis is None:
        if nd == 1:
            return _vector_norm(x, ord, None, keepdims, o)
        if ord is None:
            return o.norm2(x, keepdims=keepdims)
        if nd != 2:
            raise ValueError(f"norm: ord={ord!r} needs a vector or a matrix, not {nd} axes")
        axis = (0, 1)
    if isinstance(axis, (int, np.integer)):
        return _vector_norm(x, ord, int(axis), keepdims, o)
    axis = tuple(axis)
    if len(axis) != 2:
        raise ValueError(f"norm: axis must be an int or a pair of ints, not {axis!r}")
    if ord in (None, "fro"):
        return o.norm2(x, axis=axis, keepdims=keepdims)
    if ord in (1, np.inf):
        summed, other = (axis[0], axis[1]) if ord == 1 else (axis[1], axis[0])
        sums = o.sum(o.absolute(x), axis=summed, keepdims=True)
        return _squeeze_pair(o.max(sums, axis=other, keepdims=True), axis, keepdims)
    raise NotImplementedError(f"norm: matrix ord={ord!r} (needs singular values) is not supported")


def _squeeze_pair(y, axis, keepdims):
    if keepdims:
        return y
    shape = shape_of(y)
    nd = len(shape)
    drop = {a % nd for a in axis}
    return P.reshape(y, tuple(n for i, n in enumerate(shape) if i not in drop))


def _vector_norm(x, ord, axis, keepdims, o):  # noqa: A002
    if ord in (None, 2):
        return o.norm2(x, axis=axis, keepdims=keepdims)
    if ord == 1:
        return o.sum(o.absolute(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return o.max(o.absolute(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return o.min(o.absolute(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, (int, float)) and ord > 0:
        return o.power(o.sum(o.power(o.absolute(x), float(ord)), axis=axis, keepdims=keepdims),
                       1.0 / ord)
    raise NotImplementedError(f"norm: vector ord={ord!r} is not supported")
