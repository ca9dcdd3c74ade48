"""Differential fuzzing: random programs from the primitive table, with every
differentiator an oracle for the others.

A *program* is a small random DAG of operations over the inputs x (length n),
ending in m outputs. Each node is one Python expression over earlier values,
spelled as a problem file spells it (``xp.log(v2)``, ``v1 @ v3``, ``v4[::-1]``,
``2.5 ** v1``...), and exercising one entry of
:data:`adbench.interpret.primitives.PRIMITIVES` (:data:`OPS` says which; every entry of
the table is either generated or listed in :data:`EXCLUDED` with the reason).
A program becomes an ordinary :class:`~adbench.problem.Problem` whose ``f``
walks the DAG with ``xp``, so it runs under every interpretation, and prints
as the source of a problem file (:meth:`Program.source`) that reproduces it
under ``--problems-dir``.

Generation is value-aware: the generator evaluates each candidate node at x0
and keeps it only if its value is finite, bounded (|v| <= :data:`BOUND`) and,
for an operation with a restricted domain or a kink, at least :data:`MARGIN`
away from the boundary (log and sqrt of values >= 0.05, division by |d| >=
0.1, tan of |v| <= 1.2, abs/maximum/where/max away from their kinks, ...), or
else wraps the argument in a guard (``xp.log(v * v + c)``,
``xp.tan(xp.tanh(v))``, ``v / (w * w + c)``). The margins keep finite
differences (steps ~6e-6) on one side of every kink.

:func:`check_program` then demands (see :data:`TOLERANCE`):

* ad-forward, ad-reverse and symbolic agree pairwise, and each agrees with the
  80-digit mpmath reference, to rho <= 1e-10 (no manual Jacobian exists);
* f in float64 agrees with the reference value;
* fd-central is within its error bound, per entry: 10 x (truncation
  |f'''| h^2 / 6, with f''' from three nested forward passes, plus rounding
  2 c eps S_j / (2h), where S_j = |f_j| + sum over nodes of |df_j/dv| |v| is
  the first-order sensitivity of f_j to a relative error in each node, found by
  reverse mode over per-node perturbations);
* the second derivatives by forward-over-forward, forward-over-reverse,
  reverse-over-forward and reverse-over-reverse agree;
* each method's ``traceable`` form (what op counting runs) gives its Jacobian;
* the checks of :data:`EXTRA_CHECKS`: the op-count bounds of the measurements
  issue (:func:`op_count_bounds`: one JVP and one reverse pass under 6 ops(f),
  fd-central exactly 2n evaluations of f).

:func:`shrink` reduces a failing program to a smallest one with the same kind
of finding, and :func:`fuzz` drives it all for ``adbench fuzz``.
"""

from __future__ import annotations

import functools
import random
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from adbench.ad import jacfwd, jacrev, jvp
from adbench.interpret import primitives as P
from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import rho
from adbench.measure.isolation import one_line, run_isolated
from adbench.measure.reference import reference_jacobian
from adbench.methods import METHODS, Unsupported
from adbench.methods.finite import EPS, default_step
from adbench.problem import Problem

__all__ = ["Node", "Program", "Finding", "OPS", "EXCLUDED", "generate", "programs",
           "check_program", "shrink", "fuzz", "RandomChoices", "TOLERANCE", "EXTRA_CHECKS",
           "FuzzReport", "KNOWN_LIMITATIONS", "unexpected"]

#: Largest |value| a node may take at x0.
BOUND = 50.0
#: Least distance of an argument from a domain boundary or a kink, at x0.
MARGIN = 0.05
#: Agreement demanded of the exact methods (rho, see adbench.measure.accuracy).
TOLERANCE = 1e-10
#: Largest size of a node's value, and of the output.
MAX_SIZE = 16
#: Exact methods: each must agree with the others and with the reference.
EXACT = ("ad-forward", "ad-reverse", "symbolic")
#: Rounding errors per node (a node's expression has up to ~3 primitives).
OPS_PER_NODE = 4
#: Safety factor of the finite-difference error bound.
FD_SAFETY = 10.0


# --------------------------------------------------------------------------
# Sources of random decisions: seeded random (the CLI) and hypothesis (tests)
# --------------------------------------------------------------------------

