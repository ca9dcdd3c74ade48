"""The shims of :mod:`adbench.interpret.peers`: small functions standing in for a
numpy function where a peer library has none of that name or another signature.

Each shim is ``fn(lib, *args, **kwargs)`` with ``lib`` the peer's module
(``torch``, ``symengine``...), marked by :class:`shim`. They keep numpy's
semantics (``axis`` and ``keepdims``, ``ddof``, numpy's mod with the sign of
the divisor, ``split`` at cut positions) and write nothing of a derivative:
each library differentiates what the shim builds, so where a library's own
derivative convention differs from adbench's (a tie of maximum, the bounds of
clip) the difference shows, and the tests record it.

Object peers (SymEngine, CasADi SX) work on numpy object arrays of scalar
expressions; an elementwise shim there takes scalars and is mapped over the
array by :mod:`adbench.interpret.peers`; the others take object arrays.
"""

from __future__ import annotations

import functools
import importlib
import math
import operator
import types

import numpy as np

from adbench.interpret import primitives as P


class shim:  # noqa: N801 - used as a marker on functions, like a decorator
    """A function ``fn(lib, *args, **kwargs)`` standing in for a name the peer lacks."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)


# --------------------------------------------------------------------------
# Shims
# --------------------------------------------------------------------------

@shim
def jax_lse(jnp, x, axis=None, keepdims=False):
    from jax.scipy.special import logsumexp
    return logsumexp(x, axis=axis, keepdims=keepdims)


@shim
def ag_lse(anp, x, axis=None, keepdims=False):
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
def t_array(torch, v, dtype=None):
    return _tensor(torch, v)


@shim
def t_dot(torch, a, b):
    a, b = _tensor(torch, a), _tensor(torch, b)
    return a * b if a.ndim == 0 or b.ndim == 0 else torch.matmul(a, b)


@shim
def t_reshape(torch, x, shape):
    return torch.reshape(_tensor(torch, x), (shape,) if isinstance(shape, int) else tuple(shape))


@shim
def t_transpose(torch, x, axes=None):
    x = _tensor(torch, x)
    return x.permute(*(reversed(range(x.ndim)) if axes is None else axes))


@shim
def t_concat(torch, seq, axis=0):
    return torch.cat([_tensor(torch, e) for e in seq], dim=axis)


@shim
def t_stack(torch, seq, axis=0):
    return torch.stack([_tensor(torch, e) for e in seq], dim=axis)


@shim
def t_broadcast(torch, x, shape):
    return torch.broadcast_to(_tensor(torch, x), (shape,) if isinstance(shape, int) else shape)


@shim
def t_full(torch, shape, value):
    return torch.full((shape,) if isinstance(shape, int) else tuple(shape), float(value))


@shim
def t_where(torch, c, a, b):
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
def obj_array(lib, v, dtype=None):
    return _object_asarray(v)


@shim
def obj_stack(lib, seq, axis=0):
    return np.stack([_object_asarray(e) for e in seq], axis=axis)


@shim
def obj_concat(lib, seq, axis=0):
    return np.concatenate([_object_asarray(e) for e in seq], axis=axis)


@shim
def obj_lse(lib, x, axis=None, keepdims=False):
    # log sum exp, unshifted, as for SymPy (xp's object namespaces): the shifted
    # form's maximum would enter every derivative.
    return P._object_logsumexp(np.frompyfunc(lib.exp, 1, 1),
                               np.frompyfunc(lib.log, 1, 1))(x, axis=axis, keepdims=keepdims)


# SymEngine leaves the derivatives of abs, sign, max and min unevaluated
# (Derivative(abs(x), x), which nothing compiles): these are written as the
# Piecewise functions they are, whose derivatives SymEngine takes piece by
# piece, at a tie following the first argument as adbench's rules do.
@shim
def se_abs(se, u):
    return se.Piecewise((u, u >= 0), (-u, True))


@shim
def se_sign(se, u):
    return se.Piecewise((1, u > 0), (-1, u < 0), (0, True))


@shim
def se_maximum(se, a, b):
    return se.Piecewise((a, a >= b), (b, True))


@shim
def se_minimum(se, a, b):
    return se.Piecewise((a, a <= b), (b, True))


@shim
def se_where(se, c, a, b):
    return se.Piecewise((a, c), (b, True))


@shim
def log1p(lib, u):
    return lib.log(1 + u)


@shim
def expm1(lib, u):
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


add, sub, mul, div = (_arith(o) for o in (operator.add, operator.sub, operator.mul,
                                               operator.truediv))
neg, pow_ = _arith(operator.neg), _arith(operator.pow)
square = shim(lambda lib, u: u * u)
se_max, ca_max = _object_max(se_maximum), _object_max("fmax")
t_sum, t_mean = _torch_reduction("sum"), _torch_reduction("mean")
t_max, t_lse = _torch_reduction("amax"), _torch_reduction("logsumexp")



# --------------------------------------------------------------------------
# Special functions where jax.numpy and autograd.numpy have none (their scipy)
# --------------------------------------------------------------------------

def _scipy_special(module, name, int_first=False):
    def special(lib, *args):
        fn = getattr(importlib.import_module(module), name)
        if int_first:  # polygamma(n, x): the order is an integer
            return fn(int(args[0]), *args[1:])
        return fn(*args)
    special.__qualname__ = f"{module}.{name}"
    return shim(special)


jax_erf, ag_erf = (_scipy_special(m, "erf") for m in ("jax.scipy.special",
                                                       "autograd.scipy.special"))
jax_gammaln, ag_gammaln = (_scipy_special(m, "gammaln") for m in ("jax.scipy.special",
                                                                   "autograd.scipy.special"))
jax_polygamma = _scipy_special("jax.scipy.special", "polygamma")
ag_polygamma = _scipy_special("autograd.scipy.special", "polygamma", int_first=True)
jax_multigammaln, ag_multigammaln = (
    _scipy_special(m, "multigammaln") for m in ("jax.scipy.special", "autograd.scipy.special"))


@shim
def jax_take(jnp, x, indices, axis=None):
    return jnp.take(x, np.asarray(indices), axis=axis)  # jnp.take refuses a list


@shim
def ag_pad(anp, x, pad_width, mode="constant", constant_values=0):
    # autograd's VJP of pad needs the mode as a positional argument
    return anp.pad(x, pad_width, mode, constant_values=constant_values)


# --------------------------------------------------------------------------
# Object peers: scalar functions (mapped over arrays) and array functions
# --------------------------------------------------------------------------

@shim
def log2(lib, u):
    return lib.log(u) / math.log(2)


@shim
def log10(lib, u):
    return lib.log(u) / math.log(10)


@shim
def exp2(lib, u):
    return 2.0 ** u


@shim
def obj_logaddexp(lib, a, b):
    # unshifted, as obj_lse: a shift by max(a, b) would enter the derivative
    return lib.log(lib.exp(a) + lib.exp(b))


@shim
def reciprocal(lib, u):
    return 1 / u


@shim
def se_hypot(se, a, b):
    return se.sqrt(a * a + b * b)


@shim
def ca_mod(ca, a, b):
    # numpy's mod has the sign of b; CasADi's fmod is C's, with the sign of a
    return a - b * ca.floor(a / b)


@shim
def ca_round_one(ca, u):
    """u rounded half to even, built of floor (derivative 0), if_else and fmod."""
    r = ca.floor(u)
    d = u - r
    return ca.if_else(d > 0.5, r + 1, ca.if_else(d < 0.5, r, r + ca.fabs(ca.fmod(r, 2))))


def _mapped(lib, fn, nargs=1):
    """A scalar function (a shim or a library name) mapped over object arrays."""
    scalar = functools.partial(fn.fn, lib) if isinstance(fn, shim) else getattr(lib, fn)
    return np.frompyfunc(scalar, nargs, 1)


@shim
def ca_round(ca, x, decimals=0):
    return P.round_with(_mapped(ca, ca_round_one))(_object_asarray(x), decimals)


@shim
def se_clip(se, x, a_min, a_max):
    return P.clip_with(_mapped(se, se_maximum, 2), _mapped(se, se_minimum, 2))(x, a_min, a_max)


@shim
def ca_clip(ca, x, a_min, a_max):
    return P.clip_with(_mapped(ca, "fmax", 2), _mapped(ca, "fmin", 2))(x, a_min, a_max)


se_min, ca_min = _object_max(se_minimum), _object_max("fmin")


@shim
def obj_std(lib, x, axis=None, ddof=0, keepdims=False):
    return P.std(_object_asarray(x), axis=axis, ddof=ddof, keepdims=keepdims,
                 sqrt=_mapped(lib, "sqrt"))


def _obj_norm_ops(lib, absolute, maximum, minimum):
    sqrt = _mapped(lib, "sqrt")
    return types.SimpleNamespace(
        absolute=_mapped(lib, absolute), sum=np.sum,
        max=functools.partial(_object_max(maximum).fn, lib),
        min=functools.partial(_object_max(minimum).fn, lib), power=lambda a, b: a ** b,
        norm2=lambda x, axis=None, keepdims=False: sqrt(np.sum(x * x, axis=axis,
                                                                keepdims=keepdims)))


@shim
def se_norm(se, x, ord=None, axis=None, keepdims=False):  # noqa: A002 - numpy's name
    return P.norm(_object_asarray(x), ord, axis, keepdims,
                  ops=_obj_norm_ops(se, se_abs, se_maximum, se_minimum))


@shim
def ca_norm(ca, x, ord=None, axis=None, keepdims=False):  # noqa: A002 - numpy's name
    return P.norm(_object_asarray(x), ord, axis, keepdims,
                  ops=_obj_norm_ops(ca, "fabs", "fmax", "fmin"))


# SymEngine's and CasADi's matrices, between numpy object arrays
def _se_matrix(se, a):
    a = _object_asarray(a)
    return se.DenseMatrix(a.reshape(a.shape[0], -1).tolist())


def _ca_matrix(ca, a):
    a = _object_asarray(a)
    rows = a.reshape(a.shape[0], -1)
    return ca.vertcat(*[ca.horzcat(*row) for row in rows])


def _from_matrix(m, shape):
    rows, cols = m.shape if isinstance(m.shape, tuple) else (m.rows, m.cols)
    out = np.empty((rows, cols), dtype=object)  # filled entry by entry: numpy would read
    for i in range(rows):                        # a CasADi SX entry as a numeric matrix
        for j in range(cols):
            out[i, j] = m[i, j]
    return out.reshape(shape)


def _check_square(a, who):
    s = np.shape(a)
    if len(s) != 2 or s[0] != s[1]:
        raise ValueError(f"linalg.{who}: needs one square matrix, not shape {s}")


@shim
def se_solve(se, a, b):
    _check_square(a, "solve")
    return _from_matrix(_se_matrix(se, a).LUsolve(_se_matrix(se, b)), np.shape(b))


@shim
def se_inv(se, a):
    _check_square(a, "inv")
    return _from_matrix(_se_matrix(se, a).inv(), np.shape(a))


@shim
def se_det(se, a):
    _check_square(a, "det")
    return _se_matrix(se, a).det()


@shim
def se_cholesky(se, a):
    _check_square(a, "cholesky")
    return _from_matrix(_se_matrix(se, a).cholesky(), np.shape(a))  # lower, as numpy


@shim
def se_slogdet(se, a):
    d = se_det.fn(se, a)
    return se_sign.fn(se, d), se.log(se_abs.fn(se, d))


@shim
def ca_solve(ca, a, b):
    _check_square(a, "solve")
    return _from_matrix(ca.solve(_ca_matrix(ca, a), _ca_matrix(ca, b)), np.shape(b))


@shim
def ca_inv(ca, a):
    _check_square(a, "inv")
    return _from_matrix(ca.inv(_ca_matrix(ca, a)), np.shape(a))


@shim
def ca_det(ca, a):
    _check_square(a, "det")
    return ca.det(_ca_matrix(ca, a))


@shim
def ca_cholesky(ca, a):
    # ca.chol gives the upper factor R of A = R^T R; numpy's is the lower L = R^T
    _check_square(a, "cholesky")
    return _from_matrix(ca.chol(_ca_matrix(ca, a)).T, np.shape(a))


@shim
def ca_slogdet(ca, a):
    d = ca_det.fn(ca, a)
    return ca.sign(d), ca.log(ca.fabs(d))
