"""numpy functions made of other ``xp`` functions, each written once over any namespace.

A composition is ``fn(xp, *args, **kwargs)``: it calls only the functions of the
namespace ``xp`` it is given (and Python's indexing and operators on its values).
:func:`bind` attaches every composition of :data:`COMPOSITIONS` to a namespace, so
that the one definition runs

* on ``numpy_xp``, where each call it makes is a primitive of the table: float64,
  forward, reverse and compiled AD, op counting and the complex step then see the
  primitives it is made of, and its derivative is theirs;
* on ``mpmath_xp`` (the 80-digit reference) and ``sympy_xp``, with their functions;
* on a peer's namespace (:mod:`adbench.interpret.peers`, entry ``COMPOSED``), with
  that library's functions, where the library has no function of that name and
  numpy's signature.

The elementwise ones, the rearrangements, the joins and splits and the index objects
``r_`` and ``c_`` are here; diff, gradient, linspace and cross in
:mod:`adbench.interpret.compositions2`.

Integer arguments (axes, counts, ``kth``, ``edge_order``) and the spacing of
:func:`gradient` are data, not differentiated. Conditions (``select``'s
``condlist``; :func:`sinc`'s test for entries near 0; :func:`nan_to_num`'s test
for nan and infinities) are read from plain values: their derivative is zero
where it exists. A comparison of a traced value is a branch to the complex-step
method, which therefore reports sinc and nan_to_num as unsupported, with that
reason.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

__all__ = ["COMPOSITIONS", "INDEX_OBJECTS", "bind", "Concatenator"]


def _shape(x) -> tuple:
    """The shape of an array of any namespace (a Python scalar or a list: numpy's)."""
    if hasattr(x, "ndim"):
        return tuple(x.shape)
    return np.shape(np.asarray(x, dtype=object)) if isinstance(x, (list, tuple)) else ()


def _axis(axis, ndim: int, who: str) -> int:
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{who}: axis {axis} is out of bounds for an array "
                                      f"of dimension {ndim}")
    return axis % ndim


