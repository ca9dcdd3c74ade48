"""The harness: problems x sizes x methods -> rows of ``results.csv``.

One measurement is one (problem instance, method) pair. It runs in a worker
process with a hard time limit (:mod:`adbench.measure.isolation`); whatever happens
becomes a row with a ``status`` (``ok``, ``unsupported``, ``nonfinite``,
``timeout``, ``error``) and a one-line ``message``. Rows are appended to the
CSV and flushed as each measurement finishes, so an interrupted run keeps
every finished row and ``resume`` completes the rest. An output file that
cannot be written (a full disk, a folder without permission) stops the run
with :class:`ResultsWriteError`, naming the file; the rows written before stay.

The columns of a row come from :data:`BASE_COLUMNS` and from the metrics in
:data:`METRICS`; a new metric is one entry there.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import compare, evaluation_floor, inaccurate
from adbench.measure.context import Context, Metric
from adbench.measure.isolation import one_line, run_isolated
from adbench.measure.metrics import METRICS  # the metrics run after the Jacobian, in order
from adbench.measure.reference import Reference, reference_jacobian
from adbench.methods import METHODS, Method, Unsupported, get_method
from adbench.problem import Instance, ProblemDefinitionError
from adbench.registry import Registry, load_registry

__all__ = ["run", "measure", "BASE_COLUMNS", "METRICS", "Metric", "Context", "columns",
           "select", "parse_sizes", "SizesError", "DEFAULT_TIMEOUT", "STATUSES", "ResultsCSVError",
           "ResultsWriteError", "check_output", "read_results", "read_run_info"]

DEFAULT_TIMEOUT = 60.0
DEFAULT_SUITE = "quick"
STATUSES = ("ok", "inaccurate", "unsupported", "nonfinite", "timeout", "error")
#: Statuses of rows whose Jacobian was computed and scored: ``inaccurate`` is a
#: Jacobian with an entry whose error exceeds its method's tolerance.
MEASURED_STATUSES = ("ok", "inaccurate")

BASE_COLUMNS = [
    "problem", "sizes", "n", "m", "method", "status",
    "max_rel_error", "mean_rel_error", "n_over_tol", "tolerance", "reference_digits",
    "setup_s", "message", "version",
]

KEY = ("problem", "sizes", "method")


class SizesError(ValueError):
    """A malformed ``--sizes`` option."""


class ResultsCSVError(ValueError):
    """A results.csv that cannot be read back (corrupt, or not adbench's)."""


class ResultsWriteError(Exception):
    """An output file of a run could not be written: ``cannot write PATH: REASON``.

    ``measured`` is the number of rows the run had written to results.csv when
    it happened (0: it failed before measuring anything); those rows are kept.
    """

    def __init__(self, path: str | Path, error: OSError, measured: int = 0):
        self.path = Path(path)
        self.reason = error.strerror or one_line(error)
        self.measured = measured
        super().__init__(f"cannot write {self.path}: {self.reason}")


@contextmanager
def _writing(path: str | Path, measured: int = 0):
    """Turn an OSError of the block into a ResultsWriteError naming ``path``, or
    the file the error names (the destination of a failed rename)."""
    try:
        yield
    except OSError as exc:
        raise ResultsWriteError(exc.filename2 or exc.filename or path, exc, measured) from exc




def columns() -> list[str]:
    """Every column of results.csv, in order."""
    cols = list(BASE_COLUMNS)
    for metric in METRICS:
        cols.extend(c for c in metric.columns if c not in cols)
    return cols


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
    row["setup_s"] = time.perf_counter() - t0
    row.update({k: v for k, v in prepared.info.items() if k in columns()})
    x = inst.x0.copy()
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        J = prepared.jacobian(x)
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

def _flat(text: str) -> str:
    """A message on one line (rows are one CSV line each; see _salvage)."""
    return " ".join(str(text).split())


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
# Selection
# --------------------------------------------------------------------------

def _number(text: str):
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_sizes(specs: Iterable[str]) -> dict[str, list]:
    """``["n=1,2,4", "m=8"]`` -> ``{"n": [1, 2, 4], "m": [8]}``; ValueError if malformed."""
    out: dict[str, list] = {}
    for spec in specs:
        name, eq, values = spec.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier() or not values.strip():
            raise SizesError(f"malformed --sizes {spec!r}: expected NAME=V1,V2,... "
                             "such as n=1,2,4")
        try:
            parsed = [_number(v) for v in values.split(",")]
        except ValueError:
            raise SizesError(f"malformed --sizes {spec!r}: values must be numbers") from None
        out.setdefault(name, []).extend(parsed)
    return out


def select(registry: Registry, suite: str | None = None, problems: Sequence[str] = (),
           sizes: Mapping[str, Sequence] | None = None) -> list[Instance]:
    """The instances to run: named problems (with ``sizes`` overriding their
    defaults) or else a suite (default ``quick``)."""
    sizes = dict(sizes or {})
    if problems:
        chosen = [registry.get(name) for name in problems]
        unused = set(sizes) - {k for p in chosen for k in p.sizes}
        if unused:
            raise ProblemDefinitionError(
                f"--sizes {', '.join(sorted(unused))}: no selected problem has this size "
                "parameter (" + "; ".join(f"{p.name}: {', '.join(p.sizes) or 'none'}"
                                          for p in chosen) + ")")
        pairs = [(p, {k: v for k, v in sizes.items() if k in p.sizes}) for p in chosen]
    else:
        pairs = registry.expand(registry.suite(suite or DEFAULT_SUITE))
        if sizes:
            unused = set(sizes) - {k for p, _ in pairs for k in p.sizes}
            if unused:
                raise ProblemDefinitionError(
                    f"--sizes {', '.join(sorted(unused))}: no problem of the suite has this "
                    "size parameter")
            pairs = [(p, {**s, **{k: v for k, v in sizes.items() if k in p.sizes}})
                     for p, s in pairs]
    return registry.instances(pairs)


# --------------------------------------------------------------------------
# Writing rows
# --------------------------------------------------------------------------

class ResultsWriter:
    """Appends rows to results.csv, one flushed line per finished measurement.

    Every OSError (a full disk, a file made read-only) is a ResultsWriteError
    naming the file, with the number of rows written before it. A row whose
    write failed may be left as a torn last line, which reading drops.
    """

    def __init__(self, path: Path, cols: list[str]):
        self.path = path
        self.cols = cols
        self.written = 0  # rows written by this writer
        self.failed = False
        with self._writing():
            new = not path.exists() or path.stat().st_size == 0
            self.file = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=cols, extrasaction="ignore")
        if new:
            try:
                with self._writing():
                    self.writer.writeheader()
                    self.file.flush()
            except ResultsWriteError:
                self.close()
                raise

    def write(self, row: dict) -> None:
        with self._writing():
            self.writer.writerow({c: _csv_value(row.get(c)) for c in self.cols})
            self.file.flush()
        self.written += 1

    def close(self) -> None:
        """Close the file. After a failed write the error of closing (the same
        unwritable data, flushed again) is not raised a second time."""
        try:
            self.file.close()
        except OSError as exc:
            if not self.failed:
                raise ResultsWriteError(self.path, exc, self.written) from exc

    @contextmanager
    def _writing(self):
        try:
            with _writing(self.path, self.written):
                yield
        except ResultsWriteError:
            self.failed = True
            raise


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return _flat(v)  # one row, one line: what makes a torn write detectable
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return v


