"""Compiled gradients side by side: adbench's compiled tape as C and as Python,
against SymEngine's and CasADi's compiled gradients, on the Helmholtz energy.

``python -m adbench.studies.bench_native [--n 32]`` builds, in one process:

* ``compile_grad c``: ``compile_grad(f, backend="c")`` (:mod:`adbench.ad.native`);
* ``C function alone``: its compiled C function called through ctypes with arguments
  made beforehand (at x, whatever point it is given): what the call costs without the
  Python around it;
* ``compile_grad python``: ``compile_grad(f)``, the straight-line Python;
* ``symengine``: the ``symengine`` method's Lambdify (LLVM backend when SymEngine has
  it), built as that method builds it (:mod:`adbench.methods.peers_symbolic`);
* ``casadi``: the ``casadi`` method's Function, likewise (if CasADi is installed);

from the registry's one Helmholtz problem. Each tool's first call is timed on its
own: recording, writing and compiling for adbench (for the C route also split into
``C generation`` and ``C compiler``), the method's whole setup for the peers. Then
the per-call times: rounds in which every tool's call is timed in turn (each sample
repeated to last about ``min_sample`` seconds, the garbage collector in its normal
state), the median over the rounds and the range of single rounds. Every gradient is
checked against the engine's (rho) before timing. ``break-even calls`` is how many
calls repay the C route's extra first-call cost over the Python route's.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from adbench.ad import compile_grad, grad
from adbench.measure.accuracy import rho
from adbench.registry import load_registry

__all__ = ["run", "main"]


def _first_call(build):
    start = time.perf_counter()
    out = build()
    return out, time.perf_counter() - start


def _sample(fn, x, min_sample: float) -> float:
    number, spent = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn(x)
        spent = time.perf_counter() - start
        if spent >= min_sample:
            return spent / number
        number *= 2


def run(n: int = 32, repeats: int = 7, min_sample: float = 0.05) -> dict:
    """The measurements as a dict: ``tools`` (name -> first_s, median_s, low_s, high_s,
    gap), ``native`` (the C route's generate_s, compile_s) and ``x``."""
    from adbench.methods.peers_symbolic import CasadiJacobian, SymEngineJacobian

    inst = load_registry().get("helmholtz").instance(n=n)
    x0 = inst.x0.copy()
    x = x0 * 1.01  # timed away from the recorded point
    tools, first = {}, {}
    native = compile_grad(inst.f, backend="c")
    _, first["compile_grad c"] = _first_call(lambda: native(x0))
    key = next(iter(native.programs))
    if native.backends.get(key) != "c":
        raise RuntimeError(f"not native: {native.reasons.get(key)}")
    program = native.programs[key]
    timings = program.timings
    tools["compile_grad c"] = native
    # the C function alone, its arguments made once: the floor under the Python around it
    buffers = (program._x.from_buffer_copy(x), 1.0, program._y(), program._jac())
    tools["C function alone"] = (lambda v: (program.function(*buffers),
                                            np.frombuffer(buffers[3]))[1])
    python = compile_grad(inst.f)
    _, first["compile_grad python"] = _first_call(lambda: python(x0))
    tools["compile_grad python"] = python
    for name, method in (("symengine", SymEngineJacobian()), ("casadi", CasadiJacobian())):
        try:
            (fn, info), first[name] = _first_call(lambda method=method: method.build(inst))
        except ImportError:
            continue
        tools[name] = (lambda v, fn=fn: fn(v))
        if name == "symengine" and "message" not in info:
            name_llvm = "symengine (LLVM)"
            tools[name_llvm], first[name_llvm] = tools.pop(name), first.pop(name)
    expected = grad(inst.f)(x)
    gaps = {name: float(np.max(rho(np.ravel(fn(x)), expected))) for name, fn in tools.items()}
    samples: dict = {name: [] for name in tools}
    for _ in range(repeats):
        for name, fn in tools.items():
            samples[name].append(_sample(fn, x, min_sample))
    if native.stats["ordinary"] or native.stats["recorded"] != 1:
        raise RuntimeError(f"the timed calls did not all run native code: {native.stats}")
    out = {name: {"first_s": first.get(name, float("nan")), "median_s": statistics.median(s),
                  "low_s": min(s), "high_s": max(s), "gap": gaps[name]}
           for name, s in samples.items()}
    return {"n": n, "tools": out, "native": timings}


def format_result(result: dict) -> str:
    tools = result["tools"]
    reference = next((name for name in tools if name.startswith("symengine")), None)
    lines = [f"Helmholtz n = {result['n']}: per-call time of the compiled gradient "
             "(median of rounds, range of single rounds), first call, gap to grad (rho)",
             "",
             "| tool | per call us | range us | "
             + (f"/ {reference} | " if reference else "") + "first call s | gap |",
             "|---|---|---|" + ("---|" if reference else "") + "---|---|"]
    for name, t in tools.items():
        ratio = (f" {t['median_s'] / tools[reference]['median_s']:.2f} |" if reference else "")
        first = "-" if t["first_s"] != t["first_s"] else f"{t['first_s']:.2f}"
        lines.append(f"| {name} | {t['median_s'] * 1e6:.1f} | {t['low_s'] * 1e6:.1f}-"
                     f"{t['high_s'] * 1e6:.1f} |{ratio} {first} | {t['gap']:.0e} |")
    c, py = tools["compile_grad c"], tools["compile_grad python"]
    extra, gain = c["first_s"] - py["first_s"], py["median_s"] - c["median_s"]
    native = result["native"]
    lines += ["", f"The C route's first call: C generation {native['generate_s']:.2f} s, "
                  f"C compiler {native['compile_s']:.2f} s; {extra:.2f} s more than the "
                  "Python route's first call"]
    if gain > 0:
        lines[-1] += (f", repaid after {extra / gain:,.0f} calls ({gain * 1e6:.0f} us saved "
                      "per call)")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adbench.studies.bench_native",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="Helmholtz size [default: 32]")
    parser.add_argument("--repeats", type=int, default=7, help="rounds [default: 7]")
    parser.add_argument("--min-sample", type=float, default=0.05,
                        help="seconds per sample [default: 0.05]")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1 or not args.min_sample > 0:
        parser.exit(2, "bench_native: --n and --repeats must be >= 1, --min-sample > 0\n")
    print(format_result(run(args.n, args.repeats, args.min_sample)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
