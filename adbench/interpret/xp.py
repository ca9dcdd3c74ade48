"""The ``xp`` namespaces a problem is run with, all built from the primitive table.

A problem is ordinary Python over ``xp``, a namespace that mirrors the numpy
functions it uses. The same function object runs under each of:

* :data:`numpy_xp`: float64 (and complex) numpy, and every boxed
  interpretation (forward and reverse AD, op counting, complex step), since
  boxes dispatch through :func:`adbench.interpret.core.apply`;
* :data:`mpmath_xp`: numpy object arrays of mpmath numbers, for the
  high-precision reference;
* :data:`sympy_xp`: numpy object arrays of SymPy expressions, for symbolic
  differentiation.
"""

from __future__ import annotations

import functools
import types

import mpmath
import numpy as np
import sympy

from adbench.interpret import primitives as P

__all__ = ["numpy_xp", "mpmath_xp", "sympy_xp", "XP_FUNCTIONS"]

# Name in the namespace -> primitive whose implementations it uses.
ELEMENTWISE = {
    "add": P.add_p, "subtract": P.sub_p, "multiply": P.mul_p, "divide": P.div_p,
    "negative": P.neg_p, "power": P.pow_p, "exp": P.exp_p, "log": P.log_p,
    "log1p": P.log1p_p, "expm1": P.expm1_p, "sin": P.sin_p, "cos": P.cos_p,
    "tan": P.tan_p, "tanh": P.tanh_p, "sqrt": P.sqrt_p, "sign": P.sign_p,
    "abs": P.abs_p, "absolute": P.abs_p, "maximum": P.maximum_p,
    "minimum": P.minimum_p, "where": P.where_p,
}

#: Every function a problem may call on ``xp``.
XP_FUNCTIONS = sorted(set(ELEMENTWISE) | {
    "square", "sum", "mean", "max", "amax", "logsumexp", "matmul", "dot", "outer",
    "reshape", "ravel", "transpose", "swapaxes", "broadcast_to", "concatenate", "stack",
    "array", "asarray", "zeros", "ones", "zeros_like", "ones_like", "eye",
    "arange", "full"} | set(
    # shape and indexing family (adbench.interpret.primitives.shape, .indexing)
    ["squeeze", "expand_dims", "tile", "repeat", "flip", "roll", "moveaxis", "vstack",
     "hstack", "split", "pad", "sort", "take", "argsort", "argmax", "argmin"]))

#: The shape and indexing family: the same names in every namespace; the object
#: namespaces (mpmath, SymPy) use numpy's functions, which work on object arrays.
SHAPE_FUNCTIONS = ("squeeze", "expand_dims", "tile", "repeat", "flip", "roll", "moveaxis",
                   "vstack", "hstack", "split", "pad", "sort", "take", "argsort", "argmax",
                   "argmin")


def _constructors(dtype):
    return {
        "zeros": functools.partial(np.zeros, dtype=dtype),
        "ones": functools.partial(np.ones, dtype=dtype),
        "eye": functools.partial(np.eye, dtype=dtype),
        "full": np.full,
        "arange": np.arange,
        "newaxis": None,
        "inf": np.inf,
    }


def _numpy_namespace():
    ns = {name: getattr(P, "absolute" if name == "abs" else name) for name in ELEMENTWISE}
    for name in ("square", "sum", "mean", "max", "amax", "logsumexp", "matmul", "dot", "outer",
                 "reshape", "ravel", "transpose", "swapaxes", "broadcast_to",
                 "concatenate", "stack", "array", "asarray", "zeros_like", "ones_like"):
        ns[name] = getattr(P, name)
    ns.update({name: getattr(P, name) for name in SHAPE_FUNCTIONS})
    ns.update(_constructors(float))
    ns.update(pi=np.pi, e=np.e, name="numpy")
    return types.SimpleNamespace(**ns)


def _object_namespace(name: str, attr: str, pi, e):
    """Namespace over numpy object arrays whose elements are mpmath or SymPy numbers."""
    ns = {}
    for fname, prim in ELEMENTWISE.items():
        ns[fname] = getattr(prim, attr) or prim.impl
    ns.update(
        square=lambda x: x * x,
        sum=np.sum, mean=np.mean, max=np.max, amax=np.max, matmul=np.matmul,
        dot=np.dot, outer=np.outer, reshape=np.reshape, ravel=np.ravel,
        transpose=np.transpose, swapaxes=np.swapaxes, broadcast_to=np.broadcast_to,
        concatenate=np.concatenate, stack=np.stack,
        array=functools.partial(np.array, dtype=object),
        asarray=functools.partial(np.asarray, dtype=object),
        zeros_like=lambda x: np.zeros(np.shape(x), dtype=object) * 0,
        ones_like=lambda x: np.ones(np.shape(x), dtype=object),
        logsumexp=getattr(P.logsumexp_p, attr),
    )
    ns.update({fname: getattr(np, fname) for fname in SHAPE_FUNCTIONS})
    ns.update(sort=functools.partial(np.sort, kind="stable"),
              argsort=functools.partial(np.argsort, kind="stable"))
    ns.update(_constructors(object))
    ns.update(pi=pi, e=e, name=name)
    return types.SimpleNamespace(**ns)


def _sympy_max(x, axis=None, keepdims=False):
    if axis is not None or keepdims:
        raise NotImplementedError("xp.max along an axis is not supported on SymPy expressions")
    # Nested two-argument maxima: SymPy differentiates them into Heaviside
    # factors that lambdify compiles, where an n-ary Max becomes nested
    # Piecewise selections that it cannot (numpy.select rejects them).
    return functools.reduce(lambda a, b: sympy.Max(a, b, evaluate=False), np.ravel(x))


numpy_xp = _numpy_namespace()
mpmath_xp = _object_namespace("mpmath", "mp", mpmath.pi, mpmath.e)
sympy_xp = _object_namespace("sympy", "sym", sympy.pi, sympy.E)
sympy_xp.max = sympy_xp.amax = _sympy_max
