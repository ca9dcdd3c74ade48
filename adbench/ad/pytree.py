"""Pytrees: nested dicts, lists and tuples of arrays and numbers, as one vector.

The engine differentiates functions of one value (a float or an array). A
function of a *pytree* ``p`` (``{"W": W, "b": b}``, ``[w0, (w1, 2.0)]``...) is
differentiated as the function of the vector ``z = flatten(p)`` that rebuilds
``p`` from ``z`` and calls f: the leaves, in tree order (dict entries in their
insertion order), raveled and concatenated. The derivatives of that function
are then cut back into the tree's shape:

* a gradient ``g`` (shape ``(n,)``) becomes :func:`unflatten` ``(treedef, g)``,
  a tree of p's structure whose leaves have the leaves' shapes;
* a Jacobian of shape ``out_shape + (n,)`` becomes :func:`unflatten_trailing`,
  a tree of p's structure whose leaf for ``p[path]`` is the block of shape
  ``out_shape + p[path].shape`` (JAX's convention: the output's shape outside,
  the input's structure inside);
* a Hessian (n, n) becomes :func:`unflatten_square`, a tree of trees:
  ``H[path1][path2]`` has shape ``p[path1].shape + p[path2].shape``.

A leaf is a Python number (bool, int, float, complex), a numpy number, a
numpy array of numbers (cast to float, as the engine casts every input) or a
traced value (a box of an enclosing differentiation: flattening and
unflattening then go through the primitive table, so the enclosing trace sees
them). A Python number comes back as a Python number, an array as an array.
Anything else (a string, None, an object array) raises TypeError naming the
leaf's path, e.g. ``params['W'][1]``. A tuple's type is kept (a namedtuple
comes back as one); a dict's keys and their order are kept.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from adbench.interpret import primitives as P
from adbench.interpret.core import BoxBase

__all__ = ["Treedef", "flatten", "unflatten", "unflatten_trailing", "unflatten_square",
           "is_leaf", "check_leaf", "check_leaves", "same_shapes", "describe"]

_NUMBERS = (bool, int, float, complex, np.number, np.bool_)


def is_leaf(x) -> bool:
    """Whether x is a leaf for the tree functions (not a dict, list or tuple)."""
    return not isinstance(x, (dict, list, tuple))


class Treedef:
    """The structure of a pytree: its containers, and each leaf's shape and kind.

    ``kind`` is ``"dict"`` (``meta``: the keys), ``"list"``, ``"tuple"``
    (``meta``: the tuple type) or ``"leaf"`` (``meta``: ``(shape, number)``,
    ``number`` True for a Python or numpy number, which comes back as a
    Python number). Two trees of equal structure, leaf shapes and kinds have
    equal (and equally hashing) treedefs, whatever their values.
    """

    __slots__ = ("kind", "meta", "children", "size", "_key")

    def __init__(self, kind: str, meta, children: tuple):
        self.kind = kind
        self.meta = meta
        self.children = children
        self.size = (math.prod(meta[0]) if kind == "leaf"
                     else sum(c.size for c in children))  # entries in the flat vector
        self._key = (kind, meta, tuple(c._key for c in children))

    def __eq__(self, other) -> bool:
        return type(other) is Treedef and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"Treedef({self._key!r})"

    def leaves(self) -> list:
        """The leaf treedefs, in flattening order."""
        if self.kind == "leaf":
            return [self]
        return [leaf for c in self.children for leaf in c.leaves()]


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype}"
    return f"a {type(x).__name__}" if x is not None else "None"


def _structure(tree, path: str, leaves: list) -> Treedef:
    """The treedef of ``tree``; appends its leaves, checked, to ``leaves``."""
    if isinstance(tree, dict):
        keys = tuple(tree)
        return Treedef("dict", keys, tuple(_structure(tree[k], f"{path}[{k!r}]", leaves)
                                           for k in keys))
    if isinstance(tree, (list, tuple)):
        kind = "list" if isinstance(tree, list) else "tuple"
        return Treedef(kind, type(tree), tuple(_structure(c, f"{path}[{i}]", leaves)
                                               for i, c in enumerate(tree)))
    if isinstance(tree, BoxBase):
        leaves.append(tree)
        return Treedef("leaf", (P.shape_of(tree), False), ())
    if isinstance(tree, _NUMBERS):
        leaves.append(tree)
        return Treedef("leaf", ((), True), ())
    if isinstance(tree, np.ndarray) and tree.dtype.kind in "biufc":
        leaves.append(tree)
        return Treedef("leaf", (tree.shape, False), ())
    raise TypeError(f"{path} is {_describe(tree)}: a differentiated argument's leaves must "
                    "be numbers or arrays of numbers (in dicts, lists and tuples)")


def check_leaf(x, name: str = "x") -> None:
    """TypeError (naming ``name``) unless x is a number, a numeric array or a box."""
    t = type(x)
    if t is float or t is int or (t is np.ndarray and x.dtype.kind in "biufc"):
        return  # the commonest leaves, without building a treedef
    _structure(x, name, [])


def check_leaves(tree, name: str = "x") -> Treedef:
    """The treedef of ``tree``, or TypeError naming the first leaf that is not a
    number or a numeric array (``name`` is the root of the paths)."""
    return _structure(tree, name, [])


def _as_float(leaf):
    """A leaf as the engine takes inputs: floats (or complex), boxes as they are."""
    if isinstance(leaf, BoxBase):
        return leaf
    a = np.asarray(leaf)
    return a if a.dtype.kind in "fc" else a.astype(float)


def flatten(tree, name: str = "x") -> tuple:
    """``(z, treedef)``: the leaves raveled and concatenated into one vector z
    (float64, complex if a leaf is; boxed if a leaf is boxed), and the
    structure to rebuild the tree from z."""
    leaves: list = []
    treedef = _structure(tree, name, leaves)
    parts = [_as_float(leaf) for leaf in leaves]
    if not parts:
        return np.zeros(0), treedef
    if any(isinstance(p, BoxBase) for p in parts):
        return P.concatenate([P.reshape(p, (-1,)) for p in parts]), treedef
    return np.concatenate([p.reshape(-1) for p in parts]), treedef


def _build(treedef: Treedef, leaves) -> Any:
    """The tree of ``treedef``'s structure with the given leaves (an iterator)."""
    kind = treedef.kind
    if kind == "leaf":
        return next(leaves)
    children = [_build(c, leaves) for c in treedef.children]
    if kind == "dict":
        return dict(zip(treedef.meta, children, strict=True))
    if kind == "list":
        return children
    cls = treedef.meta
    return cls(*children) if hasattr(cls, "_fields") else cls(children)  # namedtuple


