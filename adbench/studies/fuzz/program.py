"""Programs of the fuzzer: a small DAG of :class:`Node` expressions over x,
its evaluation under any ``xp``, its problem and its source as a problem file;
and the sources of random decisions (seeded random, hypothesis).
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from adbench.interpret import primitives as P
from adbench.interpret.xp import numpy_xp
from adbench.problem import Problem


#: Largest |value| a node may take at x0.
BOUND = 50.0
#: Least distance of an argument from a domain boundary or a kink, at x0.
MARGIN = 0.05
#: Agreement demanded of the exact methods (rho, see adbench.measure.accuracy).
#: Largest size of a node's value, and of the output.
MAX_SIZE = 16


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
