"""The fuzzer's generators of the reductions and linear algebra (min, prod, the scans,
norm, einsum, the triangles and the matrix functions of xp.linalg); part of
:data:`adbench.studies.fuzz.ops.OPS`."""

from __future__ import annotations

import numpy as np

from adbench.studies.fuzz.ops import Candidate, _gap, _max_abs
from adbench.studies.fuzz.program import MARGIN

def _gen_amin(pool):
    # whole-array only and at most 4 entries, for SymPy's sake (see _gen_amax)
    k = pool.pick(lambda v: 1 <= v.ndim and v.size <= 4)
    if k is None:
        return None
    return Candidate(pool.ch.choice(("xp.min({0})", "xp.amin({0})")), (k,),
                     lambda a: _gap(-np.asarray(a)) >= MARGIN)


def _axis_forms(pool, v, fname, extra=""):
    forms = [f"xp.{fname}({{0}}{extra})"]
    if v.ndim == 2:
        ax = pool.ch.integer(-2, 1)
        forms.append(f"xp.{fname}({{0}}, axis={ax}{extra})")
    return forms


def _gen_prod(pool):
    # a few factors: the product of many values of size ~2 leaves float64's comfortable range
    k = pool.pick(lambda v: v.ndim >= 1 and v.size <= 6)
    if k is None:
        return None
    forms = _axis_forms(pool, pool.values[k], "prod")
    return Candidate(pool.ch.choice(forms), (k,), lambda a: _max_abs(a) <= 4)


def _gen_scan(fname):
    def gen(pool):
        k = pool.pick(lambda v: v.ndim >= 1 and (fname == "cumsum" or v.size <= 6))
        if k is None:
            return None
        forms = _axis_forms(pool, pool.values[k], fname)
        return Candidate(pool.ch.choice(forms), (k,),
                         None if fname == "cumsum" else (lambda a: _max_abs(a) <= 4))
    gen.__name__ = f"_gen_{fname}"
    return gen


def _gen_norm2(pool):
    k = pool.pick(lambda v: v.ndim >= 1)
    if k is None:
        return None
    v = pool.values[k]
    forms = ["xp.linalg.norm({0})"] + (["xp.linalg.norm({0}, axis=1)"] if v.ndim == 2 else [])
    # the norm's derivative is x / ||x||: keep the norm away from 0
    return Candidate(pool.ch.choice(forms), (k,),
                     lambda a: float(np.min(np.linalg.norm(np.atleast_2d(a), axis=-1)))
                     >= MARGIN)


def _gen_einsum(pool):
    k = pool.pick(lambda v: v.ndim == 2)
    if k is None:
        return None
    rows, cols = pool.values[k].shape
    form = pool.ch.integer(0, 2)
    if form == 0:
        return Candidate("xp.einsum('ij->ji', {0})", (k,))
    if form == 1:
        return Candidate(f"xp.einsum('ij,j->i', {{0}}, {pool.const_array((cols,))})", (k,))
    j = pool.pick(lambda v: v.ndim == 1 and v.shape[0] == rows)
    if j is None:
        return Candidate("xp.einsum('ij,ij->i', {0}, {0})", (k,))
    return Candidate("xp.einsum('ij,i->j', {0}, {1})", (k, j))


def _gen_triangle(fname):
    def gen(pool):
        k = pool.pick(lambda v: v.ndim == 2)
        if k is None:
            return None
        return Candidate(f"xp.{fname}({{0}}, {pool.ch.integer(-1, 1)})", (k,))
    gen.__name__ = f"_gen_{fname}"
    return gen


def _square(pool):
    return pool.pick(lambda v: v.ndim == 2 and v.shape[0] == v.shape[1] and v.shape[0] <= 3)


def _well_conditioned(a) -> bool:
    return bool(np.linalg.cond(np.asarray(a, dtype=float)) <= 1e3)


def _gen_matrix_function(template: str):
    """A matrix function of a square value shifted by a multiple of the identity."""
    def gen(pool):
        k = _square(pool)
        if k is None:
            return None
        n = pool.values[k].shape[0]
        c = pool.const(1.0, 3.0)
        a = f"({{0}} + {c!r} * xp.eye({n}))"
        expr = template.format(a=a, b=pool.const_array((n,)))
        shift = c * np.eye(n)
        return Candidate(expr, (k,), lambda v: _well_conditioned(np.asarray(v) + shift))
    return gen


def _gen_cholesky(pool):
    k = _square(pool)
    if k is None:
        return None
    n = pool.values[k].shape[0]
    return Candidate(f"xp.linalg.cholesky({{0}} @ {{0}}.T + xp.eye({n}))", (k,))


#: primitive name -> generator, merged into OPS.
LINALG_OPS = {
    "min": _gen_amin,
    "prod": _gen_prod,
    "cumsum": _gen_scan("cumsum"),
    "cumprod": _gen_scan("cumprod"),
    "norm2": _gen_norm2,
    "einsum": _gen_einsum,
    "tril": _gen_triangle("tril"),
    "triu": _gen_triangle("triu"),
    "solve": _gen_matrix_function("xp.linalg.solve({a}, {b})"),
    "inv": _gen_matrix_function("xp.linalg.inv({a})"),
    "det": _gen_matrix_function("xp.linalg.det({a})"),
    "logabsdet": _gen_matrix_function("xp.linalg.slogdet({a})[1]"),
    "cholesky": _gen_cholesky,
}
