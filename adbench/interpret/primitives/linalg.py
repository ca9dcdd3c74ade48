"""Linear algebra: matmul, and dot and outer made of it."""

from __future__ import annotations

import builtins

import numpy as np

from adbench.interpret import primitives as P  # later families, looked up when a rule runs
from adbench.interpret.core import Primitive, apply
from adbench.interpret.primitives.elementwise import add, multiply
from adbench.interpret.primitives.rules import _register, shape_of, size_of, unbroadcast


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
    return apply(matmul_p, P.asarray(a), P.asarray(b))


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
    if nb > 2:
        raise ValueError(f"dot of arrays of {na} and {nb} dimensions is not supported; "
                         "use matmul for stacks of matrices")
    return matmul(a, b)


def outer(a, b):
    return multiply(P.reshape(a, (-1, 1)), P.reshape(b, (1, -1)))


