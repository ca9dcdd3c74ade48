"""The torch shims of :mod:`adbench.interpret.peers` (see :mod:`.peer_shims`): numpy's
signatures over torch's (``axis`` for ``dim``, None for the flattened array, numpy's
``split`` at cut positions, ``pad`` widths first axis first, stable sorts)."""

from __future__ import annotations

import numpy as np

from adbench.interpret.peer_shims import _tensor, _torch_reduction, shim


# --------------------------------------------------------------------------
# torch: numpy's signatures (axis, not dim; None for the flattened array)
# --------------------------------------------------------------------------

def _flat_or(torch, x, axis):
    """x and the dim to work along: the flattened x and 0 where numpy's axis is None."""
    x = _tensor(torch, x)
    return (x.reshape(-1), 0) if axis is None else (x, axis)


@shim
def t_round(torch, x, decimals=0):
    return torch.round(_tensor(torch, x), decimals=int(decimals))


@shim
def t_clip(torch, x, a_min, a_max):
    # torch.clamp gives the whole derivative to x at a bound (not adbench's even split)
    x = _tensor(torch, x)
    lo = None if a_min is None else _tensor(torch, a_min)
    hi = None if a_max is None else _tensor(torch, a_max)
    return torch.clamp(x, lo, hi)


@shim
def t_polygamma(torch, n, x):
    return torch.polygamma(int(n), _tensor(torch, x))


@shim
def t_multigammaln(torch, a, d):
    return torch.mvlgamma(_tensor(torch, a), p=int(d))


t_min = _torch_reduction("amin")


@shim
def t_prod(torch, x, axis=None, keepdims=False):
    x = _tensor(torch, x)
    axes = range(x.ndim) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    for a in sorted((a % x.ndim for a in axes), reverse=True):  # torch.prod takes one dim
        x = torch.prod(x, a, keepdim=keepdims)
    return x


def _t_moment(name):
    def moment(torch, x, axis=None, ddof=0, keepdims=False):
        dim = axis if axis is None or isinstance(axis, int) else tuple(axis)
        return getattr(torch, name)(_tensor(torch, x), dim=dim, correction=ddof,
                                    keepdim=keepdims)
    moment.__qualname__ = f"torch_{name}"
    return shim(moment)


t_var, t_std = _t_moment("var"), _t_moment("std")


def _t_cumulative(name):
    def cumulative(torch, x, axis=None):
        x, dim = _flat_or(torch, x, axis)
        return getattr(torch, name)(x, dim)
    cumulative.__qualname__ = f"torch_{name}"
    return shim(cumulative)


t_cumsum, t_cumprod = _t_cumulative("cumsum"), _t_cumulative("cumprod")


@shim
def t_einsum(torch, subscripts, *operands):
    return torch.einsum(subscripts, *(_tensor(torch, o) for o in operands))


@shim
def t_tensordot(torch, a, b, axes=2):
    return torch.tensordot(_tensor(torch, a), _tensor(torch, b), dims=axes)


@shim
def t_trace(torch, a, offset=0, axis1=0, axis2=1):
    return torch.diagonal(_tensor(torch, a), offset, axis1, axis2).sum(-1)


@shim
def t_diag(torch, v, k=0):
    return torch.diag(_tensor(torch, v), k)


@shim
def t_diagonal(torch, a, offset=0, axis1=0, axis2=1):
    return torch.diagonal(_tensor(torch, a), offset, axis1, axis2)


@shim
def t_tril(torch, m, k=0):
    return torch.tril(_tensor(torch, m), k)


@shim
def t_triu(torch, m, k=0):
    return torch.triu(_tensor(torch, m), k)


@shim
def t_norm(torch, x, ord=None, axis=None, keepdims=False):  # noqa: A002 - numpy's name
    return torch.linalg.norm(_tensor(torch, x), ord, dim=axis, keepdim=keepdims)


@shim
def t_squeeze(torch, x, axis=None):
    x = _tensor(torch, x)
    return torch.squeeze(x) if axis is None else torch.squeeze(x, axis)


@shim
def t_expand_dims(torch, x, axis):
    x = _tensor(torch, x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = x.ndim + len(axes)
    for a in sorted(a % ndim for a in axes):
        x = torch.unsqueeze(x, a)
    return x


@shim
def t_tile(torch, x, reps):
    return torch.tile(_tensor(torch, x), (reps,) if isinstance(reps, int) else tuple(reps))


@shim
def t_repeat(torch, x, repeats, axis=None):
    x, dim = _flat_or(torch, x, axis)
    if not isinstance(repeats, int):
        repeats = torch.as_tensor(np.asarray(repeats))
    return torch.repeat_interleave(x, repeats, dim)


@shim
def t_flip(torch, x, axis=None):
    x = _tensor(torch, x)
    dims = tuple(range(x.ndim)) if axis is None else (
        (axis,) if isinstance(axis, int) else tuple(axis))
    return torch.flip(x, dims)


@shim
def t_roll(torch, x, shift, axis=None):
    return torch.roll(_tensor(torch, x), shift, axis)  # dims None: flattened, as numpy


@shim
def t_moveaxis(torch, x, source, destination):
    return torch.moveaxis(_tensor(torch, x), source, destination)


@shim
def t_vstack(torch, xs):
    return torch.vstack([_tensor(torch, e) for e in xs])


@shim
def t_hstack(torch, xs):
    return torch.hstack([_tensor(torch, e) for e in xs])


@shim
def t_split(torch, x, indices_or_sections, axis=0):
    x = _tensor(torch, x)
    if isinstance(indices_or_sections, int) and x.shape[axis] % indices_or_sections:
        raise ValueError("array split does not result in an equal division")  # as numpy
    cuts = indices_or_sections if isinstance(indices_or_sections, int) else list(
        indices_or_sections)
    return list(torch.tensor_split(x, cuts, dim=axis))


@shim
def t_pad(torch, x, pad_width, mode="constant", constant_values=0):
    if mode != "constant" or np.ndim(constant_values):
        raise NotImplementedError("torch's xp.pad maps mode='constant' with one "
                                  "constant only")
    x = _tensor(torch, x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    flat = [int(w) for pair in widths[::-1] for w in pair]  # torch: last axis first
    return torch.nn.functional.pad(x, flat, value=float(constant_values))


@shim
def t_sort(torch, x, axis=-1):
    x, dim = _flat_or(torch, x, axis)
    return torch.sort(x, dim=dim, stable=True).values


@shim
def t_argsort(torch, x, axis=-1):
    x, dim = _flat_or(torch, x, axis)
    return torch.argsort(x, dim=dim, stable=True)


@shim
def t_argmax(torch, x, axis=None):
    return torch.argmax(_tensor(torch, x), dim=axis)  # first of tied maxima, as numpy


@shim
def t_argmin(torch, x, axis=None):
    return torch.argmin(_tensor(torch, x), dim=axis)


@shim
def t_take(torch, x, indices, axis=None):
    x, dim = _flat_or(torch, x, axis)
    dim %= x.ndim
    idx = np.asarray(indices)
    flat = torch.as_tensor(idx.reshape(-1) % x.shape[dim], dtype=torch.long)
    out = torch.index_select(x, dim, flat)
    return out.reshape(x.shape[:dim] + idx.shape + x.shape[dim + 1:])
