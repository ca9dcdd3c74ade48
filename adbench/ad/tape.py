"""The layout of a reverse-mode tape entry, shared by its readers and writers.

The recording (:mod:`adbench.ad.reverse`) writes entries, the backward sweep
(:mod:`adbench.ad.sweep`), the code generator (:mod:`adbench.ad.codegen`), the
evaluation-trace printer and the memory metric read them. The generic layout
serves every primitive; the two compact ones hold the same information for the
commonest steps of scalar programs (fewer objects kept alive per operation is
most of their speed)::

    None                                   an input
    (prim, parents, primals, out, params)  generic: parents = ((k, j), ...), argument
                                           k is tape entry j
    (prim, parents, primals, out, params, r)
                                           generic with a residual: r is what the
                                           primitive's ``residual`` forward returned
                                           beside out (logsumexp's softmax), which its
                                           residual VJP reads instead of recomputing it
    (prim, j, x, out, d)                   unary, float x = entry j (an int where the
                                           generic layout has its tuple of parents); d
                                           is d out / d x (``prim.scalar_partial``), or
                                           None: the rule is called in the sweep
    (prim, j0, j1, x, y, out, d0, d1)      binary, float x and y; argument k is entry
                                           jk, or a constant when jk == -1; dk is the
                                           partial derivative with respect to it when
                                           the rule is a marker, else None

An entry's layout is told by its length, and a unary entry from a generic one
by its int second item; :func:`entry_parts` reads any of them in the generic one.
"""

from __future__ import annotations

__all__ = ["GENERIC", "UNARY", "BINARY", "RESIDUAL", "entry_parts", "values_held"]

GENERIC, UNARY, BINARY, RESIDUAL = 5, 5, 8, 6  # entry lengths

_NO_PARAMS: dict = {}  # params of compact entries; never mutated


def entry_parts(entry) -> tuple:
    """Any tape entry in the generic layout ``(prim, parents, primals, out, params)``."""
    n = len(entry)
    if n == GENERIC:
        if type(entry[1]) is not int:
            return entry
        prim, j, x, out, _ = entry
        return prim, ((0, j),), (x,), out, _NO_PARAMS
    if n == RESIDUAL:
        return entry[:GENERIC]
    prim, j0, j1, x, y, out, _, _ = entry
    parents = tuple((k, j) for k, j in ((0, j0), (1, j1)) if j >= 0)
    return prim, parents, (x, y), out, _NO_PARAMS


def values_held(entry) -> tuple:
    """The values an entry keeps for the backward sweep: its result, its
    arguments, and its residual if it has one."""
    _, _, primals, out, _ = entry_parts(entry)
    return (out, *primals, entry[GENERIC]) if len(entry) == RESIDUAL else (out, *primals)