class Choices:
    """The decisions a generator makes; subclasses supply :meth:`integer`."""

    def integer(self, lo: int, hi: int) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def choice(self, options: Sequence):
        return options[self.integer(0, len(options) - 1)]

    def boolean(self, p: float = 0.5) -> bool:
        return self.integer(0, 999) < p * 1000

    def constant(self, lo: float, hi: float, digits: int = 2) -> float:
        """A number with few decimals (it prints exactly, and SymPy's 15-digit
        Floats represent it exactly)."""
        scale = 10 ** digits
        return round(self.integer(round(lo * scale), round(hi * scale)) / scale, digits)


class RandomChoices(Choices):
    """Decisions from :class:`random.Random` (string seeds are stable across runs)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def integer(self, lo, hi):
        return self.rng.randint(lo, hi)


class HypothesisChoices(Choices):
    """Decisions drawn by hypothesis, which can then shrink them."""

    def __init__(self, draw):
        from hypothesis import strategies as st
        self.draw = draw
        self.st = st

    def integer(self, lo, hi):
        return self.draw(self.st.integers(lo, hi))


# --------------------------------------------------------------------------
# Programs
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    """One operation: ``expr`` is Python with ``{0}``, ``{1}``... for its
    arguments, ``args`` their value indices (0 is x, k >= 1 is node k)."""

    expr: str
    args: tuple
    primitive: str  # the PRIMITIVES entry this node is generated for


@functools.lru_cache(maxsize=4096)
def _compiled(expr: str, nargs: int) -> Callable:
    names = [f"a{i}" for i in range(nargs)]
    return eval(f"lambda xp, {', '.join(names)}: {expr.format(*names)}")  # noqa: S307


def _name(k: int) -> str:
    return "x" if k == 0 else f"v{k}"


@dataclass(frozen=True, repr=False)
class Program:
    """A random program: inputs x (length n, point x0), nodes, outputs."""

    x0: tuple
    nodes: tuple
    outputs: tuple

    @property
    def n(self) -> int:
        return len(self.x0)

    def walk(self, x, xp, perturb=None):
        """Evaluate the DAG with ``xp``; ``perturb`` (a flat vector, one entry per
        scalar of every node) is added to the node values: its derivative is the
        sensitivity of the outputs to each node (see the fd error bound)."""
        values = [x]
        offset = 0
        for node in self.nodes:
            v = _compiled(node.expr, len(node.args))(xp, *(values[a] for a in node.args))
            if perturb is not None:
                shape = P.shape_of(v)
                size = int(np.prod(shape, dtype=int))
                piece = perturb[offset] if shape == () else \
                    P.reshape(perturb[offset:offset + size], shape)
                v = v + piece
                offset += size
            values.append(v)
        return _output_expr([values[k] for k in self.outputs], xp)

    def values(self) -> list:
        """Every value (x, then each node) at x0 in float64."""
        values = [np.array(self.x0, dtype=float)]
        with np.errstate(all="ignore"):
            for node in self.nodes:
                values.append(np.asarray(
                    _compiled(node.expr, len(node.args))(numpy_xp, *(values[a] for a in node.args)),
                    dtype=float))
        return values

    @property
    def m(self) -> int:
        vals = self.values()
        return int(sum(vals[k].size for k in self.outputs))

    def problem(self, name: str = "fuzz-program") -> Problem:
        program = self

        def f(x, xp):
            return program.walk(x, xp)

        return Problem(f, name=name, n=self.n, m=self.m, x0=list(self.x0), tags=["fuzz"],
                       description="a random program of adbench fuzz", source="<fuzz>")

    # --- printing -----------------------------------------------------------

    def body(self) -> list[str]:
        lines = [f"v{k} = {node.expr.format(*map(_name, node.args))}"
                 for k, node in enumerate(self.nodes, start=1)]
        lines.append(f"return {_output_source(self)}")
        return lines

    def source(self, name: str = "fuzz-program", comment: str = "") -> str:
        """A problem file reproducing the program (drop it into --problems-dir)."""
        fname = name.replace("-", "_")
        head = "".join(f"# {line}\n" for line in comment.splitlines()) if comment else ""
        body = "".join(f"    {line}\n" for line in self.body())
        return (f"{head}from adbench import problem\n\n\n"
                f"@problem(name={name!r}, n={self.n}, m={self.m}, x0={list(self.x0)!r}, "
                f"tags=[\"fuzz\"],\n         description=\"a program found by adbench fuzz\")\n"
                f"def {fname}(x, xp):\n{body}")

    def __repr__(self) -> str:
        return "\n".join([f"Program(n={self.n}, x0={list(self.x0)!r}):"] +
                         [f"    {line}" for line in self.body()])

    def size(self) -> int:
        return len(self.nodes)


def _output_source(program: Program) -> str:
    vals = program.values()
    outs = program.outputs
    if len(outs) == 1:
        k = outs[0]
        return _name(k) if vals[k].ndim <= 1 else f"xp.ravel({_name(k)})"
    return "xp.concatenate([" + ", ".join(f"xp.ravel({_name(k)})" for k in outs) + "])"


def _output_expr(outs: list, xp):
    if len(outs) == 1:
        return outs[0] if np.ndim(P.primal(outs[0])) <= 1 else xp.ravel(outs[0])
    return xp.concatenate([xp.ravel(o) for o in outs])


# --------------------------------------------------------------------------
# The operations: one generator per primitive of the table
# --------------------------------------------------------------------------

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


def _gen_getitem(pool):
    k = pool.pick(lambda v: v.ndim >= 1)
    if k is None:
        return None
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
        return Candidate("xp.reshape({0}, (1,))", (k,))
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
    return Candidate(pool.ch.choice(("xp.concatenate([{0}, {1}])", "xp.concatenate([{1}, {0}])")),
                     (k, j))


def _gen_stack(pool):
    k = pool.pick(lambda v: v.ndim <= 1)
    shape = pool.values[k].shape
    j = pool.pick(lambda v: v.shape == shape)
    if shape == () and pool.ch.boolean(0.4):
        c = pool.const(-2, 2)
        return Candidate(pool.ch.choice((f"xp.array([{{0}}, {c!r}, {{1}}])",
                                         "xp.array([{0}, {1}])")), (k, j))
    return Candidate(pool.ch.choice(("xp.stack([{0}, {1}])", "xp.stack([{1}, {0}])")), (k, j))


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
}

#: Primitives of the table that are not generated directly, and why.
EXCLUDED: dict[str, str] = {
    "untake": "internal: the transpose of getitem, run by every reverse pass through an index",
    "imag": "internal to the complex-step method (complex values), not a real-valued operation",
    "checkpoint": "a call of a function (adbench.ad.checkpoint), not an operation to "
                  "generate",
}

#: Relative weights: structure and arithmetic more often than the rest.
_WEIGHTS = {"getitem": 4, "add": 3, "sub": 2, "mul": 3, "sin": 1, "exp": 1, "div": 2,
            "sum": 2, "matmul": 2}


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------

def _accept(values: list, cand: Candidate) -> np.ndarray | None:
    """The candidate's value at x0, or None if it is not finite, too large,
    too close to a boundary, or raises."""
    args = [values[a] for a in cand.args]
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise", under="ignore"):
            if cand.ok is not None and not cand.ok(*args):
                return None
            v = np.asarray(_compiled(cand.expr, len(cand.args))(numpy_xp, *args), dtype=float)
    except (FloatingPointError, ValueError, TypeError, IndexError, ZeroDivisionError,
            OverflowError):
        return None
    if v.ndim > 2 or v.size > MAX_SIZE or v.size == 0 or not np.all(np.isfinite(v)):
        return None
    if np.max(np.abs(v)) > BOUND:
        return None
    return v


def _op_names() -> list[str]:
    names = []
    for name in OPS:
        names.extend([name] * _WEIGHTS.get(name, 1))
    return names


def generate(ch: Choices, *, max_nodes: int = 8, max_n: int = 4, max_m: int = 4) -> Program:
    """A random valid program (see the module docstring)."""
    n = ch.integer(1, max_n)
    x0 = tuple(ch.constant(-2, 2) for _ in range(n))
    values = [np.array(x0)]
    nodes: list[Node] = []
    names = _op_names()
    target = max(ch.integer(1, max_nodes), ch.integer(1, max_nodes))  # larger more often
    attempts = 0
    while len(nodes) < target and attempts < 8 * max_nodes:
        attempts += 1
        op = ch.choice(names)
        cand = OPS[op](_Pool(ch, values))
        if cand is None:
            continue
        v = _accept(values, cand)
        if v is None:
            continue
        nodes.append(Node(cand.expr, tuple(cand.args), op))
        values.append(v)
    if not nodes:  # every attempt was rejected: a plain sine of the first input
        nodes.append(Node("xp.sin({0}[0])", (0,), "sin"))
        values.append(np.sin(values[0][:1][0]))
    if all(v.size > max_m for v in values[1:]):  # only large values: sum the last one
        nodes.append(Node("xp.sum({0})", (len(values) - 1,), "sum"))
        values.append(np.sum(values[-1]))
    outputs = _choose_outputs(ch, nodes, values, max_m)
    return _dead_code_removed(Program(x0, tuple(nodes), tuple(outputs)))


def _choose_outputs(ch: Choices, nodes: list, values: list, max_m: int) -> list[int]:
    """Outputs: the sinks of the DAG (values nothing else uses), newest first,
    as many as fit in ``max_m`` entries, so that most nodes stay live; then
    maybe another value. At least one output."""
    used = {a for node in nodes for a in node.args}
    sinks = [k for k in range(len(values) - 1, 0, -1) if k not in used]
    outputs, budget = [], max_m
    for k in sinks:
        if values[k].size <= budget and (not outputs or ch.boolean(0.8)):
            outputs.append(k)
            budget -= values[k].size
    if not outputs:
        small = [k for k in range(1, len(values)) if values[k].size <= max_m]
        outputs = [small[-1]]
        budget = max_m - values[outputs[0]].size
    fits = [k for k in range(1, len(values)) if k not in outputs and values[k].size <= budget]
    if fits and ch.boolean(0.2):
        outputs.append(ch.choice(fits))
    return outputs


def _dead_code_removed(program: Program) -> Program:
    """Drop the nodes no output depends on, renumbering the rest."""
    live = set(program.outputs)
    for k in range(len(program.nodes), 0, -1):
        if k in live:
            live.update(program.nodes[k - 1].args)
    keep = [k for k in range(1, len(program.nodes) + 1) if k in live]
    new_index = {0: 0, **{k: i for i, k in enumerate(keep, start=1)}}
    nodes = tuple(Node(program.nodes[k - 1].expr,
                       tuple(new_index[a] for a in program.nodes[k - 1].args),
                       program.nodes[k - 1].primitive) for k in keep)
    return Program(program.x0, nodes, tuple(new_index[k] for k in program.outputs))


def programs(max_nodes: int = 8, max_n: int = 4, max_m: int = 4):
    """A hypothesis strategy of random programs."""
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw):
        return generate(HypothesisChoices(draw), max_nodes=max_nodes, max_n=max_n, max_m=max_m)
    return strategy()


# --------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """A disagreement: ``check`` names its kind (used to group and shrink)."""

    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


def _worst(a: np.ndarray, b: np.ndarray) -> tuple[float, tuple]:
    err = rho(a, b)
    if err.size == 0:
        return 0.0, ()
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    return float(err[idx]), tuple(int(i) for i in idx)


def _disagree(check: str, a: np.ndarray, b: np.ndarray, tol: float) -> Finding | None:
    if a.shape != b.shape:
        return Finding(check, f"shapes {a.shape} and {b.shape}")
    worst, idx = _worst(a, b)
    if worst <= tol:
        return None
    return Finding(check, f"rho {worst:.3g} at {list(idx)}: {a[idx]!r} vs {b[idx]!r}")


@dataclass
class Evaluation:
    """What the checks see: the program, its instance, each method's Jacobian
    at x0 and the value of its traceable form there (an array, or the
    exception it raised), and the reference."""

    program: Program
    inst: object
    jacobians: dict = field(default_factory=dict)
    traceables: dict = field(default_factory=dict)
    reference: object = None


#: The survey's bound on the cost of one AD pass in units of ops(f) (c < 6).
PASS_COST_BOUND = 6.0
#: Programs with fewer operations are not held to the bound: there the constant
#: work of a pass (an index read is free in f, but accumulating its adjoint is an
#: addition; a where's unselected branch still receives a zero cotangent) is of
#: the order of f itself. Example: where(x0 > 0.5, x1, x0 * x1) has ops(f) = 1
#: and its reverse-mode Jacobian executes 7 operations.
MIN_OPS_FOR_BOUND = 10


def op_count_bounds(ev: Evaluation) -> list[Finding]:
    """The op-count bounds of the measurements issue, by the op counter
    (:mod:`adbench.interpret.counting`): one JVP and one reverse pass (recording included)
    each cost under 6 ops(f); the Jacobians by ad-forward and ad-reverse under
    6 n ops(f) and 6 m ops(f); fd-central evaluates f exactly 2n times. Programs
    with fewer than MIN_OPS_FOR_BOUND operations are skipped (see there)."""
    from adbench.interpret.counting import count_ops

    inst = ev.inst
    x0 = np.array(ev.program.x0, dtype=float)
    with np.errstate(all="ignore"):
        ops_f = count_ops(lambda v: inst.f(v, numpy_xp), x0).ops
        if ops_f < MIN_OPS_FOR_BOUND:
            return []
        seed = np.ones(inst.n)
        costs = {
            "one JVP": (count_ops(lambda v: jvp(inst.f)(v, seed), x0).ops, 1),
            "ad-forward Jacobian": (
                count_ops(METHODS["ad-forward"].prepare(inst).traceable, x0).ops, inst.n),
            "ad-reverse Jacobian": (
                count_ops(METHODS["ad-reverse"].prepare(inst).traceable, x0).ops, inst.m),
        }
        fd = METHODS["fd-central"].prepare(inst)
        fd.jacobian(x0.copy())
    findings = []
    for what, (ops, passes) in costs.items():
        if ops > PASS_COST_BOUND * passes * ops_f:
            findings.append(Finding(
                "op count over bound",
                f"{what}: {ops} ops > {PASS_COST_BOUND:g} x {passes} pass(es) x ops(f) = {ops_f}"))
    if fd.info.get("f_evaluations") != 2 * inst.n:
        findings.append(Finding("op count over bound",
                                f"fd-central evaluated f {fd.info.get('f_evaluations')} "
                                f"times, not 2n = {2 * inst.n}"))
    return findings


#: Extra checks ``check(evaluation) -> list[Finding]``, run after the built-in ones
#: (``--skip extra`` leaves them out): the op-count bounds.
EXTRA_CHECKS: list[Callable[[Evaluation], list[Finding]]] = [op_count_bounds]

#: Kinds of finding that are known limitations rather than bugs, and why.
#: ``adbench fuzz`` lists them apart and they do not fail it.
KNOWN_LIMITATIONS: dict[str, str] = {
    "symbolic timeout":
        "SymPy's work has no bound (expression swell; assumption queries when a Piecewise "
        "condition contains another, as in nested xp.where): a run reports such a "
        "measurement as a timeout row",
    "symbolic traceable raised NotImplementedError":
        "methods.symbolic.evaluate_xp (what op counting runs for symbolic) maps only the "
        "primitive table's functions (and Piecewise, its conditions, Max, Min, Heaviside); "
        "SymPy writes the derivative of abs(u), for a u it cannot prove real (x ** x), with "
        "re, im and arg",
}

#: The checks check_program can run, in order; ``skip`` takes names from here.
CHECKS = ("methods", "traceable", "exact", "reference", "fd", "second-order", "extra")


#: Time limit of the symbolic method inside a check (SymPy's work is unbounded).
SYMBOLIC_TIMEOUT = 20.0


def _evaluate_method(name: str, inst, x0: np.ndarray) -> tuple:
    """``(findings, J, T)``: method ``name``'s Jacobian at x0 and its traceable
    form evaluated there (T is None without one, or the exception it raised)."""
    try:
        prepared = METHODS[name].prepare(inst)
        J = prepared.jacobian(x0.copy())
    except Unsupported as exc:
        return [Finding(f"{name} unsupported", one_line(exc))], None, None
    except Exception as exc:  # noqa: BLE001 - a crash of a method is a finding
        return [Finding(f"{name} raised {type(exc).__name__}", one_line(exc))], None, None
    if not np.all(np.isfinite(J)):
        return [Finding(f"{name} not finite", f"{J.tolist()!r}")], None, None
    T = None
    if prepared.traceable is not None:
        try:
            T = np.asarray(P.primal(prepared.traceable(x0.copy())), dtype=float).reshape(J.shape)
        except Exception as exc:  # noqa: BLE001 - reported by the traceable check
            T = exc
    return [], J, T


def _symbolic_isolated(name, inst, x0):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _evaluate_method(name, inst, x0)


@functools.cache
def warm_up() -> None:
    """Run the symbolic method once here, in this process, so that every forked
    worker inherits SymPy's caches and lazily imported printers instead of
    rebuilding them (a cold worker takes several times longer)."""
    nodes = (Node("xp.sin({0}[0]) * {0}[1]", (0,), "mul"),
             Node("xp.where({0} > 0.5, xp.maximum({0}, 0.25), {0})", (1,), "where"))
    program = Program((0.3, 1.5), nodes, (2,))
    _evaluate_method("symbolic", program.problem().instance(), np.array(program.x0))


def _run_methods(ev: Evaluation, findings: list) -> None:
    x0 = np.array(ev.program.x0, dtype=float)
    for name in EXACT + ("fd-central",):
        if name == "symbolic" and SYMBOLIC_TIMEOUT:
            warm_up()
            outcome = run_isolated(_symbolic_isolated, (name, ev.inst, x0), SYMBOLIC_TIMEOUT)
            if outcome.status != "ok":
                findings.append(Finding(f"symbolic {outcome.status}", outcome.message))
                continue
            found, J, T = outcome.value
        else:
            found, J, T = _evaluate_method(name, ev.inst, x0)
        findings.extend(found)
        if J is not None:
            ev.jacobians[name] = J
            ev.traceables[name] = T


def _check_traceable(ev: Evaluation, findings: list) -> None:
    for name, T in ev.traceables.items():
        if T is None:
            continue
        if isinstance(T, Exception):
            findings.append(Finding(f"{name} traceable raised {type(T).__name__}", one_line(T)))
            continue
        bad = _disagree(f"{name} traceable != jacobian", T, ev.jacobians[name], TOLERANCE)
        if bad:
            findings.append(bad)


def _check_exact(ev: Evaluation, findings: list) -> None:
    names = [m for m in EXACT if m in ev.jacobians]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            bad = _disagree(f"{a} != {b}", ev.jacobians[a], ev.jacobians[b], TOLERANCE)
            if bad:
                findings.append(bad)


def _check_reference(ev: Evaluation, findings: list) -> None:
    try:
        ev.reference = reference_jacobian(ev.inst)
    except Exception as exc:  # noqa: BLE001
        findings.append(Finding(f"reference raised {type(exc).__name__}", one_line(exc)))
        return
    ref = ev.reference
    with np.errstate(all="ignore"):
        value = np.asarray(ev.program.walk(np.array(ev.program.x0, dtype=float), numpy_xp),
                           dtype=float).reshape(-1)
    bad = _disagree("float64 value != reference value", value, ref.value, TOLERANCE)
    if bad:
        findings.append(bad)
    for name in EXACT:
        if name in ev.jacobians:
            bad = _disagree(f"{name} != reference", ev.jacobians[name], ref.jacobian, TOLERANCE)
            if bad:
                findings.append(bad)


def fd_error_bound(program: Program, inst) -> np.ndarray:
    """Per-entry bound on |fd-central - exact| at x0, shape (m, n); see the
    module docstring for the formula."""
    x0 = np.array(program.x0, dtype=float)
    m, n = inst.m, inst.n
    values = program.values()
    # Sensitivity S_j of output j to a relative rounding error in every node.
    sizes = [int(v.size) for v in values[1:]]
    magnitudes = np.concatenate([np.abs(np.ravel(v)) for v in values[1:]])

    def perturbed(p, xp):
        return program.walk(x0, xp, perturb=p)

    D = np.asarray(jacrev(perturbed)(np.zeros(sum(sizes))), dtype=float).reshape(m, -1)
    fx = np.abs(np.asarray(program.walk(x0, numpy_xp), dtype=float).reshape(m))
    S = fx + np.abs(D) @ magnitudes
    bound = np.empty((m, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0

        def d1(x, xp):
            return jvp(inst.f)(x, e)[1]

        def d2(x, xp):
            return jvp(d1)(x, e)[1]

        third = np.abs(np.asarray(jvp(d2)(x0, e)[1], dtype=float).reshape(m))
        h = default_step(float(x0[i]), 2)
        width = (x0[i] + h) - (x0[i] - h)
        truncation = third * h * h / 6
        rounding = 2 * OPS_PER_NODE * EPS * S / width
        bound[:, i] = FD_SAFETY * (truncation + rounding)
    return bound


def _check_fd(ev: Evaluation, findings: list) -> None:
    if "fd-central" not in ev.jacobians or ev.reference is None:
        return
    try:
        bound = fd_error_bound(ev.program, ev.inst)
    except Exception as exc:  # noqa: BLE001 - nested forward mode failed
        findings.append(Finding(f"fd bound (nested forward mode) raised {type(exc).__name__}",
                                one_line(exc)))
        return
    if not np.all(np.isfinite(bound)):
        findings.append(Finding("fd bound (nested forward mode) not finite",
                                f"third derivatives or sensitivities {bound.tolist()!r}"))
        return
    J, R = ev.jacobians["fd-central"], ev.reference.jacobian
    err = np.abs(J - R)
    slack = bound + 4 * EPS * np.abs(R)
    over = err > slack
    if over.any():
        j, i = np.unravel_index(int(np.argmax(err / slack)), err.shape)
        findings.append(Finding("fd-central outside its error bound",
                                f"J[{j}, {i}] = {J[j, i]!r}, reference {R[j, i]!r}: error "
                                f"{err[j, i]:.3g} > bound {slack[j, i]:.3g}"))


def _check_second_order(ev: Evaluation, findings: list) -> None:
    f = ev.inst.f
    x0 = np.array(ev.program.x0, dtype=float)
    m, n = ev.inst.m, ev.inst.n
    combos = {"fwd-over-fwd": jacfwd(jacfwd(f)), "fwd-over-rev": jacfwd(jacrev(f)),
              "rev-over-fwd": jacrev(jacfwd(f)), "rev-over-rev": jacrev(jacrev(f))}
    results = {}
    for label, fn in combos.items():
        try:
            with np.errstate(all="ignore"):
                results[label] = np.asarray(fn(x0.copy()), dtype=float).reshape(m, n, n)
        except Exception as exc:  # noqa: BLE001
            findings.append(Finding(f"hessian {label} raised {type(exc).__name__}",
                                    one_line(exc)))
    if "fwd-over-fwd" not in results:
        return
    base = results.pop("fwd-over-fwd")
    for label, H in results.items():
        bad = _disagree(f"hessian {label} != fwd-over-fwd", H, base, TOLERANCE)
        if bad:
            findings.append(bad)


def unexpected(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that are not :data:`KNOWN_LIMITATIONS`."""
    return [f for f in findings if f.check not in KNOWN_LIMITATIONS]


