"""Rearrangements by index: take, flip, roll, repeat, pad, sort, and the integer
results argsort, argmax, argmin.

Each is a composition of linear primitives of :mod:`.shape` (``getitem``,
``untake``, ``reshape``, ``transpose``): it selects or scatters entries of its
argument at integer positions computed from shapes (and, for sort, from the
values, which carry no derivative). Its derivative is therefore the same
selection: a 0/1 matrix, applied by the primitives' own rules in every mode,
again differentiable for Hessians, and counted as no arithmetic (a gather does
no floating-point operation). The mpmath and SymPy namespaces use numpy's own
functions on object arrays.
"""

from __future__ import annotations

import numpy as np

from adbench.interpret.core import primal
from adbench.interpret.primitives.elementwise import add, multiply
from adbench.interpret.primitives.rules import shape_of, size_of
from adbench.interpret.primitives.shape import getitem, moveaxis, ravel, reshape, untake


def _axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def take(x, indices, axis=None):
    """numpy.take: the entries of x at ``indices`` along ``axis`` (None: of x
    flattened). Negative indices count from the end; repeated indices are
    allowed (their cotangents add up). d out / d x selects the same entries."""
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(axis, len(shape_of(x)))
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise IndexError(f"take: indices must be integers, got {idx.dtype}")
    pick = int(idx) if idx.ndim == 0 else idx
    return getitem(x, idx=(slice(None),) * axis + (pick,))


def flip(x, axis=None):
    """numpy.flip: x with the order of the entries reversed along ``axis``
    (None: along every axis; an int or a tuple of ints)."""
    ndim = len(shape_of(x))
    axes = range(ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    idx = [slice(None)] * ndim
    for a in axes:
        idx[_axis(a, ndim)] = slice(None, None, -1)
    return getitem(x, idx=tuple(idx))


def roll(x, shift, axis=None):
    """numpy.roll: out[(i + shift) mod n] = x[i] along ``axis`` (None: of x
    flattened, then reshaped back); ``shift`` and ``axis`` may be tuples."""
    if axis is None:
        shape = shape_of(x)
        return reshape(roll(ravel(x), shift, 0), shape)
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    shape = shape_of(x)
    for s, a in zip(shifts.ravel(), axes.ravel(), strict=True):
        n = shape[_axis(int(a), len(shape))]
        if n:
            x = take(x, (np.arange(n) - int(s)) % n, axis=int(a))
    return x


def repeat(x, repeats, axis=None):
    """numpy.repeat: each entry along ``axis`` (None: of x flattened) repeated
    ``repeats`` times (an int, or one count per entry). The cotangent of an
    entry is the sum of the cotangents of its copies."""
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(axis, len(shape_of(x)))
    n = shape_of(x)[axis]
    return take(x, np.repeat(np.arange(n), repeats), axis=axis)


#: numpy.pad modes that only select entries of x (by numpy.pad of an index vector).
SELECTING_PAD_MODES = ("edge", "reflect", "symmetric", "wrap")


def pad(x, pad_width, mode="constant", constant_values=0):
    """numpy.pad for the modes ``constant`` (any ``constant_values`` numpy
    accepts) and :data:`SELECTING_PAD_MODES`; other modes (``linear_ramp``,
    ``mean``, ``median``, ``maximum``, ``minimum``, ``empty``) raise ValueError.

    Constant: out = untake(x) + c, x scattered into zeros of the padded shape
    plus the padding constants (no derivative). Other modes: on each axis, a
    ``take`` of the indices that numpy.pad would read (numpy.pad applied to
    ``arange(n)``), so the cotangent of an edge entry collects its copies.
    """
    shape = shape_of(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (len(shape), 2))
    if (widths < 0).any():
        raise ValueError(f"pad: negative pad_width {pad_width!r}")
    if mode == "constant":
        out_shape = tuple(int(n + a + b) for n, (a, b) in zip(shape, widths, strict=True))
        idx = tuple(slice(int(a), int(a) + n) for n, (a, _) in zip(shape, widths, strict=True))
        out = untake(x, idx=idx, shape=out_shape) if idx else x
        fill = np.pad(np.zeros(shape), widths, constant_values=constant_values)
        return add(out, fill) if fill.any() else out
    if mode not in SELECTING_PAD_MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported; supported: constant, "
                         + ", ".join(SELECTING_PAD_MODES))
    for axis, (n, (a, b)) in enumerate(zip(shape, widths, strict=True)):
        if a or b:
            x = take(x, np.pad(np.arange(n), (int(a), int(b)), mode=mode), axis=axis)
    return x


