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
* :func:`missing`: the library has nothing that computes it, with the reason.
  Calling it raises :class:`~adbench.methods.base.Unsupported` with that reason.

SymEngine and CasADi (SX) are libraries of scalar expressions: their ``xp``
works on numpy object arrays of those scalars, and an elementwise function
(a name of :data:`adbench.interpret.xp.ELEMENTWISE`) is the scalar function
mapped over the array. Adding a function to ``xp`` is one line here.

Precision: :func:`namespace` sets JAX to 64-bit (``jax_enable_x64``) and
torch's default dtype to float64 before building their namespaces; the methods
check the dtype of every Jacobian (:mod:`adbench.methods.peers`).
"""

from __future__ import annotations

import functools
import importlib
import math
import operator
import types

import numpy as np

from adbench.interpret import primitives as P
from adbench.interpret.xp import ELEMENTWISE, XP_FUNCTIONS, sympy_xp

__all__ = ["PEERS", "TABLE", "SAME", "NUMPY", "Missing", "shim", "missing", "namespace",
           "MODULES", "OBJECT_PEERS"]

#: The peer libraries, in the order of the columns of TABLE.
PEERS = ("jax", "torch", "autograd", "symengine", "casadi")
#: The module each peer's names are looked up in.
MODULES = {"jax": "jax.numpy", "torch": "torch", "autograd": "autograd.numpy",
           "symengine": "symengine", "casadi": "casadi"}
#: Peers whose xp works on numpy object arrays of their scalar expressions.
OBJECT_PEERS = ("symengine", "casadi")

SAME = "="
NUMPY = "numpy"


class Missing:
    """A function the peer does not have; ``reason`` says why."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"missing({self.reason!r})"


def missing(reason: str) -> Missing:
    return Missing(reason)


