"""Reverse mode, traced once and compiled: the tape turned into straight-line Python.

:func:`~adbench.ad.grad` records a fresh tape on every call and interprets it
backwards: define-by-run, as the survey calls PyTorch-like systems (p. 18),
and every call pays the bookkeeping of recording and of dispatching each entry
to its rule. :func:`compile_grad` records the tape once per input shape and
dtype, then writes it out as one Python function: a line per primitive for the
forward sweep, calling the primitive's implementation directly, and a line per
contribution for the reverse sweep, calling the primitive's own rule from the
table (``lin`` markers become ``g``, ``-g`` and ``g * v`` in the source; shapes
are known, so the broadcasting a rule's cotangent must undo is decided once).
Later calls at other points of the same shape run that function: the tape of
ADOL-C, replayed at a new point, rather than recorded anew.

A tape records one path through the program. The path can only depend on x
through comparisons (``x > 0``, ``if x:``; converting a traced value to float
or int raises), so each comparison is recorded as a *guard*: the compiled
function evaluates it again and, if any result differs from the recorded one
(another branch, another ``where`` mask), gives up; the call then records a
new tape at that point (the gradient comes from the ordinary engine) and the
new path replaces the old. Values the function closes over are frozen at the
first call, as with any tracing compiler: ``f`` must be a function of x alone.

The compiled function is checked once against the ordinary engine at the point
it was recorded at; a disagreement (which would be a bug here) is a
RuntimeWarning, and that shape stays with the ordinary engine. The ordinary
engine also serves every call it cannot take: x traced by an enclosing
differentiation, an operation counter listening, a complex x or f, a function
that closes over a value being differentiated, or an exception on the
compiled path (a float operation outside its domain, which numpy would have
answered with nan).
"""

from __future__ import annotations

import math
import operator
import re
import warnings
from typing import Any, Callable

import numpy as np

# adbench.ad imports this module last, when everything below is defined
from adbench.ad import (
    PASSES,
    _as_input,
    _as_output,
    _from_rows,
    _reverse_rows,
    _seeds,
    grad,
    jacrev,
)
from adbench.ad.reverse import _INFIX, ReverseTrace, Var, entry_parts
from adbench.interpret import primitives as P
from adbench.interpret.core import DOMAIN_ERRORS, EVALUATION_HOOKS, BoxBase, Trace
from adbench.interpret.primitives import IDENTITY, NEGATE, TimesArg, getitem_p, shape_of
from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import rho

__all__ = ["compile_grad", "compile_jacrev", "CompiledReverse"]

_COMPARISONS = {operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">=",
                operator.eq: "==", operator.ne: "!="}

#: Arrays at least this large (elements) are deleted after their last use.
RELEASE_SIZE = 1 << 12
_NAME = re.compile(r"\b[vgw]\d+\b")

#: Returned by a compiled function whose guards do not hold at the new point.
MISS = object()


class GuardedTrace(ReverseTrace):
    """A reverse-mode trace that keeps every value and records, as guards, what
    the path taken depends on: every comparison, and every primitive that reads
    a traced value without differentiating it (``sign(x)``), each with the
    tape position it was made at and its result. ``opaque`` says why the tape
    cannot be compiled, if it cannot."""

    __slots__ = ("guards", "opaque")

    def __init__(self):
        super().__init__(keep_all=True)
        self.guards: list = []   # (position, prim or comparison operator, args, params, result)
        self.opaque: str | None = None

    def compare(self, op, a, b):
        result = super().compare(op, a, b)
        self.guards.append((len(self.tape), op, (a, b), {}, result))
        return result

    def process(self, prim, args, params):
        position = len(self.tape)
        out = super().process(prim, args, params)
        if prim.nondiff and any(type(args[k]) is Var and args[k].trace is self
                                for k in prim.nondiff):
            if type(out) is Var:
                self.opaque = f"{prim.name} reads a traced value it does not differentiate"
            else:  # a value of x not recorded on the tape: it must come out the same
                self.guards.append((position, prim, args, params, out))
        return out


class _Uncompilable(Exception):
    """The tape holds something the code generator does not write out."""


