"""The ``xp`` namespaces of other libraries, all built from one table of names.

:data:`TABLE` says, for every function in :data:`adbench.interpret.xp.XP_FUNCTIONS`,
what it is called in each peer library (:data:`PEERS`): jax.numpy, torch,
autograd.numpy, SymEngine and CasADi (SX). A problem ``f(x, xp)`` then runs
unchanged on each library's values: no problem is written twice. An entry is

* :data:`SAME`: the attribute of the same name in the library;
* a string: the attribute of that name (``torch.pow`` for ``power``);
* a :func:`shim`: a small function of the library module and the arguments,
  where the library has no such name or another signature (numpy's ``axis``
  against torch's ``dim``, CasADi's ``if_else`` for ``where``);
* :data:`NUMPY` (SymEngine and CasADi only): numpy's own function over object
  arrays of the library's scalars, as xp's SymPy and mpmath namespaces do;
* :data:`COMPOSED`: the composition of :mod:`adbench.interpret.compositions` (the
  one definition xp itself uses), run on the peer's own namespace: where the
  library has no function of that name and numpy's signature;
* :func:`missing`: the library has nothing that computes it, with the reason.
  Calling it raises :class:`~adbench.methods.base.Unsupported` with that reason.

SymEngine and CasADi (SX) are libraries of scalar expressions: their ``xp``
works on numpy object arrays of those scalars, and an elementwise function
(a name of :data:`adbench.interpret.xp.ELEMENTWISE`) is the scalar function
mapped over the array. Adding a function to ``xp`` is one line here; the shims
live in :mod:`.peer_shims` (and :mod:`.peer_shims_torch`). A dotted name
(``linalg.solve``) is an attribute of the ``linalg`` sub-namespace, as in xp.

Precision: :func:`namespace` sets JAX to 64-bit (``jax_enable_x64``) and
torch's default dtype to float64 before building their namespaces; the methods
check the dtype of every Jacobian (:mod:`adbench.methods.peers`).
"""

from __future__ import annotations

import functools
import importlib
import math
import types

import numpy as np

from adbench.interpret import compositions as C
from adbench.interpret import peer_shims as S
from adbench.interpret import peer_shims_torch as T
from adbench.interpret.peer_shims import _object_asarray, _on_tensors, shim  # noqa: F401
from adbench.interpret.xp import ELEMENTWISE, XP_FUNCTIONS, sympy_xp

__all__ = ["PEERS", "TABLE", "SAME", "NUMPY", "COMPOSED", "Missing", "shim", "missing", "namespace",
           "MODULES", "OBJECT_PEERS", "resolve"]

#: The peer libraries, in the order of the columns of TABLE.
PEERS = ("jax", "torch", "autograd", "symengine", "casadi")
#: The module each peer's names are looked up in.
MODULES = {"jax": "jax.numpy", "torch": "torch", "autograd": "autograd.numpy",
           "symengine": "symengine", "casadi": "casadi"}
#: Peers whose xp works on numpy object arrays of their scalar expressions.
OBJECT_PEERS = ("symengine", "casadi")

SAME = "="
NUMPY = "numpy"
COMPOSED = "composed"


