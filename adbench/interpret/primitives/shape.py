"""Indexing and shape: getitem and its transpose untake, reshape, transpose,
swapaxes, broadcast_to, concatenate, stack; the imaginary part; checkpointed
calls; and the constructors (array, asarray, zeros_like...) that pack boxes.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from adbench.interpret.core import (
    BoxBase,
    Primitive,
    apply,
    primal,
    top_trace,
)
from adbench.interpret.primitives.elementwise import multiply
from adbench.interpret.primitives.rules import (
    _count_nothing,
    _register,
    apply_arrays,
    linear,
    shape_of,
    size_of,
    unbroadcast,
)


def is_basic_index(idx) -> bool:
    """True for numpy "basic" indices (ints, slices, Ellipsis, None and tuples of
    them): they select each element at most once, so a cotangent can be
    scattered back by assignment. Integer arrays and masks ("advanced"
    indices) may repeat elements and need an unbuffered ``np.add.at``."""
    if type(idx) is tuple:
        for i in idx:
            if not (isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis):
                return False
        return True
    return isinstance(idx, (int, np.integer, slice)) or idx is None or idx is Ellipsis


def _getitem_impl(x, idx):
    out = x[idx]
    # A float64 element becomes a Python float, so that scalar code read out
    # of an array runs on the float fast paths.
    return float(out) if type(out) is np.float64 else out


def _getitem_transpose(k, g, args, out, idx):
    return untake(g, idx=idx, shape=shape_of(args[0]))


def scatter_add(buffer: np.ndarray, idx, g) -> None:
    """``buffer[idx] += g`` in place, correct for repeated advanced indices."""
    if is_basic_index(idx):
        buffer[idx] += g
    else:
        np.add.at(buffer, idx, g)


def _untake_impl(g, idx, shape):
    z = np.zeros(shape, dtype=np.result_type(g, 0.0))  # a float32 g stays float32
    scatter_add(z, idx, g)
    return z


def _untake_transpose(k, g, args, out, idx, shape):
    return getitem(g, idx=idx)


getitem_p = linear("getitem", _getitem_impl, transpose=_getitem_transpose)
untake_p = linear("untake", _untake_impl, transpose=_untake_transpose)


def _reshape_transpose(k, g, args, out, shape):
    return reshape(g, shape_of(args[0]))


def _transpose_transpose(k, g, args, out, axes=None):
    if axes is None:
        return transpose(g)
    return transpose(g, axes=tuple(np.argsort(axes)))


def _broadcast_transpose(k, g, args, out, shape):
    return unbroadcast(g, shape_of(args[0]))


def _swapaxes_transpose(k, g, args, out, axis1, axis2):
    return swapaxes(g, axis1, axis2)


def _imag_transpose(k, g, args, out):
    # In the engine's holomorphic convention (VJPs multiply by the derivative, not
    # its conjugate), Im z = (z - conj z) / 2i transposes to -i g.
    return multiply(g, -1j)


#: The imaginary part: the complex-step method reads f'(x) h from Im f(x + ih).
imag_p = linear("imag", np.imag, transpose=_imag_transpose)
imag_p.analytic = False  # Im z is real-linear but not complex-analytic


def _reshape_impl(x, shape):
    return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)


reshape_p = linear("reshape", _reshape_impl, transpose=_reshape_transpose)


def _transpose_impl(x, axes=None):
    return x.transpose(axes) if type(x) is np.ndarray else np.transpose(x, axes)


def _swapaxes_impl(x, axis1, axis2):
    return x.swapaxes(axis1, axis2) if type(x) is np.ndarray else np.swapaxes(x, axis1, axis2)


#: Up to this many entries, broadcasting writes a new array (two calls into numpy's C
#: code); above it, numpy's broadcast view (no memory, but some microseconds of Python).
SPREAD_SIZE = 1 << 12


def _broadcast_to_impl(x, shape):
    if (type(x) is np.ndarray and x.ndim <= len(shape) or type(x) is float) \
            and math.prod(shape) <= SPREAD_SIZE:
        out = np.empty(shape, x.dtype if type(x) is np.ndarray else np.float64)
        out[...] = x  # broadcast by numpy's rules; a shape x cannot broadcast to raises
        return out
    return np.broadcast_to(x, shape)


transpose_p = linear("transpose", _transpose_impl, transpose=_transpose_transpose)
swapaxes_p = linear("swapaxes", _swapaxes_impl, transpose=_swapaxes_transpose)
broadcast_to_p = linear("broadcast_to", _broadcast_to_impl, transpose=_broadcast_transpose)


def _concat_transpose(k, g, args, out, axis=0):
    ax = axis % len(shape_of(out))
    start = builtins.sum(shape_of(a)[ax] for a in args[:k])
    idx = (slice(None),) * ax + (slice(start, start + shape_of(args[k])[ax]),)
    return getitem(g, idx=idx)


def _stack_transpose(k, g, args, out, axis=0):
    ax = axis % len(shape_of(out))
    return getitem(g, idx=(slice(None),) * ax + (k,))


concatenate_p = linear("concatenate", lambda *xs, axis=0: np.concatenate(xs, axis=axis),
                       transpose=_concat_transpose, nargs=-1)
stack_p = linear("stack", lambda *xs, axis=0: np.stack(xs, axis=axis),
                 transpose=_stack_transpose, nargs=-1)


def _call_impl(x, fn):
    """``fn(x)`` on plain values: its operations reach the table one by one (an
    op counter sees each); the call itself costs nothing."""
    return fn(x)


#: ``fn(x)`` for a function ``fn`` of one value (``params["fn"]``), recorded by reverse
#: mode as one entry that keeps x alone: its VJP runs fn again, on a tape of its own,
#: during the backward sweep (checkpointing: :func:`adbench.ad.checkpoint`). Its JVP
#: and VJP are the engine's own passes over fn, so :mod:`adbench.ad` attaches them.
checkpoint_p = _register(Primitive("checkpoint", _call_impl, kind="structural",
                                   cost=_count_nothing, uses=(0,)))


def getitem(x, idx):
    return apply_arrays(getitem_p, x, idx=idx)


def untake(g, idx, shape):
    return apply(untake_p, g, idx=idx, shape=tuple(shape))


def imag(x):
    return apply(imag_p, x)


def reshape(x, shape):
    """x with a new shape (one entry may be -1), as numpy.reshape."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if -1 in shape:
        known = int(math.prod(n for n in shape if n != -1))
        size = size_of(x)
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape an array of size {size} into shape {shape}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    if shape == shape_of(x):
        return x
    if type(x) is np.ndarray:  # a plain array: no dispatch
        return x.reshape(shape)
    if type(x) is np.float64:
        return x.reshape(shape)
    if type(x) is float:
        return np.reshape(x, shape)
    return apply(reshape_p, x, shape=shape)


