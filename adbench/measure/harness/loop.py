"""The run loop: problems x sizes x methods -> rows of ``results.csv``.

One measurement is one (problem instance, method) pair. It runs in a worker
process with a hard time limit (:mod:`adbench.measure.isolation`); whatever happens
becomes a row with a ``status`` (``ok``, ``unsupported``, ``nonfinite``,
``timeout``, ``error``) and a one-line ``message``. Rows are appended to the
CSV and flushed as each measurement finishes, so an interrupted run keeps
every finished row and ``resume`` completes the rest (:mod:`.results`).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from adbench.interpret.core import NumpyCallError
from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import compare, evaluation_floor, inaccurate
from adbench.measure.context import Context
from adbench.measure.harness.results import (
    ResultsWriter, _flat, _salvage, _stale_message, _writing, columns, read_results,
    results_frame)
from adbench.measure.harness.runinfo import _write_run_info
from adbench.measure.harness.lock import FolderLock
from adbench.measure.harness.selection import DEFAULT_TIMEOUT, problem_names, select
from adbench.measure.isolation import one_line, run_isolated
from adbench.measure.metrics import METRICS  # the metrics run after the Jacobian, in order
from adbench.measure.metrics import timing
from adbench.measure.placement import serial_columns
from adbench.measure.reference import Reference, reference_jacobian
from adbench.methods import DEFAULT_METHODS, METHODS, Method, Unsupported, get_method
from adbench.problem import Instance
from adbench.registry import ProblemFileError, Registry, load_registry


def _base_row(inst: Instance, method: Method) -> dict:
    return {"problem": inst.name, "sizes": inst.size_label, "n": inst.n, "m": inst.m,
            "method": method.name, "tolerance": method.tolerance,
            "version": inst.problem.version, "status": "ok", "message": ""}


def measure(inst: Instance, method: Method, reference: Reference | None,
            timeout: float | None = None) -> dict:
    """Prepare the method, evaluate the Jacobian at x0, score it, run the metrics."""
    row = _base_row(inst, method)
    t0 = time.perf_counter()
    try:
        prepared = method.prepare(inst)
    except Unsupported as exc:
        row.update(status="unsupported", message=_flat(str(exc)))
        return row
    except NumpyCallError as exc:  # f called numpy on a box: name the function and the fix
        row.update(status="error", message=exc.for_problem(inst.name))
        return row
    row["setup_s"] = time.perf_counter() - t0
    row.update({k: v for k, v in prepared.info.items() if k in columns()})
    x = inst.x0.copy()
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        try:
            J = prepared.jacobian(x)
        except NumpyCallError as exc:
            row.update(status="error", message=exc.for_problem(inst.name))
            return row
    jacobian_s = time.perf_counter() - t0
    if not np.all(np.isfinite(J)):
        bad = int(np.count_nonzero(~np.isfinite(J)))
        row.update(status="nonfinite",
                   message=f"{bad} of {J.size} Jacobian entries are not finite at x0 "
                           f"({_nonfinite_reason(inst)})")
        return row
    if reference is not None:
        row.update(compare(J, reference.jacobian, method.tolerance))
        row["reference_digits"] = round(reference.digits, 1)
        with np.errstate(all="ignore"):  # a wrong Jacobian is never ok
            floor = evaluation_floor(inst.f(inst.x0.copy(), numpy_xp), reference.value)
        wrong = inaccurate(row, method.tolerance, floor)
        if wrong:
            row.update(status="inaccurate", message=_join(row["message"], wrong))
    ctx = Context(inst, method, prepared, reference, J, x, timeout, jacobian_s)
    for metric in METRICS:
        if metric.methods and method.name not in metric.methods:
            continue
        try:
            row.update(metric.compute(ctx))
        except Unsupported as exc:
            row["message"] = _join(row["message"], f"{metric.name}: {_flat(str(exc))}")
        except Exception as exc:  # noqa: BLE001 - a failing metric is a message
            row.update(status="error")
            row["message"] = _join(row["message"], f"{metric.name}: {one_line(exc)}")
    return row


# --------------------------------------------------------------------------
# Checking a problem's output before differentiating it
# --------------------------------------------------------------------------

def _first_floating_point_error(inst: Instance) -> str:
    """The first invalid operation (log of a negative number, 0/0, overflow...)
    met when f is evaluated at x0 in float64, as numpy words it; '' if none."""
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise", under="ignore"):
            inst.f(inst.x0.copy(), numpy_xp)
    except FloatingPointError as exc:
        return str(exc)
    except Exception:  # noqa: BLE001 - only a diagnosis; the row has its own message
        return ""
    return ""


def _nonfinite_reason(inst: Instance) -> str:
    """Why a Jacobian at x0 may not be finite, for the row's message."""
    what = _first_floating_point_error(inst)
    if what:
        return f"evaluating f at x0: {what}; is x0 outside the domain?"
    return "f is finite at x0 but not differentiable there, as sqrt or x**0.5 at 0"