class shim:  # noqa: N801 - used as a marker on functions, like a decorator
    """A function ``fn(lib, *args, **kwargs)`` standing in for a name the peer lacks."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)


# --------------------------------------------------------------------------
# Shims
# --------------------------------------------------------------------------

@shim
def _jax_lse(jnp, x, axis=None, keepdims=False):
    from jax.scipy.special import logsumexp
    return logsumexp(x, axis=axis, keepdims=keepdims)


@shim
def _ag_lse(anp, x, axis=None, keepdims=False):
    from autograd.scipy.special import logsumexp
    return logsumexp(x, axis=axis, keepdims=keepdims)


def _tensor(torch, v):
    """``v`` as a float64 tensor (lists of tensors stacked, as numpy.asarray reads them)."""
    if isinstance(v, torch.Tensor):
        return v
    if isinstance(v, (list, tuple)) and any(isinstance(e, (torch.Tensor, list, tuple))
                                            for e in v):
        return torch.stack([_tensor(torch, e) for e in v])
    arr = np.asarray(v)
    return torch.as_tensor(arr, dtype=torch.float64 if arr.dtype.kind in "biuf" else None)


def _on_tensors(torch, fn):
    """``fn`` with its array arguments made tensors (torch.exp(2.0) is a TypeError)."""
    def on_tensors(*args, **kwargs):
        return fn(*(_tensor(torch, a) for a in args), **kwargs)
    on_tensors.__qualname__ = f"torch.{getattr(fn, '__name__', 'function')}"
    return on_tensors


def _torch_reduction(name):
    def reduce(torch, x, axis=None, keepdims=False):
        x = _tensor(torch, x)
        fn = getattr(torch, name)
        if axis is None:
            out = fn(x.reshape(-1), 0)
            return out.reshape((1,) * x.ndim) if keepdims else out
        return fn(x, axis if isinstance(axis, int) else tuple(axis), keepdim=keepdims)
    reduce.__qualname__ = f"torch_{name}"
    return shim(reduce)


@shim
def _t_array(torch, v, dtype=None):
    return _tensor(torch, v)


@shim
def _t_dot(torch, a, b):
    a, b = _tensor(torch, a), _tensor(torch, b)
    return a * b if a.ndim == 0 or b.ndim == 0 else torch.matmul(a, b)


@shim
def _t_reshape(torch, x, shape):
    return torch.reshape(_tensor(torch, x), (shape,) if isinstance(shape, int) else tuple(shape))


@shim
def _t_transpose(torch, x, axes=None):
    x = _tensor(torch, x)
    return x.permute(*(reversed(range(x.ndim)) if axes is None else axes))


@shim
def _t_concat(torch, seq, axis=0):
    return torch.cat([_tensor(torch, e) for e in seq], dim=axis)


@shim
def _t_stack(torch, seq, axis=0):
    return torch.stack([_tensor(torch, e) for e in seq], dim=axis)


@shim
def _t_broadcast(torch, x, shape):
    return torch.broadcast_to(_tensor(torch, x), (shape,) if isinstance(shape, int) else shape)


@shim
def _t_full(torch, shape, value):
    return torch.full((shape,) if isinstance(shape, int) else tuple(shape), float(value))


@shim
def _t_where(torch, c, a, b):
    return torch.where(_tensor(torch, c).bool(), _tensor(torch, a), _tensor(torch, b))


def _object_asarray(v):
    """``v`` as a numpy object array, a scalar expression as a 0-d array (numpy would
    read a CasADi SX scalar as an array of shape (1, 1))."""
    if isinstance(v, np.ndarray):
        return v.astype(object, copy=False)
    if isinstance(v, (list, tuple)):
        parts = [_object_asarray(e) for e in v]
        return np.stack(parts) if parts else np.array([], dtype=object)
    out = np.empty((), dtype=object)
    out[()] = v
    return out


@shim
def _obj_array(lib, v, dtype=None):
    return _object_asarray(v)


@shim
def _obj_stack(lib, seq, axis=0):
    return np.stack([_object_asarray(e) for e in seq], axis=axis)


@shim
def _obj_concat(lib, seq, axis=0):
    return np.concatenate([_object_asarray(e) for e in seq], axis=axis)


@shim
def _obj_lse(lib, x, axis=None, keepdims=False):
    # log sum exp, unshifted, as for SymPy (xp's object namespaces): the shifted
    # form's maximum would enter every derivative.
    return P._object_logsumexp(np.frompyfunc(lib.exp, 1, 1),
                               np.frompyfunc(lib.log, 1, 1))(x, axis=axis, keepdims=keepdims)


# SymEngine leaves the derivatives of abs, sign, max and min unevaluated
# (Derivative(abs(x), x), which nothing compiles): these are written as the
# Piecewise functions they are, whose derivatives SymEngine takes piece by
# piece, at a tie following the first argument as adbench's rules do.
@shim
def _se_abs(se, u):
    return se.Piecewise((u, u >= 0), (-u, True))


@shim
def _se_sign(se, u):
    return se.Piecewise((1, u > 0), (-1, u < 0), (0, True))


@shim
def _se_maximum(se, a, b):
    return se.Piecewise((a, a >= b), (b, True))


@shim
def _se_minimum(se, a, b):
    return se.Piecewise((a, a <= b), (b, True))


@shim
def _se_where(se, c, a, b):
    return se.Piecewise((a, c), (b, True))


@shim
def _log1p(lib, u):
    return lib.log(1 + u)


@shim
def _expm1(lib, u):
    return lib.exp(u) - 1


def _object_max(pairwise):
    def reduce_max(lib, x, axis=None, keepdims=False):
        if axis is not None or keepdims:
            raise NotImplementedError("xp.max along an axis is not mapped for object arrays")
        return functools.reduce(getattr(lib, pairwise) if isinstance(pairwise, str)
                                else functools.partial(pairwise.fn, lib),
                                np.ravel(_object_asarray(x)))
    reduce_max.__qualname__ = "object_max"
    return shim(reduce_max)


def _arith(op):
    """An operator (``operator.add``) as a shim: it needs no library."""
    def arith(lib, *args):
        return op(*args)
    arith.__qualname__ = op.__name__
    return shim(arith)


_add, _sub, _mul, _div = (_arith(o) for o in (operator.add, operator.sub, operator.mul,
                                               operator.truediv))
_neg, _pow = _arith(operator.neg), _arith(operator.pow)
_square = shim(lambda lib, u: u * u)
_se_max, _ca_max = _object_max(_se_maximum), _object_max("fmax")
_t_sum, _t_mean = _torch_reduction("sum"), _torch_reduction("mean")
_t_max, _t_lse = _torch_reduction("amax"), _torch_reduction("logsumexp")

# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

TABLE: dict[str, tuple] = {
    # xp name       jax        torch         autograd  symengine    casadi
    "abs":          (SAME,     SAME,         SAME,    _se_abs,     "fabs"),
    "absolute":     (SAME,     SAME,         SAME,    _se_abs,     "fabs"),
    "add":          (SAME,     SAME,         SAME,    _add,        _add),
    "amax":         (SAME,     _t_max,       SAME,    _se_max,     _ca_max),
    "arange":       (SAME,     SAME,         SAME,    NUMPY,       NUMPY),
    "array":        (SAME,     _t_array,     SAME,    _obj_array,  _obj_array),
    "asarray":      (SAME,     _t_array,     "array", _obj_array,  _obj_array),
    "broadcast_to": (SAME,     _t_broadcast, SAME,    NUMPY,       NUMPY),
    "concatenate":  (SAME,     _t_concat,    SAME,    _obj_concat, _obj_concat),
    "cos":          (SAME,     SAME,         SAME,    SAME,        SAME),
    "divide":       (SAME,     SAME,         SAME,    _div,        _div),
    "dot":          (SAME,     _t_dot,       SAME,    NUMPY,       NUMPY),
    "exp":          (SAME,     SAME,         SAME,    SAME,        SAME),
    "expm1":        (SAME,     SAME,         SAME,    _expm1,      SAME),
    "eye":          (SAME,     SAME,         SAME,    NUMPY,       NUMPY),
    "full":         (SAME,     _t_full,      SAME,    NUMPY,       NUMPY),
    "log":          (SAME,     SAME,         SAME,    SAME,        SAME),
    "log1p":        (SAME,     SAME,         SAME,    _log1p,      SAME),
    "logsumexp":    (_jax_lse, _t_lse,       _ag_lse, _obj_lse,    _obj_lse),
    "matmul":       (SAME,     SAME,         SAME,    NUMPY,       NUMPY),
    "max":          (SAME,     _t_max,       SAME,    _se_max,     _ca_max),
    "maximum":      (SAME,     SAME,         SAME,    _se_maximum, "fmax"),
    "mean":         (SAME,     _t_mean,      SAME,    NUMPY,       NUMPY),
    "minimum":      (SAME,     SAME,         SAME,    _se_minimum, "fmin"),
    "multiply":     (SAME,     SAME,         SAME,    _mul,        _mul),
    "negative":     (SAME,     SAME,         SAME,    _neg,        _neg),
    "ones":         (SAME,     SAME,         SAME,    NUMPY,       NUMPY),
    "ones_like":    (SAME,     SAME,         SAME,    NUMPY,       NUMPY),
    "outer":        (SAME,     SAME,         SAME,    NUMPY,       NUMPY),
    "power":        (SAME,     "pow",        SAME,    _pow,        _pow),
    "ravel":        (SAME,     SAME,         SAME,    NUMPY,       NUMPY),
    "reshape":      (SAME,     _t_reshape,   SAME,    NUMPY,       NUMPY),
    "sign":         (SAME,     SAME,         SAME,    _se_sign,    SAME),
    "sin":          (SAME,     SAME,         SAME,    SAME,        SAME),
    "sqrt":         (SAME,     SAME,         SAME,    SAME,        SAME),
    "square":       (SAME,     SAME,         SAME,    _square,     _square),
    "stack":        (SAME,     _t_stack,     SAME,    _obj_stack,  _obj_stack),
    "subtract":     (SAME,     SAME,         SAME,    _sub,        _sub),
    "sum":          (SAME,     _t_sum,       SAME,    NUMPY,       NUMPY),
    "swapaxes":     (SAME,     SAME,         SAME,    NUMPY,       NUMPY),
    "tan":          (SAME,     SAME,         SAME,    SAME,        SAME),
    "tanh":         (SAME,     SAME,         SAME,    SAME,        SAME),
    "transpose":    (SAME,     _t_transpose, SAME,    NUMPY,       NUMPY),
    "where":        (SAME,     _t_where,     SAME,    _se_where,   "if_else"),
    "zeros":        (SAME,     SAME,         SAME,    NUMPY,       NUMPY),
    "zeros_like":   (SAME,     SAME,         SAME,    NUMPY,       NUMPY),
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
        return ufuncs[k](*args)
    mapped.__qualname__ = getattr(fn, "__qualname__", "elementwise")
    return mapped


def _entry(peer: str, name: str, lib):
    entry = TABLE[name][PEERS.index(peer)]
    if isinstance(entry, Missing):
        return _unsupported(peer, name, entry.reason)
    if entry is NUMPY:
        if peer not in OBJECT_PEERS:
            raise ValueError(f"TABLE[{name!r}]: NUMPY is for object peers, not {peer}")
        return getattr(sympy_xp, name)  # numpy over object arrays, as xp's object namespaces
    if isinstance(entry, shim):
        fn = functools.partial(entry.fn, lib)
    else:
        fn = getattr(lib, name if entry is SAME else entry)
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
    ns = {name: _entry(peer, name, lib) for name in XP_FUNCTIONS}
    pi = lib.pi if peer == "symengine" else math.pi
    e = lib.E if peer == "symengine" else math.e
    ns.update(pi=pi, e=e, inf=math.inf, newaxis=None, name=peer)
    return types.SimpleNamespace(**ns)