def _plain(v) -> bool:
    return type(v) in (float, int, bool, np.ndarray) or isinstance(v, (np.generic, str))


class _Writer:
    """Generates the source of one compiled gradient from a tape."""

    def __init__(self, trace: GuardedTrace, xv: Var, y: Var, x_value, rows: bool):
        self.trace = trace
        self.x_value = x_value
        self.rows = rows  # one reverse sweep per output entry (a Jacobian), or one (a VJP)
        self.entries = [None if e is None else entry_parts(e) for e in trace.tape]
        self.x_index = xv.index
        self.y_index = y.index
        self.namespace: dict = {"MISS": MISS, "_array_equal": np.array_equal,
                                "_unbroadcast": P.unbroadcast,
                                "_product_unbroadcast": P.product_unbroadcast,
                                "_scatter_add": P.scatter_add, "_zeros": np.zeros,
                                "_multiply": np.multiply, "_twice": _twice}
        self._constants: dict = {}   # id(value) -> name, for values other than floats
        self._keep: list = []        # keeps the values behind those ids alive
        self.lines: list = []

    # --- names -------------------------------------------------------------
    def const(self, value) -> str:
        """Source text for a constant: a literal for finite floats and ints, else a name."""
        t = type(value)
        if (t is float and math.isfinite(value)) or t is int or t is bool or value is None:
            return repr(value)
        name = self._constants.get(id(value))
        if name is None:
            if isinstance(value, BoxBase):
                raise _Uncompilable("a value of another differentiation")
            name = f"c{len(self._constants)}"
            self._constants[id(value)] = name
            self._keep.append(value)
            self.namespace[name] = value
        return name

    def var(self, j: int) -> str:
        return "x" if j == self.x_index else f"v{j}"

    def args(self, i: int) -> list:
        """Source text for each argument of entry i."""
        prim, parents, primals, out, params = self.entries[i]
        parent_of = dict(parents)
        return [self.var(parent_of[k]) if k in parent_of else self.const(a)
                for k, a in enumerate(primals)]

    def params(self, params: dict) -> str:
        return "".join(f", {key}={self.const(value)}" for key, value in params.items())

    def bind(self, name: str, obj) -> str:
        self.namespace[name] = obj
        return name

    # --- the program ---------------------------------------------------------
    def live(self) -> list:
        """The entries y or a guard depends on, in tape order."""
        needed = {self.y_index}
        for position, op, operands, params, result in self.trace.guards:
            for v in operands:
                if type(v) is Var and v.trace is self.trace:
                    needed.add(v.index)
        for i in range(max(needed), -1, -1):
            if i in needed and self.entries[i] is not None:
                needed.update(j for _, j in self.entries[i][1])
        return sorted(needed)

    def write(self) -> str:
        live = self.live()
        guards = sorted(self.trace.guards, key=lambda g: g[0])
        lines = self.lines
        lines.append("def program(x, seed):")
        listed: set = set()
        gi = 0
        for i in live:
            while gi < len(guards) and guards[gi][0] <= i:
                self.guard(guards[gi])
                gi += 1
            if i != self.x_index:
                self.forward(i, listed)
        for guard in guards[gi:]:
            self.guard(guard)
        split = len(lines)
        self.reverse(live)
        if self.rows:  # the reverse sweep, once per seed (row of the Jacobian)
            *body, answer = lines[split:]
            lines[split:] = (["    rows = []", "    for seed in SEEDS:"]
                             + ["    " + line for line in body]
                             + [f"        rows.append({answer.split(', ', 1)[1]})",
                                f"    return {self.var(self.y_index)}, rows"])
        return "\n".join(self.release(lines, split)) + "\n"

    def release(self, lines: list, split: int) -> list:
        """``lines`` with ``del`` after the last use of each large array, so that
        the memory of values and adjoints is freed as soon as the ordinary
        engine would free it (and numpy can reuse it). Lines from ``split`` on
        are the reverse sweep; when it is a loop, the values it reads stay."""
        large = {f"{p}{i}" for i, e in enumerate(self.entries)
                 if e is not None and type(e[3]) is np.ndarray and e[3].size >= RELEASE_SIZE
                 for p in "vg"}
        large |= {f"w{i}" for i, e in enumerate(self.entries)  # residuals: x's shape
                  if e is not None and e[0].residual is not None
                  and type(e[2][0]) is np.ndarray and e[2][0].size >= RELEASE_SIZE}
        last: dict = {}
        for n, line in enumerate(lines):
            for name in _NAME.findall(line):
                if name in large:
                    last[name] = n
        after: dict = {}
        for name, n in last.items():
            if n < len(lines) - 1 and (n < split or not self.rows or name[0] == "g"):
                after.setdefault(n, []).append(name)
        out = []
        for n, line in enumerate(lines):
            out.append(line)
            if n in after:
                indent = line[:len(line) - len(line.lstrip())]
                out.append(f"{indent}del {', '.join(sorted(after[n]))}")
        return out

    def operand(self, v) -> str:
        if type(v) is Var and v.trace is self.trace:
            return self.var(v.index)
        return self.const(v)

    def guard(self, guard) -> None:
        position, op, operands, params, result = guard
        if op in _COMPARISONS:
            a, b = operands
            expression = f"{self.operand(a)} {_COMPARISONS[op]} {self.operand(b)}"
        else:  # a primitive that reads a traced value without differentiating it
            fn = self.bind(f"n{position}_{len(self.lines)}", op.impl)
            expression = f"{fn}({', '.join(self.operand(v) for v in operands)}" \
                         f"{self.params(params)})"
        if isinstance(result, (bool, np.bool_)):
            self.lines.append(f"    if bool({expression}) is not {bool(result)}: return MISS")
        elif isinstance(result, (np.ndarray, np.generic, float, int)):
            self.lines.append(f"    if not _array_equal({expression}, {self.const(result)}): "
                              "return MISS")
        else:
            raise _Uncompilable(f"a guard on a {type(result).__name__}")

    def forward(self, i: int, listed: set) -> None:
        prim, parents, primals, out, params = self.entries[i]
        if not all(_plain(a) for a in primals) or not _plain(out):
            raise _Uncompilable(f"{prim.name} on values of another differentiation")
        args = self.args(i)
        lines = self.lines
        if (prim is getitem_p and type(params["idx"]) is int and len(parents) == 1
                and type(primals[0]) is np.ndarray and primals[0].ndim == 1
                and primals[0].dtype == np.float64):
            # x[i] of a float vector (scalar code reading its inputs): one tolist()
            j = parents[0][1]
            if j not in listed:
                lines.append(f"    L{j} = {self.var(j)}.tolist()")
                listed.add(j)
            lines.append(f"    v{i} = L{j}[{params['idx']}]")
            return
        floats = all(type(a) is float or type(a) is int for a in primals)
        if floats and prim.scalar is not None and not params:
            # The float path Primitive.evaluate takes; a domain error raises here and the
            # call goes to the ordinary engine, as evaluate would go to numpy.
            infix = _INFIX.get(prim.scalar)
            if infix is not None:
                lines.append(f"    v{i} = {args[0]} {infix} {args[1]}")
            else:
                fn = self.bind(f"s{i}", prim.scalar)
                lines.append(f"    v{i} = {fn}({', '.join(args)})")
            return
        if prim.residual is not None:  # the value, and what its VJP would recompute
            fn = self.bind(f"f{i}", prim.residual[0])
            lines.append(f"    v{i}, w{i} = {fn}({', '.join(args)}{self.params(params)})")
            return
        fn = self.bind(f"f{i}", prim.impl)
        lines.append(f"    v{i} = {fn}({', '.join(args)}{self.params(params)})")

    def reverse(self, live: list) -> None:
        lines = self.lines
        y = self.y_index
        lines.append(f"    g{y} = seed")
        started = {y}      # entries whose adjoint has a value
        owned: set = set()  # entries whose adjoint is a fresh array nothing else refers to
        for i in reversed(live):
            if i not in started or i == self.x_index:
                continue
            prim, parents, primals, out, params = self.entries[i]
            parents = [(k, j) for k, j in parents if k not in prim.nondiff]
            if prim is getitem_p and type(primals[0]) is np.ndarray \
                    and primals[0].dtype == np.float64:
                self.scatter(i, parents[0][1], primals[0], params["idx"], started, owned)
                continue
            for k, j, term, fresh in self.contributions(i, parents, i in owned):
                if j in owned:  # ours alone, and the contribution has its shape
                    lines.append(f"    g{j} += {term}")
                elif j in started:
                    lines.append(f"    g{j} = g{j} + {term}")
                    owned.add(j)
                else:
                    lines.append(f"    g{j} = {term}")
                    started.add(j)
                    if fresh:
                        owned.add(j)
        x = self.x_index
        if x in started:
            gx = f"g{x}"
        else:  # f does not depend on x
            shape = shape_of(self.x_value)
            gx = "0.0" if shape == () else f"_zeros({shape!r})"
        lines.append(f"    return {self.var(y)}, {gx}")

    def scatter(self, i: int, j: int, source: np.ndarray, idx, started: set, owned: set):
        """The cotangent of ``source[idx]`` added, in place, into an adjoint of
        ``source`` that is ours alone (O(n) for n reads, not n arrays)."""
        lines = self.lines
        if j not in started:
            lines.append(f"    g{j} = _zeros({source.shape!r})")
            started.add(j)
        elif j not in owned:
            lines.append(f"    g{j} = g{j} + _zeros({source.shape!r})")
        owned.add(j)
        if type(idx) is int:
            lines.append(f"    g{j}[{idx}] += g{i}")
        else:
            lines.append(f"    _scatter_add(g{j}, {self.const(idx)}, g{i})")

    def contributions(self, i: int, parents: list, own: bool):
        """``(k, j, term, fresh)`` for each argument k (entry j) of entry i; ``own``:
        the adjoint of entry i is an array nothing else refers to, which its last
        contribution may then take over."""
        prim = self.entries[i][0]
        if (len(parents) == 2 and parents[0][1] == parents[1][1] and prim.lin is not None
                and all(type(prim.lin[k]) is TimesArg and prim.lin[k].j != k
                        for k, _ in parents)):
            # x * x: one product, doubled in place, for both arguments
            term, fresh = self.contribution(i, 0, own)
            if fresh:
                return [(0, parents[0][1], f"_twice({term})", True)]
        out = []
        for n, (k, j) in enumerate(parents):
            # the last one may take entry i's adjoint over if no earlier one refers to it
            dying = own and n == len(parents) - 1 and all(fresh for *_, fresh in out)
            out.append((k, j, *self.contribution(i, k, dying)))
        return out

    def contribution(self, i: int, k: int, dying: bool = False) -> tuple:
        """Source text of entry i's contribution to the adjoint of its argument k,
        and whether it is a fresh array of that argument's shape (one that the
        adjoint may take over and then add to in place). ``dying``: the adjoint
        of entry i is a private array used for the last time, which the
        contribution may be computed into."""
        prim, parents, primals, out, params = self.entries[i]
        args = self.args(i)
        g = f"g{i}"
        if prim.residual is not None:
            fn = self.bind(f"b{i}", prim.residual[1])
            return (f"{fn}({k}, {g}, w{i}, ({', '.join(args)},), v{i}{self.params(params)})",
                    False)
        if prim.lin is None:
            fn = self.bind(f"b{i}", prim.vjp)
            return f"{fn}({k}, {g}, ({', '.join(args)},), v{i}{self.params(params)})", False
        rule = prim.lin[k]
        shape, out_shape = shape_of(primals[k]), shape_of(out)
        array = type(primals[k]) is np.ndarray
        same = shape == out_shape and array and out.dtype == np.float64
        if rule is IDENTITY or rule is NEGATE:
            term, fresh = g, rule is NEGATE or (dying and same)
        elif type(rule) is TimesArg:
            factor = primals[rule.j]
            if (shape != out_shape and array and type(factor) is np.ndarray
                    and len(out_shape) <= 26):
                return f"_product_unbroadcast({g}, {args[rule.j]}, {shape!r})", True
            factor_ok = type(factor) is float or (type(factor) is np.ndarray
                                                  and factor.dtype == np.float64)
            if dying and same and factor_ok:
                term = f"_multiply({g}, {args[rule.j]}, out={g})"
            else:
                term = f"{g} * {args[rule.j]}"
            fresh = shape == out_shape
        else:
            fn = self.bind(f"r{i}_{k}", rule)
            term, fresh = f"{fn}({g}, {', '.join(args)}, v{i})", False
        if shape != out_shape:
            term, fresh = f"_unbroadcast({term}, {shape!r})", True
        if rule is NEGATE:
            term = f"-{term}"
        return term, fresh and array