def _values_of(y) -> np.ndarray:
    """f's output as a flat float64 array; TypeError saying what it was if it
    is not numeric."""
    if y is None:  # numpy would read it as nan, and the row would say "nonfinite"
        raise TypeError("returned None (does f lack a return statement?)")
    try:
        arr = np.asarray(y)
    except Exception as exc:  # noqa: BLE001 - ragged lists and the like
        raise TypeError(f"returned a value numpy cannot read as an array ({one_line(exc)})") \
            from None
    if arr.dtype == object:
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            bad = next((v for v in arr.flat if not isinstance(v, (int, float, np.number))),
                       arr.flat[0] if arr.size else None)
            raise TypeError(f"returned a non-numeric value {_short(bad)} "
                            f"({type(bad).__name__})") from None
    if np.iscomplexobj(arr):
        raise TypeError("returned complex values (only real outputs can be compared)")
    if arr.dtype.kind not in "biuf":
        bad = arr.flat[0] if arr.size else arr
        bad = bad.item() if isinstance(bad, np.generic) else bad
        raise TypeError(f"returned a non-numeric value {_short(bad)} ({type(bad).__name__})")
    return arr.astype(float).reshape(-1)


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def check_output(inst: Instance) -> tuple[str, str] | None:
    """Evaluate f at x0 in float64 once, before any method runs.

    Returns None if f returns m finite real numbers there, else ``(status,
    message)`` for every row of the instance: ``error`` when f raises, returns
    a non-numeric value or the wrong number of values, ``nonfinite`` when a
    value is nan or inf (with the first invalid operation, e.g. a log of a
    negative number). Differentiating a function that cannot be evaluated at
    x0 is meaningless, so the harness then skips the methods.
    """
    where = f"problem {inst.name!r}" + (f" at {inst.size_label}" if inst.sizes else "")
    try:
        with np.errstate(all="ignore"):
            y = inst.f(inst.x0.copy(), numpy_xp)
        values = _values_of(y)
    except TypeError as exc:
        if str(exc).startswith("returned"):
            return "error", f"{where}: f(x0) {exc}"
        return "error", f"{where}: f(x0) raised {one_line(exc)}"
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code failed
        return "error", f"{where}: f(x0) raised {one_line(exc)}"
    if values.size != inst.m:
        return "error", f"{where}: f(x0) returned {values.size} values, expected m = {inst.m}"
    bad = ~np.isfinite(values)
    if bad.any():
        what = _first_floating_point_error(inst)
        cause = f" ({what}; is x0 outside the domain?)" if what else ""
        return ("nonfinite", f"{where}: f(x0) is not finite ({int(bad.sum())} of {inst.m} "
                             f"values are nan or inf){cause}")
    return None


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------

@dataclass
class _Skipper:
    """Once a size of a family times out for a method, larger sizes are skipped."""

    timed_out: dict = field(default_factory=dict)

    def note(self, inst: Instance, method: str) -> None:
        self.timed_out.setdefault((inst.name, method), []).append(inst.sizes)

    def skip(self, inst: Instance, method: str) -> dict | None:
        for sizes in self.timed_out.get((inst.name, method), []):
            if sizes and all(inst.sizes[k] >= v for k, v in sizes.items()):
                return sizes
        return None


def _reference_for(inst: Instance, timeout, isolate, memory_limit):
    outcome = run_isolated(reference_jacobian, (inst,), timeout, memory_limit, isolate=isolate)
    if outcome.status != "ok":
        return None, f"no reference ({outcome.status}: {outcome.message})"
    if not np.all(np.isfinite(outcome.value.jacobian)):
        return None, "no reference (its Jacobian is not finite at x0)"
    return outcome.value, ""


