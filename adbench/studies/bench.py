"""Speed of the AD engine: reverse-mode gradient time over plain evaluation time.

Two workloads, both taken from the problem registry (one definition of each):

* ``gmm``: the Gaussian-mixture log-posterior of GradBench (array code), at
  (D, K) in (2, 5), (10, 25), (20, 50), (64, 100) and N = 1000 points. The
  baseline is the same function run on plain numpy; target: gradient <= 2.5 x
  the objective (and no slower than HIPS autograd).
* ``helmholtz``: the Helmholtz free energy written as Python loops over
  scalars, n = 50. The baseline is the same function on Python floats (``xp``
  a namespace over :mod:`math`); target: gradient <= 30 x the evaluation.

The other libraries' gradients of the same functions are timed in the same rounds:
JAX eager and jitted, torch eager and torch.func, HIPS autograd, each over its
``xp`` from the one table of names (:mod:`adbench.studies.bench_peers`); a tool
not installed or unable to run a workload has no time and a note.

Protocol: the measurements of one row are interleaved (plain, ours, compiled,
each peer, plain, ...), each sample runs the call enough times to last about
``min_sample`` seconds with the garbage collector paused (as :mod:`timeit`
does), and the figure is the median over ``repeats`` samples; each round's own
ratio (ours / plain of the same round) is kept too, and their range shows how
steady the machine was. BLAS runs
single-threaded: ``python -m adbench.studies.bench`` must be started with
OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = 1 (``adbench bench
engine`` does so in a fresh process, since the thread count is fixed when
numpy loads); it refuses to run otherwise.

Memory: with glibc's default thresholds, large arrays freed by one call are
returned to the system and the next call faults fresh pages in; on a virtual
machine where page faults are dear this dominates mid-sized runs and makes
them noisy (the plain GMM objective at D=10 took 2 to 9 ms from run to run
here). ``--retain-memory`` sets malloc to keep freed memory, so that the
figures measure computation; both settings are worth reading. Each row also states how far the
gradients of the contenders are apart, so a fast wrong answer cannot pass.

For scale, each row also times the problem's hand-written gradient (its ``manual``
derivative) on the same plain values in the same rounds: what the derivative costs
with no AD machinery at all, the floor an engine is measured against.

Two reverse modes of adbench are timed: ``grad`` (the tape recorded afresh and
interpreted backwards at every call: define-by-run) and ``compile_grad`` (the
tape recorded once, at the first call, and compiled to straight-line Python that
later calls run; :mod:`adbench.ad.compiled`). The compiled one's first call
(recording, code generation and its check against the engine) is reported on
its own, and its gradient is checked against ``grad``'s; the timed calls must
all have run the compiled code (no path change, no fallback), or the run fails.

On the scalar workloads (:data:`SCALAR_WORKLOADS`) ``compile_grad(f, backend="c")``
is timed in the same rounds too: the same tape written as C and compiled by the
system's compiler (:mod:`adbench.ad.native`). Its first call is reported in
wall-clock time whatever the clock (the compiler runs in a child process, whose
CPU time the process clock does not see). It has no time, and a note saying why,
on an array workload, where there is no C compiler, or where the tape kept the
Python route; where it ran, every timed call must have run the C code.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import sys
import time
import types
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from adbench.ad import compile_grad, grad
from adbench.interpret import primitives as P
from adbench.interpret.xp import XP_FUNCTIONS, numpy_xp
from adbench.studies.bench_peers import PEER_TOOLS, installed_tools, prepare_peer
from adbench.studies.bench_tables import format_peer_table, format_table
from adbench.measure.accuracy import rho
from adbench.registry import load_registry

__all__ = ["BLAS_ENV", "RETAIN_MEMORY_ENV", "GMM_SIZES", "TARGETS", "BenchRow",
           "PeerTiming", "run_engine_bench", "format_table", "SCALAR_STEPS", "SCALAR_WORKLOADS",
           "format_peer_table", "scalar_op_costs", "main"]

BLAS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: glibc malloc settings that keep freed memory in the process (``--retain-memory``): never
#: trim the heap, and serve blocks up to 32 MiB from it rather than from fresh mappings.
#: 32 MiB is the largest mmap threshold glibc accepts on 64-bit systems (it ignores a
#: larger value, and the default then applies); larger arrays are still mapped afresh.
RETAIN_MEMORY_ENV = {"MALLOC_TRIM_THRESHOLD_": str(1 << 40), "MALLOC_MMAP_THRESHOLD_": str(1 << 25)}
GMM_SIZES = [(2, 5), (10, 25), (20, 50), (64, 100)]
GMM_N = 1000
HELMHOLTZ_N = 50
#: Largest accepted (reverse-mode gradient time) / (plain evaluation time).
TARGETS = {"gmm": 2.5, "helmholtz": 30.0, "helmholtz-x[i]": 30.0}
#: The workloads: GMM (array code), and Helmholtz as the registry writes it
#: (``xs = list(x)``, then ``xs[i]``) and as a program is naturally written
#: (``x[i]`` on the array inside the loops), both from ``helmholtz_energy``.
WORKLOADS = ("gmm", "helmholtz", "helmholtz-x[i]")
#: The workloads whose tape is float64 scalars, for which compile_grad(backend="c") is timed.
SCALAR_WORKLOADS = ("helmholtz", "helmholtz-x[i]")


def namespace_over(module, names=XP_FUNCTIONS, **extra) -> types.SimpleNamespace:
    """A thin ``xp`` over a plain module (numpy, math) for the baselines:
    the functions of adbench's ``xp`` that the module has, under the same
    names, and the ``extra`` ones (those it lacks, such as ``logsumexp``)."""
    ns = dict(extra)
    for name in names:
        target = "absolute" if name == "abs" and not hasattr(module, "abs") else name
        if hasattr(module, target):
            ns[name] = getattr(module, target)
    for const in ("pi", "e", "inf", "newaxis"):
        if hasattr(module, const):
            ns[const] = getattr(module, const)
    ns["name"] = getattr(module, "__name__", "module")
    return types.SimpleNamespace(**ns)


#: The garbage collector's state during the samples: ``on`` (its normal state, what a
#: user's own loop gets) or ``paused`` (as :mod:`timeit` times). Set by ``--collector``.
COLLECTOR = {"state": "on"}


def _seconds(fn: Callable, number: int, clock) -> float:
    gc.collect()  # every sample starts from the same collector state
    paused = COLLECTOR["state"] == "paused"
    if paused:
        gc.disable()
    try:
        start = clock()
        for _ in range(number):
            fn()
        return (clock() - start) / number
    finally:
        if paused:
            gc.enable()


def _calibrate(fn: Callable, min_sample: float, clock) -> int:
    """How many calls make one sample last about ``min_sample`` seconds."""
    once = _seconds(fn, 1, clock)
    return max(1, int(math.ceil(min_sample / max(once, 1e-9))))


def interleaved_samples(fns: dict, repeats: int, min_sample: float, clock) -> dict:
    """``repeats`` samples of seconds per call of each function, taken in turn
    (sample i of every function comes from the same round)."""
    numbers = {k: _calibrate(fn, min_sample, clock) for k, fn in fns.items()}
    samples: dict = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            samples[k].append(_seconds(fn, numbers[k], clock))
    return samples


def median_times(fns: dict, repeats: int, min_sample: float, clock) -> dict:
    """Median seconds per call of each function, samples interleaved."""
    samples = interleaved_samples(fns, repeats, min_sample, clock)
    return {k: statistics.median(v) for k, v in samples.items()}


def _rel_diff(a, b) -> float:
    """The largest rho between two gradients."""
    return float(np.max(rho(a, b)))


@dataclass
class PeerTiming:
    """Another library's gradient in one row: its median seconds (None when it could
    not run, ``note`` then saying why), its time over the plain one in each round,
    rho between its gradient and grad's, and its first call (for jax-jit: compiling)."""

    tool: str
    seconds: float | None
    rounds: tuple = ()
    gap: float = float("nan")
    setup_seconds: float | None = None
    note: str = ""

    @property
    def ratio_range(self) -> tuple | None:
        return (min(self.rounds), max(self.rounds)) if self.rounds else None