def _number(v):
    """A 0-d value as a Python number (a box stays a box)."""
    if isinstance(v, BoxBase):
        return v
    return np.asarray(v).item()


def unflatten(treedef: Treedef, z) -> Any:
    """The tree of ``treedef``'s structure whose leaves are the pieces of the
    vector z (shape ``(treedef.size,)``), each reshaped to its leaf's shape."""
    return unflatten_trailing(treedef, z, ())


def unflatten_trailing(treedef: Treedef, J, out_shape: tuple) -> Any:
    """J, of shape ``out_shape + (n,)``, cut along its last axis: the tree of
    ``treedef``'s structure whose leaf of shape s is the block of shape
    ``out_shape + s``. A Python-number leaf with ``out_shape == ()`` gives a
    Python number."""
    m = math.prod(out_shape)
    flat = P.reshape(J, (m, treedef.size)) if out_shape else J
    pieces, start = [], 0
    for leaf in treedef.leaves():
        shape, number = leaf.meta
        stop = start + leaf.size
        if out_shape:
            block = flat[:, start] if shape == () else flat[:, start:stop]
            pieces.append(P.reshape(block, out_shape + shape))
        elif number:
            pieces.append(_number(flat[start]))
        else:
            pieces.append(P.reshape(flat[start:stop], shape))
        start = stop
    return _build(treedef, iter(pieces))


def unflatten_square(treedef: Treedef, H) -> Any:
    """H, of shape (n, n) (a Hessian), as a tree of trees: entry ``[path1][path2]``
    is the block of shape ``leaf1.shape + leaf2.shape``."""
    rows, start = [], 0
    for leaf in treedef.leaves():
        shape = leaf.meta[0]
        stop = start + leaf.size
        block = H[start] if shape == () else P.reshape(H[start:stop], shape + (treedef.size,))
        rows.append(unflatten_trailing(treedef, block, shape))
        start = stop
    return _build(treedef, iter(rows))


def _shapes(treedef: Treedef):
    """The structure with the leaves' shapes only (a number and a 0-d array alike)."""
    if treedef.kind == "leaf":
        return treedef.meta[0]
    meta = treedef.meta if treedef.kind == "dict" else None
    return (treedef.kind, meta, tuple(_shapes(c) for c in treedef.children))


def same_shapes(a: Treedef, b: Treedef) -> bool:
    """Whether two trees have the same containers and leaf shapes (a tangent of a point)."""
    return _shapes(a) == _shapes(b)


def describe(treedef: Treedef) -> str:
    """A short text of a structure, for error messages: ``{'W': (2, 3), 'b': (3,)}``."""
    if treedef.kind == "leaf":
        return repr(treedef.meta[0])
    inner = [describe(c) for c in treedef.children]
    if treedef.kind == "dict":
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(treedef.meta, inner)) + "}"
    if treedef.kind == "list":
        return "[" + ", ".join(inner) + "]"
    return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