class Missing:
    """A function the peer does not have; ``reason`` says why."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"missing({self.reason!r})"


def missing(reason: str) -> Missing:
    return Missing(reason)



# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

#: Reasons shared by several entries.
_AG_NO_VJP = "autograd defines no VJP of {}"
_NO_FLOOR = missing("SymEngine leaves d floor(x)/dx unevaluated, which Lambdify cannot compile")
_NO_POLYGAMMA = missing("Lambdify cannot compile polygamma, the derivative of loggamma")
_NO_COMPARISON = missing("a comparison of symbolic expressions has no truth value")
_CA_NO_GAMMALN = missing("CasADi has no log-gamma function")
_CA_NO_POLYGAMMA = missing("CasADi has no polygamma function")
#: The compositions (adbench.interpret.compositions) on every peer.
_ALL_COMPOSED = (COMPOSED,) * 5

TABLE: dict[str, tuple] = {
    # xp name:         (jax, torch, autograd, symengine, casadi)
    "abs":             (SAME, SAME, SAME, S.se_abs, "fabs"),
    "absolute":        (SAME, SAME, SAME, S.se_abs, "fabs"),
    "add":             (SAME, SAME, SAME, S.add, S.add),
    "amax":            (SAME, S.t_max, SAME, S.se_max, S.ca_max),
    "amin":            (SAME, T.t_min, SAME, S.se_min, S.ca_min),
    "append":          (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "arange":          (SAME, SAME, SAME, NUMPY, NUMPY),
    "arccos":          (SAME, SAME, SAME, "acos", "acos"),
    "arccosh":         (SAME, SAME, SAME, "acosh", "acosh"),
    "arcsin":          (SAME, SAME, SAME, "asin", "asin"),
    "arcsinh":         (SAME, SAME, SAME, "asinh", "asinh"),
    "arctan":          (SAME, SAME, SAME, "atan", "atan"),
    "arctan2":         (SAME, SAME, SAME, "atan2", "atan2"),
    "arctanh":         (SAME, SAME, SAME, "atanh", "atanh"),
    "argmax":          (SAME, T.t_argmax, SAME, _NO_COMPARISON, _NO_COMPARISON),
    "argmin":          (SAME, T.t_argmin, SAME, _NO_COMPARISON, _NO_COMPARISON),
    "argsort":         (SAME, T.t_argsort, SAME, _NO_COMPARISON, _NO_COMPARISON),
    "around":          (SAME, T.t_round, SAME, _NO_FLOOR, S.ca_round),
    "array":           (SAME, S.t_array, SAME, S.obj_array, S.obj_array),
    "array_split":     (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "asarray":         (SAME, S.t_array, "array", S.obj_array, S.obj_array),
    "atleast_1d":      (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "atleast_2d":      (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "atleast_3d":      (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "broadcast_to":    (SAME, S.t_broadcast, SAME, NUMPY, NUMPY),
    "c_":              _ALL_COMPOSED,
    "ceil":            (SAME, SAME, SAME, _NO_FLOOR, SAME),
    # at a bound torch's clamp gives x the whole derivative, autograd's clip none
    # (adbench: half); tests/test_peers.py records each library's tie convention
    "clip":            (SAME, T.t_clip, SAME, S.se_clip, S.ca_clip),
    "column_stack":    (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "concatenate":     (SAME, S.t_concat, SAME, S.obj_concat, S.obj_concat),
    "cos":             (SAME, SAME, SAME, SAME, SAME),
    "cosh":            (SAME, SAME, SAME, SAME, SAME),
    "cross":           (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "cumprod":         (SAME, T.t_cumprod, missing(_AG_NO_VJP.format("cumprod")), NUMPY, NUMPY),
    "cumsum":          (SAME, T.t_cumsum, SAME, NUMPY, NUMPY),
    "deg2rad":         (SAME, SAME, COMPOSED, COMPOSED, COMPOSED),
    "degrees":         (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "diag":            (SAME, T.t_diag, SAME, NUMPY, NUMPY),
    "diagonal":        (SAME, T.t_diagonal, SAME, NUMPY, NUMPY),
    "diff":            (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "divide":          (SAME, SAME, SAME, S.div, S.div),
    "dot":             (SAME, S.t_dot, SAME, NUMPY, NUMPY),
    "dsplit":          (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "einsum":          (SAME, T.t_einsum, SAME, NUMPY, NUMPY),
    "erf":             (S.jax_erf, SAME, S.ag_erf, SAME, SAME),
    "exp":             (SAME, SAME, SAME, SAME, SAME),
    "exp2":            (SAME, SAME, SAME, S.exp2, S.exp2),
    "expand_dims":     (SAME, T.t_expand_dims, SAME, NUMPY, NUMPY),
    "expm1":           (SAME, SAME, SAME, S.expm1, SAME),
    "eye":             (SAME, SAME, SAME, NUMPY, NUMPY),
    "fabs":            (SAME, "abs", SAME, S.se_abs, "fabs"),
    "flip":            (SAME, T.t_flip, missing(_AG_NO_VJP.format("flip")), NUMPY, NUMPY),
    "fliplr":          (SAME, COMPOSED, SAME, COMPOSED, COMPOSED),
    "flipud":          (SAME, COMPOSED, SAME, COMPOSED, COMPOSED),
    "floor":           (SAME, SAME, SAME, _NO_FLOOR, SAME),
    "fmax":            (SAME, SAME, SAME, S.se_maximum, SAME),
    "fmin":            (SAME, SAME, SAME, S.se_minimum, SAME),
    "full":            (SAME, S.t_full, SAME, NUMPY, NUMPY),
    "gammaln":         (S.jax_gammaln, "lgamma", S.ag_gammaln, _NO_POLYGAMMA, _CA_NO_GAMMALN),
    "gradient":        _ALL_COMPOSED,
    "hsplit":          (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "hstack":          (SAME, T.t_hstack, SAME, NUMPY, NUMPY),
    "hypot":           (SAME, SAME, SAME, S.se_hypot, SAME),
    "inner":           (SAME, SAME, SAME, NUMPY, NUMPY),
    "kron":            (SAME, SAME, SAME, NUMPY, NUMPY),
    "linalg.cholesky": (SAME, SAME, SAME, S.se_cholesky, S.ca_cholesky),
    "linalg.det":      (SAME, SAME, SAME, S.se_det, S.ca_det),
    "linalg.inv":      (SAME, SAME, SAME, S.se_inv, S.ca_inv),
    "linalg.norm":     (SAME, T.t_norm, SAME, S.se_norm, S.ca_norm),
    "linalg.slogdet":  (SAME, SAME, SAME, S.se_slogdet, S.ca_slogdet),
    "linalg.solve":    (SAME, SAME, SAME, S.se_solve, S.ca_solve),
    "linspace":        (SAME, COMPOSED, SAME, COMPOSED, COMPOSED),
    "log":             (SAME, SAME, SAME, SAME, SAME),
    "log10":           (SAME, SAME, SAME, S.log10, SAME),
    "log1p":           (SAME, SAME, SAME, S.log1p, SAME),
    "log2":            (SAME, SAME, SAME, S.log2, S.log2),
    "logaddexp":       (SAME, SAME, SAME, S.obj_logaddexp, S.obj_logaddexp),
    "logaddexp2":      (SAME, SAME, COMPOSED, COMPOSED, COMPOSED),
    "logsumexp":       (S.jax_lse, S.t_lse, S.ag_lse, S.obj_lse, S.obj_lse),
    "matmul":          (SAME, SAME, SAME, NUMPY, NUMPY),
    "max":             (SAME, S.t_max, SAME, S.se_max, S.ca_max),
    "maximum":         (SAME, SAME, SAME, S.se_maximum, "fmax"),
    "mean":            (SAME, S.t_mean, SAME, NUMPY, NUMPY),
    "min":             (SAME, T.t_min, SAME, S.se_min, S.ca_min),
    "minimum":         (SAME, SAME, SAME, S.se_minimum, "fmin"),
    "mod":             (SAME, "remainder", SAME, _NO_FLOOR, S.ca_mod),
    "moveaxis":        (SAME, T.t_moveaxis, SAME, NUMPY, NUMPY),
    "multigammaln":    (S.jax_multigammaln, T.t_multigammaln, S.ag_multigammaln,
                        _NO_POLYGAMMA, _CA_NO_GAMMALN),
    "multiply":        (SAME, SAME, SAME, S.mul, S.mul),
    "nan_to_num":      (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "negative":        (SAME, SAME, SAME, S.neg, S.neg),
    "ones":            (SAME, SAME, SAME, NUMPY, NUMPY),
    "ones_like":       (SAME, SAME, SAME, NUMPY, NUMPY),
    "outer":           (SAME, SAME, SAME, NUMPY, NUMPY),
    "pad":             (SAME, T.t_pad, S.ag_pad, NUMPY, NUMPY),
    "partition":       (COMPOSED, COMPOSED, COMPOSED, _NO_COMPARISON, _NO_COMPARISON),
    "polygamma":       (S.jax_polygamma, T.t_polygamma, S.ag_polygamma, _NO_POLYGAMMA,
                        _CA_NO_POLYGAMMA),
    "power":           (SAME, "pow", SAME, S.pow_, S.pow_),
    "prod":            (SAME, T.t_prod, SAME, NUMPY, NUMPY),
    "r_":              _ALL_COMPOSED,
    "rad2deg":         (SAME, SAME, COMPOSED, COMPOSED, COMPOSED),
    "radians":         (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "ravel":           (SAME, SAME, SAME, NUMPY, NUMPY),
    "reciprocal":      (SAME, SAME, SAME, S.reciprocal, S.reciprocal),
    "remainder":       (SAME, SAME, SAME, _NO_FLOOR, S.ca_mod),
    "repeat":          (SAME, T.t_repeat, SAME, NUMPY, NUMPY),
    "reshape":         (SAME, S.t_reshape, SAME, NUMPY, NUMPY),
    "roll":            (SAME, T.t_roll, SAME, NUMPY, NUMPY),
    "rollaxis":        (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "rot90":           (SAME, COMPOSED, SAME, COMPOSED, COMPOSED),
    "round":           (SAME, T.t_round, SAME, _NO_FLOOR, S.ca_round),
    "row_stack":       ("vstack", COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "select":          (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "sign":            (SAME, SAME, SAME, S.se_sign, SAME),
    "sin":             (SAME, SAME, SAME, SAME, SAME),
    "sinc":            (SAME, SAME, COMPOSED, COMPOSED, COMPOSED),
    "sinh":            (SAME, SAME, SAME, SAME, SAME),
    "sort":            (SAME, T.t_sort, SAME, _NO_COMPARISON, _NO_COMPARISON),
    "split":           (SAME, T.t_split, SAME, NUMPY, NUMPY),
    "sqrt":            (SAME, SAME, SAME, SAME, SAME),
    "square":          (SAME, SAME, SAME, S.square, S.square),
    "squeeze":         (SAME, T.t_squeeze, SAME, NUMPY, NUMPY),
    "stack":           (SAME, S.t_stack, SAME, S.obj_stack, S.obj_stack),
    "std":             (SAME, T.t_std, SAME, S.obj_std, S.obj_std),
    "subtract":        (SAME, SAME, SAME, S.sub, S.sub),
    "sum":             (SAME, S.t_sum, SAME, NUMPY, NUMPY),
    "swapaxes":        (SAME, SAME, SAME, NUMPY, NUMPY),
    "take":            (S.jax_take, T.t_take, missing(_AG_NO_VJP.format("take")), NUMPY, NUMPY),
    "tan":             (SAME, SAME, SAME, SAME, SAME),
    "tanh":            (SAME, SAME, SAME, SAME, SAME),
    "tensordot":       (SAME, T.t_tensordot, SAME, NUMPY, NUMPY),
    "tile":            (SAME, T.t_tile, SAME, NUMPY, NUMPY),
    "trace":           (SAME, T.t_trace, SAME, NUMPY, NUMPY),
    "transpose":       (SAME, S.t_transpose, SAME, NUMPY, NUMPY),
    "tril":            (SAME, T.t_tril, SAME, NUMPY, NUMPY),
    "triu":            (SAME, T.t_triu, SAME, NUMPY, NUMPY),
    "true_divide":     (SAME, SAME, SAME, S.div, S.div),
    "var":             (SAME, T.t_var, SAME, NUMPY, NUMPY),
    "vsplit":          (SAME, COMPOSED, COMPOSED, COMPOSED, COMPOSED),
    "vstack":          (SAME, T.t_vstack, SAME, NUMPY, NUMPY),
    "where":           (SAME, S.t_where, SAME, S.se_where, "if_else"),
    "zeros":           (SAME, SAME, SAME, NUMPY, NUMPY),
    "zeros_like":      (SAME, SAME, SAME, NUMPY, NUMPY),
}

#: Torch functions called as they are (constructors take shapes, not arrays).
_TORCH_CONSTRUCTORS = {"arange", "eye", "ones", "zeros", "full", "array", "asarray"}


def _unsupported(peer: str, name: str, reason: str):
    def unavailable(*args, **kwargs):
        from adbench.methods.base import Unsupported
        raise Unsupported(f"{peer} has no xp.{name}: {reason}")
    unavailable.__qualname__ = f"{peer}.{name}"
    return unavailable


def _elementwise(fn):
    """A scalar function mapped over numpy object arrays (a scalar stays a scalar)."""
    ufuncs = {}

    def mapped(*args):
        k = len(args)
        if k not in ufuncs:
            ufuncs[k] = np.frompyfunc(fn, k, 1)
        # a scalar expression as a 0-d object array: a CasADi SX among the arguments
        # would otherwise take the call over (its __array_ufunc__), and refuse it
        return ufuncs[k](*(a if isinstance(a, (np.ndarray, int, float)) else _object_asarray(a)
                           for a in args))
    mapped.__qualname__ = getattr(fn, "__qualname__", "elementwise")
    return mapped


def resolve(obj, name: str):
    """``obj.name`` for a dotted name too (``linalg.solve``: ``obj.linalg.solve``)."""
    return functools.reduce(getattr, name.split("."), obj)


def _entry(peer: str, name: str, lib):
    entry = TABLE[name][PEERS.index(peer)]
    if isinstance(entry, Missing):
        return _unsupported(peer, name, entry.reason)
    if entry is COMPOSED:
        return None  # bound by namespace() to the peer's namespace, once it exists
    if entry is NUMPY:
        if peer not in OBJECT_PEERS:
            raise ValueError(f"TABLE[{name!r}]: NUMPY is for object peers, not {peer}")
        return resolve(sympy_xp, name)  # numpy over object arrays, as xp's object namespaces
    if isinstance(entry, shim):
        fn = functools.partial(entry.fn, lib)
    else:
        fn = resolve(lib, name if entry is SAME else entry)
        if peer == "torch" and name not in _TORCH_CONSTRUCTORS:
            fn = _on_tensors(lib, fn)
    if peer in OBJECT_PEERS and name in ELEMENTWISE:
        fn = _elementwise(fn)
    return fn


def _prepare_library(peer: str):
    """Import the peer's module, with float64 as its precision."""
    if peer == "jax":
        import jax
        jax.config.update("jax_enable_x64", True)
    elif peer == "torch":
        import torch
        torch.set_default_dtype(torch.float64)
    elif peer == "casadi":
        import casadi
        # numpy functions on SX values keep CasADi's legacy behaviour, without a warning
        set_mode = getattr(casadi.GlobalOptions, "setNumpyMode", None)
        if set_mode is not None:
            set_mode(-1)
    return importlib.import_module(MODULES[peer])