@dataclass
class BenchRow:
    workload: str
    size: str
    n: int
    plain: float            # seconds per plain evaluation
    ours: float             # seconds per reverse-mode gradient
    target: float
    gradient_gap: float     # rho between our gradient and the hand-written one
    #: ours / plain in each round of samples: their spread shows how noisy the run was
    round_ratios: tuple = ()
    manual: float | None = None  # seconds per hand-written gradient, run on plain values
    compiled: float | None = None      # seconds per compiled gradient (compile_grad)
    compile_seconds: float | None = None  # its first call: record, generate, check
    compiled_gap: float = float("nan")  # rho between the compiled gradient and grad's
    compiled_rounds: tuple = ()         # compiled / plain in each round
    peers: dict = field(default_factory=dict)  # tool -> PeerTiming, in PEER_TOOLS order
    native: float | None = None         # seconds per compile_grad(backend="c") gradient
    native_first_seconds: float | None = None  # its first call, wall clock: record, C, cc
    native_gap: float = float("nan")    # rho between its gradient and grad's
    native_rounds: tuple = ()           # native / plain in each round
    native_note: str = ""               # why it has no time, when it has none
    collector: str = "on"               # the garbage collector during the samples

    @property
    def ratio(self) -> float:
        return self.ours / self.plain

    @property
    def ratio_range(self) -> tuple | None:
        """The lowest and highest ratio of one round of samples, or None."""
        return (min(self.round_ratios), max(self.round_ratios)) if self.round_ratios else None

    @property
    def manual_ratio(self) -> float | None:
        """The hand-written gradient's time over the plain evaluation's: what
        derivative code costs with no AD machinery at all."""
        return None if self.manual is None else self.manual / self.plain

    @property
    def autograd(self) -> float | None:
        """Seconds per HIPS autograd gradient (None: not timed)."""
        peer = self.peers.get("autograd")
        return None if peer is None else peer.seconds

    @property
    def compiled_ratio(self) -> float | None:
        return None if self.compiled is None else self.compiled / self.plain

    @property
    def native_ratio(self) -> float | None:
        return None if self.native is None else self.native / self.plain

    @property
    def native_range(self) -> tuple | None:
        """The lowest and highest C ratio of one round of samples, or None."""
        return (min(self.native_rounds), max(self.native_rounds)) \
            if self.native_rounds else None

    @property
    def compiled_range(self) -> tuple | None:
        """The lowest and highest compiled ratio of one round of samples, or None."""
        return (min(self.compiled_rounds), max(self.compiled_rounds)) \
            if self.compiled_rounds else None

    def _meets(self, seconds: float | None) -> bool | None:
        if seconds is None:
            return None
        return seconds / self.plain <= self.target and (
            self.autograd is None or self.workload != "gmm" or seconds <= self.autograd)

    @property
    def met(self) -> bool:
        """The target, for ``grad`` (and no slower than autograd on gmm)."""
        return self._meets(self.ours)

    @property
    def compiled_met(self) -> bool | None:
        """The target, for ``compile_grad``."""
        return self._meets(self.compiled)


