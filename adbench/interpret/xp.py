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

from adbench.interpret import compositions as C
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
    "polygamma": P.polygamma_p, "fabs": P.abs_p, "true_divide": P.div_p,
}
#: Names of ELEMENTWISE whose float64 function is called otherwise in the table.
_FUNCTION_OF = {"abs": "absolute", "fabs": "absolute", "true_divide": "divide"}

#: Functions made of the primitives (:func:`~adbench.interpret.primitives.round_with`...),
#: one definition written over each namespace's own functions.
COMPOSED = ("round", "around", "clip", "multigammaln")

#: Every function a problem may call on ``xp``.
XP_FUNCTIONS = sorted(set(ELEMENTWISE) | set(COMPOSED) | {
    "square", "sum", "mean", "max", "amax", "logsumexp", "matmul", "dot", "outer",
    "reshape", "ravel", "transpose", "swapaxes", "broadcast_to", "concatenate", "stack",
    "array", "asarray", "zeros", "ones", "zeros_like", "ones_like", "eye",
    "arange", "full"} | {
    # reductions and linear algebra (reductions.py, linalg.py, linalg2.py)
    "min", "amin", "prod", "var", "std", "cumsum", "cumprod",
    "einsum", "tensordot", "inner", "kron", "trace", "diag", "diagonal", "tril", "triu",
    "linalg.solve", "linalg.inv", "linalg.det", "linalg.slogdet", "linalg.cholesky",
    "linalg.norm"} | set(
    # shape and indexing family (adbench.interpret.primitives.shape, .indexing)
    ["squeeze", "expand_dims", "tile", "repeat", "flip", "roll", "moveaxis", "vstack",
     "hstack", "split", "pad", "sort", "take", "argsort", "argmax", "argmin"]) | set(
    # compositions written once over any namespace (adbench.interpret.compositions)
    C.COMPOSITIONS) | set(C.INDEX_OBJECTS))

# --- reductions and linear algebra: the same functions in every namespace ---------------
#: Functions of the table that run unchanged on numpy object arrays too (their
#: implementations are numpy's, which accept mpmath and SymPy numbers).
REDUCTION_LINALG = ("min", "amin", "prod", "var", "cumsum", "cumprod", "einsum",
                    "tensordot", "inner", "kron", "trace", "diag", "diagonal", "tril", "triu")
#: xp.linalg name -> primitive whose mp and sym implementations the object namespaces use.
LINALG_PRIMITIVES = {"solve": P.solve_p, "inv": P.inv_p, "det": P.det_p,
                     "cholesky": P.cholesky_p}


def _numpy_linalg(ns: dict) -> None:
    for name in REDUCTION_LINALG + ("std",):
        ns[name] = getattr(P, name)
    ns["linalg"] = types.SimpleNamespace(solve=P.solve, inv=P.inv, det=P.det,
                                         slogdet=P.slogdet, cholesky=P.cholesky, norm=P.norm)


def _object_linalg(ns: dict, attr: str) -> None:
    """The block on object arrays: numpy's own reductions and products (exact in
    mpmath's and SymPy's arithmetic), and the matrix functions through
    mpmath.matrix (at the working precision) or sympy.Matrix."""
    ops = types.SimpleNamespace(absolute=ns["absolute"], sum=np.sum, max=ns["max"],
                                min=np.min, power=ns["power"], norm2=getattr(P.norm2_p, attr))
    ns.update(
        min=np.min, amin=np.min, prod=np.prod, cumsum=np.cumsum, cumprod=np.cumprod,
        var=P.var, std=functools.partial(P.std, sqrt=ns["sqrt"]),
        einsum=np.einsum, tensordot=np.tensordot, inner=np.inner, kron=np.kron,
        trace=np.trace, diag=np.diag, diagonal=np.diagonal, tril=np.tril, triu=np.triu)
    linalg = {name: getattr(prim, attr) for name, prim in LINALG_PRIMITIVES.items()}
    linalg["slogdet"] = P.mp_slogdet if attr == "mp" else P.sym_slogdet
    linalg["norm"] = functools.partial(P.norm, ops=ops)
    ns["linalg"] = types.SimpleNamespace(**linalg)
# --- end of reductions and linear algebra -------------------------------------------------

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
    ns = {name: getattr(P, _FUNCTION_OF.get(name, name)) for name in ELEMENTWISE}
    for name in ("square", "sum", "mean", "max", "amax", "logsumexp", "matmul", "dot", "outer",
                 "reshape", "ravel", "transpose", "swapaxes", "broadcast_to",
                 "concatenate", "stack", "array", "asarray", "zeros_like", "ones_like"):
        ns[name] = getattr(P, name)
    ns.update({name: getattr(P, name) for name in COMPOSED})
    _numpy_linalg(ns)
    ns.update({name: getattr(P, name) for name in SHAPE_FUNCTIONS})
    ns.update(_constructors(float))
    ns.update(pi=np.pi, e=np.e, name="numpy")
    xp = types.SimpleNamespace(**ns)
    C.bind(xp)
    return xp


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
    _object_linalg(ns, attr)
    ns.update({fname: getattr(np, fname) for fname in SHAPE_FUNCTIONS})
    ns.update(sort=functools.partial(np.sort, kind="stable"),
              argsort=functools.partial(np.argsort, kind="stable"))
    ns.update(_constructors(object))
    ns.update(pi=pi, e=e, name=name)
    xp = types.SimpleNamespace(**ns)
    C.bind(xp)
    return xp


def _sympy_max(x, axis=None, keepdims=False, combine=sympy.Max):
    if axis is not None or keepdims:
        raise NotImplementedError(f"xp.{combine.__name__.lower()} along an axis is not "
                                  "supported on SymPy expressions")
    # Nested two-argument maxima: SymPy differentiates them into Heaviside
    # factors that lambdify compiles, where an n-ary Max becomes nested
    # Piecewise selections that it cannot (numpy.select rejects them).
    return functools.reduce(lambda a, b: combine(a, b, evaluate=False), np.ravel(x))


numpy_xp = _numpy_namespace()
mpmath_xp = _object_namespace("mpmath", "mp", mpmath.pi, mpmath.e,
                              lambda: mpmath.log(mpmath.pi))
sympy_xp = _object_namespace("sympy", "sym", sympy.pi, sympy.E, lambda: sympy.log(sympy.pi))
sympy_xp.max = sympy_xp.amax = _sympy_max
sympy_xp.min = sympy_xp.amin = functools.partial(_sympy_max, combine=sympy.Min)
