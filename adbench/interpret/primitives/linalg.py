"""Linear algebra: matmul, einsum, and the products made of them (dot, outer,
tensordot, inner, kron), trace, diag, diagonal, tril and triu.

The matrix functions of ``xp.linalg`` (solve, inv, det, slogdet, cholesky)
are in :mod:`.linalg2`.
"""

from __future__ import annotations

import builtins

import numpy as np

from adbench.interpret import primitives as P  # later families, looked up when a rule runs
from adbench.interpret.core import Primitive, apply
from adbench.interpret.primitives.elementwise import add, multiply
from adbench.interpret.primitives.rules import (
    _register, apply_arrays, linear, shape_of, size_of, unbroadcast)


def _matmul_jvp(tangents, args, out, **params):
    ta, tb = tangents
    a, b = args
    total = None
    if ta is not None:
        total = matmul(ta, b)
    if tb is not None:
        term = matmul(a, tb)
        total = term if total is None else add(total, term)
    return total


#: From this many cotangent entries, the VJP of a stack of matrices times one matrix
#: is one product of two matrices; below it, the stacked product costs less (fewer calls).
GEMM_SIZE = 1 << 15


def _matmul_vjp(k, g, args, out, **params):
    a, b = args
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) >= 2 and len(sb) >= 2:  # stacks of matrices: g has the output's shape
        if k == 0:
            if (len(sb) == 2 or builtins.all(d == 1 for d in sb[:-2])) and \
                    size_of(g) >= GEMM_SIZE:
                # one matrix b for every a: the rows of all of g times b^T, as one
                # product of two matrices rather than a stack of small ones
                gs = shape_of(g)
                rows = matmul(P.reshape(g, (-1, gs[-1])), P.transpose(P.reshape(b, sb[-2:])))
                return unbroadcast(P.reshape(rows, gs[:-1] + (sb[-2],)), sa)
            return unbroadcast(matmul(g, P.swapaxes(b, -1, -2)), sa)
        return unbroadcast(matmul(P.swapaxes(a, -1, -2), g), sb)
    a2 = a if len(sa) >= 2 else P.reshape(a, (1,) + sa)
    b2 = b if len(sb) >= 2 else P.reshape(b, sb + (1,))
    out2 = np.broadcast_shapes(shape_of(a2)[:-2], shape_of(b2)[:-2]) + (
        shape_of(a2)[-2], shape_of(b2)[-1])
    g2 = P.reshape(g, out2)
    if k == 0:
        r = matmul(g2, P.swapaxes(b2, -1, -2))
        return P.reshape(unbroadcast(r, shape_of(a2)), sa)
    r = matmul(P.swapaxes(a2, -1, -2), g2)
    return P.reshape(unbroadcast(r, shape_of(b2)), sb)


def _count_matmul(args, out, **params) -> int:
    k = shape_of(args[0])[-1]
    return 2 * builtins.max(size_of(out), 1) * k


matmul_p = _register(Primitive("matmul", np.matmul, kind="bilinear", jvp=_matmul_jvp,
                               vjp=_matmul_vjp, cost=_count_matmul, uses=(0, 1)))


def matmul(a, b):
    return apply_arrays(matmul_p, P.asarray(a), P.asarray(b))


def dot(a, b):
    """numpy.dot: a product with a scalar, the inner product of vectors, a
    matrix product, or a sum over the last axis of ``a`` with the first (1-D)
    or second-to-last (2-D) axis of ``b``.

    Raises ValueError when ``b`` has three or more dimensions, where numpy.dot
    pairs every stack of ``a`` with every stack of ``b`` (use ``matmul``, which
    broadcasts the stacks instead).
    """
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    if nb > 2:  # every stack of a with every stack of b: a[i, j, :] . b[k, :, m]
        return tensordot(a, b, axes=([na - 1], [nb - 2]))
    return matmul(a, b)


def outer(a, b):
    return multiply(P.reshape(a, (-1, 1)), P.reshape(b, (1, -1)))