def _along(axis: int, ndim: int, index) -> tuple:
    """An index selecting ``index`` (a slice or an int) along ``axis``."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


# --------------------------------------------------------------------------
# elementwise
# --------------------------------------------------------------------------

def degrees(xp, x):
    """numpy.degrees (= rad2deg): x 180 / pi, one multiplication per entry."""
    return xp.multiply(x, 180 / xp.pi)


def radians(xp, x):
    """numpy.radians (= deg2rad): x pi / 180, one multiplication per entry."""
    return xp.multiply(x, xp.pi / 180)


def logaddexp2(xp, x, y):
    """numpy.logaddexp2: log2(2^x + 2^y) = logaddexp(x ln 2, y ln 2) / ln 2, without
    overflow; d/dx = 2^(x - out), d/dy = 2^(y - out)."""
    ln2 = xp.log(2)
    return xp.divide(xp.logaddexp(xp.multiply(x, ln2), xp.multiply(y, ln2)), ln2)


def _number_mask(test: Callable):
    """``test()`` (a comparison of the values) as a numpy bool array; None for
    symbols (SymPy, SymEngine, CasADi), whose comparison has no truth value."""
    try:
        mask = np.asarray(test())
    except (TypeError, RuntimeError):  # SymPy's Relational, CasADi's SX refuse bool()
        return None
    return mask if mask.dtype == bool else None  # a SymPy And(...) is an object


#: |pi x| below which sinc is its Maclaurin polynomial: there its truncation error
#: (t^10/11!) and the rounding error of the quotient's derivatives (about eps/t^3 for
#: the second) are both below 1e-13 relative.
SINC_SERIES = 0.1


def sinc(xp, x):
    """numpy.sinc: sin(pi x) / (pi x), and 1 at x = 0 (a removable singularity).

    Near 0 the quotient's derivatives cancel (sin t / t^2 against cos t / t) and
    at 0 they are 0/0. There, for |t| < :data:`SINC_SERIES` (t = pi x), sinc is
    its Maclaurin polynomial 1 - t^2/3! + t^4/5! - t^6/7! + t^8/9!, written with
    integer divisors (exact on mpmath and SymPy numbers): at 0 its value and its
    derivatives of orders 1 to 9 are sinc's (1, 0, -pi^2/3, 0, pi^4/5, ...), so
    the derivative at 0 is exactly 0. The quotient is taken at t = 1 for those
    entries, so that no 0/0 reaches the derivative through the branch ``where``
    does not take. Elsewhere the value is numpy's, to the bit, and costs what
    numpy's does: a multiplication, a sine and a division per entry (the
    polynomial's 12 operations per entry are added only when some entry is in
    its range). On symbols (no number to compare) sinc is the quotient, which
    SymPy differentiates exactly away from 0.
    """
    t = xp.multiply(x, xp.pi)
    small = _number_mask(lambda: (t < SINC_SERIES) & (t > -SINC_SERIES))  # no arithmetic
    if small is None or not small.any():
        return xp.divide(xp.sin(t), t)
    safe = xp.where(small, 1.0, t)
    t2 = xp.multiply(t, t)
    series = 1.0
    for k in (72, 42, 20, 6):  # Horner's rule: 1 - t^2/6 (1 - t^2/20 (1 - t^2/42 (...)))
        series = xp.subtract(1.0, xp.multiply(xp.divide(t2, k), series))
    return xp.where(small, series, xp.divide(xp.sin(safe), safe))


def nan_to_num(xp, x, copy=True, nan=0.0, posinf=None, neginf=None):
    """numpy.nan_to_num: nan replaced by ``nan``, +inf by ``posinf`` (default the
    largest float64), -inf by ``neginf`` (default its negative). The derivative is
    1 where x is finite and 0 where an entry is replaced (a constant). ``copy`` is
    accepted for numpy's signature; the result is always a new value. Symbols
    are never nan or infinite: they are returned as they are."""
    big = float(np.finfo(np.float64).max)
    replace = ((lambda: x != x, nan), (lambda: x == math.inf, big if posinf is None else posinf),
               (lambda: x == -math.inf, -big if neginf is None else neginf))
    out = x
    for test, value in replace:
        where = _number_mask(test)
        if where is not None and where.any():
            out = xp.where(where, value, out)
    return out


def select(xp, condlist, choicelist, default=0):
    """numpy.select: where the first true condition of ``condlist`` holds, the
    matching entry of ``choicelist``, else ``default`` (all broadcast together).
    Made of ``where``, from the last condition back to the first, so that the
    first true one wins; the derivative flows to the chosen entry only."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: {len(condlist)} conditions but {len(choicelist)} choices")
    if not condlist:
        raise ValueError("select: condlist and choicelist must not be empty")
    out = default
    for cond, choice in zip(reversed(condlist), reversed(choicelist), strict=True):
        out = xp.where(cond, choice, out)
    return out


# --------------------------------------------------------------------------
# rearrangements: flips, rotations, axes
# --------------------------------------------------------------------------

def fliplr(xp, m):
    """numpy.fliplr: the order of the columns (axis 1) reversed."""
    if len(_shape(m)) < 2:
        raise ValueError("fliplr: the array must have at least 2 dimensions")
    return xp.flip(m, 1)


def flipud(xp, m):
    """numpy.flipud: the order of the rows (axis 0) reversed."""
    if len(_shape(m)) < 1:
        raise ValueError("flipud: the array must have at least 1 dimension")
    return xp.flip(m, 0)


def rot90(xp, m, k=1, axes=(0, 1)):
    """numpy.rot90: m rotated by 90 degrees k times in the plane of ``axes``, from
    the first axis towards the second: flips and a transpose (no arithmetic)."""
    ndim = len(_shape(m))
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("rot90: axes must have length 2")
    if ndim < 2:
        raise ValueError("rot90: the array must have at least 2 dimensions")
    a0, a1 = (_axis(a, ndim, "rot90") for a in axes)
    if a0 == a1:
        raise ValueError("rot90: the two axes must differ")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return xp.flip(xp.flip(m, a0), a1)
    order = list(range(ndim))
    order[a0], order[a1] = order[a1], order[a0]
    if k == 1:
        return xp.transpose(xp.flip(m, a1), order)
    return xp.flip(xp.transpose(m, order), a1)


def rollaxis(xp, a, axis, start=0):
    """numpy.rollaxis: ``axis`` moved to lie before position ``start`` (a moveaxis)."""
    ndim = len(_shape(a))
    axis = _axis(axis, ndim, "rollaxis")
    if start < 0:
        start += ndim
    if not 0 <= start < ndim + 1:
        raise np.exceptions.AxisError(f"rollaxis: start {start} is out of bounds for an "
                                      f"array of dimension {ndim}")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    return xp.moveaxis(a, axis, start)


