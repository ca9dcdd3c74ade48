"""The problem catalogue: every problem's formula, source, sizes, tags and
which methods support it (``adbench list --format md --support``).

Support is measured, not declared: each method prepares and evaluates the
problem's smallest instance in a worker with a limit on its CPU time, and the
reason it gives when it cannot (``Unsupported``, an error, the limit) is shown.

The limit is on CPU time, not on the clock, so that a verdict does not depend
on how loaded the machine is: the worker sets ``RLIMIT_CPU``, the kernel sends
it SIGXCPU when the limit is reached, and its handler raises
:class:`CpuLimitExceeded` at the next Python instruction (every second after
that too, should a method swallow it). A method stuck in C code that never
returns to Python, or a worker that sleeps or waits on a lock, spends no CPU
time and is ended by a wall-clock backstop (:data:`SUPPORT_WALL_FACTOR` times
the CPU limit) instead, and said to be so.
"""

from __future__ import annotations

import inspect
import math
import resource
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from adbench.interpret.primitives import TIE_CONVENTION
from adbench.measure.isolation import run_isolated
from adbench.methods import METHODS, Unsupported
from adbench.problem import Instance, Problem
from adbench.registry import Registry

__all__ = ["support", "catalogue_markdown", "problem_table"]

#: CPU time (seconds) each method gets on the smallest instance when support is measured:
#: well above the slowest supported pair (mlp-loss, symbolic: 18.5 to 26 s of CPU on a
#: shared 2-vCPU machine, the CPU time itself moving with the load), so that no verdict
#: sits at the limit.
SUPPORT_TIMEOUT_S = 60.0
#: The wall-clock backstop, as a multiple of the CPU limit: generous, so that only a worker
#: that does not compute (sleeps, waits on a lock, is stuck in C code) reaches it.
SUPPORT_WALL_FACTOR = 3.0


class CpuLimitExceeded(BaseException):
    """The worker used its CPU time (a BaseException, so that a method's
    ``except Exception`` does not swallow it)."""


_ARMED: list = []  # non-empty while a limited call runs: the handler raises


def _on_sigxcpu(signum, frame):
    if _ARMED:
        raise CpuLimitExceeded


def _unraisable_hook(previous):
    """``sys.unraisablehook`` that says nothing of a :class:`CpuLimitExceeded`
    Python discarded (raised in a ``__del__``, say): the kernel's next SIGXCPU,
    a second of CPU later, raises it again where it counts."""
    def hook(unraisable):
        if not isinstance(unraisable.exc_value, CpuLimitExceeded):
            previous(unraisable)
    return hook


