"""How a transformation calls the function it differentiates: xp, argnums, pytrees.

A differentiated function is ``f(a0, a1, ..., xp)`` or ``f(a0, a1, ...)``.
:class:`Caller` decides once, from f's signature, how the namespace is passed:

* f has a parameter named ``xp``: it receives numpy_xp (by position when it
  is the positional parameter after the arguments, else by name);
* else, if f's positional parameter after the arguments has no default, it
  is the namespace whatever its name (the problems' ``f(x, xp)`` convention):
  ``f(*args, numpy_xp)``;
* else, if f takes ``*args`` (a wrapper), ``f(*args, numpy_xp)``, as problems
  are called;
* else ``f(*args)``; such a function computes with operators and
  :data:`adbench.interpret.xp.numpy_xp`'s functions imported by itself.

A function whose signature cannot be read (a builtin) gets ``f(*args, numpy_xp)``.

:class:`Arguments` takes one call's positional arguments and ``argnums`` (an
int, or a tuple of ints: then the derivative is a tuple) and presents what is
differentiated as one value ``x`` of the engine, with ``run(v)``, f at the
arguments with ``v`` in place of x, and the way back from derivatives of x to
the arguments' structure. One differentiated argument that is an array or a
number *is* x (no copy, no flattening: the engine's fast paths see the caller's
array); dicts, lists and tuples, and tuples of arguments, are flattened to one
vector (:mod:`adbench.ad.pytree`).

Errors: argnums that is not an int or a tuple of distinct ints, TypeError and
ValueError; one out of range for the call, TypeError naming it; a leaf that is
not a number or a numeric array, TypeError naming its path
(``params['W'][1]``, rooted at f's parameter name).
"""

from __future__ import annotations

import inspect
import types
from typing import Any, Callable

import numpy as np

from adbench.ad import pytree
from adbench.interpret.core import BoxBase
from adbench.interpret.xp import numpy_xp

__all__ = ["Caller", "Arguments", "strip_xp", "normalize_argnums"]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def strip_xp(args: tuple) -> tuple:
    """``args`` without a trailing namespace: a derived function ``g = grad(f)``
    is itself of the form ``g(x, xp)``, and a namespace (a module or a
    SimpleNamespace such as ``numpy_xp``) is never differentiated."""
    if args and isinstance(args[-1], (types.SimpleNamespace, types.ModuleType)):
        return args[:-1]
    return args


class Caller:
    """``caller(args)`` calls f at the positional ``args``, passing xp as f
    expects it (see the module docstring); the decision is cached per number
    of arguments."""

    __slots__ = ("f", "_ways", "_names")

    def __init__(self, f: Callable):
        self.f = f
        self._ways: dict = {}   # number of arguments -> "keyword", "positional" or "none"
        self._names: list | None = None

    def _parameters(self) -> list | None:
        try:
            return list(inspect.signature(self.f).parameters.values())
        except (TypeError, ValueError):  # no signature to read
            return None

    def _way(self, nargs: int) -> str:
        params = self._parameters()
        if params is None:
            return "positional"
        positional = [p for p in params if p.kind in _POSITIONAL]
        for p in params:
            if p.name == "xp" and p.kind is not inspect.Parameter.VAR_POSITIONAL:
                # by position where it is the next one (the faster call), else by name
                at_next = len(positional) > nargs and positional[nargs] is p
                return "positional" if at_next or p.kind is inspect.Parameter.POSITIONAL_ONLY \
                    else "keyword"
        if len(positional) > nargs and positional[nargs].default is inspect.Parameter.empty:
            return "positional"
        if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
            return "positional"  # f(*args), a wrapper: the problems' convention, f(x, xp)
        return "none"

    def __call__(self, args: tuple):
        way = self._ways.get(len(args))
        if way is None:
            way = self._ways[len(args)] = self._way(len(args))
        if way == "keyword":
            return self.f(*args, xp=numpy_xp)
        if way == "positional":
            return self.f(*args, numpy_xp)
        return self.f(*args)

    def name(self, i: int) -> str:
        """The name of f's positional parameter i, for error messages."""
        if self._names is None:
            params = self._parameters() or []
            self._names = [p.name for p in params if p.kind in _POSITIONAL]
        return self._names[i] if i < len(self._names) else f"args[{i}]"