def check_program(program: Program, skip: Iterable[str] = ()) -> list[Finding]:
    """Every disagreement found on ``program`` (empty: all agree)."""
    skip = set(skip)
    findings: list[Finding] = []
    ev = Evaluation(program, program.problem().instance())
    steps = [("traceable", _check_traceable), ("exact", _check_exact),
             ("reference", _check_reference), ("fd", _check_fd),
             ("second-order", _check_second_order)]
    # nan and inf become findings; numpy's warnings about them are noise here
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _run_methods(ev, findings)
        for name, step in steps:
            if name not in skip:
                step(ev, findings)
        if "extra" not in skip:
            for check in EXTRA_CHECKS:
                findings.extend(check(ev))
    return findings


# --------------------------------------------------------------------------
# Shrinking
# --------------------------------------------------------------------------

def _valid(program: Program) -> bool:
    """Evaluates at x0 without a floating-point error to finite, bounded values."""
    if not program.outputs:
        return False
    try:
        values = [np.array(program.x0, dtype=float)]
        with np.errstate(divide="raise", invalid="raise", over="raise", under="ignore"):
            for node in program.nodes:
                v = np.asarray(_compiled(node.expr, len(node.args))(
                    numpy_xp, *(values[a] for a in node.args)), dtype=float)
                if not np.all(np.isfinite(v)) or v.ndim > 2:
                    return False
                values.append(v)
    except Exception:  # noqa: BLE001 - an edit broke the program: not a candidate
        return False
    return True