def partition(xp, a, kth, axis=-1):
    """numpy.partition: the k-th entry in its sorted place, the smaller ones before
    it and the larger after. numpy leaves the order within each side undefined;
    here both sides are sorted (the result is ``sort(a, axis)``, a valid
    partition for every ``kth``), so its derivative is sort's: the permutation,
    with sort's convention at a tie (tied entries share the derivative evenly)."""
    shape = _shape(a)
    n = int(np.prod(shape)) if axis is None else shape[_axis(axis, len(shape), "partition")]
    for k in np.ravel(kth):
        if not -n <= int(k) < n:
            raise ValueError(f"partition: kth {int(k)} is out of bounds for length {n}")
    return xp.sort(a, axis=axis)


# --------------------------------------------------------------------------
# joining and splitting
# --------------------------------------------------------------------------

def _atleast(xp, ndmin: int, arys):
    out = []
    for a in arys:
        a = xp.asarray(a)
        shape = _shape(a)
        if len(shape) < ndmin:
            if ndmin == 3:  # numpy.atleast_3d: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)
                shape = {0: (1, 1, 1), 1: (1, *shape, 1), 2: (*shape, 1)}[len(shape)]
            else:
                shape = (1,) * (ndmin - len(shape)) + shape
            a = xp.reshape(a, shape)
        out.append(a)
    return out[0] if len(out) == 1 else out


def atleast_1d(xp, *arys):
    """numpy.atleast_1d: each argument with at least one axis (one array for one
    argument, else a list)."""
    return _atleast(xp, 1, arys)


def atleast_2d(xp, *arys):
    """numpy.atleast_2d: scalars as (1, 1), vectors (n,) as rows (1, n)."""
    return _atleast(xp, 2, arys)


def atleast_3d(xp, *arys):
    """numpy.atleast_3d: scalars as (1, 1, 1), (n,) as (1, n, 1), (m, n) as (m, n, 1)."""
    return _atleast(xp, 3, arys)


def row_stack(xp, tup):
    """numpy.row_stack: vstack."""
    return xp.vstack(tup)


def column_stack(xp, tup):
    """numpy.column_stack: 1-D arrays (and scalars) as columns (n, 1), the others as
    they are, concatenated along axis 1."""
    cols = []
    for a in tup:
        a = xp.asarray(a)
        cols.append(xp.reshape(a, (-1, 1)) if len(_shape(a)) < 2 else a)
    return xp.concatenate(cols, axis=1)


def append(xp, arr, values, axis=None):
    """numpy.append: ``values`` after ``arr`` along ``axis`` (None: both flattened)."""
    arr, values = xp.asarray(arr), xp.asarray(values)
    if axis is None:
        arr, values, axis = xp.ravel(arr), xp.ravel(values), 0
    return xp.concatenate([arr, values], axis=axis)


def array_split(xp, ary, indices_or_sections, axis=0):
    """numpy.array_split: as split, but an axis of length n splits into k sections
    of unequal sizes too (the first n mod k of them one longer)."""
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError("array_split: the number of sections must be larger than 0")
        n = _shape(ary)[_axis(axis, len(_shape(ary)), "array_split")]
        each, extras = divmod(n, k)
        sizes = [each + 1] * extras + [each] * (k - extras)
        indices_or_sections = list(np.cumsum(sizes)[:-1])
    return xp.split(ary, indices_or_sections, axis=axis)


def _split_at_least(xp, ary, indices_or_sections, ndim: int, axis: int, who: str):
    if len(_shape(ary)) < ndim:
        raise ValueError(f"{who}: the array must have at least {ndim} dimension"
                         + ("s" if ndim > 1 else ""))
    return xp.split(ary, indices_or_sections, axis=axis)


def hsplit(xp, ary, indices_or_sections):
    """numpy.hsplit: split along axis 1 (axis 0 for a vector)."""
    axis = 1 if len(_shape(ary)) > 1 else 0
    return _split_at_least(xp, ary, indices_or_sections, 1, axis, "hsplit")


def vsplit(xp, ary, indices_or_sections):
    """numpy.vsplit: split along axis 0 of an array of 2 or more dimensions."""
    return _split_at_least(xp, ary, indices_or_sections, 2, 0, "vsplit")