def _bench_one(workload, size, inst, x_ours, plain_fn, manual_fn, tools, repeats,
               min_sample, clock) -> BenchRow:
    ours = grad(inst.f)
    g = np.asarray(ours(x_ours), dtype=float)
    compiled = compile_grad(inst.f)
    start = clock()
    compiled(x_ours)  # records and compiles
    compile_seconds = clock() - start
    compiled_gap = _rel_diff(g, compiled(x_ours))
    fns = {"plain": plain_fn, "ours": lambda: ours(x_ours), "compiled": lambda: compiled(x_ours)}
    if inst.has_manual:
        fns["manual"] = manual_fn
    manual_gap = float("nan")
    if inst.has_manual:
        hand = np.asarray(inst.manual(inst.x0, numpy_xp), dtype=float).reshape(-1)
        manual_gap = _rel_diff(g, hand)
    native, native_first, native_gap, native_note = _native(workload, inst, x_ours, g)
    if native is not None:
        fns["native"] = lambda: native(x_ours)
    ready = {t: prepare_peer(t, inst.fn, inst.data, inst.x0, clock) for t in tools}
    fns.update({("peer", t): p.call for t, p in ready.items() if p.call is not None})
    samples = interleaved_samples(fns, repeats, min_sample, clock)
    for name, which in (("compile_grad", compiled), ('compile_grad(backend="c")', native)):
        if which is not None and (which.stats["recorded"] != 1 or which.stats["ordinary"]):
            raise RuntimeError(f"{name} did not run compiled code in every timed call of "
                               f"{workload} {size}: {which.stats}")
    times = {k: statistics.median(v) for k, v in samples.items()}

    def rounds(key):
        return tuple(o / p for o, p in zip(samples[key], samples["plain"], strict=True))

    peers = {}
    for t, p in ready.items():
        timed = ("peer", t) in samples
        peers[t] = PeerTiming(t, times.get(("peer", t)), rounds(("peer", t)) if timed else (),
                              _rel_diff(g, p.gradient.reshape(-1)) if timed else float("nan"),
                              p.setup_seconds, p.note)
    return BenchRow(workload, size, inst.n, times["plain"], times["ours"], TARGETS[workload],
                    manual_gap, rounds("ours"), times.get("manual"), times["compiled"],
                    compile_seconds, compiled_gap, rounds("compiled"), peers,
                    times.get("native"), native_first, native_gap,
                    rounds("native") if native is not None else (), native_note,
                    COLLECTOR["state"])


