"""How a measurement's worker starts, by start method: its cost, and the hazard
of a fork after JAX.

    python tests/measure_worker_start.py [--rounds 9] [--hang-trials 3]

1. Start-up of one worker that can measure (started, adbench's harness
   imported, one small answer back, joined) by fork, forkserver (preloading
   the harness, as adbench.measure.isolation does) and spawn, in one process
   that has imported the harness, interleaved rounds: medians, and each over
   fork. JAX is not started for this part.
2. One harness measurement (survey-example, ad-reverse, no timing budget)
   through run_isolated, its worker by fork or by the fork server,
   interleaved rounds: medians (JAX not started: this compares cost only).
3. A jax-rev measurement (survey-example) through run_isolated after JAX's
   backend has started here, its worker forced to be a fork (the old way),
   then as start_method() chooses for a call that runs JAX: the outcome and seconds of each trial,
   under a 20 s time limit.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time
import warnings


def _answer(conn):
    import adbench.measure.harness  # noqa: F401 - what a worker needs to measure (inherited by
    conn.send(os.getpid())          # a fork and by the preloaded fork server; spawn imports it)
    conn.close()


def _start_once(method: str) -> float:
    ctx = mp.get_context(method)
    parent, child = ctx.Pipe(duplex=False)
    t = time.perf_counter()
    proc = ctx.Process(target=_answer, args=(child,))
    proc.start()
    child.close()
    parent.recv()
    proc.join()
    return time.perf_counter() - t


def start_up(rounds: int) -> None:
    import adbench.measure.harness  # noqa: F401 - as in a run
    from adbench.measure import isolation

    mp.get_context("forkserver").set_forkserver_preload(isolation.FORKSERVER_PRELOAD)
    methods = ["fork", "forkserver", "spawn"]
    for m in methods:  # warm-up: the fork server starts here
        _start_once(m)
    seen: dict[str, list] = {m: [] for m in methods}
    for _ in range(rounds):
        for m in methods:
            seen[m].append(_start_once(m))
    base = statistics.median(seen["fork"])
    for m in methods:
        med = statistics.median(seen[m])
        print(f"start-up {m:10s} median {med * 1e3:8.1f} ms ({med / base:6.1f} x fork), "
              f"{rounds} rounds")


def measurement_cost(rounds: int) -> None:
    from adbench.measure import isolation
    from adbench.measure.harness import measure, select
    from adbench.measure.metrics import timing
    from adbench.methods import get_method
    from adbench.registry import load_registry

    timing.configure(budget_s=0)
    inst = select(load_registry(), None, ["survey-example"], None)[0]
    method, chosen = get_method("ad-reverse"), isolation.start_method
    seen: dict[str, list] = {"fork": [], "forkserver": []}
    try:
        for k in range(rounds + 1):  # round 0: warm-up
            for name in seen:
                isolation.start_method = lambda runtimes=(), name=name: name
                t = time.perf_counter()
                out = isolation.run_isolated(measure, (inst, method, None, 60), 60)
                assert out.status == "ok" and out.value["status"] == "ok", out
                if k:
                    seen[name].append(time.perf_counter() - t)
    finally:
        isolation.start_method = chosen
        timing.configure(budget_s=timing.DEFAULT_BUDGET_S)
    base = statistics.median(seen["fork"])
    for name, times in seen.items():
        med = statistics.median(times)
        print(f"one measurement, worker by {name:10s} median {med * 1e3:7.1f} ms "
              f"({med / base:4.2f} x fork), {rounds} rounds")


def fork_after_jax(trials: int) -> None:
    from adbench.measure import isolation
    from adbench.measure.harness import measure, select
    from adbench.methods import get_method
    from adbench.registry import load_registry

    inst = select(load_registry(), None, ["survey-example"], None)[0]
    import jax.numpy as jnp

    float(jnp.ones(3).sum())  # JAX's backend starts, and its threads
    chosen = isolation.start_method
    warnings.simplefilter("ignore", RuntimeWarning)  # JAX's warning of the fork itself
    forced = lambda runtimes=(): "fork"  # noqa: E731 - the old way, whatever runs here
    for label, method in (("fork (forced)", forced), ("start_method()", chosen)):
        isolation.start_method = method
        for _ in range(trials):
            t = time.perf_counter()
            out = isolation.run_isolated(measure, (inst, get_method("jax-rev"), None, 20), 20,
                                         runtimes=("jax",))
            print(f"jax-rev after JAX ran, worker by {label} [{method(('jax',))}]: {out.status} "
                  f"{(out.value or {}).get('status', '')} {out.message[:50]} "
                  f"{time.perf_counter() - t:.1f} s")
    isolation.start_method = chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--hang-trials", type=int, default=3)
    args = parser.parse_args()
    import adbench  # noqa: F401 - the BLAS thread variables first, as the CLI sets them
    start_up(args.rounds)
    measurement_cost(args.rounds)
    fork_after_jax(args.hang_trials)


if __name__ == "__main__":
    main()
