"""Checkpointed backpropagation through time on ADBench's LSTM: the memory it
saves and the time it costs (the survey quotes Gruslys et al. 2016: up to 95%
less memory for 33% more time)."""

from __future__ import annotations

import gc
import math
import sys
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from adbench import ad
from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import rho
from adbench.measure.metrics.memory import peak_bytes
from adbench.registry import Registry
from adbench.studies.reproduce.claim import Claim, Evidence
from adbench.studies.reproduce.claim import markdown_table as _md

#: One layer of b = 14 bits (ADBench's), T time steps, sqrt(T) segments.
LAYERS, BITS, TIME_STEPS = 1, 14, 256
ROUNDS = 7


def lstm_bptt(prob, T: int | None = None, l: int = LAYERS, b: int = BITS):
    """``(x0, loss, loss_checkpointed, segments)`` for the registry's ``lstm`` over T
    steps, its time loop restated with the state as a value: a segment of steps maps
    z = (weights, hidden, cell, running total) to the same after its steps, so that
    :func:`adbench.ad.checkpoint` can wrap it (a checkpointed function must receive
    what it differentiates through its argument). The claim checks that this
    restatement gives the registry function's value and gradient. Default T:
    :data:`TIME_STEPS`."""
    T = TIME_STEPS if T is None else T
    data = prob.data(l=l, c=T + 1, b=b)
    state, sequence = data["state"], data["sequence"]
    x0 = prob.instance(l=l, c=T + 1, b=b).x0
    n = len(x0)
    steps = max(1, round(math.sqrt(T)))
    segments = [(t, min(t + steps, T)) for t in range(0, T, steps)]

    step = sys.modules[prob.fn.__module__].lstm_step

    def segment(t0, t1):
        def run(z, xp):
            main = xp.reshape(z[:8 * l * b], (2 * l, 4 * b))
            extra = xp.reshape(z[8 * l * b:n], (3, b))
            hidden = [z[n + 2 * i * b:n + (2 * i + 1) * b] for i in range(l)]
            cell = [z[n + (2 * i + 1) * b:n + (2 * i + 2) * b] for i in range(l)]
            total = z[-1]
            for t in range(t0, t1):  # the registry problem's own step
                total = total + step(sequence[t], sequence[t + 1], hidden, cell, main, extra,
                                     b, xp)
            parts = [z[:n]] + [v for i in range(l) for v in (hidden[i], cell[i])]
            return xp.concatenate(parts + [xp.reshape(total, (1,))])
        return run

    runs = [segment(t0, t1) for t0, t1 in segments]
    light = [ad.checkpoint(r) for r in runs]

    def chain(parts):
        def loss(x, xp):
            z = xp.concatenate([x, np.ravel(state), np.zeros(1)])
            for part in parts:
                z = part(z, xp)
            return -z[-1] / (T * b)
        return loss

    return x0, chain(runs), chain(light), len(segments)


def _median_times(fns: dict, rounds: int) -> dict:
    """Median seconds per call of each function, measured in interleaved rounds (one
    call of each per round, garbage collection off while a call runs)."""
    samples: dict = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
            finally:
                gc.enable()
    return {k: statistics.median(v) for k, v in samples.items()}


def _checkpointed_bptt(reg: Registry, out: Path) -> Evidence:
    prob = reg.get("lstm")
    x0, loss, loss_light, k = lstm_bptt(prob)
    registry_inst = prob.instance(l=LAYERS, c=TIME_STEPS + 1, b=BITS)  # the same T
    g, g_light = ad.grad(loss), ad.grad(loss_light)
    gx, gx_light = np.asarray(g(x0)), np.asarray(g_light(x0))
    g_registry = np.asarray(ad.grad(registry_inst.f)(x0))
    value_gap = abs(float(loss(x0, numpy_xp)) - float(registry_inst.f(x0, numpy_xp)))
    grad_gap = float(max(rho(gx, g_registry).max(), rho(gx_light, g_registry).max()))
    peak, peak_light = peak_bytes(lambda: g(x0)), peak_bytes(lambda: g_light(x0))
    times = _median_times({"plain": lambda: g(x0), "checkpointed": lambda: g_light(x0),
                           "f": lambda: loss(x0, numpy_xp)}, ROUNDS)
    saved = 1 - peak_light / peak
    extra = times["checkpointed"] / times["plain"] - 1
    df = pd.DataFrame([
        {"gradient": "BPTT, full tape", "peak bytes": peak,
         "median time (ms)": 1e3 * times["plain"], "time / f": times["plain"] / times["f"]},
        {"gradient": f"BPTT, {k} checkpoints", "peak bytes": peak_light,
         "median time (ms)": 1e3 * times["checkpointed"],
         "time / f": times["checkpointed"] / times["f"]}])
    passed = bool(saved >= 0.8 and extra <= 0.6 and value_gap <= 1e-12 and grad_gap <= 1e-12)
    return Evidence(
        passed,
        f"backpropagation through time over T = {TIME_STEPS} steps of ADBench's LSTM "
        f"(l = {LAYERS}, b = {BITS}) with sqrt(T) = {k} checkpointed segments saves at least "
        "80% of the gradient's peak memory for at most 60% more time (median of "
        f"{ROUNDS} interleaved rounds), and both gradients equal the registry lstm's AD "
        "gradient to 1e-12",
        "Peak memory: tracemalloc's peak during one gradient; times: median of "
        f"{ROUNDS} interleaved rounds on this machine:\n\n" + _md(df, ".4g")
        + f"\n\nMemory saved: {saved:.0%}, for {extra:.0%} more time (the survey, quoting "
        "Gruslys et al. 2016: up to 95% less memory for 33% more time in one instance). "
        "The checkpointed sweep evaluates each segment once more, on a tape of its own. "
        f"The restated loss equals the registry `lstm` value to {value_gap:.1e} and its "
        f"gradients agree with the registry problem's to rho = {grad_gap:.1e}.",
        values={"saved": saved, "extra_time": extra, "grad_gap": grad_gap,
                "value_gap": value_gap, "segments": k})


#: This module's claims, in the order of the report.
CLAIMS: list[Claim] = [
    Claim("checkpoint-time", "Checkpointing trades time for memory in BPTT", "23",
          "the authors construct a checkpointing variety of the backpropagation through time "
          "(BPTT) algorithm for recurrent neural networks and demonstrate it saving up to 95% "
          "memory usage at the cost of a 33% increase in computation time in one instance",
          _checkpointed_bptt),
]