# --- einsum and the products made of it --------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(subscripts: str, nops: int) -> tuple:
    """(input subscripts, output subscript) of an einsum, made explicit: without
    ``->`` the output is the letters that occur once, in alphabetical order (numpy's rule)."""
    s = subscripts.replace(" ", "")
    if "." in s:
        raise NotImplementedError("einsum: '...' (broadcast dimensions) is not supported; "
                                  "name every axis")
    ins, arrow, out = s.partition("->")
    ins = tuple(ins.split(","))
    if len(ins) != nops:
        raise ValueError(f"einsum: {len(ins)} subscripts for {nops} operands")
    if not arrow:
        joined = "".join(ins)
        out = "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    return ins, out


def _letter_sizes(ins, args) -> dict:
    sizes = {}
    for sub, a in zip(ins, args, strict=True):
        shape = shape_of(a)
        if len(sub) != len(shape):
            raise ValueError(f"einsum: subscript {sub!r} for an operand of shape {shape}")
        for c, n in zip(sub, shape, strict=True):
            sizes.setdefault(c, n)
    return sizes


def _einsum_jvp(tangents, args, out, subscripts):
    total = None
    for k, t in enumerate(tangents):
        if t is None:
            continue
        term = apply(einsum_p, *args[:k], t, *args[k + 1:], subscripts=subscripts)
        total = term if total is None else add(total, term)
    return total


def _einsum_vjp(k, g, args, out, subscripts):
    """The cotangent of operand k: an einsum of g with the other operands into
    operand k's subscript. A letter repeated in it (a diagonal, "ii") gets a fresh
    letter tied to the first by an identity matrix; a letter found in operand k
    alone (summed inside it) is spread back by a vector of ones."""
    ins, out_sub = _parse_einsum(subscripts, len(args))
    sizes = _letter_sizes(ins, args)
    unused = iter(c for c in _LETTERS if c not in sizes)
    target, subs, ops, seen = [], [out_sub], [g], set()
    for c in ins[k]:
        if c in seen:
            fresh = next(unused)
            subs.append(c + fresh)
            ops.append(np.eye(sizes[c]))
            target.append(fresh)
        else:
            seen.add(c)
            target.append(c)
    elsewhere = set(out_sub).union(*(ins[j] for j in range(len(args)) if j != k))
    for c in seen - elsewhere:
        subs.append(c)
        ops.append(np.ones(sizes[c]))
    for j in range(len(args)):
        if j != k:
            subs.append(ins[j])
            ops.append(args[j])
    return apply(einsum_p, *ops, subscripts=",".join(subs) + "->" + "".join(target))


def _count_einsum(args, out, subscripts):
    """The direct loop over every combination of the letters: (operands - 1)
    multiplications per combination, and the additions that sum the combinations
    into the output entries (matmul (n x k)(k x m): nkm + nkm - nm)."""
    ins, _ = _parse_einsum(subscripts, len(args))
    total = int(np.prod(list(_letter_sizes(ins, args).values()), dtype=np.int64))
    return total * (len(args) - 1) + builtins.max(total - builtins.max(size_of(out), 1), 0)


def _einsum_impl(*operands, subscripts):
    return np.einsum(subscripts, *operands)


einsum_p = _register(Primitive("einsum", _einsum_impl, kind="bilinear", jvp=_einsum_jvp,
                               vjp=_einsum_vjp, cost=_count_einsum))


def einsum(subscripts: str, *operands):
    """numpy.einsum with explicit letters (no '...'), any number of operands.
    Linear in each operand: the derivative with respect to one is the einsum of
    the others with its tangent (JVP) or with the cotangent (VJP)."""
    ins, out = _parse_einsum(subscripts, len(operands))
    return apply(einsum_p, *(P.asarray(a) for a in operands),
                 subscripts=",".join(ins) + "->" + out)


def tensordot(a, b, axes=2):
    """numpy.tensordot: the sum over ``axes`` (an int N: the last N of a with
    the first N of b; or a pair of sequences), as one einsum."""
    na, nb = len(shape_of(a)), len(shape_of(b))
    if isinstance(axes, (int, np.integer)):
        if axes > builtins.min(na, nb):
            raise ValueError(f"tensordot: {axes} axes of arrays of {na} and {nb} dimensions")
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = ([x] if isinstance(x, (int, np.integer)) else list(x) for x in axes)
    ax_a, ax_b = [x % na for x in ax_a], [x % nb for x in ax_b]
    la, lb = list(_LETTERS[:na]), list(_LETTERS[na:na + nb])
    for i, j in zip(ax_a, ax_b, strict=True):
        lb[j] = la[i]
    out = [c for i, c in enumerate(la) if i not in ax_a] + \
        [c for j, c in enumerate(lb) if j not in ax_b]
    return einsum("".join(la) + "," + "".join(lb) + "->" + "".join(out), a, b)


