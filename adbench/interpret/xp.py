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
    "arcsin": P.arcsin_p, "arccos": P.arccos_p, "arctan": P.arctan_p, "arctan2": P.arctan2_p,
    "sinh": P.sinh_p, "cosh": P.cosh_p, "arcsinh": P.arcsinh_p, "arccosh": P.arccosh_p,
    "arctanh": P.arctanh_p, "log2": P.log2_p, "log10": P.log10_p, "exp2": P.exp2_p,
    "logaddexp": P.logaddexp_p, "reciprocal": P.reciprocal_p, "hypot": P.hypot_p,
    "fmax": P.fmax_p, "fmin": P.fmin_p, "floor": P.floor_p, "ceil": P.ceil_p,
    "mod": P.mod_p, "remainder": P.mod_p, "erf": P.erf_p, "gammaln": P.gammaln_p,
    "polygamma": P.polygamma_p,
}

#: Functions made of the primitives (:func:`~adbench.interpret.primitives.round_with`...),
#: one definition written over each namespace's own functions.
COMPOSED = ("round", "around", "clip", "multigammaln")

#: Every function a problem may call on ``xp``.
XP_FUNCTIONS = sorted(set(ELEMENTWISE) | set(COMPOSED) | {
    "square", "sum", "mean", "max", "amax", "logsumexp", "matmul", "dot", "outer",
    "reshape", "ravel", "transpose", "swapaxes", "broadcast_to", "concatenate", "stack",
    "array", "asarray", "zeros", "ones", "zeros_like", "ones_like", "eye",
    "arange", "full"})


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
    ns.update({name: getattr(P, name) for name in COMPOSED})
    ns.update(_constructors(float))
    ns.update(pi=np.pi, e=np.e, name="numpy")
    return types.SimpleNamespace(**ns)


def _object_namespace(name: str, attr: str, pi, e, log_pi):
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
    prim_round = getattr(P.round_p, attr)
    ns.update(round=P.round_with(prim_round), around=P.round_with(prim_round),
              clip=P.clip_with(ns["maximum"], ns["minimum"]),
              multigammaln=P.multigammaln_with(ns["gammaln"], log_pi))
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
mpmath_xp = _object_namespace("mpmath", "mp", mpmath.pi, mpmath.e,
                              lambda: mpmath.log(mpmath.pi))
sympy_xp = _object_namespace("sympy", "sym", sympy.pi, sympy.E, lambda: sympy.log(sympy.pi))
sympy_xp.max = sympy_xp.amax = _sympy_max
