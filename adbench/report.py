"""report.md: the rows of a run as markdown tables, grouped by problem.

Written with pandas and tabulate from the results DataFrame alone, so that
``adbench report results.csv`` can regenerate it without rerunning anything.
Files are written atomically (write, then rename).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from adbench.methods import METHODS

__all__ = ["write_report", "render_report", "atomic_write"]

#: Columns shown per problem, when present (in this order).
PROBLEM_COLUMNS = ["sizes", "n", "m", "method", "status", "max_rel_error", "mean_rel_error",
                   "n_over_tol", "setup_s", "message"]


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _method_order(df: pd.DataFrame) -> list:
    known = [m for m in METHODS if m in set(df["method"])]
    return known + sorted(set(df["method"]) - set(known))


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per method: how many rows of each status and the worst and median error."""
    rows = []
    for method in _method_order(df):
        sub = df[df["method"] == method]
        ok = sub[sub["status"] == "ok"]
        rows.append({
            "method": method,
            "ok": len(ok),
            "unsupported": int((sub["status"] == "unsupported").sum()),
            "failed": int(sub["status"].isin(["error", "timeout", "nonfinite"]).sum()),
            "worst max_rel_error": ok["max_rel_error"].max() if len(ok) else float("nan"),
            "median max_rel_error": ok["max_rel_error"].median() if len(ok) else float("nan"),
            "entries over tolerance": int(ok["n_over_tol"].fillna(0).sum()) if len(ok) else 0,
        })
    return pd.DataFrame(rows)


def _md(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False, floatfmt=".3g")


def render_report(df: pd.DataFrame, title: str = "adbench report") -> str:
    parts = [f"# {title}", "",
             f"{df['problem'].nunique()} problems, {len(df)} measurements "
             f"({(df['status'] == 'ok').sum()} ok). Errors are rho(a, b) = |a - b| / "
             "max(1, |a| + |b|) against an 80-digit mpmath reference.", "",
             "## Summary", "", _md(summary_table(df)), ""]
    for problem, sub in df.groupby("problem", sort=False):
        cols = [c for c in PROBLEM_COLUMNS if c in sub.columns]
        parts += [f"## {problem}", "", _md(sub[cols]), ""]
    return "\n".join(parts)


def write_report(df: pd.DataFrame, out: str | Path, title: str = "adbench report") -> Path:
    out = Path(out)
    path = out / "report.md"
    atomic_write(path, render_report(df, title))
    return path