def run(problems: Sequence[str] = (), methods: Sequence[str] = (),
        sizes: Mapping[str, Sequence] | None = None, suite: str | None = None,
        out: str | Path | None = None, timeout: float | None = DEFAULT_TIMEOUT,
        problems_dirs: Sequence[str | Path] = (), registry: Registry | None = None,
        resume: bool = False, isolate: bool = True,
        progress: Callable[[int, int, str], None] | None = None,
        memory_limit: int | None = None,
        warn: Callable[[str], None] | None = None, spread=None) -> pd.DataFrame:
    """Run problems x sizes x methods and return the rows as a DataFrame.

    Parameters
    ----------
    problems : problem names, :class:`~adbench.problem.Problem` objects (such as one
        defined in the calling script) or :class:`~adbench.problem.Instance` objects;
        one of them alone, or a sequence; empty means the suite (default ``quick``).
    methods : method names; empty means all (or the suite's list).
    sizes : ``{size parameter: [values]}`` overriding the defaults.
    out : folder for ``results.csv`` and ``report.md``; None writes nothing.
    timeout : hard limit in seconds for each measurement (None: no limit).
    resume : continue the run in ``out``, skipping the rows it already has
        (those of a problem whose definition changed since are measured again:
        see :attr:`adbench.problem.Problem.version`).
    isolate : run each measurement in a killable worker process.
    progress : called as ``progress(done, total, label)`` before each measurement.
    memory_limit : address-space limit of a worker in bytes (default:
        :data:`adbench.measure.isolation.MEMORY_LIMIT_BYTES`; 0: none).
    warn : called with a one-line warning (a resume that measures rows again);
        default: :func:`warnings.warn`.
    spread : a :class:`adbench.measure.spread.Spread` (``--jobs``, ``--cluster``):
        the instances are measured by parallel workers; the rows are those of a
        serial run, and results.csv ends in the same order.

    For each instance, f is first evaluated at x0 in a worker
    (:func:`check_output`); if that fails every row of the instance gets its
    status and message and no method runs. Then the reference and each method
    run in workers of their own.

    ResultsWriteError if a file in ``out`` cannot be written; the rows written
    before stay in results.csv, and ``resume`` completes them.
    """
    registry = registry or load_bounded(problems_dirs, timeout, isolate)
    instances = select(registry, suite, problems, sizes)
    if isinstance(methods, str):
        methods = [methods]
    if methods:  # each once: a method named twice is measured once
        chosen = [get_method(name) for name in dict.fromkeys(methods)]
    elif not problems and suite and registry.suite(suite).methods:
        chosen = [get_method(name) for name in dict.fromkeys(registry.suite(suite).methods)]
    else:
        chosen = [METHODS[name] for name in DEFAULT_METHODS]
    cols = columns()
    # Each definition's version, computed now: the rows are labelled with the
    # definition loaded, even if its file is edited during the run.
    versions = {inst.name: inst.problem.version for inst in instances}
    lock = None
    if out is not None:
        out = Path(out)
        with _writing(out):
            out.mkdir(parents=True, exist_ok=True)
        lock = FolderLock(out)  # held until the report is written (see .lock)
    try:
        return _run_locked(instances, chosen, cols, versions, registry, problems, sizes, suite,
                           out, timeout, problems_dirs, resume, isolate, progress, memory_limit,
                           warn, spread)
    finally:
        if lock is not None:
            lock.release()


def _probe_load(problems_dirs) -> None:
    load_registry(problems_dirs)


def load_bounded(problems_dirs, timeout: float | None = DEFAULT_TIMEOUT,
                 isolate: bool = True) -> Registry:
    """The registry with the problem files of ``problems_dirs``, their import
    bounded by ``timeout``: the files are first imported in a worker, which is
    killed if it takes longer (a file that loops at import), and only then here.
    Any other failure is left to the import here, which reports it. Every command
    that loads ``--problems-dir`` loads it so."""
    if problems_dirs and isolate:
        outcome = run_isolated(_probe_load, (tuple(problems_dirs),), timeout)
        if outcome.status == "timeout":
            dirs = ", ".join(str(d) for d in problems_dirs)
            raise ProblemFileError(f"loading the problem files of {dirs} took longer than "
                                   f"the time limit of {timeout:g} s (a file that loops "
                                   "at import?)")
    return load_registry(problems_dirs)