#: Columns that must hold numbers (or be empty) in a results.csv.
NUMERIC_COLUMNS = ("n", "m", "max_rel_error", "mean_rel_error", "n_over_tol", "tolerance",
                   "reference_digits", "setup_s")


def _read_text(path: Path) -> str:
    """The complete lines of a results.csv.

    Rows are appended one line at a time, so an interruption (kill -9, power
    loss) can only tear the *last* line; a line is complete when its newline
    was written, and an unterminated last line is dropped here. Anything else
    that is wrong is corruption: ResultsCSVError naming the file.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ResultsCSVError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ResultsCSVError(f"{path}: is a folder, not a results.csv") from None
    except OSError as exc:
        raise ResultsCSVError(f"{path}: cannot be read ({exc.strerror})") from None
    if b"\x00" in data:
        raise ResultsCSVError(f"{path}: not a results.csv (it contains NUL bytes: a binary "
                              "or corrupt file)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsCSVError(f"{path}: not a results.csv (not UTF-8 text at byte "
                              f"{exc.start})") from None
    if text and not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]  # a torn last row: never a finished one
    return text


def _check_header(path: Path, header: list[str]) -> None:
    missing = [c for c in BASE_COLUMNS if c not in header]
    if missing:
        raise ResultsCSVError(f"{path}: not an adbench results file (missing columns "
                              f"{', '.join(missing)})")


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results.csv written by adbench; ResultsCSVError if it is not one.

    A torn last line (an interrupted write) is dropped; every other defect (a
    row with the wrong number of fields, an unknown status, a non-numeric
    number column) is an error naming the file and the line.
    """
    path = Path(path)
    text = _read_text(path)
    if not text.strip():
        raise ResultsCSVError(f"{path}: empty (no header line)")
    rows = _parse_rows(path, text)
    _check_header(path, rows[0])
    try:
        df = pd.read_csv(io.StringIO(text), dtype={"sizes": str, "message": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ResultsCSVError(f"{path}: not a readable CSV ({one_line(exc)})") from None
    bad = ~df["status"].isin(STATUSES)
    if bad.any():
        raise ResultsCSVError(f"{path}: line {int(bad.to_numpy().argmax()) + 2} has an unknown "
                              f"status {df['status'][bad].iloc[0]!r}")
    for col in NUMERIC_COLUMNS:
        if col in df.columns:
            numbers = pd.to_numeric(df[col], errors="coerce")
            wrong = numbers.isna() & df[col].notna()
            if wrong.any():
                line = int(wrong.to_numpy().argmax()) + 2
                raise ResultsCSVError(f"{path}: line {line}: column {col} holds "
                                      f"{df[col][wrong].iloc[0]!r}, not a number")
            df[col] = numbers
    df["sizes"] = df["sizes"].fillna("")
    df["message"] = df["message"].fillna("")
    return df


def _parse_rows(path: Path, text: str) -> list[list[str]]:
    """CSV rows of ``text`` (header first); each data row must have the
    header's number of fields."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise ResultsCSVError(f"{path}: not a readable CSV ({exc})") from None
    if not rows:
        raise ResultsCSVError(f"{path}: empty (no header line)")
    width = len(rows[0])
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise ResultsCSVError(f"{path}: line {lineno} has {len(row)} fields, the header "
                                  f"{width} (a corrupt or hand-edited file)")
    return rows


def _salvage(path: Path, cols: list[str],
             versions: Mapping[str, str] | None = None) -> tuple[dict, dict]:
    """Prepare an interrupted results.csv for ``--resume``.

    Keeps its complete rows measured with the current definition of their
    problem: a torn last line is dropped, and so are the rows of a problem
    whose ``version`` differs from ``versions[problem]`` (its definition was
    edited since), so that no problem mixes rows of two definitions. The file
    is rewritten atomically without them. Returns ``({(problem, sizes,
    method): status}`` of the rows kept, ``{problem: rows dropped}`` of the
    changed problems). ResultsCSVError if the file is corrupt or written with
    other columns.
    """
    text = _read_text(path)
    if not text.strip():
        return {}, {}
    rows = _parse_rows(path, text)
    header, good = rows[0], rows[1:]
    _check_header(path, header)
    if header != cols:
        raise ResultsCSVError(f"{path}: written with other columns than this version "
                              "of adbench writes; start a new run")
    status = header.index("status")
    for lineno, r in enumerate(good, start=2):
        if r[status] not in STATUSES:
            raise ResultsCSVError(f"{path}: line {lineno} has an unknown status {r[status]!r}")
    problem, version = header.index("problem"), header.index("version")
    kept, stale = [], {}
    for r in good:
        current = (versions or {}).get(r[problem])
        if current is not None and r[version] != current:
            stale[r[problem]] = stale.get(r[problem], 0) + 1
        else:
            kept.append(r)
    tmp = path.with_name(path.name + ".tmp")
    with _writing(tmp):
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(kept)
        os.replace(tmp, path)
    idx = [header.index(k) for k in KEY]
    return {tuple(r[i] for i in idx): r[status] for r in kept}, stale


def _stale_message(stale: Mapping[str, int]) -> str:
    """The warning of a resume that measures the rows of edited problems again."""
    names = ", ".join(repr(name) for name in stale)
    rows = sum(stale.values())
    rows_text = f"{rows} row" + ("s" if rows != 1 else "")
    if len(stale) == 1:
        return (f"the definition of problem {names} changed since its rows were measured: "
                f"its {rows_text} are measured again")
    return (f"the definitions of problems {names} changed since their rows were measured: "
            f"their {rows_text} are measured again")


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
        warn: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run problems x sizes x methods and return the rows as a DataFrame.

    Parameters
    ----------
    problems : problem names; empty means the suite (default ``quick``).
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

    For each instance, f is first evaluated at x0 in a worker
    (:func:`check_output`); if that fails every row of the instance gets its
    status and message and no method runs. Then the reference and each method
    run in workers of their own.

    ResultsWriteError if a file in ``out`` cannot be written; the rows written
    before stay in results.csv, and ``resume`` completes them.
    """
    registry = registry or load_registry(problems_dirs)
    instances = select(registry, suite, problems, sizes)
    if methods:
        chosen = [get_method(name) for name in methods]
    elif not problems and suite and registry.suite(suite).methods:
        chosen = [get_method(name) for name in registry.suite(suite).methods]
    else:
        chosen = list(METHODS.values())
    cols = columns()
    # Each definition's version, computed now: the rows are labelled with the
    # definition loaded, even if its file is edited during the run.
    versions = {inst.name: inst.problem.version for inst in instances}
    writer, done = None, {}
    if out is not None:
        out = Path(out)
        with _writing(out):
            out.mkdir(parents=True, exist_ok=True)
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
            _write_run_info(out, problems, [m.name for m in chosen], sizes, suite, timeout,
                            problems_dirs)
    rows = []
    skipper = _Skipper()
    total = len(instances) * len(chosen)
    count = 0
    try:
        for inst in instances:
            pending = []
            for method in chosen:
                status = done.get((inst.name, inst.size_label, method.name))
                if status is None:
                    pending.append(method)
                elif status == "timeout":  # what the interrupted run would skip, skip too
                    skipper.note(inst, method.name)
            count += len(chosen) - len(pending)
            if not pending:
                continue
            if progress is not None:
                progress(count, total, f"{inst.label} checking f(x0)")
            failed, reference, ref_note = None, None, ""
            if not all(skipper.skip(inst, m.name) for m in pending):
                failed = _check_instance(inst, timeout, isolate, memory_limit)
                if failed is None:
                    reference, ref_note = _reference_for(inst, timeout, isolate, memory_limit)
            for method in pending:
                if progress is not None:
                    progress(count, total, f"{inst.label} {method.name}")
                count += 1
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
    return pd.DataFrame(rows, columns=cols)


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
                           isolate=isolate)
    if outcome.status == "ok":
        return outcome.value
    row = _base_row(inst, method)
    row.update(status=outcome.status, message=outcome.message)
    if outcome.status == "timeout":
        skipper.note(inst, method.name)
    return row


def _write_run_info(out: Path, problems, methods, sizes, suite, timeout,
                    problems_dirs) -> None:
    """What was asked for, so that ``--resume`` can finish the same run."""
    info = {"problems": list(problems), "methods": list(methods), "sizes": dict(sizes or {}),
            "suite": suite, "timeout": timeout,
            "problems_dirs": [str(Path(d).resolve()) for d in problems_dirs]}
    tmp = out / "run.json.tmp"
    with _writing(tmp):
        tmp.write_text(json.dumps(info, indent=2))
        os.replace(tmp, out / "run.json")


#: What run.json must hold (see _write_run_info), with the accepted types.
RUN_INFO_KEYS = {"problems": list, "methods": list, "sizes": dict,
                 "suite": (str, type(None)), "timeout": (int, float, type(None))}


def read_run_info(out: str | Path) -> dict:
    """The selection of the run in ``out`` (``{}`` if it has no run.json);
    ResultsCSVError if run.json is not one written by adbench."""
    path = Path(out) / "run.json"
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsCSVError(f"{path}: unreadable ({one_line(exc)})") from None
    if not isinstance(info, dict):
        raise ResultsCSVError(f"{path}: not an adbench run description")
    for key, kind in RUN_INFO_KEYS.items():
        if key not in info or not isinstance(info[key], kind):
            raise ResultsCSVError(f"{path}: not an adbench run description "
                                  f"({key!r} missing or of the wrong type)")
    return info
