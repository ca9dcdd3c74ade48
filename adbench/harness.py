"""The harness: problems x sizes x methods -> rows of ``results.csv``.

One measurement is one (problem instance, method) pair. It runs in a worker
process with a hard time limit (:mod:`adbench.isolation`); whatever happens
becomes a row with a ``status`` (``ok``, ``unsupported``, ``nonfinite``,
``timeout``, ``error``) and a one-line ``message``. Rows are appended to the
CSV and flushed as each measurement finishes, so an interrupted run keeps
every finished row and ``resume`` completes the rest.

The columns of a row come from :data:`BASE_COLUMNS` and from the metrics in
:data:`METRICS`; a new metric is one entry there.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from adbench.accuracy import compare
from adbench.isolation import one_line, run_isolated
from adbench.methods import METHODS, Method, Prepared, Unsupported, get_method
from adbench.problem import Instance, ProblemDefinitionError
from adbench.reference import Reference, reference_jacobian
from adbench.registry import Registry, load_registry

__all__ = ["run", "measure", "BASE_COLUMNS", "METRICS", "Metric", "Context", "columns",
           "select", "parse_sizes", "SizesError", "DEFAULT_TIMEOUT", "STATUSES", "ResultsCSVError"]

DEFAULT_TIMEOUT = 60.0
DEFAULT_SUITE = "quick"
STATUSES = ("ok", "unsupported", "nonfinite", "timeout", "error")

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


@dataclass
class Context:
    """What a metric sees: the instance, the method and its prepared form."""

    inst: Instance
    method: Method
    prepared: Prepared
    reference: Reference | None
    jacobian: np.ndarray
    x: np.ndarray
    timeout: float | None = None


@dataclass
class Metric:
    """A measurement adding ``columns`` to a row: ``compute(ctx) -> dict``."""

    name: str
    columns: list
    compute: Callable[[Context], dict]
    methods: tuple = ()  # restrict to these methods (empty: all)


from adbench.metrics import METRICS  # noqa: E402  the metrics run after the Jacobian, in order


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
        row.update(status="unsupported", message=str(exc))
        return row
    row["setup_s"] = time.perf_counter() - t0
    row.update({k: v for k, v in prepared.info.items() if k in columns()})
    x = inst.x0.copy()
    with np.errstate(all="ignore"):
        J = prepared.jacobian(x)
    if not np.all(np.isfinite(J)):
        bad = int(np.count_nonzero(~np.isfinite(J)))
        row.update(status="nonfinite",
                   message=f"{bad} of {J.size} Jacobian entries are not finite at x0")
        return row
    if reference is not None:
        row.update(compare(J, reference.jacobian, method.tolerance))
        row["reference_digits"] = round(reference.digits, 1)
    ctx = Context(inst, method, prepared, reference, J, x, timeout)
    for metric in METRICS:
        if metric.methods and method.name not in metric.methods:
            continue
        try:
            row.update(metric.compute(ctx))
        except Unsupported as exc:
            row["message"] = _join(row["message"], f"{metric.name}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a failing metric is a message
            row.update(status="error")
            row["message"] = _join(row["message"], f"{metric.name}: {one_line(exc)}")
    return row


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
    """Appends rows to results.csv, one flushed line per finished measurement."""

    def __init__(self, path: Path, cols: list[str]):
        self.path = path
        self.cols = cols
        new = not path.exists() or path.stat().st_size == 0
        self.file = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=cols, extrasaction="ignore")
        if new:
            self.writer.writeheader()
            self.file.flush()

    def write(self, row: dict) -> None:
        self.writer.writerow({c: _csv_value(row.get(c)) for c in self.cols})
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return v


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results.csv written by adbench; ResultsCSVError if it is not one."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"sizes": str, "message": str})
    except FileNotFoundError:
        raise ResultsCSVError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ResultsCSVError(f"{path}: not a readable CSV ({one_line(exc)})") from None
    missing = [c for c in BASE_COLUMNS if c not in df.columns]
    if missing:
        raise ResultsCSVError(f"{path}: not an adbench results file "
                              f"(missing columns {', '.join(missing)})")
    bad = ~df["status"].isin(STATUSES)
    if bad.any():
        raise ResultsCSVError(f"{path}: row {int(bad.idxmax()) + 2} has an unknown status "
                              f"{df['status'][bad].iloc[0]!r}")
    df["sizes"] = df["sizes"].fillna("")
    df["message"] = df["message"].fillna("")
    return df


def _salvage(path: Path, cols: list[str]) -> set:
    """Keep the complete rows of an interrupted results.csv; return their keys."""
    with open(path, newline="") as fh:
        lines = list(csv.reader(fh))
    if not lines:
        return set()
    header = lines[0]
    if header != cols:
        if not set(BASE_COLUMNS) <= set(header):
            raise ResultsCSVError(f"{path}: not an adbench results file (its header is "
                                  f"{','.join(header[:6])}...)")
        if header != cols:
            raise ResultsCSVError(f"{path}: written with other columns than this version "
                                  "of adbench writes; start a new run")
    good = [r for r in lines[1:] if len(r) == len(header)
            and r[header.index("status")] in STATUSES]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(good)
    os.replace(tmp, path)
    idx = [header.index(k) for k in KEY]
    return {tuple(r[i] for i in idx) for r in good}


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


def _reference_for(inst: Instance, timeout, isolate):
    outcome = run_isolated(reference_jacobian, (inst,), timeout, isolate=isolate)
    if outcome.status == "ok":
        return outcome.value, ""
    return None, f"no reference ({outcome.status}: {outcome.message})"


def run(problems: Sequence[str] = (), methods: Sequence[str] = (),
        sizes: Mapping[str, Sequence] | None = None, suite: str | None = None,
        out: str | Path | None = None, timeout: float | None = DEFAULT_TIMEOUT,
        problems_dirs: Sequence[str | Path] = (), registry: Registry | None = None,
        resume: bool = False, isolate: bool = True,
        progress: Callable[[int, int, str], None] | None = None) -> pd.DataFrame:
    """Run problems x sizes x methods and return the rows as a DataFrame.

    Parameters
    ----------
    problems : problem names; empty means the suite (default ``quick``).
    methods : method names; empty means all (or the suite's list).
    sizes : ``{size parameter: [values]}`` overriding the defaults.
    out : folder for ``results.csv`` and ``report.md``; None writes nothing.
    timeout : hard limit in seconds for each measurement (None: no limit).
    resume : continue the run in ``out``, skipping the rows it already has.
    isolate : run each measurement in a killable worker process.
    progress : called as ``progress(done, total, label)`` before each measurement.
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
    writer, done = None, set()
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        csv_path = out / "results.csv"
        if resume and csv_path.exists():
            done = _salvage(csv_path, cols)
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
            reference, ref_note = None, ""
            ref_done = False
            for method in chosen:
                count += 1
                key = (inst.name, inst.size_label, method.name)
                if key in done:
                    continue
                if progress is not None:
                    progress(count - 1, total, f"{inst.label} {method.name}")
                if not ref_done:
                    reference, ref_note = _reference_for(inst, timeout, isolate)
                    ref_done = True
                row = _measure_one(inst, method, reference, timeout, isolate, skipper)
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
        write_report(df, out)
        return df
    return pd.DataFrame(rows, columns=cols)


def _measure_one(inst, method, reference, timeout, isolate, skipper) -> dict:
    smaller = skipper.skip(inst, method.name)
    if smaller is not None:
        row = _base_row(inst, method)
        label = ",".join(f"{k}={v}" for k, v in smaller.items())
        row.update(status="timeout", message=f"skipped: the smaller size {label} timed out")
        return row
    outcome = run_isolated(measure, (inst, method, reference, timeout), timeout,
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
    tmp.write_text(json.dumps(info, indent=2))
    os.replace(tmp, out / "run.json")


def read_run_info(out: str | Path) -> dict:
    path = Path(out) / "run.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsCSVError(f"{path}: unreadable ({one_line(exc)})") from None
