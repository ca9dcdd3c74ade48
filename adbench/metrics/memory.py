"""Memory: what reverse mode keeps on its tape, and the size of the compiled
symbolic derivative.

* ``tape_length``: primitive applications recorded on the tape by one
  evaluation of f at x0 (the forward sweep); reverse mode's memory grows with
  it (the survey: in proportion to the number of operations, worst case).
* ``tape_values``, ``tape_bytes``: the values the tape holds at its peak (the
  end of the forward sweep, kept through the reverse sweeps): every output and
  saved argument of a recorded operation, each object once (an output read by
  later operations is not counted again; constants such as a weight matrix
  the tape refers to are counted). Values are numbers (a k-element array
  counts k); bytes are ``nbytes`` for numpy arrays and scalars and
  ``sys.getsizeof`` for Python numbers.
* ``compiled_bytes``: bytes of the Python source that ``lambdify`` generated
  for the CSE'd symbolic derivative (what is compiled and run).
"""

from __future__ import annotations

import inspect
import sys

import numpy as np

from adbench.ad import record
from adbench.ad.reverse import entry_parts
from adbench.core import BoxBase
from adbench.harness import Context, Metric
from adbench.methods.base import Unsupported

__all__ = ["TAPE", "COMPILED", "tape_memory"]


def _value_size(v) -> tuple[int, int]:
    """(numbers, bytes) of one held value."""
    if isinstance(v, (np.ndarray, np.generic)):
        return int(np.size(v)), int(v.nbytes)
    if isinstance(v, (int, float, complex)):
        return 1, sys.getsizeof(v)
    return 0, 0  # index tuples, shapes: bookkeeping, not values


def tape_memory(trace) -> dict:
    """Length, number of values and bytes held by a reverse-mode tape."""
    seen: set = set()
    values = nbytes = length = 0
    for entry in trace.tape:
        if entry is None:
            continue
        length += 1
        _, _, primals, out, _ = entry_parts(entry)
        for v in (out, *primals):
            while isinstance(v, BoxBase):  # nested interpretations: the plain value
                v = v.value
            if id(v) in seen:
                continue
            seen.add(id(v))
            k, b = _value_size(v)
            values += k
            nbytes += b
    return {"tape_length": length, "tape_values": values, "tape_bytes": nbytes}


def tape_columns(ctx: Context) -> dict:
    trace, xv, y = record(ctx.inst.f, ctx.x.copy())
    return tape_memory(trace)


def compiled_columns(ctx: Context) -> dict:
    compiled = getattr(ctx.prepared, "compiled", None)
    if compiled is None:
        raise Unsupported("no compiled derivative to measure")
    return {"compiled_bytes": len(inspect.getsource(compiled).encode())}


TAPE = Metric("tape", ["tape_length", "tape_values", "tape_bytes"], tape_columns,
              methods=("ad-reverse",))
COMPILED = Metric("compiled-size", ["compiled_bytes"], compiled_columns, methods=("symbolic",))