def _rows(x, axis):
    """x's plain values with ``axis`` moved last, as (rows, n); and that moved shape."""
    v = np.moveaxis(np.asarray(primal(x)), axis, -1)
    return np.reshape(np.real(v), (-1, v.shape[-1]) if v.shape[-1] else (0, 0)), v.shape


def argsort(x, axis=-1):
    """numpy.argsort (stable): integer positions, no derivative."""
    return np.argsort(np.real(primal(x)), axis=axis, kind="stable")


def argmax(x, axis=None):
    """numpy.argmax: integer positions, no derivative."""
    return np.argmax(np.real(primal(x)), axis=axis)


def argmin(x, axis=None):
    """numpy.argmin: integer positions, no derivative."""
    return np.argmin(np.real(primal(x)), axis=axis)


def sort(x, axis=-1):
    """numpy.sort along ``axis`` (None: of x flattened).

    Away from ties, sort is the permutation ``argsort(x)``: out = x[order], and
    its derivative is the same gather. At a tie (equal entries, where sort is
    not differentiable) the convention of the table's max and min is used: the
    tied entries share the derivative evenly, every output of a group of k
    equal values gets 1/k of the tangent of each member. This is the average of
    the derivatives of all the orders of the group (the one-sided derivatives
    of the directions that break the tie either way), and it is symmetric in
    the tied inputs.
    """
    if axis is None:
        x, axis = ravel(x), 0
    shape = shape_of(x)
    if not shape:
        raise np.exceptions.AxisError(axis, 0)
    axis = _axis(axis, len(shape))
    v, moved_shape = _rows(x, axis)
    rows, n = v.shape
    if not size_of(x):
        return x
    order = np.argsort(v, axis=1, kind="stable")
    flat = (order + n * np.arange(rows)[:, None]).ravel()
    moved = moveaxis(x, axis, -1) if axis != len(shape) - 1 else x
    out = getitem(ravel(moved), idx=flat)
    ordered = np.take_along_axis(v, order, axis=1)
    tie = ordered[:, 1:] == ordered[:, :-1]
    if tie.any():
        starts = np.concatenate([np.ones((rows, 1), bool), ~tie], axis=1).ravel()
        group = np.cumsum(starts) - 1  # the group of equal values of each sorted entry
        counts = np.bincount(group)
        sums = untake(out, idx=group, shape=(len(counts),))
        out = multiply(getitem(sums, idx=group), 1.0 / counts[group])
    out = reshape(out, moved_shape)
    return moveaxis(out, -1, axis) if axis != len(shape) - 1 else out


def _check_sections(n: int, sections: int) -> None:
    if sections <= 0 or n % sections:
        raise ValueError(f"split: an axis of length {n} does not split into {sections} "
                         "equal sections")


def split(x, indices_or_sections, axis=0):
    """numpy.split: a list of consecutive pieces of x along ``axis``, at the
    given cut positions or into that many equal sections. Each piece is a
    slice (a getitem), differentiated on its own."""
    shape = shape_of(x)
    axis = _axis(axis, len(shape))
    n = shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        _check_sections(n, k)
        cuts = [n // k * i for i in range(1, k)]
    else:
        cuts = [int(c) for c in indices_or_sections]
    bounds = [0, *cuts, n]
    lead = (slice(None),) * axis
    return [getitem(x, idx=lead + (slice(a, max(a, b)),))
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