class CompiledReverse:
    """``compile_grad(f)`` and ``compile_jacrev(f)``: reverse mode on ``f(x, xp)``,
    compiled per input shape; see the module docstring.

    ``jacobian``: the Jacobian (shape ``f(x).shape + x.shape``) by one forward
    sweep and one reverse sweep per output entry, as :func:`~adbench.ad.jacrev`;
    else the gradient of a scalar f, as :func:`~adbench.ad.grad`. ``stats``
    counts the calls, the tapes recorded (first calls and changed paths), the
    calls the compiled code answered and those the ordinary engine answered.
    ``sources`` holds the generated Python of each shape.
    """

    def __init__(self, f: Callable, jacobian: bool = False):
        self.f = f
        self.jacobian = jacobian
        self.programs: dict = {}   # (shape, dtype) -> compiled function, or None: not compilable
        self.sources: dict = {}    # (shape, dtype) -> its source text
        self.reasons: dict = {}    # (shape, dtype) -> why it was not compiled
        self.stats = {"calls": 0, "recorded": 0, "compiled": 0, "ordinary": 0}

    def __call__(self, x, xp=None):
        self.stats["calls"] += 1
        x = _as_input(x)
        if isinstance(x, BoxBase) or EVALUATION_HOOKS or np.iscomplexobj(x):
            return self._ordinary(x)
        key = (shape_of(x), x.dtype if type(x) is np.ndarray else float)
        program = self.programs.get(key)
        if program is not None:
            try:
                with np.errstate(divide="raise", over="raise", invalid="raise"):
                    result = program(x, 1.0)
            except (*DOMAIN_ERRORS, FloatingPointError):
                # outside a domain on the compiled path: the engine's answer instead, with
                # numpy's nan or inf and its warning
                return self._ordinary(x)
            if result is not MISS:
                self.stats["compiled"] += 1
                PASSES["reverse"] += len(result[1]) if self.jacobian else 1
                return self._answer(result, program.out_shape, key[0])
        elif key in self.programs:  # known not to compile
            return self._ordinary(x)
        return self._record(x, key)

    def _ordinary(self, x):
        self.stats["ordinary"] += 1
        return (jacrev if self.jacobian else grad)(self.f)(x)

    def _answer(self, result, out_shape: tuple, x_shape: tuple):
        """The gradient, or the Jacobian from its rows."""
        return _from_rows(result[1], out_shape, x_shape) if self.jacobian else result[1]

    def _record(self, x, key):
        """Record a tape at x, answer from it, and compile it for the next calls."""
        self.stats["recorded"] += 1
        trace = GuardedTrace()
        xv = trace.input(x)
        y = _as_output(self.f(xv, numpy_xp))
        if Trace().id != trace.id + 1:  # traces are numbered in order of creation
            # f differentiates something itself: rules run on its values then, and some
            # compare plain values (where the maximum is), unseen by the guards
            trace.opaque = "f differentiates inside"
        out_shape = shape_of(y)
        if not self.jacobian and out_shape != ():
            raise ValueError(f"grad needs a scalar function; f returned shape {out_shape}")
        # a scalar f (all grad takes) has one row: the gradient
        answer = _from_rows(_reverse_rows(trace, xv, y), out_shape, key[0])
        program = None
        if not (type(y) is Var and y.trace is trace):
            self.reasons[key] = "f does not depend on x"
        elif np.iscomplexobj(P.primal(y)):
            self.reasons[key] = "f is complex"
        elif trace.opaque:
            self.reasons[key] = trace.opaque
        else:
            program = self._compile(trace, xv, y, x, answer, key)
        self.programs[key] = program
        return answer

    def _compile(self, trace, xv, y, x, answer, key):
        writer = _Writer(trace, xv, y, x, rows=self.jacobian)
        writer.namespace["SEEDS"] = _seeds(shape_of(y))
        try:
            source = writer.write()
        except _Uncompilable as why:
            self.reasons[key] = str(why)
            return None
        namespace = writer.namespace
        what = "Jacobian" if self.jacobian else "gradient"
        exec(compile(source, f"<compiled {what} of {_name(self.f)}>", "exec"), namespace)
        program = namespace["program"]
        program.out_shape = shape_of(y)
        # The compiled function must reproduce, at the recorded point, what the engine gave.
        try:
            with np.errstate(all="ignore"):
                result = program(x, 1.0)
        except Exception as error:  # noqa: BLE001 - any failure means: do not use it
            result, problem = MISS, f"{type(error).__name__}: {error}"
        else:
            problem = "its guards fail where they were recorded" if result is MISS else None
        if problem is None and not _same(self._answer(result, program.out_shape, key[0]),
                                         answer):
            problem = f"its {what} differs from the engine's"
        if problem is not None:
            self.reasons[key] = problem
            warnings.warn(f"compile: the compiled {what} of {_name(self.f)} at shape "
                          f"{key[0]} was not used ({problem}); the ordinary engine serves it",
                          RuntimeWarning, stacklevel=3)
            return None
        self.sources[key] = source
        return program


