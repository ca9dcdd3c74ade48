"""report.md: the rows of a run as markdown tables and plots, grouped by problem.

Everything here is computed from the results DataFrame alone (plus any
fd-sweep tables found beside it), so that ``adbench report results.csv``
regenerates the report without rerunning anything. Tables are built with
pandas and rendered by tabulate; plots come from :mod:`adbench.report.plots` and are
written to ``plots/`` beside ``report.md``. Columns that a run did not
measure are simply left out. Files are written atomically (write, then
rename), so an interrupted report never leaves half a file.

:func:`compare_runs` and :func:`render_diff` are the regression view of two
runs: rows added and removed, status changes, and errors or ratios that moved
by more than a threshold.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from adbench.methods import METHODS

__all__ = ["write_report", "render_report", "atomic_write", "summary_table", "problem_tables",
           "format_table", "find_fd_sweeps", "compare_runs", "render_diff", "RunDiff",
           "COLUMN_GROUPS", "CHANGE_RULES"]

#: Leading columns of every per-problem table.
KEY_COLUMNS = ["sizes", "n", "m", "method"]

#: The per-problem tables and their columns (each shown when measured).
COLUMN_GROUPS: dict[str, list[str]] = {
    "Accuracy": ["status", "max_rel_error", "mean_rel_error", "n_over_tol", "error_estimate",
                 "message"],
    "Operation counts": ["ops_f", "ops_derivative", "ops_ratio", "ops_ratio_per_pass",
                         "ops_f_transcendental", "ops_derivative_transcendental", "passes"],
    "Time": ["time_f_s", "time_f_median_s", "time_derivative_s", "time_derivative_median_s",
             "time_ratio", "time_spread", "time_samples", "setup_s", "setup_derive_s",
             "setup_cse_s", "setup_compile_s", "setup_simplify_s"],
    "Expression, tape and code sizes": ["f_ops_tree", "f_nodes_tree", "expr_ops", "expr_nodes",
                                        "expr_ops_cse", "expr_nodes_cse",
                                        "expr_ops_simplified", "simplify_status",
                                        "tape_length", "tape_values", "tape_bytes",
                                        "compiled_bytes"],
    "Memory": ["mem_f_bytes", "mem_derivative_bytes", "mem_ratio"],
}

#: Columns never shown in the per-problem tables (constant per problem or bookkeeping).
HIDDEN_COLUMNS = {"problem", "version", "tolerance", "reference_digits"}

#: Columns that hold counts, printed as integers with thousands separators.
INTEGER_COLUMNS = {"n", "m", "n_over_tol", "ops_f", "ops_derivative", "ops_f_transcendental",
                   "ops_derivative_transcendental", "passes", "f_ops_tree", "f_nodes_tree",
                   "expr_ops", "expr_nodes", "expr_ops_cse", "expr_nodes_cse",
                   "expr_ops_simplified", "tape_length", "tape_values", "tape_bytes",
                   "compiled_bytes", "f_evaluations", "time_samples", "mem_f_bytes",
                   "mem_derivative_bytes"}

MESSAGE_WIDTH = 110


def atomic_write(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _method_order(df: pd.DataFrame) -> list:
    known = [m for m in METHODS if m in set(df["method"])]
    return known + sorted(set(df["method"]) - set(known))


def _num(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[column], errors="coerce")


def _present(df: pd.DataFrame, column: str) -> bool:
    """The column exists and has at least one value."""
    if column not in df.columns:
        return False
    col = df[column]
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        return bool(col.fillna("").astype(str).str.strip().ne("").any())
    return bool(col.notna().any())


# --------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------

def _cell(column: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if column in INTEGER_COLUMNS and v.is_integer():
            return f"{int(v):,}"
        if v == 0:
            return "0"
        return f"{v:.3g}"
    text = " ".join(str(value).split()).replace("|", "\\|")
    return text if len(text) <= MESSAGE_WIDTH else text[:MESSAGE_WIDTH - 3] + "..."


def format_table(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table: numbers to 3 significant digits,
    counts as integers, empty cells for missing values, numbers right-aligned."""
    if df.empty:
        return "(no rows)"
    shown = pd.DataFrame({c: [_cell(c, v) for v in df[c]] for c in df.columns})
    align = ["right" if pd.api.types.is_numeric_dtype(df[c]) else "left" for c in df.columns]
    return shown.to_markdown(index=False, disable_numparse=True, colalign=align)


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per method: counts of each status, the worst and median error,
    entries over tolerance, and (when measured) the median ops, time and memory ratios,
    the median setup time and the worst swell (symbolic derivative size over
    the size of f, or the derivative's size alone without ``f_ops_tree``)."""
    rows = []
    swell = _num(df, "expr_ops")
    if _present(df, "f_ops_tree"):
        swell = swell / _num(df, "f_ops_tree").where(_num(df, "f_ops_tree") > 0)
        swell_label = "swell (max expr_ops / f_ops_tree)"
    else:
        swell_label = "swell (max expr_ops)"
    for method in _method_order(df):
        mask = df["method"] == method
        sub = df[mask]
        ok = mask & (df["status"] == "ok")
        err = _num(df, "max_rel_error")[ok]
        row = {
            "method": method,
            "ok": int(ok.sum()),
            "unsupported": int((sub["status"] == "unsupported").sum()),
            "failed": int(sub["status"].isin(["error", "timeout", "nonfinite"]).sum()),
            "worst error": err.max() if err.notna().any() else np.nan,
            "median error": err.median() if err.notna().any() else np.nan,
            "entries over tolerance": int(_num(df, "n_over_tol")[ok].fillna(0).sum()),
        }
        for column, label in (("ops_ratio", "ops ratio (median)"),
                              ("time_ratio", "time ratio (median)"),
                              ("mem_ratio", "memory ratio (median)"),
                              ("setup_s", "setup s (median)")):
            if _present(df, column):
                row[label] = _num(df, column)[ok].median()
        if _present(df, "expr_ops"):
            row[swell_label] = swell[ok].max()
        rows.append(row)
    table = pd.DataFrame(rows)
    # a metric nobody measured is left out
    return table[[c for c in table.columns if c in ("method", "ok", "unsupported", "failed")
                  or table[c].notna().any()]]


def problem_tables(sub: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The tables of one problem's section: (title, frame) for each column group
    with measured values, then any other columns the run wrote."""
    keys = [c for c in KEY_COLUMNS if c in sub.columns]
    if "sizes" in keys and not _present(sub, "sizes"):
        keys.remove("sizes")
    grouped = {c for cols in COLUMN_GROUPS.values() for c in cols}
    others = [c for c in sub.columns if c not in grouped and c not in KEY_COLUMNS
              and c not in HIDDEN_COLUMNS]
    tables = []
    for title, cols in [*COLUMN_GROUPS.items(), ("Other columns", others)]:
        present = [c for c in cols if _present(sub, c)]
        measured = [c for c in present if c not in ("status", "message")]
        if not measured and title != "Accuracy":
            continue
        frame = sub[keys + present]
        if title != "Accuracy":
            frame = frame[frame[measured].notna().any(axis=1)]  # rows with something to show
        tables.append((title, frame))
    return tables


# --------------------------------------------------------------------------
# fd-sweep tables found beside results.csv
# --------------------------------------------------------------------------

def find_fd_sweeps(folder: str | Path) -> list[tuple[str, pd.DataFrame]]:
    """CSV files in ``folder`` (other than results.csv) with columns h, scheme
    and error: the tables of ``adbench fd-sweep``. Unreadable files are skipped
    (they are not ours to judge)."""
    found = []
    folder = Path(folder)
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.csv")):
        if path.name == "results.csv":
            continue
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError):
            continue
        if {"h", "scheme", "error"} <= set(frame.columns):
            found.append((path.stem, frame))
    return found


def _sweep_problem(name: str, frame: pd.DataFrame, problems: Iterable[str]) -> str | None:
    if "problem" in frame.columns and frame["problem"].nunique() == 1:
        return str(frame["problem"].iloc[0])
    matches = [p for p in problems if p in name]
    return max(matches, key=len) if matches else None


# --------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "plot"


@dataclass
class _Plots:
    """Writes figures into ``folder/plots`` and returns their markdown links."""

    folder: Path | None
    notes: list = field(default_factory=list)

    def add(self, name: str, alt: str, make) -> list[str]:
        if self.folder is None:
            return []
        from adbench.report.plots import save_figure

        try:
            fig = make()
            if fig is None:
                return []
            save_figure(fig, self.folder / "plots" / f"{name}.png")
        except OSError:
            raise  # a folder we cannot write to is the user's to fix, not a note
        except Exception as exc:  # noqa: BLE001 - a broken plot must not lose the report
            self.notes.append(f"plot {name} could not be drawn: {type(exc).__name__}: {exc}")
            return []
        return [f"![{alt}](plots/{name}.png)", ""]


def _intro(df: pd.DataFrame) -> str:
    ok = int((df["status"] == "ok").sum())
    return (f"{df['problem'].nunique()} problems, {len(df)} measurements ({ok} ok). Errors are "
            "rho(a, b) = |a - b| / max(1, |a| + |b|) against an 80-digit mpmath reference; "
            "a ratio is the cost of the whole Jacobian over the cost of one evaluation of f.")


def _problem_section(problem: str, sub: pd.DataFrame, plots: _Plots,
                     sweeps: list[tuple[str, pd.DataFrame]]) -> list[str]:
    from adbench.report import plots as P

    parts = [f"## {problem}", ""]
    facts = []
    if "version" in sub.columns and sub["version"].nunique() == 1:
        facts.append(f"definition version `{sub['version'].iloc[0]}`")
    digits = _num(sub, "reference_digits")
    if digits.notna().any():
        facts.append(f"reference good to {digits.min():.0f} digits or more")
    if facts:
        sentence = "; ".join(facts)
        parts += [sentence[0].upper() + sentence[1:] + ".", ""]
    for title, frame in problem_tables(sub):
        parts += [f"### {title}", "", format_table(frame), ""]
    slug = _slug(problem)
    figures = []
    figures += plots.add(f"{slug}-error", f"{problem}: error against size",
                         lambda: P.error_vs_size(sub))
    crossings: list = []

    def sweep():
        fig, found = P.dimension_sweep(sub)
        crossings.extend(found)
        return fig

    nm = plots.add(f"{slug}-n-m", f"{problem}: cost against n and m", sweep)
    figures += nm
    if not nm:
        figures += plots.add(f"{slug}-cost", f"{problem}: cost against size",
                             lambda: P.cost_vs_size(sub))
    figures += plots.add(f"{slug}-swell", f"{problem}: expression swell",
                         lambda: P.swell_vs_size(sub))
    for name, frame in sweeps:
        figures += plots.add(_slug(name), f"{problem}: finite-difference error against step",
                             lambda frame=frame: P.fd_error_vs_step(frame))
    if crossings:
        parts += ["Forward against reverse mode, where their measured costs cross:", ""] + [
            f"- {c.note}" for c in crossings] + [""]
    if figures:
        parts += ["### Plots", "", *figures]
    return parts


def command_line(info: dict, out: Path) -> str:
    """The ``adbench run`` command that a run.json describes."""
    words = ["adbench", "run"]
    if info.get("suite"):
        words.append(str(info["suite"]))
    for name in info.get("problems") or []:
        words += ["--problem", name]
    for name, values in (info.get("sizes") or {}).items():
        words += ["--sizes", f"{name}={','.join(map(str, values))}"]
    if info.get("methods") and not (info.get("suite") is None and not info.get("problems")
                                    and len(info["methods"]) == len(METHODS)):
        for name in info["methods"]:
            words += ["--method", name]
    for folder in info.get("problems_dirs") or []:
        words += ["--problems-dir", folder]
    return " ".join(words + ["--out", str(out)])


def _provenance(out: Path) -> list[str]:
    """Where the figures come from: the command of the run, when run.json tells it."""
    try:
        info = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        return []
    return [f"Produced by `{command_line(info, out)}`; regenerate this report from the CSV "
            f"with `adbench report {out / 'results.csv'}`. Times depend on the machine.", ""]


def render_report(df: pd.DataFrame, title: str = "adbench report", out: str | Path | None = None,
                  fd_sweeps: Sequence[tuple[str, pd.DataFrame]] = ()) -> str:
    """The markdown of report.md. With ``out``, plots are written to
    ``out/plots/`` and linked; without, the report has tables only.

    ``fd_sweeps`` are (name, table) pairs of fd-sweep results (columns h,
    scheme, error); each is plotted in its problem's section (found from a
    ``problem`` column or the name), or in a section of its own.
    """
    from adbench.report import plots as P

    plots = _Plots(Path(out) if out is not None else None)
    problems = list(dict.fromkeys(df["problem"]))
    by_problem: dict = {}
    loose = []
    for name, frame in fd_sweeps:
        owner = _sweep_problem(name, frame, problems)
        if owner in problems:
            by_problem.setdefault(owner, []).append((name, frame))
        else:
            loose.append((name, frame))
    parts = [f"# {title}", "", _intro(df), ""]
    if out is not None:
        parts += _provenance(Path(out))
    parts += ["## Summary", "", format_table(summary_table(df)), ""]
    parts += plots.add("errors-by-method", "error per method", lambda: P.error_by_method(df))
    parts += plots.add("ratios-by-method", "derivative cost over f cost per method",
                       lambda: P.ratios_by_method(df))
    if len(problems) > 1:
        parts += ["Problems: " + ", ".join(f"[{p}](#{_anchor(p)})" for p in problems), ""]
    for problem in problems:
        parts += _problem_section(problem, df[df["problem"] == problem], plots,
                                  by_problem.get(problem, []))
    if loose:
        parts += ["## Finite-difference step studies", ""]
        for name, frame in loose:
            parts += plots.add(_slug(name), f"{name}: finite-difference error against step",
                               lambda frame=frame, name=name: P.fd_error_vs_step(
                                   frame, title=f"{name}: finite-difference error against "
                                                "step (star: the best step)"))
    if plots.notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in plots.notes] + [""]
    return "\n".join(parts).rstrip() + "\n"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def write_report(df: pd.DataFrame, out: str | Path, title: str = "adbench report",
                 plots: bool = True,
                 fd_sweeps: Sequence[tuple[str, pd.DataFrame]] | None = None) -> Path:
    """Write ``out/report.md`` (and its plots under ``out/plots/``) atomically.

    ``fd_sweeps`` defaults to the fd-sweep tables found in ``out``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fd_sweeps is None:
        fd_sweeps = find_fd_sweeps(out)
    path = out / "report.md"
    atomic_write(path, render_report(df, title, out if plots else None, fd_sweeps))
    return path


# --------------------------------------------------------------------------
# Two runs: the regression view
# --------------------------------------------------------------------------

KEY = ["problem", "sizes", "method"]


@dataclass(frozen=True)
class ChangeRule:
    """When a column counts as changed between two runs.

    Values below ``floor`` are raised to it (errors at rounding level all
    count as equal); a change is reported when the larger value over the
    smaller is at least ``factor``. Lower is better for every column here.
    """

    floor: float
    factor: float


#: The compared columns: errors by a factor of 2 above 1e-15; op counts and
#: sizes (deterministic) on any change; time ratios by 25% (timing noise); peak
#: memory ratios by 25% (allocator and interpreter details move them a little).
CHANGE_RULES: dict[str, ChangeRule] = {
    "max_rel_error": ChangeRule(1e-15, 2.0),
    "mean_rel_error": ChangeRule(1e-15, 2.0),
    "error_estimate": ChangeRule(1e-15, 2.0),
    "ops_ratio": ChangeRule(0.0, 1 + 1e-9),
    "ops_f": ChangeRule(0.0, 1 + 1e-9),
    "ops_derivative": ChangeRule(0.0, 1 + 1e-9),
    "passes": ChangeRule(0.0, 1 + 1e-9),
    "expr_ops": ChangeRule(0.0, 1 + 1e-9),
    "expr_ops_cse": ChangeRule(0.0, 1 + 1e-9),
    "tape_length": ChangeRule(0.0, 1 + 1e-9),
    "time_ratio": ChangeRule(0.0, 1.25),
    "mem_ratio": ChangeRule(0.0, 1.25),
}


@dataclass
class RunDiff:
    """The differences between two runs, keyed by (problem, sizes, method)."""

    added: pd.DataFrame
    removed: pd.DataFrame
    status: pd.DataFrame       # key, old status, new status, new message
    changes: pd.DataFrame      # key, column, old, new, change, direction
    versions: pd.DataFrame     # problems whose definition hash changed
    compared: int              # rows present in both

    @property
    def worse(self) -> int:
        return int((self.changes["direction"] == "worse").sum()) if len(self.changes) else 0

    @property
    def better(self) -> int:
        return int((self.changes["direction"] == "better").sum()) if len(self.changes) else 0

    def empty(self) -> bool:
        return not (len(self.added) or len(self.removed) or len(self.status)
                    or len(self.changes) or len(self.versions))


def _keyed(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["sizes"] = df["sizes"].fillna("").astype(str)
    return df.drop_duplicates(KEY, keep="last").set_index(KEY)


def _factor_text(old: float, new: float, rule: ChangeRule) -> str:
    a, b = max(old, rule.floor), max(new, rule.floor)
    if a == 0 or b == 0:
        return f"{old:.3g} -> {new:.3g}"
    ratio = b / a
    return f"x{ratio:.3g}" if ratio >= 1 else f"/{1 / ratio:.3g}"


def compare_runs(old: pd.DataFrame, new: pd.DataFrame,
                 rules: dict[str, ChangeRule] | None = None) -> RunDiff:
    """Rows added and removed, status changes, and for rows ok in both runs the
    columns of ``rules`` (default :data:`CHANGE_RULES`) that moved by at least
    their factor. Columns absent from either run are not compared."""
    rules = CHANGE_RULES if rules is None else rules
    a, b = _keyed(old), _keyed(new)
    added = b.index.difference(a.index, sort=False)
    removed = a.index.difference(b.index, sort=False)
    common = a.index.intersection(b.index, sort=False)
    both = a.loc[common].merge(b.loc[common], left_index=True, right_index=True,
                               suffixes=(" old", " new")).reset_index()
    moved = both["status old"] != both["status new"]
    status = both[moved].rename(columns={"status old": "old status",
                                         "status new": "new status"})
    status = status.assign(message=status.get("message new", "")).reindex(
        columns=[*KEY, "old status", "new status", "message"])
    ok = both[~moved & (both["status new"] == "ok")]
    changes = []
    for column, rule in rules.items():
        if column not in a.columns or column not in b.columns:
            continue
        va = pd.to_numeric(ok[f"{column} old"], errors="coerce")
        vb = pd.to_numeric(ok[f"{column} new"], errors="coerce")
        fa, fb = va.clip(lower=rule.floor), vb.clip(lower=rule.floor)
        lo, hi = np.minimum(fa, fb), np.maximum(fa, fb)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = hi / lo
        changed = va.notna() & vb.notna() & (hi > lo) & ((lo == 0) | (factor >= rule.factor))
        appeared, gone = va.isna() & vb.notna(), va.notna() & vb.isna()
        for mask, direction in ((changed & (fb > fa), "worse"), (changed & (fb < fa), "better"),
                                (appeared, "new"), (gone, "gone")):
            rows = ok[mask]
            if rows.empty:
                continue
            if direction in ("worse", "better"):
                text = [_factor_text(x, y, rule) for x, y in zip(va[mask], vb[mask],
                                                                  strict=True)]
            else:
                text = ["now measured" if direction == "new" else "no longer measured"] * len(rows)
            changes.append(pd.DataFrame({**{k: rows[k].to_numpy() for k in KEY},
                                         "column": column, "old": va[mask].to_numpy(),
                                         "new": vb[mask].to_numpy(), "change": text,
                                         "direction": direction}))
    change_cols = [*KEY, "column", "old", "new", "change", "direction"]
    changes = (pd.concat(changes, ignore_index=True) if changes
               else pd.DataFrame(columns=change_cols))
    versions = pd.DataFrame(columns=["problem", "old version", "new version"])
    if "version" in a.columns and "version" in b.columns:
        va = a["version"].groupby(level="problem").first()
        vb = b["version"].groupby(level="problem").first()
        shared = va.index.intersection(vb.index, sort=False)
        differ = [p for p in shared if va[p] != vb[p]]
        versions = pd.DataFrame({"problem": differ, "old version": [va[p] for p in differ],
                                 "new version": [vb[p] for p in differ]})
    return RunDiff(added=b.loc[added, ["status"]].reset_index(),
                   removed=a.loc[removed, ["status"]].reset_index(),
                   status=status.reset_index(drop=True), changes=changes,
                   versions=versions, compared=len(common))


def diff_summary(diff: RunDiff) -> str:
    """One line: how many rows were compared and what changed."""
    if diff.empty():
        return f"no differences ({diff.compared} rows compared)"
    parts = [f"{diff.compared} rows compared", f"{diff.worse} values worse",
             f"{diff.better} better", f"{len(diff.status)} status changes",
             f"{len(diff.added)} rows added", f"{len(diff.removed)} removed"]
    if len(diff.versions):
        parts.append(f"{len(diff.versions)} problem definitions changed")
    return ", ".join(parts)


def render_diff(diff: RunDiff, old_name: str = "old", new_name: str = "new") -> str:
    """The regression view as markdown."""
    parts = [f"# Changes from {old_name} to {new_name}", "", diff_summary(diff) + ".", ""]
    rules = ", ".join(f"{c} (x{r.factor:g}" + (f", floor {r.floor:g})" if r.floor else ")")
                      for c, r in CHANGE_RULES.items() if r.factor >= 1.01)
    parts += [f"Compared for rows ok in both runs: errors and ratios; a change is listed when "
              f"the value moved by at least its factor: {rules}; op counts and sizes on any "
              "change. Lower is better for each.", ""]
    if len(diff.changes):
        for direction, title in (("worse", "Worse"), ("better", "Better"),
                                 ("new", "Newly measured"), ("gone", "No longer measured")):
            sub = diff.changes[diff.changes["direction"] == direction].drop(columns="direction")
            if len(sub):
                parts += [f"## {title}", "", format_table(sub), ""]
    if len(diff.status):
        parts += ["## Status changes", "", format_table(diff.status), ""]
    if len(diff.added):
        parts += ["## Rows added", "", format_table(diff.added), ""]
    if len(diff.removed):
        parts += ["## Rows removed", "", format_table(diff.removed), ""]
    if len(diff.versions):
        parts += ["## Problem definitions changed", "",
                  "The rows of these problems come from different definitions: compare them "
                  "with care.", "", format_table(diff.versions), ""]
    return "\n".join(parts).rstrip() + "\n"