def _within_cpu(cpu_s: float, label: str, fn, *args) -> str:
    """``fn(*args)`` (a verdict) limited to ``cpu_s`` seconds of CPU time of this
    process, all its threads together, counted from this call (rounded up to whole
    seconds, the unit of ``RLIMIT_CPU``), or the verdict that it went over. Run in
    the worker, whose limits end with it; restored all the same."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    used = resource.getrusage(resource.RUSAGE_SELF)  # a fork server's worker: its start
    limit = math.ceil(used.ru_utime + used.ru_stime + cpu_s)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    previous, unraisable = signal.signal(signal.SIGXCPU, _on_sigxcpu), sys.unraisablehook
    sys.unraisablehook = _unraisable_hook(unraisable)
    resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
    _ARMED.append(True)
    try:
        return fn(*args)
    except CpuLimitExceeded:
        _ARMED.clear()  # first: the kernel repeats SIGXCPU every second of CPU
        return f"no: over {cpu_s:g} s of CPU at {label}"
    finally:
        _ARMED.clear()
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        signal.signal(signal.SIGXCPU, previous)
        sys.unraisablehook = unraisable


def _try(inst: Instance, name: str) -> str:
    try:
        with np.errstate(all="ignore"):
            J = METHODS[name].prepare(inst).jacobian(inst.x0.copy())
    except Unsupported as exc:
        return f"no: {exc}"
    if not np.all(np.isfinite(J)):
        return "no: non-finite Jacobian at x0"
    return "yes"


def support(prob: Problem, timeout: float = SUPPORT_TIMEOUT_S,
            methods=None, wall: float | None = None) -> dict[str, str]:
    """``{method: "yes" | "no: reason"}`` on the smallest default size, for every
    method, or for the names in ``methods``.

    Each method gets ``timeout`` seconds of CPU time in its worker (``no: over
    60 s of CPU at n=2``) and, as a backstop for a worker that does not compute,
    ``wall`` seconds of wall-clock time (default: :data:`SUPPORT_WALL_FACTOR`
    times ``timeout``; ``no: over 180 s of wall-clock time at n=2``)."""
    inst = min(prob.instances(), key=lambda i: (i.n * i.m, i.n))
    label = inst.size_label or "its size"
    wall = SUPPORT_WALL_FACTOR * timeout if wall is None else wall
    out = {}
    for name in METHODS if methods is None else methods:
        outcome = run_isolated(_within_cpu, (timeout, label, _try, inst, name), wall,
                               runtimes=METHODS[name].runtimes)
        if outcome.status == "ok":
            out[name] = outcome.value
        elif outcome.status == "timeout":
            out[name] = f"no: over {wall:g} s of wall-clock time at {label}"
        else:
            out[name] = f"no: {outcome.message}"
    return out


def _span(values) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def problem_table(reg: Registry) -> pd.DataFrame:
    """One row per problem: name, n, m, size parameters, manual, tags, description."""
    rows = []
    for p in reg.problems.values():
        sizes = "; ".join(f"{k}={','.join(map(str, v))}" for k, v in p.sizes.items())
        insts = p.instances()
        rows.append({"problem": p.name, "n": _span([i.n for i in insts]),
                     "m": _span([i.m for i in insts]), "sizes": sizes or "-",
                     "manual": "yes" if p.manual_fn else "no", "tags": ", ".join(p.tags),
                     "description": p.description})
    return pd.DataFrame(rows)


def _source(p: Problem) -> str:
    """``problems/FILE.py, line N`` for a built-in problem, else the file's path."""
    path = Path(p.source)
    where = f"problems/{path.name}" if path.parent.name == "problems" else str(path)
    try:
        return f"`{where}`, line {inspect.getsourcelines(p.fn)[1]}"
    except (OSError, TypeError):
        return f"`{where}`"


def catalogue_markdown(reg: Registry, with_support: bool = True,
                       timeout: float = SUPPORT_TIMEOUT_S) -> str:
    """The catalogue as markdown: a summary table, then a section per problem."""
    parts = ["# Problem catalogue", "",
             "Generated by `adbench list --format md --support`: every registered problem "
             "with its formula and source (from its description and docstring), default "
             "sizes, tags and the methods that differentiate it, measured on its smallest "
             "default size.", "", problem_table(reg).to_markdown(index=False), "",
             "## Conventions: derivatives at kinks", "", TIE_CONVENTION.strip(), ""]
    for p in reg.problems.values():
        sizes = ", ".join(f"`{k}` in {v}" for k, v in p.sizes.items()) or "none (fixed n and m)"
        parts += [f"## {p.name}", "", p.description, "", f"- source file: {_source(p)}",
                  f"- sizes: {sizes}", f"- tags: {', '.join(p.tags) or '-'}",
                  f"- hand-written Jacobian: {'yes' if p.manual_fn else 'no'}", ""]
        if p.doc:
            parts += ["```text", p.doc, "```", ""]
        if with_support:
            sup = support(p, timeout)
            table = pd.DataFrame([{"method": k, "supported": v} for k, v in sup.items()])
            parts += [table.to_markdown(index=False), ""]
    return "\n".join(parts)
