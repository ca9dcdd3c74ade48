"""Per-call times, following the ADBench protocol (Srajer, Habib, Fitzgibbon 2018).

* Preparation (derivation, compilation, tracing) is timed apart as ``setup_s``
  by the harness and never enters a per-call time.
* f and the method's Jacobian are timed in the same worker, one after the
  other, at x0 on float64 numpy values.
* Each callable is first called once (warm-up; it also tells how slow it is).
  Then the number of calls per batch is calibrated, doubling it until a batch
  lasts at least ``BATCH_S``, and batches are repeated while the budget lasts
  (up to ``MAX_SAMPLES``). A sample is a batch's time divided by its calls.
  A callable slower than its budget gets its warm-up call as its only sample:
  slow methods take fewer samples, so a run's length stays bounded.
* Reported: the minimum (``time_*_s``, the least disturbed estimate), the
  median, and the spread ``time_spread`` = (median - min) / min of the
  derivative's samples (0 with one sample; a single sample disturbed by the
  machine does not move it). Garbage collection is off while a batch runs, as
  in ``timeit``.
* ``time_ratio`` = time_derivative_s / time_f_s.

BLAS threads: ``adbench/__init__.py`` sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS
and MKL_NUM_THREADS to 1 (unless already set) before numpy is first imported,
so that methods are compared single-threaded.

The budget is ``budget_s`` seconds per measurement (default 0.1, half for f and
half for the derivative), capped at a quarter of the measurement's
``--timeout``; ``configure(budget_s=0)`` (``adbench run --time-budget 0``) skips
timing altogether.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from adbench.interpret.xp import numpy_xp
from adbench.measure.context import Context, Metric

__all__ = ["TIMING", "Timing", "time_callable", "configure", "settings"]

BATCH_S = 0.002
MAX_SAMPLES = 5
DEFAULT_BUDGET_S = 0.1

_settings = {"budget_s": DEFAULT_BUDGET_S}

COLUMNS = ["time_f_s", "time_f_median_s", "time_derivative_s", "time_derivative_median_s",
           "time_spread", "time_samples", "time_ratio"]


def configure(budget_s: float | None = None) -> None:
    """Set the timing budget per measurement in seconds (0 turns timing off).

    Measurements run in forked workers, which inherit this setting."""
    if budget_s is not None:
        if budget_s < 0:
            raise ValueError(f"timing budget must be >= 0, got {budget_s}")
        _settings["budget_s"] = float(budget_s)


def settings() -> dict:
    return dict(_settings)


@dataclass
class Timing:
    """Per-call samples in seconds and the calls per batch they came from."""

    samples: list
    repeats: int

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """(median - min) / min: how far a typical sample lies above the best
        one (0 with one sample; robust to a single disturbed sample)."""
        lo = min(self.samples)
        return (self.median - lo) / lo if lo > 0 else 0.0


def _batch(fn: Callable[[], object], repeats: int) -> float:
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        return time.perf_counter() - t0
    finally:
        if enabled:
            gc.enable()


def time_callable(fn: Callable[[], object], budget_s: float, batch_s: float = BATCH_S,
                  max_samples: int = MAX_SAMPLES) -> Timing:
    """Time ``fn()`` per call within about ``budget_s`` seconds (see module doc)."""
    start = time.perf_counter()
    warm = _batch(fn, 1)
    if 2 * warm > budget_s:  # too slow for more than one call within the budget
        return Timing([warm], 1)
    repeats, elapsed = 1, _batch(fn, 1)
    while elapsed < batch_s:  # calibrate: the first batch long enough is a sample
        repeats *= 2
        elapsed = _batch(fn, repeats)
    samples = [elapsed / repeats]
    while (len(samples) < max_samples
           and time.perf_counter() - start + elapsed <= budget_s):
        samples.append(_batch(fn, repeats) / repeats)
    return Timing(samples, repeats)


def timing_columns(ctx: Context) -> dict:
    budget = _settings["budget_s"]
    if budget <= 0:
        return {}
    if ctx.timeout:
        budget = min(budget, ctx.timeout / 4)
    inst, x, jacobian = ctx.inst, ctx.x.copy(), ctx.prepared.jacobian
    with np.errstate(all="ignore"):
        tf = time_callable(lambda: inst.f(x, numpy_xp), budget / 2)
        td = time_callable(lambda: jacobian(x), budget / 2)
    return {
        "time_f_s": tf.min, "time_f_median_s": tf.median,
        "time_derivative_s": td.min, "time_derivative_median_s": td.median,
        "time_spread": td.spread, "time_samples": len(td.samples),
        "time_ratio": td.min / tf.min if tf.min > 0 else None,
    }


TIMING = Metric("timing", COLUMNS, timing_columns, integers=("time_samples",))