def normalize_argnums(argnums, nargs: int, who: str) -> tuple:
    """``(indices, single)``: argnums as a tuple of non-negative indices, and
    whether it was one int (the derivative is then not a tuple)."""
    if type(argnums) is int and 0 <= argnums < nargs:  # the commonest case, first
        return (argnums,), True
    single = isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool)
    if single:
        indices = (int(argnums),)
    elif isinstance(argnums, (tuple, list)) and argnums and all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in argnums):
        indices = tuple(int(i) for i in argnums)
    else:
        raise TypeError(f"{who}: argnums must be an int or a non-empty tuple of ints, "
                        f"not {argnums!r}")
    out = []
    for i in indices:
        if not -nargs <= i < nargs:
            raise TypeError(f"{who}: argnums={argnums!r} asks for argument {i}, but the "
                            f"function was called with {nargs} positional argument"
                            f"{'' if nargs == 1 else 's'}")
        out.append(i % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: argnums={argnums!r} names an argument twice")
    return tuple(out), single


def as_input(x):
    """A leaf as the engine takes it: a float, a float (or complex) array, or a box."""
    if isinstance(x, BoxBase):
        return x
    if isinstance(x, np.ndarray):
        return x if x.dtype.kind in "fc" else x.astype(float)
    if isinstance(x, (int, float)):
        return float(x)
    return np.asarray(x, dtype=float)


class Arguments:
    """One call's differentiated arguments as one engine value ``x``.

    ``x`` is the argument itself (one array or number, ``treedef`` None) or
    the flat vector of the arguments' leaves. ``run(v)`` is f with v in
    place of x. :meth:`tree`, :meth:`jacobian` and :meth:`hessian` give
    derivatives with respect to x the arguments' structure; :meth:`tangent`
    flattens a tangent (or direction) of that structure.
    """

    __slots__ = ("caller", "args", "indices", "single", "x", "treedef")

    def __init__(self, caller: Caller, args: tuple, argnums, who: str):
        self.caller = caller
        self.args = args
        if (argnums == 0 and len(args) == 1 and type(args[0]) is np.ndarray
                and args[0].dtype.kind == "f"):  # the commonest call, decided first
            self.indices, self.single, self.x, self.treedef = (0,), True, args[0], None
            return
        self.indices, self.single = normalize_argnums(argnums, len(args), who)
        if self.single:
            i = self.indices[0]
            tree = args[i]
            if pytree.is_leaf(tree):
                pytree.check_leaf(tree, caller.name(i))
                self.x, self.treedef = as_input(tree), None
                return
            self.x, self.treedef = pytree.flatten(tree, caller.name(i))
            return
        for i in self.indices:  # each checked under its own name
            pytree.check_leaves(args[i], caller.name(i))
        self.x, self.treedef = pytree.flatten(tuple(args[i] for i in self.indices))

    def run(self, v):
        """f at the call's arguments, with v (of x's shape) in place of x."""
        if self.treedef is None and len(self.args) == 1:
            return self.caller((v,))
        args = list(self.args)
        if self.treedef is None:
            args[self.indices[0]] = v
        else:
            parts = pytree.unflatten(self.treedef, v)
            if self.single:
                args[self.indices[0]] = parts
            else:
                for i, part in zip(self.indices, parts, strict=True):
                    args[i] = part
        return self.caller(tuple(args))

    def vector_function(self) -> Callable:
        """``run`` in the engine's form ``g(v, xp=None)``, for composing transformations."""
        def at(v, xp=None):
            return self.run(v)
        at.__qualname__ = getattr(self.caller.f, "__qualname__", "f")
        return at

    def tree(self, g) -> Any:
        """A value of x's shape (a gradient, ``u^T J``, ``H v``) in the arguments' structure."""
        return g if self.treedef is None else pytree.unflatten(self.treedef, g)

    def jacobian(self, J, out_shape: tuple) -> Any:
        """A Jacobian of shape ``out_shape + x.shape``: per leaf, ``out_shape + leaf.shape``."""
        if self.treedef is None:
            return J
        return pytree.unflatten_trailing(self.treedef, J, tuple(out_shape))

    def hessian(self, H) -> Any:
        """A Hessian of shape ``x.shape + x.shape``: a tree of trees of blocks."""
        return H if self.treedef is None else pytree.unflatten_square(self.treedef, H)

    def tangent(self, v, what: str = "tangent"):
        """A direction of the differentiated arguments' structure as a value of x's shape."""
        if self.treedef is None:
            return as_input(v)
        tree = v
        if not self.single and isinstance(v, list):
            tree = tuple(v)
        z, treedef = pytree.flatten(tree, what)
        if not pytree.same_shapes(treedef, self.treedef):
            raise ValueError(f"the {what} has structure {pytree.describe(treedef)}, "
                             f"the differentiated arguments {pytree.describe(self.treedef)}")
        return z
