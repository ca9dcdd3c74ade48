"""Memory: the peak a derivative allocates, what reverse mode keeps on its
tape, and the size of the compiled symbolic derivative.

* ``mem_f_bytes``, ``mem_derivative_bytes``: the most memory allocated at once
  during one evaluation of f on numpy (resp. one Jacobian by the method) at
  x0, above what was allocated when the call began: Python objects and numpy
  arrays, as :mod:`tracemalloc` sees them (memory a C library allocates on
  its own, such as a BLAS workspace, is not seen). The result counts too.
  ``mem_ratio`` is their ratio. Empty, with the reason, for a method whose
  Prepared has ``memory_unseen`` (JAX, torch, SymEngine, CasADi). Skipped
  (with a message) where tracing could take over a quarter of the timeout
  (60 s without one).
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

import gc
import inspect
import sys
import tracemalloc

import numpy as np

from adbench.ad import record
from adbench.ad.tape import values_held
from adbench.interpret.core import BoxBase
from adbench.interpret.xp import numpy_xp
from adbench.measure.context import Context, Metric
from adbench.methods.base import Unsupported

__all__ = ["PEAK", "PEAK_COLUMNS", "TAPE", "COMPILED", "peak_bytes", "tape_memory"]

#: Peak memory columns. Like times, they may differ a little between identical runs
#: (by a few hundred bytes: caches and interpreter state the process happens to hold).
PEAK_COLUMNS = ["mem_f_bytes", "mem_derivative_bytes", "mem_ratio"]


def _empty_free_lists() -> None:
    """A full collection (CPython empties its free lists then) of nothing but
    the objects made since the freeze: cheap on a large heap."""
    if gc.get_freeze_count():  # someone else froze objects: leave that alone
        gc.collect()
        return
    gc.freeze()
    try:
        gc.collect()
    finally:
        gc.unfreeze()


def peak_bytes(fn) -> int:
    """The most memory allocated at once while ``fn()`` runs, above what was
    allocated when it began (:mod:`tracemalloc`: Python objects and numpy
    arrays). Uses the running trace if one is on, else one of its own.

    A full garbage collection first also empties CPython's free lists, from
    which new tuples and floats would otherwise be served without an
    allocation that tracemalloc sees (a tape of a few thousand entries would
    then look almost free). The objects alive are frozen meanwhile, so that
    the collection takes microseconds instead of a scan of the whole heap.
    Small objects freed during the call go back to those lists, and the
    memory they keep counts as held (as the process does hold it); the lists
    are bounded (2,000 tuples of each length up to 20, for instance), so this
    weighs on small programs only.
    """
    _empty_free_lists()
    own = not tracemalloc.is_tracing()
    if own:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        if own:
            tracemalloc.stop()


#: How much slower a call runs under tracemalloc, at worst, as measured here (about 8x
#: for forward mode, 15-17x for reverse mode and finite differences on scalar code).
TRACED_SLOWDOWN = 20


#: Without a timeout, the longest a traced Jacobian may be expected to take.
UNTIMED_LIMIT_S = 60.0


def peak_columns(ctx: Context) -> dict:
    # A method computing through an allocator tracemalloc does not see (JAX's, torch's,
    # a C++ library's) says so: its figure would be wrong, so none is reported.
    unseen = getattr(ctx.prepared, "memory_unseen", None)
    if unseen:
        raise Unsupported(unseen)
    if ctx.jacobian_s is not None:
        estimate = TRACED_SLOWDOWN * ctx.jacobian_s
        limit, what = ((ctx.timeout / 4, f"a quarter of the {ctx.timeout:g} s timeout")
                       if ctx.timeout else (UNTIMED_LIMIT_S, f"{UNTIMED_LIMIT_S:g} s"))
        if estimate > limit:
            raise Unsupported(f"skipped: one Jacobian took {ctx.jacobian_s:.2g} s, and traced "
                              f"it could take {estimate:.2g} s, over {what}")
    # The Jacobian has been computed once already, so lazy set-up (caches, compiled
    # code) is not counted; f is evaluated once first for the same reason.
    f, jacobian = ctx.inst.f, ctx.prepared.jacobian
    with np.errstate(all="ignore"):  # as when the Jacobian was computed
        f(ctx.x.copy(), numpy_xp)
        x = ctx.x.copy()  # copies made outside the measured calls
        f_bytes = peak_bytes(lambda: f(x, numpy_xp))
        x = ctx.x.copy()
        d_bytes = peak_bytes(lambda: jacobian(x))
    return {"mem_f_bytes": f_bytes, "mem_derivative_bytes": d_bytes,
            "mem_ratio": d_bytes / f_bytes if f_bytes > 0 else float("nan")}


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
        for v in values_held(entry):
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


PEAK = Metric("peak-memory", PEAK_COLUMNS, peak_columns,
              integers=("mem_f_bytes", "mem_derivative_bytes"))
TAPE = Metric("tape", ["tape_length", "tape_values", "tape_bytes"], tape_columns,
              methods=("ad-reverse",), integers=("tape_length", "tape_values", "tape_bytes"))
COMPILED = Metric("compiled-size", ["compiled_bytes"], compiled_columns, methods=("symbolic",),
                  integers=("compiled_bytes",))
