"""The compositions of :mod:`adbench.interpret.compositions` that compute: differences
(diff, gradient), ranges (linspace) and the cross product. Part of that module's
:data:`~adbench.interpret.compositions.COMPOSITIONS`; each is ``fn(xp, ...)`` over any
namespace, as there.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from adbench.interpret.compositions import _along, _axis, _shape

__all__ = ["diff", "gradient", "linspace", "cross"]

_NO_VALUE = object()


def diff(xp, a, n=1, axis=-1, prepend=_NO_VALUE, append=_NO_VALUE):
    """numpy.diff: the n-th forward difference a[i + 1] - a[i] along ``axis``, after
    joining ``prepend`` and ``append`` (scalars broadcast to one slice)."""
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, not {n}")
    a = xp.asarray(a)
    shape = _shape(a)
    ndim = len(shape)
    if ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = _axis(axis, ndim, "diff")
    if n == 0:
        return a
    parts = []
    for extra in (prepend, a, append):
        if extra is _NO_VALUE:
            continue
        extra = xp.asarray(extra)
        if not _shape(extra):
            extra = xp.broadcast_to(extra, shape[:axis] + (1,) + shape[axis + 1:])
        parts.append(extra)
    if len(parts) > 1:
        a = xp.concatenate(parts, axis=axis)
    for _ in range(n):
        a = xp.subtract(a[_along(axis, ndim, slice(1, None))],
                        a[_along(axis, ndim, slice(None, -1))])
    return a


def _spacings(varargs, axes, shape):
    """numpy.gradient's spacing, one per axis: a scalar, or the steps of 1-D
    coordinates (a scalar again where they are uniform)."""
    if not varargs:
        return [1.0] * len(axes)
    if len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        return [varargs[0]] * len(axes)
    if len(varargs) != len(axes):
        raise TypeError(f"gradient: {len(varargs)} spacings given for {len(axes)} axes")
    out = []
    for dx, ax in zip(varargs, axes, strict=True):
        dx = np.asarray(dx, dtype=float) if isinstance(dx, (list, tuple)) else dx
        if np.ndim(dx) == 0:
            out.append(dx)
            continue
        if np.ndim(dx) != 1:
            raise ValueError("gradient: distances must be either scalars or 1d")
        if len(dx) != shape[ax]:
            raise ValueError("gradient: when 1d, distances must match the length of the "
                             "corresponding dimension")
        steps = dx[1:] - dx[:-1]
        out.append(steps[0] if bool(np.all(steps == steps[0])) else steps)
    return out


def _gradient_axis(xp, f, axis, ndim, dx, edge_order):
    """numpy.gradient along one axis: second-order central differences inside, one-
    sided differences of order ``edge_order`` at the two ends, written as numpy
    computes them (its coefficients, in its order of operations)."""
    def at(index):
        return f[_along(axis, ndim, index)]

    def coefficient(v):
        shape = [1] * ndim
        shape[axis] = -1
        return xp.reshape(v, tuple(shape))
    uniform = np.ndim(dx) == 0
    if uniform:
        inside = xp.divide(xp.subtract(at(slice(2, None)), at(slice(None, -2))), 2.0 * dx)
    else:
        dx1, dx2 = dx[:-1], dx[1:]
        a = -dx2 / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        inside = (coefficient(a) * at(slice(None, -2)) + coefficient(b) * at(slice(1, -1))
                  + coefficient(c) * at(slice(2, None)))
    if edge_order == 1:
        d0, dn = (dx, dx) if uniform else (dx[0], dx[-1])
        first = xp.divide(xp.subtract(at(slice(1, 2)), at(slice(0, 1))), d0)
        last = xp.divide(xp.subtract(at(slice(-1, None)), at(slice(-2, -1))), dn)
    else:
        if uniform:
            a, b, c = -1.5 / dx, 2.0 / dx, -0.5 / dx
        else:
            dx1, dx2 = dx[0], dx[1]
            a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
            b = (dx1 + dx2) / (dx1 * dx2)
            c = -dx1 / (dx2 * (dx1 + dx2))
        first = a * at(slice(0, 1)) + b * at(slice(1, 2)) + c * at(slice(2, 3))
        if uniform:
            a, b, c = 0.5 / dx, -2.0 / dx, 1.5 / dx
        else:
            dx1, dx2 = dx[-2], dx[-1]
            a = dx2 / (dx1 * (dx1 + dx2))
            b = -(dx2 + dx1) / (dx1 * dx2)
            c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
        last = a * at(slice(-3, -2)) + b * at(slice(-2, -1)) + c * at(slice(-1, None))
    return xp.concatenate([first, inside, last], axis=axis)


def gradient(xp, f, *varargs, axis=None, edge_order=1):
    """numpy.gradient: the derivative of samples f along each axis (``axis``: None
    for all, an int, or a tuple), by second-order central differences at the
    interior points and one-sided differences of order ``edge_order`` (1 or 2) at
    the ends. Spacing as numpy: none (1), one scalar for all axes, or one scalar or
    coordinate vector per axis. One array for one axis, else a tuple, as numpy 2.

    Linear in f: its derivative is the same difference operator. The spacings are
    data (their derivative is not taken)."""
    f = xp.asarray(f)
    shape = _shape(f)
    ndim = len(shape)
    if axis is None:
        axes = tuple(range(ndim))
    else:
        axes = tuple(_axis(a, ndim, "gradient")
                     for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis))
    if len(set(axes)) != len(axes):
        raise ValueError("gradient: repeated axis")
    if edge_order not in (1, 2):
        raise ValueError("gradient: edge_order greater than 2 is not supported"
                         if edge_order > 2 else "gradient: edge_order must be 1 or 2")
    spacings = _spacings(varargs, axes, shape)
    out = []
    for ax, dx in zip(axes, spacings, strict=True):
        if shape[ax] < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, "
                             "at least (edge_order + 1) elements are required.")
        out.append(_gradient_axis(xp, f, ax, ndim, dx, edge_order))
    return out[0] if len(out) == 1 else tuple(out)


def linspace(xp, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """numpy.linspace: ``num`` points from start to stop (stop itself if
    ``endpoint``), start + i (stop - start) / div, div = num - 1 (or num), the last
    point replaced by stop as numpy does; start and stop may be arrays (the points
    then run along ``axis``). Differentiable in start and stop; with ``retstep``,
    (points, step). Only float results: ``dtype`` must be None or a float type."""
    if dtype is not None and np.dtype(dtype).kind != "f":
        raise ValueError(f"linspace: dtype {np.dtype(dtype)} is not supported (xp values are "
                         "real floats)")
    num = operator.index(num)
    start, stop = xp.asarray(start), xp.asarray(stop)
    if num < 0:
        raise ValueError(f"linspace: number of samples, {num}, must be non-negative")
    div = (num - 1) if endpoint else num
    delta = xp.subtract(stop, start)
    shape = _shape(delta)
    i = np.reshape(np.arange(0, num, dtype=float), (-1,) + (1,) * len(shape))
    if div > 0:
        step = xp.divide(delta, div)
        y = xp.multiply(i, step)
    else:
        step = math.nan
        y = xp.multiply(i, delta)
    y = xp.add(y, start)
    if endpoint and num > 1:  # the last point is stop itself (a join, not a where:
        # the complex step then still sees an analytic function)
        last = xp.reshape(xp.broadcast_to(stop, shape), (1,) + shape)
        y = xp.concatenate([y[:-1], last], axis=0)
    if axis != 0 and shape:
        y = xp.moveaxis(y, 0, axis)
    return (y, step) if retstep else y


# --------------------------------------------------------------------------
# cross product
# --------------------------------------------------------------------------

def cross(xp, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """numpy.cross: the cross product of 3-vectors (or 2-vectors, whose third
    component is 0) along ``axisa`` of a and ``axisb`` of b, broadcast over the
    other axes; the result's vectors lie along ``axisc`` (``axis`` sets all three).
    Two 2-vectors give the scalar z component. Each component is
    a_i b_j - a_j b_i, products of entries (bilinear)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = xp.asarray(a), xp.asarray(b)
    a = xp.moveaxis(a, axisa, -1) if len(_shape(a)) > 1 else a
    b = xp.moveaxis(b, axisb, -1) if len(_shape(b)) > 1 else b
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: vectors of dimension {na} and {nb}; each must be 2 or 3")
    def part(v, i):  # an array still (a scalar SX of CasADi is not one)
        return xp.asarray(v[..., i])
    a0, a1 = part(a, 0), part(a, 1)
    b0, b1 = part(b, 0), part(b, 1)
    z = xp.subtract(xp.multiply(a0, b1), xp.multiply(a1, b0))
    if na == 2 and nb == 2:
        return z
    if na == 2:
        b2 = part(b, 2)
        x_, y_ = xp.multiply(a1, b2), xp.negative(xp.multiply(a0, b2))
    elif nb == 2:
        a2 = part(a, 2)
        x_, y_ = xp.negative(xp.multiply(a2, b1)), xp.multiply(a2, b0)
    else:
        a2, b2 = part(a, 2), part(b, 2)
        x_ = xp.subtract(xp.multiply(a1, b2), xp.multiply(a2, b1))
        y_ = xp.subtract(xp.multiply(a2, b0), xp.multiply(a0, b2))
    out = xp.stack(_broadcast_all(xp, (x_, y_, z)), axis=-1)
    ndim = len(_shape(out))
    return xp.moveaxis(out, -1, _axis(axisc, ndim, "cross")) if ndim > 1 else out


def _broadcast_all(xp, values):
    shape = np.broadcast_shapes(*(_shape(v) for v in values))
    return [xp.broadcast_to(v, shape) if _shape(v) != shape else v for v in values]