def dsplit(xp, ary, indices_or_sections):
    """numpy.dsplit: split along axis 2 of an array of 3 or more dimensions."""
    return _split_at_least(xp, ary, indices_or_sections, 3, 2, "dsplit")


class Concatenator:
    """``xp.r_`` and ``xp.c_``: numpy's index objects that join their items.

    ``r_[a, b, ...]`` joins along axis 0, a scalar counting as a vector of one
    entry; a slice ``start:stop:step`` is the constant ``arange`` (a complex step
    ``n*1j``: ``linspace`` of n points). ``c_[...]`` makes each item at least 2-D
    (a vector (n,) a column (n, 1), a scalar (1, 1)) and joins along the last axis.
    The string directives of numpy (``r_['0,2', ...]``, ``'r'``, ``'c'``) are
    refused.
    """

    def __init__(self, xp, name: str, axis: int, ndmin: int, trans1d: int):
        self.xp, self.name = xp, name
        self.axis, self.ndmin, self.trans1d = axis, ndmin, trans1d

    def __repr__(self) -> str:
        return f"xp.{self.name}"

    def _item(self, item):
        xp = self.xp
        if isinstance(item, str):
            raise ValueError(f"xp.{self.name}: string directives such as {item!r} are not "
                             "supported; use xp.concatenate or xp.stack")
        if isinstance(item, slice):
            start = 0 if item.start is None else item.start
            step = 1 if item.step is None else item.step
            if isinstance(step, complex):
                item = np.linspace(start, item.stop, int(abs(step)))
            else:
                item = np.arange(start, item.stop, step)
        a = xp.asarray(item)
        shape = _shape(a)
        if len(shape) >= self.ndmin:
            return a
        a = xp.reshape(a, (1,) * (self.ndmin - len(shape)) + shape)
        if self.trans1d != -1 and shape:  # numpy's trans1d: the item's own axes move
            k2, k1 = self.ndmin - len(shape), self.trans1d
            k1 = k1 + k2 + 1 if k1 < 0 else k1
            order = list(range(self.ndmin))
            a = xp.transpose(a, order[:k1] + order[k2:] + order[k1:k2])
        return a

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        if not items:
            raise ValueError(f"xp.{self.name}[]: nothing to join")
        return self.xp.concatenate([self._item(item) for item in items], axis=self.axis)


#: The index objects: name -> (axis, ndmin, trans1d) of numpy's AxisConcatenator.
INDEX_OBJECTS = {"r_": (0, 1, -1), "c_": (-1, 2, 0)}


# --------------------------------------------------------------------------
# the registry and the binding
# --------------------------------------------------------------------------

# diff, gradient, linspace and cross, in a module of their own; they read the helpers
# above, so they are imported here, once those exist.
from adbench.interpret.compositions2 import cross, diff, gradient, linspace  # noqa: E402

#: xp name -> composition ``fn(xp, ...)``.
COMPOSITIONS: dict[str, Callable] = {
    "degrees": degrees, "rad2deg": degrees, "radians": radians, "deg2rad": radians,
    "logaddexp2": logaddexp2, "sinc": sinc, "nan_to_num": nan_to_num, "select": select,
    "fliplr": fliplr, "flipud": flipud, "rot90": rot90, "rollaxis": rollaxis,
    "partition": partition, "atleast_1d": atleast_1d, "atleast_2d": atleast_2d,
    "atleast_3d": atleast_3d, "row_stack": row_stack, "column_stack": column_stack,
    "append": append, "array_split": array_split, "hsplit": hsplit, "vsplit": vsplit,
    "dsplit": dsplit, "diff": diff, "gradient": gradient, "linspace": linspace,
    "cross": cross,
}


def _bound(name: str, fn: Callable, xp) -> Callable:
    @functools.wraps(fn)
    def composed(*args, **kwargs):
        return fn(xp, *args, **kwargs)
    composed.__name__ = name
    composed.__qualname__ = f"{getattr(xp, 'name', 'xp')}.{name}"
    return composed


def bind(xp, names=None) -> None:
    """Set the compositions ``names`` (default: all, and the index objects) as
    attributes of the namespace ``xp``, each calling the functions of ``xp``."""
    names = list(COMPOSITIONS) + list(INDEX_OBJECTS) if names is None else names
    for name in names:
        if name in INDEX_OBJECTS:
            setattr(xp, name, Concatenator(xp, name, *INDEX_OBJECTS[name]))
        else:
            setattr(xp, name, _bound(name, COMPOSITIONS[name], xp))
