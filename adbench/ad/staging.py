"""Derivative rules staged into straight-line code: each rule run once, on named boxes.

The compiled reverse sweep (:mod:`adbench.ad.codegen`) could call, for each
array primitive, its rule from the table at every gradient:
``_sum_transpose(k, g, args, out, axis=1)``. Each such call re-decides what
depends on shapes alone (which axes to spread a cotangent over, whether a
product is one matrix product or a stack of small ones, which broadcast to
undo) and sends every array operation it makes through the table's dispatch.
In a compiled program the shapes are fixed, so the rule can run once, when
the code is written, on boxes that stand for the program's variables.
:class:`StageTrace` is that interpretation: a primitive applied to
:class:`Staged` boxes writes one line calling the primitive's own
implementation, ``t3 = reshape(g17, shape=c4)``, and returns the box of
``t3``. The rule itself is the table's, run on different values, as
:mod:`adbench.interpret.c_spelling` runs the scalar rules to write C.

A staged box knows the shape and dtype of its variable, not its value (it
computes a value of the same shape and dtype on the side, from the values
recorded at the compiled point, to learn the shapes of what follows). A rule
that reads a value (``primal(y) == 0`` in ``pow``'s, the mask of a maximum)
raises :class:`Unstageable`, and the generated code calls that rule at every
gradient instead, as it would without staging.
"""

from __future__ import annotations

import math
import re

import numpy as np

from adbench.interpret.core import BoxBase, Trace, UnknownValue
from adbench.interpret.primitives import Box

__all__ = ["Staged", "StageTrace", "Unstageable", "stage_rule"]


class Unstageable(Exception):
    """A rule that cannot be written as straight-line code of fixed shapes."""


class _Shaped(UnknownValue):
    """The value under a :class:`Staged` box: only its shape and dtype are known.
    Any other use (a comparison, a truth value, a conversion, arithmetic on the
    value itself) raises :class:`Unstageable`."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple, dtype):
        super().__init__(Unstageable, "the rule reads a value, not only a shape")
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class Staged(Box):
    """A variable of the generated code (``name``), under a :class:`StageTrace`;
    ``concrete`` is a value of its shape and dtype, for the writer alone."""

    __slots__ = ("name", "concrete")

    def __init__(self, name: str, concrete, trace: StageTrace):
        super().__init__(_Shaped(np.shape(concrete), np.result_type(concrete)), trace)
        self.name = name
        self.concrete = concrete

    def __repr__(self) -> str:
        return f"Staged({self.name})"


class StageTrace(Trace):
    """The interpretation that writes code: each primitive applied to
    :class:`Staged` boxes appends ``name = implementation(operands, params)`` to
    ``writer.lines`` and gives the box of ``name``. ``writer`` names constants
    and binds functions (:class:`~adbench.ad.codegen.Writer`); ``temps`` counts
    the names made, ``large`` collects those of arrays of at least
    ``large_size`` elements (the writer deletes them after their last use)."""

    __slots__ = ("writer", "large_size", "large")

    def __init__(self, writer, large_size: int):
        super().__init__()
        self.writer = writer
        self.large_size = large_size
        self.large: set = set()

    def box(self, name: str, concrete) -> Staged:
        return Staged(name, concrete, self)

    def operand(self, a):
        """Source text and value of one argument."""
        if isinstance(a, BoxBase):
            if type(a) is not Staged or a.trace is not self:
                raise Unstageable("a value of another differentiation")
            return a.name, a.concrete
        return self.writer.const(a), a

    def process(self, prim, args, params):
        texts, values = zip(*(self.operand(a) for a in args)) if args else ((), ())
        # the implementation Primitive.evaluate would pick for these values: the float one
        # for Python numbers alone (it falls back to numpy on a domain error), else numpy's
        floats = all(type(v) is float or type(v) is int for v in values)
        fn = prim.evaluate if floats else prim.impl
        with np.errstate(all="ignore"):
            out = fn(*values, **params)
        if isinstance(out, BoxBase):
            raise Unstageable(f"{prim.name} returned a box")
        writer = self.writer
        name = writer.temp()
        bound = writer.bind_function(f"{'e' if floats else 'p'}_{prim.name}", fn)
        writer.lines.append(f"    {name} = {bound}({', '.join(texts)}{writer.params(params)})")
        if type(out) is np.ndarray and out.size >= self.large_size:
            self.large.add(name)
        return Staged(name, out, self)

    def compare(self, op, a, b):
        raise Unstageable("the rule compares values")


def stage_rule(trace: StageTrace, rule, *args, **params) -> str:
    """Run ``rule(*args, **params)`` on the trace's boxes; the source text of what
    it returns (a temporary, one of its arguments' names, or a constant).
    Lines appended before a failure are taken back, and :class:`Unstageable`
    raised with the reason (any error of the rule on boxes counts as one)."""
    lines = trace.writer.lines
    mark = len(lines)
    try:
        result = rule(*args, **params)
        if isinstance(result, BoxBase):
            if type(result) is not Staged or result.trace is not trace:
                raise Unstageable("the rule returned a value of another differentiation")
            return result.name
        return trace.writer.const(result)
    except Exception as error:  # noqa: BLE001 - any failure: the rule is called instead
        del lines[mark:]
        if isinstance(error, Unstageable):
            raise
        raise Unstageable(f"{type(error).__name__}: {error}") from error


def identifier(text: str) -> str:
    """``text`` made a Python identifier (a primitive's name in a bound function's)."""
    return re.sub(r"\W", "_", text)