def _bypassed(program: Program, k: int, by: int) -> Program:
    """Node k replaced everywhere by value ``by`` (an earlier value)."""
    def sub(a):
        return by if a == k else a
    nodes = tuple(Node(nd.expr, tuple(map(sub, nd.args)), nd.primitive) for nd in program.nodes)
    outputs = tuple(dict.fromkeys(map(sub, program.outputs)))
    return _dead_code_removed(Program(program.x0, nodes, outputs))


def _candidates(program: Program) -> Iterator[Program]:
    values = program.values()
    if len(program.outputs) > 1:
        for i in range(len(program.outputs)):
            yield _dead_code_removed(Program(program.x0, program.nodes,
                                             program.outputs[:i] + program.outputs[i + 1:]))
    for k in range(len(program.nodes), 0, -1):
        for a in dict.fromkeys(program.nodes[k - 1].args):
            if values[a].shape == values[k].shape or k in program.outputs:
                yield _bypassed(program, k, a)
    if program.n > 1:
        yield Program(program.x0[:-1], program.nodes, program.outputs)
    for i, v in enumerate(program.x0):
        for simpler in (round(v, 1), float(round(v))):
            if simpler != v:
                yield Program(program.x0[:i] + (simpler,) + program.x0[i + 1:], program.nodes,
                              program.outputs)