def _run_locked(instances, chosen, cols, versions, registry, problems, sizes, suite, out,
                timeout, problems_dirs, resume, isolate, progress, memory_limit, warn, spread):
    """The body of :func:`run`, with the run folder (if any) locked."""
    writer, done = None, {}
    if out is not None:
        csv_path = out / "results.csv"
        if resume and csv_path.exists():
            done, stale = _salvage(csv_path, cols, versions)
            if stale:
                (warn or warnings.warn)(_stale_message(stale))
        elif csv_path.exists() and csv_path.stat().st_size > 0:
            raise FileExistsError(f"{csv_path} exists; use --resume to complete it or "
                                  "choose another --out")
        writer = ResultsWriter(csv_path, cols)
        if not resume:
            _write_run_info(out, problem_names(problems), [m.name for m in chosen], sizes, suite,
                            timeout, problems_dirs, memory_limit, timing.settings()["budget_s"])
    rows = []
    skipper = _Skipper()
    total = len(instances) * len(chosen)
    count = 0
    try:
        if spread is not None:  # the instances go to parallel workers (adbench.measure.spread)
            rows = spread.measure(instances, chosen, done, skipper, writer, progress,
                                  timeout=timeout, memory_limit=memory_limit, isolate=isolate,
                                  problems_dirs=problems_dirs)
        else:
            here = serial_columns()
            for inst in instances:
                pending = pending_methods(inst, chosen, done, skipper)
                count += len(chosen) - len(pending)
                if not pending:
                    continue

                def before(label, inst=inst):
                    if progress is not None:
                        progress(count, total, f"{inst.label} {label}")
                for row in measure_instance(inst, pending, timeout, isolate, memory_limit,
                                            skipper, before):
                    count += 1
                    row.update(here)
                    rows.append(row)
                    if writer is not None:
                        writer.write(row)
        if progress is not None:
            progress(total, total, "done")
    finally:
        if writer is not None:
            writer.close()
    if out is not None:
        df = read_results(out / "results.csv")
        from adbench.report import write_report
        with _writing(out / "report.md", writer.written):
            write_report(df, out)
        return df
    return results_frame(rows, cols)  # typed as results.csv is read back


def pending_methods(inst: Instance, chosen: Sequence[Method], done: Mapping,
                    skipper: _Skipper) -> list[Method]:
    """The methods of ``chosen`` that ``inst`` still needs (``done``: the
    ``{(problem, sizes, method): status}`` of a resumed file); a resumed
    timeout is noted in ``skipper``, as the interrupted run would have."""
    pending = []
    for method in chosen:
        status = done.get((inst.name, inst.size_label, method.name))
        if status is None:
            pending.append(method)
        elif status == "timeout":  # what the interrupted run would skip, skip too
            skipper.note(inst, method.name)
    return pending


def measure_instance(inst: Instance, methods: Sequence[Method], timeout, isolate, memory_limit,
                     skipper: _Skipper, before: Callable[[str], None] | None = None):
    """The rows of one instance, one per method, yielded as each is measured.

    f is checked at x0 first (:func:`check_output`) and the reference computed
    once, in workers of their own; both are shared by the methods' rows.
    ``before(label)`` is called before the check and before each method. A
    method whose smaller size timed out (``skipper``) is skipped.
    """
    if before is not None:
        before("checking f(x0)")
    failed, reference, ref_note = None, None, ""
    if not all(skipper.skip(inst, m.name) for m in methods):
        failed = _check_instance(inst, timeout, isolate, memory_limit)
        if failed is None:
            reference, ref_note = _reference_for(inst, timeout, isolate, memory_limit)
    for method in methods:
        if before is not None:
            before(method.name)
        if failed is not None:
            row = _base_row(inst, method)
            row.update(status=failed[0], message=failed[1])
            if failed[0] == "timeout":
                skipper.note(inst, method.name)
        else:
            row = _measure_one(inst, method, reference, timeout, isolate, skipper,
                               memory_limit)
            if ref_note and row["status"] == "ok":
                row["message"] = _join(row["message"], ref_note)
        yield row


def _check_instance(inst, timeout, isolate, memory_limit) -> tuple[str, str] | None:
    """:func:`check_output` in a worker: None, or (status, message) for every row."""
    outcome = run_isolated(check_output, (inst,), timeout, memory_limit, isolate=isolate)
    if outcome.status == "ok":
        return outcome.value
    where = f"problem {inst.name!r}" + (f" at {inst.size_label}" if inst.sizes else "")
    if outcome.status == "timeout":
        return "timeout", (f"{where}: evaluating f(x0) alone was {outcome.message}, so no "
                           "method was run")
    return outcome.status, f"{where}: evaluating f(x0) failed: {outcome.message}"


def _measure_one(inst, method, reference, timeout, isolate, skipper, memory_limit=None) -> dict:
    smaller = skipper.skip(inst, method.name)
    if smaller is not None:
        row = _base_row(inst, method)
        label = ",".join(f"{k}={v}" for k, v in smaller.items())
        row.update(status="timeout", message=f"skipped: the smaller size {label} timed out")
        return row
    outcome = run_isolated(measure, (inst, method, reference, timeout), timeout, memory_limit,
                           isolate=isolate, runtimes=method.runtimes)
    if outcome.status == "ok":
        return outcome.value
    row = _base_row(inst, method)
    row.update(status=outcome.status, message=outcome.message)
    if outcome.status == "timeout":
        skipper.note(inst, method.name)
    return row