def inner(a, b):
    """numpy.inner: the sum over the last axes of a and b (a product if either is a scalar)."""
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 1]))


def kron(a, b):
    """numpy.kron: the block array of a[i] * b, one einsum (a product per entry) and a reshape."""
    a, b = P.asarray(a), P.asarray(b)
    sa, sb = shape_of(a), shape_of(b)
    nd = builtins.max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    la, lb = _LETTERS[:nd], _LETTERS[nd:2 * nd]
    pairs = "".join(x + y for x, y in zip(la, lb, strict=True))
    blocks = einsum(f"{la},{lb}->{pairs}", P.reshape(a, sa), P.reshape(b, sb))
    return P.reshape(blocks, tuple(x * y for x, y in zip(sa, sb, strict=True)))


def _diagonal_index(shape, offset):
    """Row and column indices of the ``offset`` diagonal of the last two axes."""
    rows, cols = shape[-2], shape[-1]
    n = builtins.max(0, builtins.min(rows, cols - offset) if offset >= 0
                     else builtins.min(rows + offset, cols))
    r = np.arange(n) + builtins.max(-offset, 0)
    return r, r + offset


def diagonal(a, offset=0, axis1=0, axis2=1):
    """numpy.diagonal: the ``offset`` diagonal of the (axis1, axis2) planes, as
    the last axis; an index (its derivative scatters back, no arithmetic)."""
    sa = shape_of(a)
    nd = len(sa)
    axis1, axis2 = axis1 % nd, axis2 % nd
    rest = [i for i in range(nd) if i not in (axis1, axis2)]
    if rest != list(range(nd - 2)) or (axis1, axis2) != (nd - 2, nd - 1):
        a = P.transpose(a, rest + [axis1, axis2])
    r, c = _diagonal_index(shape_of(a), offset)
    return P.getitem(a, idx=(Ellipsis, r, c))


def trace(a, offset=0, axis1=0, axis2=1):
    """numpy.trace: the sum of the ``offset`` diagonal."""
    return P.sum(diagonal(a, offset, axis1, axis2), axis=-1)


def diag(v, k=0):
    """numpy.diag: the ``k`` diagonal of a matrix, or the square matrix with
    vector ``v`` on its ``k`` diagonal and zeros elsewhere (a scatter: no arithmetic)."""
    sv = shape_of(v)
    if len(sv) == 2:
        return diagonal(v, k)
    if len(sv) != 1:
        raise ValueError(f"diag: needs a vector or a matrix, not shape {sv}")
    n = sv[0] + builtins.abs(k)
    r, c = _diagonal_index((n, n), k)
    return P.untake(v, idx=(r, c), shape=(n, n))


def _triangle(name: str, impl):
    def transpose(k_, g, args, out, k):
        return apply(prim, g, k=k)  # a mask: its own transpose
    transpose.__qualname__ = f"{name}.transpose"
    prim = linear(name, lambda x, k: impl(x, k=k), transpose=transpose)
    return prim


tril_p = _triangle("tril", np.tril)
triu_p = _triangle("triu", np.triu)


def _matrix(m):
    """A vector is the matrix of its copies as rows, as numpy.tril and triu take it."""
    m = P.asarray(m)
    s = shape_of(m)
    return P.broadcast_to(m, (s[0], s[0])) if len(s) == 1 else m


def tril(m, k=0):
    """numpy.tril: the entries on and below the ``k`` diagonal, zeros above (a mask)."""
    return apply(tril_p, _matrix(m), k=int(k))


def triu(m, k=0):
    """numpy.triu: the entries on and above the ``k`` diagonal, zeros below (a mask)."""
    return apply(triu_p, _matrix(m), k=int(k))