def _native(workload, inst, x, g) -> tuple:
    """``(gradient function, first call seconds, gap, note)`` of compile_grad(f,
    backend="c") on a scalar workload: the function None and the note saying why when
    it does not run C code (an array workload, no compiler, a tape that keeps the Python
    route). The first call (recording, writing C, the compiler, the check) is timed by the
    wall clock: the compiler is a child process, unseen by the process clock."""
    if workload not in SCALAR_WORKLOADS:
        return None, None, float("nan"), "array code (the C backend takes tapes of scalars)"
    native = compile_grad(inst.f, backend="c")
    start = time.perf_counter()
    got = native(x)
    first = time.perf_counter() - start
    backend = next(iter(native.backends.values()))
    if backend != "c":
        return None, first, float("nan"), next(iter(native.reasons.values()))
    return native, first, _rel_diff(g, got), ""


def run_engine_bench(workloads=("gmm", "helmholtz"), gmm_sizes=GMM_SIZES, repeats: int = 7,
                     min_sample: float = 0.05, peers=None, clock=time.perf_counter,
                     progress=None, helmholtz_n: int = HELMHOLTZ_N) -> list[BenchRow]:
    """Measure each workload; see the module docstring for the protocol. ``peers``:
    the tools of :data:`~adbench.studies.bench_peers.PEER_TOOLS` to time beside
    adbench (None: those installed; an empty sequence: none)."""
    tools = installed_tools() if peers is None else [t for t in PEER_TOOLS if t in peers]
    registry = load_registry()
    rows = []
    if "gmm" in workloads:
        numpy_xp_plain = plain_gmm_xp()
        for D, K in gmm_sizes:
            inst = gmm_workload(D, K, registry=registry)
            x0 = inst.x0
            rows.append(_bench_one("gmm", f"D={D} K={K} N={GMM_N}", inst, x0,
                                   lambda inst=inst, x0=x0: inst.f(x0, numpy_xp_plain),
                                   lambda inst=inst, x0=x0: inst.manual(x0, numpy_xp_plain),
                                   tools, repeats, min_sample, clock))
            if progress:
                progress(rows[-1])
    for workload in ("helmholtz", "helmholtz-x[i]"):
        if workload not in workloads:
            continue
        inst = registry.get("helmholtz").instance(n=helmholtz_n)
        floats, float_xp = inst.x0.tolist(), namespace_over(math)
        plain = lambda inst=inst: inst.f(floats, float_xp)  # noqa: E731
        inst = _indexed(inst) if workload == "helmholtz-x[i]" else _workload(inst)
        rows.append(_bench_one(workload, f"n={helmholtz_n}", inst, inst.x0, plain,
                               lambda inst=inst: inst.manual(floats, float_xp), tools,
                               repeats, min_sample, clock))
        if progress:
            progress(rows[-1])
    return rows


