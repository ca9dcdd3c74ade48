"""Compiled reverse mode's code generator: a guarded tape written out as Python.

:class:`Writer` turns one tape recorded by :class:`~adbench.ad.compiled.GuardedTrace`
into the source of ``program(x, seed)``: a line per live primitive for the
forward sweep, calling the primitive's implementation directly (its float
implementation, or Python's infix operator, on floats), and a line per
contribution for the reverse sweep, calling the primitive's own rule from the
table (``lin`` markers become ``g``, ``-g`` and ``g * v``; shapes are known, so
the broadcasting a rule's cotangent must undo is decided here, once). Each
recorded guard becomes a test that returns :data:`MISS` when it comes out
differently. ``program`` returns ``(y, gradient)``, or with ``rows=True``
``(y, rows)``: the reverse sweep once per seed in ``SEEDS`` (a Jacobian).

The memory discipline is the engine's, decided statically: an adjoint is
added to in place only when the generated code alone refers to it, a dying
cotangent lends its memory to its last product, and large arrays are deleted
after their last use. Raises :class:`Uncompilable` for a tape it does not
write out (values of another differentiation, a guard on a non-number).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np

from adbench.ad.reverse import Var
from adbench.ad.staging import StageTrace, Unstageable, identifier, stage_rule
from adbench.ad.tape import entry_parts
from adbench.interpret import primitives as P
from adbench.interpret.core import COMPARISON_OPERATORS, INFIX_OPERATORS, BoxBase
from adbench.interpret.primitives import IDENTITY, NEGATE, TimesArg, getitem_p, shape_of

if TYPE_CHECKING:
    from adbench.ad.compiled import GuardedTrace

__all__ = ["Writer", "Uncompilable", "MISS", "RELEASE_SIZE"]

_COMPARISONS = COMPARISON_OPERATORS

#: Arrays at least this large (elements) are deleted after their last use.
RELEASE_SIZE = 1 << 12
_NAME = re.compile(r"\b[vgwt]\d+\b")

#: Returned by a compiled function whose guards do not hold at the new point.
MISS = object()


class Uncompilable(Exception):
    """The tape holds something the code generator does not write out."""


def _plain(v) -> bool:
    return type(v) in (float, int, bool, np.ndarray) or isinstance(v, (np.generic, str))


class Writer:
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
        self._temps = 0
        # the rules of the reverse sweep run once here, on boxes, into lines (staging);
        # those that read values are called at every gradient instead (``unstaged``)
        self.stage = StageTrace(self, RELEASE_SIZE)
        self.staged = 0
        self.unstaged: list = []     # (primitive name, why) of each rule called instead

    # --- names -------------------------------------------------------------
    def const(self, value) -> str:
        """Source text for a constant: a literal for finite floats and ints, else a name."""
        t = type(value)
        if (t is float and math.isfinite(value)) or t is int or t is bool or value is None:
            return repr(value)
        name = self._constants.get(id(value))
        if name is None:
            if isinstance(value, BoxBase):
                raise Uncompilable("a value of another differentiation")
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

    def bind_function(self, name: str, fn) -> str:
        """A name for ``fn`` in the namespace, ``name`` made an identifier (the
        same name for the same function; a suffix if another has it)."""
        base = name = identifier(name)
        n = 0
        while name in self.namespace and not _same_function(self.namespace[name], fn):
            n += 1
            name = f"{base}_{n}"
        self.namespace[name] = fn
        return name

    def temp(self) -> str:
        """A new name for a temporary of a staged rule."""
        self._temps += 1
        return f"t{self._temps}"

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

    def write(self, sweep: bool = True) -> str:
        """The source of ``program(x, seed)``; with ``sweep=False`` its forward lines
        alone, returning f's value (what the forward half of the program costs)."""
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
        if not sweep:
            lines.append(f"    return {self.var(self.y_index)}")
            return "\n".join(self.release(lines, split)) + "\n"
        self.reverse(live)
        if self.rows:  # the reverse sweep, once per seed (row of the Jacobian)
            *body, answer = lines[split:]
            lines[split:] = (["    rows = []", "    for seed in SEEDS:"]
                             + ["    " + line for line in body]
                             + [f"        rows.append({answer.split(', ', 1)[1]})",
                                f"    return {self.var(self.y_index)}, rows"])
        return "\n".join(self.release(lines, split)) + "\n"

    def program(self, name: str, sweep: bool = True):
        """:meth:`write`'s source compiled under the file name ``name``: the function
        ``program(x, seed)``, with its text in ``.source``. Uncompilable as write."""
        source = self.write(sweep)
        exec(compile(source, name, "exec"), self.namespace)
        program = self.namespace["program"]
        program.source = source
        return program

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
        large |= self.stage.large
        last: dict = {}
        for n, line in enumerate(lines):
            for name in _NAME.findall(line):
                if name in large:
                    last[name] = n
        after: dict = {}
        for name, n in last.items():
            if n < len(lines) - 1 and (n < split or not self.rows or name[0] in "gt"):
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
            raise Uncompilable(f"a guard on a {type(result).__name__}")

    def forward(self, i: int, listed: set) -> None:
        prim, parents, primals, out, params = self.entries[i]
        if not all(_plain(a) for a in primals) or not _plain(out):
            raise Uncompilable(f"{prim.name} on values of another differentiation")
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
            infix = INFIX_OPERATORS.get(prim.scalar)
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
            staged = self.staged_rule(i, prim.residual[1], k, "g", "w", "args", "out")
            if staged is not None:
                return staged, False
            fn = self.bind(f"b{i}", prim.residual[1])
            return (f"{fn}({k}, {g}, w{i}, ({', '.join(args)},), v{i}{self.params(params)})",
                    False)
        if prim.lin is None:
            staged = self.staged_rule(i, prim.vjp, k, "g", "args", "out")
            if staged is not None:
                return staged, False
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
            term = self.staged_rule(i, rule, None, "g", "*args", "out", params=False)
            if term is None:
                fn = self.bind(f"r{i}_{k}", rule)
                term = f"{fn}({g}, {', '.join(args)}, v{i})"
            fresh = False
        if shape != out_shape:
            term, fresh = f"_unbroadcast({term}, {shape!r})", True
        if rule is NEGATE:
            term = f"-{term}"
        return term, fresh and array


    def staged_rule(self, i: int, rule, k, *layout, params: bool = True) -> str | None:
        """The source text of entry i's ``rule`` staged (:mod:`adbench.ad.staging`):
        its operations written out as lines before the one that uses the text,
        or None, with the reason kept in ``unstaged``, when the rule reads a value.
        ``layout`` spells the rule's arguments after ``k`` (None: no k): ``"g"``
        the cotangent, ``"w"`` the residual, ``"args"`` the arguments as a tuple,
        ``"*args"`` one by one, ``"out"`` the result; ``params`` whether the
        entry's parameters follow as keywords."""
        prim, parents, primals, out, entry_params = self.entries[i]
        if not all(_plain(a) for a in primals) or not _plain(out) or np.iscomplexobj(out):
            return None
        if any(callable(v) for v in entry_params.values()):
            # checkpoint, fixed_point: the rule runs a function of the program again,
            # which staging would unroll into the code
            self.unstaged.append((prim.name, "its rule runs a function of the program"))
            return None
        stage = self.stage
        of_parent = dict(parents)
        boxes = tuple(stage.box(self.var(of_parent[j]), a) if j in of_parent else a
                      for j, a in enumerate(primals))
        given = {"g": lambda: stage.box(f"g{i}", out), "out": lambda: stage.box(f"v{i}", out),
                 "w": lambda: stage.box(f"w{i}", prim.residual[0](*primals, **entry_params)[1])}
        call = [] if k is None else [k]
        for part in layout:
            if part == "args":
                call.append(boxes)
            elif part == "*args":
                call.extend(boxes)
            else:
                call.append(given[part]())
        try:
            text = stage_rule(stage, rule, *call, **(entry_params if params else {}))
        except Unstageable as why:
            self.unstaged.append((prim.name, str(why)))
            return None
        self.staged += 1
        return text


def _same_function(bound, fn) -> bool:
    """Whether a name's value is ``fn`` (a bound method is made anew at each access,
    so two of the same method are equal, not identical); False for any constant."""
    return bound is fn or (callable(bound) and not isinstance(bound, np.ndarray)
                           and bound == fn)


def _twice(a: np.ndarray) -> np.ndarray:
    """``a + a``, into ``a``."""
    return np.add(a, a, out=a)