@functools.cache
def namespace(peer: str) -> types.SimpleNamespace:
    """The ``xp`` of ``peer`` (one of :data:`PEERS`), built from :data:`TABLE`.

    ImportError if the library is not installed; KeyError naming the xp
    functions the table does not list (a new xp function without its line)."""
    if peer not in PEERS:
        raise ValueError(f"unknown peer {peer!r}; peers: {', '.join(PEERS)}")
    unlisted = sorted(set(XP_FUNCTIONS) - set(TABLE))
    if unlisted:
        raise KeyError(f"xp functions missing from adbench.interpret.peers.TABLE: {unlisted}")
    lib = _prepare_library(peer)
    ns = {}
    for name in XP_FUNCTIONS:
        *space, attr = name.split(".")  # linalg.solve lives in ns["linalg"], as in xp
        target = ns
        for part in space:
            target = target.setdefault(part, {})
        target[attr] = _entry(peer, name, lib)
    ns = {k: types.SimpleNamespace(**v) if isinstance(v, dict) else v for k, v in ns.items()}
    pi = lib.pi if peer == "symengine" else math.pi
    e = lib.E if peer == "symengine" else math.e
    ns.update(pi=pi, e=e, inf=math.inf, newaxis=None, name=peer)
    xp = types.SimpleNamespace(**ns)
    C.bind(xp, [name for name in XP_FUNCTIONS if TABLE[name][PEERS.index(peer)] is COMPOSED])
    return xp
