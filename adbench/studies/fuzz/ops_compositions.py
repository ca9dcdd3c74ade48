"""The fuzzer's generators of the xp functions made of other xp functions
(:mod:`adbench.interpret.compositions`, and the aliases fabs and true_divide).

They are not primitives: each is drawn by the generator of a primitive it is made
of (:data:`COMPOSITION_OPS` says which), in 35% of that generator's draws,
so that the node is recorded under that primitive. :data:`COMPOSITIONS_EXCLUDED`
lists the ones not drawn, with the reason; every composition is in one of the two
(tests/test_fuzz.py).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from adbench.studies.fuzz.ops import Candidate, _max_abs, _min_abs, _unary
from adbench.studies.fuzz.ops_elementwise import _pair
from adbench.studies.fuzz.program import MARGIN, MAX_SIZE

#: The share of a host primitive's draws that go to its compositions.
SHARE = 0.35


def _pick(pool, where: Callable[[np.ndarray], bool]):
    k = pool.pick(where)
    return k, (None if k is None else pool.values[k])


def _mask_literal(pool, shape: tuple) -> str:
    """A constant condition of ``shape``, as a Python literal (nested lists of bools)."""
    flags = np.array([pool.ch.boolean() for _ in range(int(np.prod(shape)))]).reshape(shape)
    return repr(bool(flags)) if not shape else repr(flags.tolist())


def _gen_select(pool):
    k = pool.pick()
    j = pool.partner(k)
    if j is None:
        return None
    shape = np.broadcast_shapes(pool.values[k].shape, pool.values[j].shape)
    first, second = _mask_literal(pool, shape), _mask_literal(pool, shape)
    return Candidate(f"xp.select([{first}, {second}], [{{0}}, {{1}}], "
                     f"{pool.const(-2, 2)!r})", (k, j))


def _gen_flips(pool):
    # a vector as a row (1, n) where no matrix is at hand: matrices are rare in programs
    k, v = _pick(pool, lambda v: v.ndim >= 1)
    if k is None:
        return None
    forms = ["xp.fliplr({0})", "xp.flipud({0})", "xp.rot90({0})",
             f"xp.rot90({{0}}, {pool.ch.integer(-1, 2)})", "xp.rot90({0}, axes=(1, 0))",
             "xp.rollaxis({0}, 1)"]
    form = pool.ch.choice(forms)
    return Candidate(form if v.ndim == 2 else form.replace("({0}", "(xp.atleast_2d({0})"),
                     (k,))


def _gen_splits(pool):
    k, v = _pick(pool, lambda v: v.ndim >= 1 and v.shape[0] >= 2)
    if k is None:
        return None
    ch = pool.ch
    n0 = v.shape[0]
    if v.ndim == 1:
        forms = [f"xp.array_split({{0}}, {ch.integer(2, n0)})[{ch.integer(0, 1)}]",
                 f"xp.hsplit({{0}}, [{ch.integer(1, n0 - 1)}])[{ch.integer(0, 1)}]"]
    else:
        forms = [f"xp.vsplit({{0}}, [{ch.integer(1, n0 - 1)}])[{ch.integer(0, 1)}]",
                 "xp.dsplit(xp.atleast_3d({0}), 1)[0][..., 0]",
                 f"xp.array_split({{0}}, 2, axis={ch.integer(0, 1)})[1]"]
    return Candidate(ch.choice(forms), (k,))


def _gen_atleast(pool):
    k, v = _pick(pool, lambda v: v.ndim <= 1)
    if k is None:
        return None
    forms = ["xp.atleast_1d({0})", "xp.atleast_2d({0})", "xp.atleast_3d({0})[0]"]
    return Candidate(pool.ch.choice(forms), (k,))


def _gen_joins(pool):
    k, v = _pick(pool, lambda v: v.ndim == 1)
    if k is None:
        return None
    j = pool.pick(lambda w: w.shape == v.shape)
    c = pool.const(-2, 2)
    forms = [f"xp.append({{0}}, {c!r})", f"xp.r_[{{0}}, {c!r}, {{1}}]", "xp.append({1}, {0})"]
    if 2 * v.size <= MAX_SIZE:
        forms += ["xp.row_stack([{0}, {1}])", "xp.column_stack([{0}, {1}])",
                  "xp.c_[{0}, {1}]"]
    return Candidate(pool.ch.choice(forms), (k, j))


def _gen_differences(pool):
    k, v = _pick(pool, lambda v: v.ndim >= 1 and v.shape[-1] >= 2)
    if k is None:
        return None
    ch = pool.ch
    n = v.shape[-1]
    forms = ["xp.diff({0})", "xp.gradient({0}, axis=-1)" if v.ndim == 2 else "xp.gradient({0})",
             f"xp.diff({{0}}, prepend={pool.const(-2, 2)!r})"]
    if n >= 3:
        forms += ["xp.diff({0}, 2)",
                  f"xp.gradient({{0}}, {pool.const(0.5, 2)!r}, edge_order=2, axis=-1)"]
    if v.ndim == 1 and n >= 3:
        coords = np.cumsum([ch.constant(0.3, 1.0) for _ in range(n)]).round(3).tolist()
        forms.append(f"xp.gradient({{0}}, {coords!r})")
    return Candidate(ch.choice(forms), (k,))


def _gen_cross(pool):
    k, v = _pick(pool, lambda v: v.ndim >= 1 and v.shape[-1] in (2, 3))
    if k is None:
        return None
    j = pool.pick(lambda w: w.ndim >= 1 and w.shape[-1] in (2, 3) and not
                  (w.shape[-1] == 2 and v.shape[-1] == 2) and w.ndim + v.ndim <= 3)
    if j is None:
        return None
    return Candidate("xp.cross({0}, {1})", (k, j))


def _gen_linspace(pool):
    k, v = _pick(pool, lambda v: v.size <= 5)
    if k is None:
        return None
    num = pool.ch.integer(2, 3)
    endpoint = pool.ch.choice(("", ", endpoint=False"))
    if pool.ch.boolean():
        j = pool.partner(k)
        if j is not None and pool.values[j].size <= 5:
            return Candidate(f"xp.linspace({{0}}, {{1}}, {num}{endpoint})", (k, j))
    return Candidate(f"xp.linspace({pool.const(-2, 2)!r}, {{0}}, {num}{endpoint})", (k,))


#: xp function -> (the primitive whose generator also draws it, generator).
COMPOSITION_OPS: dict[str, tuple[str, Callable]] = {
    "degrees": ("mul", _unary(("xp.degrees({0})", "xp.rad2deg({0})"), lambda v: _max_abs(v) <= 0.8,
                              ("xp.degrees(0.5 * xp.tanh({0}))",))),
    "radians": ("mul", _unary(("xp.radians({0})", "xp.deg2rad({0})"), None, ())),
    "fabs": ("abs", _unary("xp.fabs({0})", lambda v: _min_abs(v) >= MARGIN, ())),
    "true_divide": ("div", _pair("xp.true_divide({0}, {1})", lambda a, b: _min_abs(b) >= 0.1,
                                 "xp.true_divide({0}, {0} * {0} + {c})")),
    "logaddexp2": ("logaddexp", _pair("xp.logaddexp2({0}, {1})", lambda a, b: _max_abs(a) <= 20,
                                      None)),
    # away from 0, where SymPy's quotient sin(t)/t (the symbolic oracle) loses digits
    "sinc": ("sin", _unary("xp.sinc({0})", lambda v: _min_abs(v) >= MARGIN,
                           ("xp.sinc({0} * {0} + {c})",))),
    "nan_to_num": ("where", _unary("xp.nan_to_num({0})", None, ())),
    "select": ("where", _gen_select),
    "flips": ("getitem", _gen_flips),
    "splits": ("getitem", _gen_splits),
    "atleast": ("reshape", _gen_atleast),
    "joins": ("concatenate", _gen_joins),
    "differences": ("sub", _gen_differences),
    "cross": ("mul", _gen_cross),
    "linspace": ("add", _gen_linspace),
}

#: Every xp function drawn by a generator of COMPOSITION_OPS (by its spelling).
DRAWN = ("degrees", "rad2deg", "radians", "deg2rad", "fabs", "true_divide", "logaddexp2",
         "sinc", "nan_to_num", "select", "fliplr", "flipud", "rot90", "rollaxis",
         "array_split", "hsplit", "vsplit", "dsplit", "atleast_1d", "atleast_2d",
         "atleast_3d", "append", "r_", "row_stack", "column_stack", "c_", "diff",
         "gradient", "cross", "linspace")

#: Compositions not drawn, and why.
COMPOSITIONS_EXCLUDED: dict[str, str] = {
    "partition": "a sort (xp.sort is not drawn either): SymPy cannot order symbols, so the "
                 "symbolic oracle would answer unsupported for every program with one",
}


def with_compositions(primitive: str, gen: Callable) -> Callable:
    """The generator of ``primitive``, drawing one of its compositions in a share
    :data:`SHARE` of its draws."""
    extra = [g for host, g in COMPOSITION_OPS.values() if host == primitive]
    if not extra:
        return gen

    def drawn(pool):
        if pool.ch.boolean(SHARE):
            return pool.ch.choice(extra)(pool)
        return gen(pool)
    drawn.__name__ = f"{getattr(gen, '__name__', primitive)}_or_composition"
    return drawn