def shrink(program: Program, kind: str, check: Callable[[Program], list] = check_program,
           budget: int = 200) -> Program:
    """A smaller program on which ``check`` still reports a finding of ``kind``
    (greedy: the first accepted edit is kept, until no edit is accepted)."""
    best = program
    improved = True
    while improved and budget > 0:
        improved = False
        for cand in _candidates(best):
            if not _valid(cand):
                continue
            budget -= 1
            try:
                found = check(cand)
            except Exception:  # noqa: BLE001 - a candidate the checker cannot handle
                found = []
            if any(f.check == kind for f in found):
                best, improved = cand, True
                break
            if budget <= 0:
                break
    return best


# --------------------------------------------------------------------------
# The driver of `adbench fuzz`
# --------------------------------------------------------------------------

@dataclass
class FuzzReport:
    """What a fuzzing session found: per kind, the count and the first program."""

    examples: int = 0
    failing: int = 0
    counts: dict = field(default_factory=dict)          # kind -> programs with it
    first: dict = field(default_factory=dict)           # kind -> (index, program, finding)
    nodes: int = 0                                      # total nodes checked
    by_primitive: dict = field(default_factory=dict)    # primitive -> nodes generated


def program_seed(seed: int, index: int) -> str:
    """The seed of program ``index`` of a session: each program is reproducible alone."""
    return f"adbench-fuzz:{seed}:{index}"