#: The steps :func:`scalar_op_costs` times: one operation on the float variable ``v``
#: (``c`` a float constant); chained, each stays bounded (cos tends to 0.739, sqrt to 1).
SCALAR_STEPS = {"v * c": lambda v, c, xp: v * c, "v + c": lambda v, c, xp: v + c,
                "xp.sin(v)": lambda v, c, xp: xp.sin(v), "xp.cos(v)": lambda v, c, xp: xp.cos(v),
                "xp.tanh(v)": lambda v, c, xp: xp.tanh(v),
                "xp.sqrt(v)": lambda v, c, xp: xp.sqrt(v)}


def scalar_op_costs(length: int = 2000, repeats: int = 7, clock=time.process_time) -> dict:
    """Nanoseconds per recorded-and-swept operation of ``grad`` for each of
    :data:`SCALAR_STEPS`: the gradient of a chain of ``length`` steps, less the chain on
    Python floats, over ``length``; medians of ``repeats`` interleaved samples, with the
    collector in its normal state (``grad`` pauses it itself)."""
    float_xp, fns = namespace_over(math), {}

    def chain(step):
        def f(x, xp):
            v = x
            for _ in range(length):
                v = step(v, 0.999, xp)
            return v
        return f
    for name, step in SCALAR_STEPS.items():
        f = chain(step)
        g = grad(f)
        fns[(name, "grad")], fns[(name, "plain")] = lambda g=g: g(0.3), lambda f=f: f(0.3, float_xp)
    times = {k: statistics.median(v)
             for k, v in interleaved_samples(fns, repeats, 0.05, clock).items()}
    return {name: (times[(name, "grad")] - times[(name, "plain")]) / length * 1e9
            for name in SCALAR_STEPS}


def plain_gmm_xp() -> types.SimpleNamespace:
    """numpy itself as ``xp``, logsumexp the table's implementation on arrays: what
    the GMM objective's plain evaluation runs on."""
    return namespace_over(np, logsumexp=P.logsumexp_p.impl)


def gmm_workload(D: int, K: int, N: int = GMM_N, registry=None):
    """The GMM objective at D, K, N as a row needs it (:func:`_workload`)."""
    registry = load_registry() if registry is None else registry
    return _workload(registry.get("gmm").instance(D=D, K=K, N=N))


def _workload(inst, fn=None, data=None):
    """What a row needs of a problem instance: ``f(x, xp)`` for adbench, and the same
    function as ``fn(x, xp, **data)`` for the peers (torch needs its data as tensors)."""
    fn = inst.problem.fn if fn is None else fn
    data = dict(inst._f_kwargs) if data is None else data
    return types.SimpleNamespace(
        f=lambda x, xp: fn(x, xp, **data), fn=fn, data=data, x0=inst.x0, n=inst.n,
        has_manual=inst.has_manual, manual=inst.manual)


def _indexed(inst):
    """Helmholtz with ``x[i]`` read from the array inside the loops: the problem's own
    energy (``helmholtz_energy``) given x itself rather than ``list(x)``. On Python floats
    the two read the same numbers, so both rows share the plain evaluation."""
    energy = sys.modules[inst.problem.fn.__module__].helmholtz_energy
    return _workload(inst, energy, {k: inst.params[k] for k in ("A", "b")})


def blas_threads_line() -> str:
    info = "unknown BLAS"
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        info = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - numpy versions differ; this is informative only
        pass
    settings = " ".join(f"{k}={os.environ.get(k, 'unset')}" for k in BLAS_ENV)
    return f"BLAS: {info}, single-threaded ({settings}, set before numpy loaded)"


