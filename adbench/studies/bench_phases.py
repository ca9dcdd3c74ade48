"""Where a gradient of the GMM objective goes: its recording and its sweep, apart.

``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m adbench.studies.bench_phases
[--gmm-size 2,5]`` (single-threaded BLAS, as ``adbench bench engine`` sets it) times,
in one process, in interleaved rounds of process CPU time with the collector in its
normal state:

* ``plain``: the objective on plain numpy arrays (the unit);
* ``record``: the objective run on a reverse-mode trace, the tape recorded and
  dropped: what ``grad`` spends before its sweep;
* ``grad``: recording and the backward sweep (``sweep`` = grad - record);
* ``compile_grad``: the compiled gradient (forward lines, then the reverse lines of
  the staged rules);
* ``compiled forward``: the forward lines of that program alone (f's value, and the
  residuals its reverse lines read), so that ``compiled sweep`` = compile_grad -
  compiled forward is the numpy work of the backward sweep with no interpretation;
* ``hand-written``: the problem's manual gradient on plain arrays.

Each is printed as a ratio to ``plain``, the median of the rounds, with the range
of single rounds. ``floor`` = record + compiled sweep is what ``grad`` would cost if
its backward sweep interpreted the tape at no cost over the compiled lines: a lower
bound for any sweep, given this recording. ``--memory`` prints instead the peak of
traced memory during one call of the plain evaluation, ``grad`` and ``compile_grad``
(:func:`peak_memory`).
Nothing is asserted: the figures are for reading beside the profile of one gradient
(``python -m cProfile``) and ``adbench bench engine``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from adbench.ad import compile_grad, grad
from adbench.ad.codegen import Writer
from adbench.ad.collector import collector_paused
from adbench.ad.compiled import GuardedTrace
from adbench.ad.reverse import ReverseTrace
from adbench.interpret.xp import numpy_xp
from adbench.studies.bench import GMM_N, gmm_workload, interleaved_samples, plain_gmm_xp

__all__ = ["run", "compiled_forward", "peak_memory", "main"]


def run(D: int = 2, K: int = 5, N: int = GMM_N, repeats: int = 9,
        min_sample: float = 0.05) -> dict:
    """``{phase: (median ratio, lowest, highest)}`` to the plain evaluation."""
    inst = gmm_workload(D, K, N)
    x = inst.x0
    plain_xp = plain_gmm_xp()
    g, c = grad(inst.f), compile_grad(inst.f)
    c(x)
    forward = compiled_forward(inst.f, x)

    @collector_paused  # as grad records: with the collector paused
    def record():
        trace = ReverseTrace()
        inst.f(trace.input(x), numpy_xp)

    fns = {"plain": lambda: inst.f(x, plain_xp), "record": record, "grad": lambda: g(x),
           "compile_grad": lambda: c(x), "compiled forward": lambda: forward(x, 1.0),
           "hand-written": lambda: inst.manual(x, plain_xp)}
    samples = interleaved_samples(fns, repeats, min_sample, time.process_time)
    rounds = {k: [s / p for s, p in zip(v, samples["plain"], strict=True)]
              for k, v in samples.items()}
    rounds["sweep"] = [g_ - r for g_, r in zip(rounds["grad"], rounds["record"], strict=True)]
    rounds["compiled sweep"] = [c_ - f_ for c_, f_ in zip(
        rounds["compile_grad"], rounds["compiled forward"], strict=True)]
    rounds["floor"] = [r + s for r, s in zip(rounds["record"], rounds["compiled sweep"],
                                             strict=True)]
    return {k: (statistics.median(v), min(v), max(v)) for k, v in rounds.items()}


def compiled_forward(f, x):
    """The forward lines of ``compile_grad(f)``'s program at x, as a function
    ``(x, seed) -> f(x)`` (the code generator's ``write(sweep=False)``; its text
    in ``.source``)."""
    trace = GuardedTrace()
    xv = trace.input(x)
    return Writer(trace, xv, f(xv, numpy_xp), x, rows=False).program("<compiled forward>",
                                                                      sweep=False)


def peak_memory(D: int = 2, K: int = 5, N: int = GMM_N) -> dict:
    """MiB of peak traced memory (:mod:`tracemalloc`) during one call of the plain
    evaluation, ``grad`` and ``compile_grad``, each after a first call."""
    import tracemalloc

    inst = gmm_workload(D, K, N)
    x = inst.x0
    plain_xp = plain_gmm_xp()
    calls = {"plain": lambda: inst.f(x, plain_xp), "grad": grad(inst.f),
             "compile_grad": compile_grad(inst.f)}
    peaks = {}
    for name, fn in calls.items():
        fn() if name == "plain" else fn(x)
        tracemalloc.start()
        try:
            fn() if name == "plain" else fn(x)
            peaks[name] = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
    return peaks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adbench.studies.bench_phases",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--gmm-size", default="2,5", help="D,K (N = 1000)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--memory", action="store_true",
                        help="print the peak traced memory of one call of each instead")
    args = parser.parse_args(argv)
    try:
        D, K = (int(v) for v in args.gmm_size.split(","))
    except ValueError:
        parser.error(f"--gmm-size: expected D,K such as 2,5, not {args.gmm_size!r}")
    if args.memory:
        for name, mib in peak_memory(D, K).items():
            print(f"gmm D={D} K={K} N={GMM_N}: {name:13s} peak {mib:.0f} MiB")
        return 0
    phases = run(D, K, repeats=args.repeats)
    print(f"gmm D={D} K={K} N={GMM_N}: time over the plain evaluation, median of "
          f"{args.repeats} rounds (lowest-highest round)")
    for name, (median, low, high) in phases.items():
        print(f"  {name:16s} {median:6.2f}  ({low:.2f}-{high:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
