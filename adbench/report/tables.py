"""The tables of a report: one summary row per method, and per problem a table
per group of measured columns, rendered as GitHub markdown.

Everything is computed from the results DataFrame alone. Columns that a run
did not measure are left out. Numbers are printed to 3 significant digits,
counts as integers; a message longer than :data:`MESSAGE_WIDTH` shows its
head and a note marker in the cell ("the complex step needs... [1]"), and the
full message in a numbered list under its table.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from adbench.measure.harness import MEASURED_STATUSES, integer_columns, numbers
from adbench.methods import METHODS

__all__ = ["atomic_write", "format_table", "summary_table", "problem_tables",
           "find_fd_sweeps", "COLUMN_GROUPS", "KEY_COLUMNS"]

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
HIDDEN_COLUMNS = {"problem", "version", "tolerance", "reference_digits",
                  "host", "concurrency", "cpus"}  # where it ran: see adbench.report.hosts

#: Columns that hold counts, printed as integers with thousands separators: the
#: whole-number columns of results.csv (``harness.integer_columns``).
INTEGER_COLUMNS = set(integer_columns())

#: Longest text shown whole in a cell; a longer one is cut to MESSAGE_HEAD
#: characters (at a word) and marked with its note number.
MESSAGE_WIDTH = 110
MESSAGE_HEAD = 60


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` at ``path`` atomically (write beside it, then rename), so an
    interrupted write never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _method_order(df: pd.DataFrame) -> list:
    known = [m for m in METHODS if m in set(df["method"])]
    return known + sorted(set(df["method"]) - set(known))



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
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
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
    return " ".join(str(value).split())


def _head(text: str) -> str:
    """The start of a long message, cut at the last word that fits MESSAGE_HEAD."""
    cut = text[:MESSAGE_HEAD + 1].rsplit(" ", 1)[0] if " " in text[:MESSAGE_HEAD + 1] else ""
    return (cut or text[:MESSAGE_HEAD]).rstrip(" ,;:(")


def format_table(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table: numbers to 3 significant digits,
    counts as integers, empty cells for missing values, numbers right-aligned.

    A text longer than MESSAGE_WIDTH shows its head and a marker "[k]" in its
    cell; the list under the table gives each such text in full, once
    ("k. full text"; a text met again reuses its number)."""
    if df.empty:
        return "(no rows)"
    notes: dict[str, int] = {}

    def shown_cell(column, value):
        text = _cell(column, value)
        if len(text) > MESSAGE_WIDTH:
            k = notes.setdefault(text, len(notes) + 1)
            text = f"{_head(text)}... [{k}]"
        return text.replace("|", "\\|")

    cells = [[shown_cell(c, v).strip() for v in df[c]] for c in df.columns]
    right = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    table = _pipe_table([str(c) for c in df.columns], cells, right)
    if notes:
        table += "\n\n" + "\n".join(f"{k}. {text}" for text, k in notes.items())
    return table


def _pipe_table(headers: list[str], cells: list[list[str]], right: list[bool]) -> str:
    """A GitHub ("pipe") markdown table of text cells, given column by column,
    each column right- or left-aligned: the layout of tabulate's ``pipe``
    format (a column as wide as its widest cell, and at least its header plus
    2), written a row at a time instead of through copies of every cell. A test
    checks it against tabulate's own. Through tabulate, the report of a 200 MiB
    results file took 1,454 MiB and 316 s against 1,142 MiB and 124 s
    (``python tests/measure_report_memory.py DIR --size-mb 200 --step report
    --rounds 1 --tree A --tree B`` with the two writers in checkouts A and B, one
    run of each).
    """
    widths = [max([len(h) + 2, *map(len, col)]) for h, col in zip(headers, cells)]

    def line(texts) -> str:
        return "| " + " | ".join(t.rjust(w) if r else t.ljust(w)
                                 for t, w, r in zip(texts, widths, right)) + " |"

    rule = "|".join("-" * (w + 1) + ":" if r else ":" + "-" * (w + 1)
                    for w, r in zip(widths, right))
    return "\n".join([line(headers), f"|{rule}|", *map(line, zip(*cells))])


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per method: counts of each status (``inaccurate``: a Jacobian with
    an entry over its method's tolerance, counted apart from ok and from the
    failures), the worst and median error and the entries over tolerance of the
    scored rows (ok and inaccurate), and (when measured) the median ops, time and memory ratios,
    the median setup time and the worst swell (symbolic derivative size over
    the size of f, or the derivative's size alone without ``f_ops_tree``)."""
    rows = []
    swell = numbers(df, "expr_ops")
    if _present(df, "f_ops_tree"):
        swell = swell / numbers(df, "f_ops_tree").where(numbers(df, "f_ops_tree") > 0)
        swell_label = "swell (max expr_ops / f_ops_tree)"
    else:
        swell_label = "swell (max expr_ops)"
    for method in _method_order(df):
        mask = df["method"] == method
        sub = df[mask]
        ok = mask & (df["status"] == "ok")
        scored = mask & df["status"].isin(MEASURED_STATUSES)
        err = numbers(df, "max_rel_error")[scored]
        row = {
            "method": method,
            "ok": int(ok.sum()),
            "inaccurate": int((sub["status"] == "inaccurate").sum()),
            "unsupported": int((sub["status"] == "unsupported").sum()),
            "failed": int(sub["status"].isin(["error", "timeout", "nonfinite"]).sum()),
            "worst error": err.max() if err.notna().any() else np.nan,
            "median error": err.median() if err.notna().any() else np.nan,
            "entries over tolerance": int(numbers(df, "n_over_tol")[scored].fillna(0).sum()),
        }
        for column, label in (("ops_ratio", "ops ratio (median)"),
                              ("time_ratio", "time ratio (median)"),
                              ("mem_ratio", "memory ratio (median)"),
                              ("setup_s", "setup s (median)")):
            if _present(df, column):
                row[label] = numbers(df, column)[ok].median()
        if _present(df, "expr_ops"):
            row[swell_label] = swell[ok].max()
        rows.append(row)
    table = pd.DataFrame(rows)
    # a metric nobody measured is left out
    return table[[c for c in table.columns
                  if c in ("method", "ok", "inaccurate", "unsupported", "failed")
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