def _twice(a: np.ndarray) -> np.ndarray:
    """``a + a``, into ``a``."""
    return np.add(a, a, out=a)


def _name(f) -> str:
    return getattr(f, "__qualname__", None) or type(f).__name__


#: The compiled derivative must agree with the engine's to this rho (the project's one
#: measure of agreement, adbench.measure.accuracy): rounding may differ (a rule's residual, an
#: order of summation), and an entry that is a small difference of large terms carries
#: the terms' rounding (rho up to 1.6e-11 on GMM D=64).
AGREEMENT = 1e-9


def _same(a, b) -> bool:
    """Whether a and b agree up to rounding: rho <= ``AGREEMENT`` where b is
    finite, the same inf or a nan where it is not."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    finite = np.isfinite(b)
    with np.errstate(invalid="ignore"):  # inf - inf where b is infinite: judged below
        close = rho(a, b) <= AGREEMENT
    return bool(np.all(np.where(finite, close, (a == b) | (np.isnan(a) & np.isnan(b)))))


def compile_grad(f: Callable) -> Callable[..., Any]:
    """The gradient of a scalar ``f(x, xp)``, like :func:`~adbench.ad.grad`,
    compiled to straight-line Python at the first call for each input shape.

    The first call at a shape records a tape (and returns the engine's
    gradient); later calls run the compiled forward and reverse sweeps, and
    record again when a comparison in f comes out differently (a new path).
    ``f`` must depend on nothing but x (closed-over values are frozen).

    >>> import numpy as np
    >>> g = compile_grad(lambda x, xp: xp.sum(xp.sin(x) * x))
    >>> g(np.array([0.0, 1.0]))
    array([0.        , 1.38177329])
    >>> g(np.array([1.0, 2.0]))       # compiled: no new tape
    array([1.38177329, 0.07700375])
    >>> g.stats["recorded"], g.stats["compiled"]
    (1, 1)
    """
    return CompiledReverse(f)


def compile_jacrev(f: Callable) -> Callable[..., Any]:
    """The Jacobian of ``f(x, xp)``, like :func:`~adbench.ad.jacrev` (shape
    ``f(x).shape + x.shape``), compiled at the first call for each input shape:
    later calls run one compiled forward sweep and one compiled reverse sweep
    per output entry (m passes), recording again when the path changes.

    >>> import numpy as np
    >>> J = compile_jacrev(lambda x, xp: xp.stack([x[0] * x[1], xp.sin(x[0])]))
    >>> J(np.array([0.0, 2.0]))
    array([[2., 0.],
           [1., 0.]])
    >>> J(np.array([1.0, 2.0]))
    array([[2.        , 1.        ],
           [0.54030231, 0.        ]])
    """
    return CompiledReverse(f, jacobian=True)
