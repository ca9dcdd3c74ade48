"""Op counting: one more interpretation of the primitive table.

Running a function on :class:`Counted` inputs counts the scalar operations it
executes, with the cost each primitive declares in :mod:`adbench.interpret.primitives`:
an elementwise operation over k elements counts k, a reduction of k elements
to one k - 1, a matrix product (n x k)(k x m) 2nkm, indexing and reshaping 0.
Transcendental operations (exp, log, sin, ..., and ``pow`` unless its exponent
is an integer) are counted separately as well as in the total.

Two mechanisms work together:

* the :class:`Counted` box routes Python syntax (``x * y``, ``x[i]``,
  ``x @ A``) on the input and everything computed from it to the primitive
  table, exactly as forward mode's :class:`~adbench.ad.forward.Dual` does;
* the count itself is taken at the bottom of the dispatch, through
  :data:`adbench.interpret.core.EVALUATION_HOOKS`, where every primitive evaluated on
  plain values passes exactly once, however many interpretations (forward,
  reverse, complex step) are stacked above it. This also counts operations on
  constants alone that a derivative executes: a reverse pass starts from a
  plain seed, and forward mode pushes a plain tangent through ``W @ t``.

So ``count_ops(fn, x)`` of any differentiator's ``Prepared.traceable`` or of an
AD transform is the number of operations it really executes. What is not a
primitive is not counted: Python arithmetic on plain floats outside the table
(a step size), numpy calls made directly on constant data, comparisons (counted
apart in :attr:`OpCount.comparisons`). A complex operation (complex step)
counts as one, like a real one.

>>> from adbench.interpret.counting import count_ops
>>> count_ops(lambda x: x[0] * x[1] + 1.0, [2.0, 3.0]).ops
2
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from adbench.interpret import primitives as P
from adbench.interpret.core import EVALUATION_HOOKS, Primitive, Trace, apply, primal
from adbench.interpret.primitives import Box, checkpoint_p

__all__ = ["Counted", "CountTrace", "OpCount", "count_ops", "is_transcendental"]


def is_transcendental(prim: Primitive, args: tuple) -> bool:
    """Whether this application is a transcendental call: the primitive's flag,
    except ``pow``, which is arithmetic (repeated multiplication) for an integer
    exponent and transcendental (exp and log) otherwise."""
    if prim is P.pow_p:
        return P._pow_is_transcendental(args)
    return prim.transcendental


@dataclass
class OpCount:
    """Scalar operations executed: ``ops`` in total, ``transcendental`` among
    them; ``by_primitive`` splits ``ops`` by primitive name; ``applications``
    counts primitive applications (calls, whatever their size)."""

    ops: int = 0
    transcendental: int = 0
    applications: int = 0
    comparisons: int = 0
    by_primitive: Counter = field(default_factory=Counter)

    @property
    def arithmetic(self) -> int:
        return self.ops - self.transcendental


class Counted(Box):
    """A value whose operations are routed through the table (and so counted)."""

    __slots__ = ()

    def __init__(self, value, trace: "CountTrace"):
        self.value = value
        self.trace = trace


class CountTrace(Trace):
    """One op count in progress.

    Use as a context manager: while it is active every primitive evaluated on
    plain values is added to :attr:`count`; :meth:`lift` makes an input whose
    Python operators reach the table.
    """

    __slots__ = ("count",)

    def __init__(self):
        super().__init__()
        self.count = OpCount()

    def lift(self, x) -> Counted:
        if isinstance(x, (list, tuple)):
            x = np.asarray(x, dtype=float)
        return Counted(x, self)

    def process(self, prim, args, params):
        if prim is checkpoint_p:  # a call: run it on the counted values, op by op
            return prim.impl(*args, **params)
        primals = [a.value if type(a) is Counted and a.trace is self else a for a in args]
        return Counted(apply(prim, *primals, **params), self)

    def compare(self, op, a, b):
        self.count.comparisons += 1
        return op(primal(a), primal(b))

    def observe(self, prim: Primitive, args: tuple, params: dict, out) -> None:
        """The evaluation hook: add one concrete evaluation of ``prim``."""
        ops = int(prim.cost(args, out, **params))
        c = self.count
        c.applications += 1
        if ops:
            c.ops += ops
            c.by_primitive[prim.name] += ops
            if is_transcendental(prim, args):
                c.transcendental += ops

    def __enter__(self) -> "CountTrace":
        EVALUATION_HOOKS.append(self.observe)
        return self

    def __exit__(self, *exc) -> None:
        EVALUATION_HOOKS.remove(self.observe)


def count_ops(fn: Callable[[Any], Any], x) -> OpCount:
    """The operations ``fn(x)`` executes; ``fn`` receives ``x`` as a Counted box.

    ``fn`` is any function written with the primitive table: a problem's
    ``lambda x: inst.f(x, numpy_xp)``, a ``Prepared.traceable``, ``grad(f)``.
    Exceptions of ``fn`` propagate; the hook is removed in every case.
    """
    with CountTrace() as trace:
        fn(trace.lift(x))
    return trace.count
