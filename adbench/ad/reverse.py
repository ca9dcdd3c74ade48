"""Reverse mode: a tape of primitive applications, replayed backwards.

Running a function on :class:`Var` values records, for every primitive applied,
which tape entries it read and the primal values the VJP rule will need (the
survey's Table 3, forward sweep). :func:`backward` then walks the tape once from
the end, in reverse order of recording, which is a topological order of the
computation graph: each entry's adjoint is complete before it is propagated, a
value used many times receives every contribution, and no recursion is involved,
so a chain of any length is fine.
"""

from __future__ import annotations

from adbench.core import Trace, apply
from adbench.primitives import Box, add, shape_of, zeros_like

__all__ = ["Var", "ReverseTrace", "backward"]


class Var(Box):
    """A value recorded on a :class:`ReverseTrace` at position ``index``."""

    __slots__ = ("index",)

    def __init__(self, value, trace: "ReverseTrace", index: int):
        self.value = value
        self.trace = trace
        self.index = index


class ReverseTrace(Trace):
    """One reverse-mode differentiation in progress: its tape."""

    __slots__ = ("tape",)

    def __init__(self):
        super().__init__()
        # Entries are None for inputs, else (prim, parents, primals, out, params)
        # with parents a tuple of (argument position, tape index).
        self.tape: list = []

    def input(self, value) -> Var:
        """A new independent variable."""
        self.tape.append(None)
        return Var(value, self, len(self.tape) - 1)

    def process(self, prim, args, params):
        primals = list(args)
        parents = []
        for k, a in enumerate(args):
            if type(a) is Var and a.trace is self:
                primals[k] = a.value
                if k not in prim.nondiff:
                    parents.append((k, a.index))
        out = apply(prim, *primals, **params)
        if not parents:
            return out
        tape = self.tape
        tape.append((prim, tuple(parents), primals, out, params))
        return Var(out, self, len(tape) - 1)

    def __len__(self) -> int:
        return len(self.tape)


def backward(trace: ReverseTrace, output, seed, observer=None) -> list:
    """Adjoints of every tape entry for the cotangent ``seed`` on ``output``.

    Returns a list indexed like the tape; an entry is None where the output
    does not depend on it. ``observer(i, k, j, contribution, adjoint)`` is
    called for each propagated contribution (used to print traces).
    """
    tape = trace.tape
    if not (type(output) is Var and output.trace is trace):
        return [None] * len(tape)
    adjoints: list = [None] * len(tape)
    adjoints[output.index] = seed
    for i in range(output.index, -1, -1):
        g = adjoints[i]
        entry = tape[i]
        if g is None or entry is None:
            continue
        prim, parents, primals, out, params = entry
        for k, j in parents:
            contribution = prim.vjp(k, g, primals, out, **params)
            previous = adjoints[j]
            adjoints[j] = contribution if previous is None else add(previous, contribution)
            if observer is not None:
                observer(i, k, j, contribution, adjoints[j])
    return adjoints


def adjoint_or_zero(adjoints: list, var: Var):
    g = adjoints[var.index]
    return zeros_like(var.value) if g is None else g


def same_shape(a, b) -> bool:
    return shape_of(a) == shape_of(b)