def ravel(x):
    return reshape(x, (-1,))


def transpose(x, axes=None):
    return apply_arrays(transpose_p, x, axes=None if axes is None else tuple(axes))


def swapaxes(x, axis1, axis2):
    return apply_arrays(swapaxes_p, x, axis1=axis1, axis2=axis2)


def squeeze(x, axis=None):
    """numpy.squeeze: x without its axes of length 1 (or only those of ``axis``,
    which must have length 1)."""
    shape = shape_of(x)
    if axis is None:
        axes = {i for i, k in enumerate(shape) if k == 1}
    else:
        axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
        if builtins.any(shape[a] != 1 for a in axes):
            raise ValueError(f"squeeze: cannot select an axis of length other than 1 "
                             f"(axis {axis!r} of shape {shape})")
    return reshape(x, tuple(k for i, k in enumerate(shape) if i not in axes))


def expand_dims(x, axis):
    """numpy.expand_dims: x with new axes of length 1 at the positions ``axis``
    (an int or a tuple, counted in the result)."""
    shape = shape_of(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = len(shape) + len(axes)
    new = {a % ndim for a in axes}
    if len(new) != len(axes) or builtins.any(not -ndim <= a < ndim for a in axes):
        raise ValueError(f"expand_dims: bad axis {axis!r} for a result of {ndim} axes")
    rest = iter(shape)
    return reshape(x, tuple(1 if i in new else next(rest) for i in range(ndim)))


def moveaxis(x, source, destination):
    """numpy.moveaxis: the axes ``source`` moved to the positions ``destination``,
    the others keeping their order (a transpose)."""
    ndim = len(shape_of(x))
    src = [a % ndim for a in ((source,) if isinstance(source, int) else source)]
    dst = [a % ndim for a in ((destination,) if isinstance(destination, int) else destination)]
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same length")
    order = [a for a in range(ndim) if a not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    if order == list(range(ndim)):
        return x
    return transpose(x, order)


def tile(x, reps):
    """numpy.tile: x repeated ``reps`` times along each axis (a broadcast of x
    with a new axis of length r before each axis of length n, then a reshape
    to r n): its cotangent sums the copies."""
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    shape = shape_of(x)
    d = builtins.max(len(reps), len(shape))
    reps = (1,) * (d - len(reps)) + reps
    shape = (1,) * (d - len(shape)) + shape
    interleaved = tuple(k for r, n in zip(reps, shape, strict=True) for k in (1, n))
    spread = tuple(k for r, n in zip(reps, shape, strict=True) for k in (r, n))
    out = broadcast_to(reshape(x, interleaved), spread)
    return reshape(out, tuple(r * n for r, n in zip(reps, shape, strict=True)))


def atleast_1d(x):
    return reshape(x, (1,)) if not shape_of(x) else x


def atleast_2d(x):
    shape = shape_of(x)
    return reshape(x, (1,) * (2 - len(shape)) + shape) if len(shape) < 2 else x


def vstack(xs):
    """numpy.vstack: 1-D arrays as rows of a matrix, then concatenated by rows."""
    return concatenate([atleast_2d(asarray(x)) for x in xs], axis=0)


def hstack(xs):
    """numpy.hstack: concatenated along the first axis for 1-D arrays (scalars
    count as 1-D), along the second otherwise."""
    xs = [atleast_1d(asarray(x)) for x in xs]
    return concatenate(xs, axis=0 if len(shape_of(xs[0])) == 1 else 1)


def broadcast_to(x, shape):
    shape = tuple(shape)
    if shape == shape_of(x):
        return x
    return apply_arrays(broadcast_to_p, x, shape=shape)


def concatenate(xs, axis=0):
    xs = [asarray(x) for x in xs]
    return apply(concatenate_p, *xs, axis=axis)


def stack(xs, axis=0):
    xs = [asarray(x) for x in xs]
    return apply(stack_p, *xs, axis=axis)


def _contains_box(obj) -> bool:
    if isinstance(obj, BoxBase):
        return True
    if isinstance(obj, (list, tuple)):
        return builtins.any(_contains_box(o) for o in obj)
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        return builtins.any(_contains_box(o) for o in obj.flat)
    return False


def array(obj, dtype=None):
    """numpy.array that also packs lists of boxes into one boxed array."""
    if isinstance(obj, BoxBase):
        return obj
    if isinstance(obj, np.ndarray) and obj.dtype == object and _contains_box(obj):
        obj = obj.tolist()
    if isinstance(obj, (list, tuple)) and _contains_box(obj):
        return stack([array(o) for o in obj])
    return np.array(obj, dtype=dtype)


def asarray(obj):
    if isinstance(obj, (BoxBase, np.ndarray)):
        return obj
    return array(obj)


def zeros_like(x):
    return np.zeros(shape_of(x), dtype=np.result_type(primal(x), 0.0))


def ones_like(x):
    return np.ones(shape_of(x), dtype=np.result_type(primal(x), float))


def traced_trace(args):
    """The innermost trace among ``args`` (for code that must branch on it)."""
    return top_trace(args)