def _checked(program: Program, skip) -> list:
    return check_program(program, skip)


def fuzz(examples: int, seed: int, *, first: int = 0, timeout: float | None = 60.0,
         isolate: bool = True, skip: Sequence[str] = (), max_nodes: int = 8, max_n: int = 4,
         max_m: int = 4, progress: Callable[[int, FuzzReport], None] | None = None
         ) -> FuzzReport:
    """Generate and check programs ``first .. first + examples - 1`` of session
    ``seed``; each check runs in a worker killed after ``timeout`` s (a hang or
    a crash is a finding too)."""
    report = FuzzReport()
    if isolate:
        warm_up()
    for index in range(first, first + examples):
        program = generate(RandomChoices(program_seed(seed, index)), max_nodes=max_nodes,
                           max_n=max_n, max_m=max_m)
        outcome = run_isolated(_checked, (program, tuple(skip)), timeout, isolate=isolate)
        if outcome.status == "ok":
            findings = outcome.value
        else:
            findings = [Finding(f"checker {outcome.status}", outcome.message)]
        report.examples += 1
        report.nodes += program.size()
        for node in program.nodes:
            report.by_primitive[node.primitive] = report.by_primitive.get(node.primitive, 0) + 1
        if unexpected(findings):
            report.failing += 1
        if findings:
            for kind in dict.fromkeys(f.check for f in findings):
                report.counts[kind] = report.counts.get(kind, 0) + 1
                if kind not in report.first:
                    finding = next(f for f in findings if f.check == kind)
                    report.first[kind] = (index, program, finding)
        if progress is not None:
            progress(report.examples, report)
    return report