def main(argv=None) -> int:
    """``python -m adbench.studies.bench``: the measurement process behind
    ``adbench bench engine``."""
    parser = argparse.ArgumentParser(prog="python -m adbench.studies.bench")
    parser.add_argument("--workload", action="append", choices=list(WORKLOADS))
    parser.add_argument("--collector", choices=["on", "paused"], default="on")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--min-sample", type=float, default=0.05)
    parser.add_argument("--no-autograd", action="store_true")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--format", choices=["text", "md"], default="text")
    parser.add_argument("--gmm-sizes", default=None, help="D,K;D,K;...")
    parser.add_argument("--wide", action="store_true")
    args = parser.parse_args(argv)
    unset = [k for k, v in BLAS_ENV.items() if os.environ.get(k) != v]
    if unset:
        print(f"adbench.studies.bench: error: set {', '.join(f'{k}=1' for k in unset)} "
              "before starting "
              "(adbench bench engine does)", file=sys.stderr)
        return 2
    sizes = GMM_SIZES
    if args.gmm_sizes:
        sizes = [tuple(int(v) for v in pair.split(",")) for pair in args.gmm_sizes.split(";")]
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    tools = [] if args.no_peers else [t for t in installed_tools()
                                      if not (args.no_autograd and t == "autograd")]
    COLLECTOR["state"] = args.collector
    from adbench.report.terminal import fit_text

    def say(text: str) -> None:  # a paragraph, wrapped to the terminal unless --wide
        print(text if args.wide or args.format == "md" else fit_text(text, indent="  "))

    say(blas_threads_line())
    retained = all(os.environ.get(k) == v for k, v in RETAIN_MEMORY_ENV.items())
    say("memory: glibc malloc " + ("keeps freed memory (MALLOC_TRIM_THRESHOLD_ and "
                                     "MALLOC_MMAP_THRESHOLD_ = 32 MiB)" if retained
                                     else "with its default thresholds (freed large blocks go "
                                          "back to the system)"))
    say(f"timing: median of {args.repeats} interleaved samples of >= {args.min_sample:g} s, "
          f"{'wall-clock' if args.clock == 'wall' else 'process CPU'} time, garbage collector "
          + ("in its normal state (on) during samples, as in a user's loop" if args.collector
             == "on" else "paused during samples (as timeit does)"))
    sys.stdout.flush()
    rows = run_engine_bench(workloads=tuple(args.workload or WORKLOADS),
                            gmm_sizes=sizes, repeats=args.repeats, min_sample=args.min_sample,
                            peers=tools, clock=clock)
    print(format_table(rows, args.format, wide=args.wide))
    peer_table = format_peer_table(rows, args.format, wide=args.wide)
    if peer_table:
        print()
        print(peer_table)
    say("ratio = adbench reverse-mode gradient (grad: tape recorded and interpreted at "
          "every call) / plain evaluation (numpy arrays for gmm, Python floats for helmholtz), "
          "medians over the rounds; per round = lowest and highest of the rounds' own ratios "
          "(a wide range: a noisy run); compiled = the same with compile_grad (tape recorded "
          "once, compiled to Python; compile ms = its first call: record, generate, check); "
          "c = the same with compile_grad(backend=\"c\") (the tape written as C and compiled "
          "by the system's C compiler; c first s = its first call in wall-clock seconds, the "
          "compiler included; - on an array workload, without a C compiler, or where the tape "
          "kept the Python route: the note under the table says which); "
          "met = within the target (and, on gmm, no slower than autograd); manual ratio = the "
          "hand-written gradient (the problem's manual derivative, on plain values) / plain "
          "evaluation, timed in the same rounds; grad gap = rho between grad's gradient and "
          "the hand-written one; compiled gap and c gap = rho between compile_grad's and grad's")
    if peer_table:
        say("peers: ratio = the tool's gradient / plain evaluation, in the same rounds; "
              "/compiled and /grad = its time over compile_grad's and grad's (above 1: "
              "adbench faster); gap = rho between its gradient and grad's; first call = its "
              "first gradient, untimed (for jax-jit: tracing and XLA compilation); a tool "
              "that could not run has no time and a note")
    return 0


if __name__ == "__main__":
    sys.exit(main())
