"""The operations of the generator: one generator per primitive of the table
(:data:`OPS`), each value-aware (it keeps its arguments away from domain
boundaries and kinks by :data:`~adbench.studies.fuzz.program.MARGIN`, or guards them),
and the primitives left out with the reason (:data:`EXCLUDED`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from adbench.studies.fuzz.program import MARGIN, MAX_SIZE, Choices

@dataclass
class Candidate:
    """A proposed node and the condition its arguments must meet at x0."""

    expr: str
    args: tuple
    ok: Callable[..., bool] | None = None


class _Pool:
    """The values built so far, as the operation generators see them."""

    def __init__(self, ch: Choices, values: list):
        self.ch = ch
        self.values = values

    def pick(self, where: Callable[[np.ndarray], bool] = lambda v: True) -> int | None:
        """An existing value meeting ``where``: the newest with probability 1/2
        (deep chains), else any (fan-out, reuse)."""
        found = [k for k, v in enumerate(self.values) if where(v)]
        if not found:
            return None
        if self.ch.boolean(0.5):
            return found[-1]
        return found[self.ch.integer(0, len(found) - 1)]

    def partner(self, k: int) -> int | None:
        """A value broadcast-compatible with value k, the result not too large."""
        shape = self.values[k].shape

        def fits(v):
            try:
                out = np.broadcast_shapes(shape, v.shape)
            except ValueError:
                return False
            return len(out) <= 2 and int(np.prod(out)) <= MAX_SIZE
        return self.pick(fits)

    def const(self, lo: float, hi: float) -> float:
        return self.ch.constant(lo, hi)

    def nonzero(self, lo: float, hi: float) -> float:
        c = self.ch.constant(lo, hi)
        return c if self.ch.boolean() else -c

    def const_array(self, shape: tuple) -> str:
        data = np.array([self.ch.constant(-2, 2) for _ in range(int(np.prod(shape)))])
        return f"xp.array({data.reshape(shape).tolist()!r})"


def _min(v) -> float:
    return float(np.min(v))


def _max_abs(v) -> float:
    return float(np.max(np.abs(v)))


def _min_abs(v) -> float:
    return float(np.min(np.abs(v)))


def _unary(expr_raw: str, ok_raw, guards: Sequence[str]):
    """An elementwise unary operation: raw where its argument allows, else guarded."""
    def gen(pool: _Pool) -> Candidate | None:
        k = pool.pick()
        v = pool.values[k]
        if ok_raw is None or ok_raw(v):
            if not guards or pool.ch.boolean(0.7):
                return Candidate(pool.ch.choice(expr_raw) if isinstance(expr_raw, tuple)
                                 else expr_raw, (k,), ok_raw)
        if not guards:
            return None
        form = pool.ch.choice(guards)
        if "{c}" in form:
            form = form.replace("{c}", repr(pool.const(0.1, 2.0)))
        return Candidate(form, (k,))
    return gen


def _binary(op: str, fname: str):
    """+, -, *: two values (broadcasting) or a value and a constant, either side."""
    def gen(pool):
        k = pool.pick()
        form = pool.ch.integer(0, 3)
        if form <= 1:
            j = pool.partner(k)
            if j is None:
                return None
            return Candidate(f"{{0}} {op} {{1}}" if form == 0 else f"xp.{fname}({{0}}, {{1}})",
                             (k, j))
        c = repr(pool.const(-3, 3))
        return Candidate(f"{{0}} {op} {c}" if form == 2 else f"{c} {op} {{0}}", (k,))
    return gen


def _gen_mul(pool):
    if pool.ch.boolean(0.15):
        k = pool.pick(lambda v: v.ndim == 1)
        j = pool.pick(lambda v: v.ndim == 1)
        if k is None or pool.values[k].size * pool.values[j].size > MAX_SIZE:
            return None
        return Candidate("xp.outer({0}, {1})", (k, j))
    if pool.ch.boolean(0.15):
        return Candidate(pool.ch.choice(("xp.square({0})", "{0} * {0}")), (pool.pick(),))
    return _binary("*", "multiply")(pool)


def _gen_div(pool):
    k = pool.pick()
    form = pool.ch.integer(0, 4)
    if form <= 1:
        j = pool.partner(k)
        if j is None:
            return None
        spelled = "{0} / {1}" if form == 0 else "xp.divide({0}, {1})"
        return Candidate(spelled, (k, j), lambda a, b: _min_abs(b) >= 0.1)
    if form == 2:
        j = pool.partner(k)
        if j is None:
            return None
        return Candidate(f"{{0}} / ({{1}} * {{1}} + {pool.const(0.2, 2)!r})", (k, j))
    if form == 3:
        return Candidate(f"{pool.const(-3, 3)!r} / {{0}}", (k,), lambda a: _min_abs(a) >= 0.1)
    return Candidate(f"{{0}} / {pool.nonzero(0.5, 3)!r}", (k,))


def _gen_pow(pool):
    k = pool.pick()
    form = pool.ch.integer(0, 4)
    if form == 0:
        return Candidate(pool.ch.choice(("{0} ** 2", "{0} ** 3", "xp.power({0}, 2)")), (k,))
    if form == 1:
        p = pool.ch.choice((0.5, 1.5, 2.5, -0.5, -1.0, -2))
        return Candidate(f"{{0}} ** {p!r}", (k,), lambda a: _min(a) >= 0.1)
    if form == 2:
        return Candidate(f"{pool.const(0.5, 3)!r} ** {{0}}", (k,), lambda a: _max_abs(a) <= 5)
    j = pool.partner(k)
    if j is None:
        return None
    spelled = "{0} ** {1}" if form == 3 else "xp.power({0}, {1})"
    return Candidate(spelled, (k, j), lambda a, b: _min(a) >= 0.1 and _max_abs(b) <= 3)


def _extremum(fname: str):
    def gen(pool):
        k = pool.pick()
        if pool.ch.boolean():
            j = pool.partner(k)
            if j is None:
                return None
            return Candidate(f"xp.{fname}({{0}}, {{1}})", (k, j),
                             lambda a, b: _min_abs(np.subtract(a, b)) >= MARGIN)
        c = pool.const(-2, 2)
        return Candidate(f"xp.{fname}({{0}}, {c!r})", (k,),
                         lambda a: _min_abs(np.subtract(a, c)) >= MARGIN)
    return gen


def _gen_where(pool):
    # A scalar condition only: `v > c` on an object array of SymPy expressions
    # makes numpy ask bool() of each Relational, which SymPy refuses (a limit
    # of xp.sympy_xp: symbolic would say "unsupported" for every such program).
    k = pool.pick(lambda v: v.ndim == 0)
    if k is None:
        return None
    j = pool.partner(k)
    i = pool.partner(k)
    if j is None or i is None:
        return None
    try:
        np.broadcast_shapes(pool.values[k].shape, pool.values[j].shape, pool.values[i].shape)
    except ValueError:
        return None
    c = pool.const(-2, 2)
    op = pool.ch.choice((">", "<", ">=", "<="))
    return Candidate(f"xp.where({{0}} {op} {c!r}, {{1}}, {{2}})", (k, j, i),
                     lambda a, b, d: _min_abs(np.subtract(a, c)) >= MARGIN)


def _gen_sign(pool):
    k = pool.pick()
    j = pool.partner(k)
    if j is None:
        return None
    # sign alone has derivative 0; times another value it matters in the product rule
    return Candidate("xp.sign({0}) * {1}", (k, j), lambda a, b: _min_abs(a) >= MARGIN)


def _gen_abs(pool):
    return Candidate(pool.ch.choice(("abs({0})", "xp.abs({0})", "xp.absolute({0})")),
                     (pool.pick(),), lambda a: _min_abs(a) >= MARGIN)


def _gen_sum(pool):
    k = pool.pick(lambda v: v.ndim >= 1)
    if k is None:
        return None
    v = pool.values[k]
    forms = ["xp.sum({0})", "{0}.sum()", "xp.mean({0})"]
    if v.ndim == 2:
        ax = pool.ch.integer(-2, 1)
        forms += [f"xp.sum({{0}}, axis={ax})", f"xp.sum({{0}}, axis={ax}, keepdims=True)",
                  f"{{0}}.sum(axis={ax})", f"xp.mean({{0}}, axis={ax})"]
    return Candidate(pool.ch.choice(forms), (k,))


def _gap(v) -> float:
    flat = np.sort(np.ravel(v))
    return float("inf") if flat.size < 2 else float(flat[-1] - flat[-2])


def _gen_amax(pool):
    # Whole-array xp.max only: SymPy's xp.max refuses an axis, and the method
    # spelling v.max() on an object array compares SymPy expressions with bool()
    # (both limits of xp.sympy_xp: symbolic would say "unsupported"). At most 4
    # entries: SymPy's diff of Max(a1..ak) re-orders the other k - 1 arguments for
    # each partial (Max._find_localzeros, factor_terms); on log/outer entries it took
    # 1.1 s for k = 4, 10 s for k = 9 and over 60 s for k = 16 (adbench fuzz --seed 2
    # --first 341 --examples 1 timed out).
    k = pool.pick(lambda v: 1 <= v.ndim and v.size <= 4)
    if k is None:
        return None
    return Candidate(pool.ch.choice(("xp.max({0})", "xp.amax({0})")), (k,),
                     lambda a: _gap(a) >= MARGIN)


def _gen_logsumexp(pool):
    k = pool.pick(lambda v: v.ndim >= 1)
    if k is None:
        return None
    forms = ["xp.logsumexp({0})"]
    if pool.values[k].ndim == 2:
        ax = pool.ch.integer(-2, 1)
        forms += [f"xp.logsumexp({{0}}, axis={ax})",
                  f"xp.logsumexp({{0}}, axis={ax}, keepdims=True)"]
    # SymPy's logsumexp is the unshifted log(sum(exp)), compiled to float64: keep exp finite
    return Candidate(pool.ch.choice(forms), (k,), lambda a: _max_abs(a) <= 30)


def _gen_matmul(pool):
    k = pool.pick(lambda v: v.ndim >= 1)
    if k is None:
        return None
    a = pool.values[k]
    inner = a.shape[-1]
    spell = pool.ch.choice(("{0} @ {1}", "xp.matmul({0}, {1})", "xp.dot({0}, {1})"))
    if pool.ch.boolean(0.4):
        j = pool.pick(lambda v: v.ndim >= 1 and v.shape[0] == inner
                      and int(np.prod(a.shape[:-1] + v.shape[1:])) <= MAX_SIZE)
        if j is not None:
            return Candidate(spell, (k, j))
    if pool.ch.boolean():  # value @ constant
        shape = (inner,) if pool.ch.boolean(0.3) else (inner, pool.ch.integer(1, 3))
        return Candidate(spell.replace("{1}", pool.const_array(shape)), (k,))
    # constant @ value
    return Candidate(spell.format(pool.const_array((pool.ch.integer(1, 3), a.shape[0])), "{0}"),
                     (k,))


def _gen_rearrange(pool, k: int) -> Candidate | None:
    """The shape family's selections of a value (each a getitem underneath).

    xp.sort is not drawn: SymPy cannot order symbols, so symbolic would answer
    "unsupported" for every program with one."""
    v = pool.values[k]
    ch = pool.ch
    n0 = v.shape[0]
    forms = ["xp.flip({0})", f"xp.roll({{0}}, {ch.integer(-n0, n0)})",
             f"xp.take({{0}}, {[ch.integer(-n0, n0 - 1) for _ in range(ch.integer(1, 3))]!r})"]
    if v.ndim == 2:
        forms += [f"xp.flip({{0}}, axis={ch.integer(0, 1)})", "xp.moveaxis({0}, 0, 1)",
                  f"xp.roll({{0}}, 1, axis={ch.integer(0, 1)})", "xp.take({0}, [0], axis=1)"]
    if v.size * 2 <= MAX_SIZE:
        forms.append("xp.repeat({0}, 2, axis=0)" if v.ndim == 2 else "xp.repeat({0}, 2)")
    if v.ndim == 1 and n0 >= 2:
        forms.append(f"xp.split({{0}}, [{ch.integer(1, n0 - 1)}])[{ch.integer(0, 1)}]")
    if v.ndim == 1 and n0 + 2 <= MAX_SIZE:
        forms.append(ch.choice(("xp.pad({0}, (1, 1), mode='edge')", "xp.pad({0}, 1, mode='wrap')",
                                "xp.pad({0}, (0, 2), mode='reflect')" if n0 >= 3 else
                                "xp.pad({0}, (2, 0), mode='symmetric')")))
    return Candidate(ch.choice(forms), (k,))


def _gen_getitem(pool):
    k = pool.pick(lambda v: v.ndim >= 1)
    if k is None:
        return None
    if pool.ch.boolean(0.3):
        return _gen_rearrange(pool, k)
    v = pool.values[k]
    ch = pool.ch
    n0 = v.shape[0]
    if v.ndim == 1:
        form = ch.integer(0, 3)
        if form == 0:
            return Candidate(f"{{0}}[{ch.integer(-n0, n0 - 1)}]", (k,))
        if form == 1:
            lo = ch.integer(0, n0 - 1)
            hi = ch.integer(lo + 1, n0)
            return Candidate(f"{{0}}[{lo}:{hi}]", (k,))
        if form == 2:
            return Candidate("{0}[::-1]", (k,))
        idx = [ch.integer(0, n0 - 1) for _ in range(ch.integer(1, 4))]
        return Candidate(f"{{0}}[{idx!r}]", (k,))  # repeated indices: np.add.at in reverse
    n1 = v.shape[1]
    form = ch.integer(0, 3)
    if form == 0:
        return Candidate(f"{{0}}[{ch.integer(0, n0 - 1)}]", (k,))
    if form == 1:
        return Candidate(f"{{0}}[:, {ch.integer(-n1, n1 - 1)}]", (k,))
    if form == 2:
        return Candidate(f"{{0}}[{ch.integer(0, n0 - 1)}, {ch.integer(0, n1 - 1)}]", (k,))
    return Candidate("{0}[::-1, 1:]" if n1 > 1 else "{0}[::-1]", (k,))


def _gen_reshape(pool):
    k = pool.pick()
    v = pool.values[k]
    ch = pool.ch
    if v.ndim == 2:
        return Candidate(ch.choice(("xp.ravel({0})", "{0}.ravel()", "{0}.reshape(-1)",
                                    "xp.reshape({0}, (-1,))")), (k,))
    if v.ndim == 0:
        return Candidate(ch.choice(("xp.reshape({0}, (1,))", "xp.expand_dims({0}, 0)")), (k,))
    if v.ndim == 1 and ch.boolean(0.2):
        return Candidate(ch.choice(("xp.expand_dims({0}, 0)", "xp.expand_dims({0}, -1)",
                                    "xp.squeeze(xp.expand_dims({0}, 1))")), (k,))
    s = v.size
    splits = [(p, s // p) for p in range(2, s) if s % p == 0]
    if not splits:
        return Candidate("xp.reshape({0}, (1, -1))", (k,))
    p, q = ch.choice(splits)
    return Candidate(ch.choice((f"xp.reshape({{0}}, ({p}, {q}))", f"{{0}}.reshape({p}, {q})",
                                f"{{0}}.reshape(({p}, -1))")), (k,))


def _gen_transpose(pool):
    k = pool.pick(lambda v: v.ndim == 2)
    if k is None:
        return None
    return Candidate(pool.ch.choice(("{0}.T", "xp.transpose({0})")), (k,))


def _gen_swapaxes(pool):
    k = pool.pick(lambda v: v.ndim == 2)
    if k is None:
        return None
    return Candidate("xp.swapaxes({0}, 0, 1)", (k,))


def _gen_broadcast_to(pool):
    k = pool.pick(lambda v: v.ndim <= 1)
    v = pool.values[k]
    rows = pool.ch.integer(1, 3)
    if v.ndim == 1 and pool.ch.boolean(0.3):  # xp.tile: a broadcast, then a reshape
        spelled = pool.ch.choice((f"xp.tile({{0}}, {rows})", f"xp.tile({{0}}, ({rows}, 1))"))
        return Candidate(spelled, (k,))
    shape = (rows,) if v.ndim == 0 else (rows, v.shape[0])
    return Candidate(f"xp.broadcast_to({{0}}, {shape!r})", (k,))


def _gen_concatenate(pool):
    k = pool.pick(lambda v: v.ndim == 1)
    if k is None:
        return None
    if pool.ch.boolean(0.3):
        return Candidate(f"xp.concatenate([{{0}}, {pool.const_array((pool.ch.integer(1, 2),))}])",
                         (k,))
    j = pool.pick(lambda v: v.ndim == 1)
    if pool.values[k].size + 2 <= MAX_SIZE and pool.ch.boolean(0.2):  # a scatter into zeros
        return Candidate(f"xp.pad({{0}}, (1, 1), constant_values={pool.const(-2, 2)!r})", (k,))
    if pool.values[k].shape == pool.values[j].shape and 2 * pool.values[k].size <= MAX_SIZE \
            and pool.ch.boolean(0.2):
        return Candidate("xp.vstack([{0}, {1}])", (k, j))
    return Candidate(pool.ch.choice(("xp.concatenate([{0}, {1}])", "xp.concatenate([{1}, {0}])",
                                     "xp.hstack([{0}, {1}])")), (k, j))


def _gen_stack(pool):
    k = pool.pick(lambda v: v.ndim <= 1)
    shape = pool.values[k].shape
    j = pool.pick(lambda v: v.shape == shape)
    if shape == () and pool.ch.boolean(0.4):
        c = pool.const(-2, 2)
        return Candidate(pool.ch.choice((f"xp.array([{{0}}, {c!r}, {{1}}])",
                                         "xp.array([{0}, {1}])")), (k, j))
    return Candidate(pool.ch.choice(("xp.stack([{0}, {1}])", "xp.stack([{1}, {0}])")), (k, j))


# The generators of the other elementwise functions and of the reductions and linear
# algebra, in modules of their own; they read the helpers above, so they are imported
# here, once those exist.
from adbench.studies.fuzz.ops_elementwise import ELEMENTWISE_OPS  # noqa: E402
from adbench.studies.fuzz.ops_linalg import LINALG_OPS  # noqa: E402

#: primitive name -> generator of a node exercising it.
OPS: dict[str, Callable[[_Pool], Candidate | None]] = {
    "add": _binary("+", "add"),
    "sub": _binary("-", "subtract"),
    "mul": _gen_mul,
    "div": _gen_div,
    "neg": _unary(("-{0}", "xp.negative({0})"), None, ()),
    "pow": _gen_pow,
    "exp": _unary("xp.exp({0})", lambda v: np.max(v) <= 3,
                  ("xp.exp(xp.tanh({0}))", "xp.exp(-{0} * {0})")),
    "log": _unary("xp.log({0})", lambda v: _min(v) >= MARGIN, ("xp.log({0} * {0} + {c})",)),
    "log1p": _unary("xp.log1p({0})", lambda v: _min(v) >= -1 + MARGIN, ("xp.log1p({0} * {0})",)),
    "expm1": _unary("xp.expm1({0})", lambda v: np.max(v) <= 3, ("xp.expm1(xp.sin({0}))",)),
    "sin": _unary("xp.sin({0})", None, ()),
    "cos": _unary("xp.cos({0})", None, ()),
    "tan": _unary("xp.tan({0})", lambda v: _max_abs(v) <= 1.2, ("xp.tan(xp.tanh({0}))",)),
    "tanh": _unary("xp.tanh({0})", None, ()),
    "sqrt": _unary("xp.sqrt({0})", lambda v: _min(v) >= MARGIN, ("xp.sqrt({0} * {0} + {c})",)),
    "sign": _gen_sign,
    "abs": _gen_abs,
    "maximum": _extremum("maximum"),
    "minimum": _extremum("minimum"),
    "where": _gen_where,
    "sum": _gen_sum,
    "max": _gen_amax,
    "logsumexp": _gen_logsumexp,
    "matmul": _gen_matmul,
    "getitem": _gen_getitem,
    "reshape": _gen_reshape,
    "transpose": _gen_transpose,
    "swapaxes": _gen_swapaxes,
    "broadcast_to": _gen_broadcast_to,
    "concatenate": _gen_concatenate,
    "stack": _gen_stack,
    **ELEMENTWISE_OPS,
    **LINALG_OPS,
}

# The xp functions made of other xp functions are drawn by the generators of the
# primitives they are made of (adbench.studies.fuzz.ops_compositions).
from adbench.studies.fuzz.ops_compositions import with_compositions  # noqa: E402

OPS = {name: with_compositions(name, gen) for name, gen in OPS.items()}

#: Primitives of the table that are not generated directly, and why.
EXCLUDED: dict[str, str] = {
    "untake": "internal: the transpose of getitem, run by every reverse pass through an index",
    "imag": "internal to the complex-step method (complex values), not a real-valued operation",
    "checkpoint": "a call of a function (adbench.ad.checkpoint), not an operation to "
                  "generate",
    "round": "SymPy has no round-half-to-even, so the symbolic oracle could not check it "
             "(floor and ceil, generated, exercise the same zero derivative)",
}

#: Relative weights: structure and arithmetic more often than the rest.
_WEIGHTS = {"getitem": 4, "add": 3, "sub": 2, "mul": 3, "sin": 1, "exp": 1, "div": 2,
            "sum": 2, "matmul": 2}
