"""The report's section "adbench against the peers": when a run measured other
libraries' methods (:data:`adbench.methods.PEER_METHODS`), each problem's error and
time ratio for every method side by side, and the time ratio against size per tool.

A cell reads ``error / time ratio`` for a scored row (``ok`` or ``inaccurate``), or the
row's status otherwise (``unsupported``, ``error``, ...; its message is in the
problem's own section). Time ratios are comparable within one host only.
"""

from __future__ import annotations

import math

import pandas as pd

from adbench.measure.harness import MEASURED_STATUSES, numbers
from adbench.methods import METHODS, PEER_METHODS
from adbench.report.plots.common import (
    _figure,
    _lines_by_method,
    legend_outside,
    scale_axis,
    size_axis,
    size_table,
    suptitle,
    varying_sizes,
)

__all__ = ["has_peers", "peer_table", "time_ratio_vs_size"]


def has_peers(df: pd.DataFrame) -> bool:
    """Whether ``df`` holds rows of another library's method."""
    return bool(df["method"].isin(PEER_METHODS).any())


def _number(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2g}"


def _cell(row) -> str:
    if row["status"] not in MEASURED_STATUSES:
        return str(row["status"])
    error = _number(pd.to_numeric(row.get("max_rel_error"), errors="coerce"))
    ratio = pd.to_numeric(row.get("time_ratio"), errors="coerce")
    cell = f"{error} / {_number(ratio)}"
    return cell + (" (inaccurate)" if row["status"] == "inaccurate" else "")


def peer_table(df: pd.DataFrame, problem: str) -> pd.DataFrame:
    """One row per method, one column per size of ``problem``: ``error / time ratio``."""
    sub = df[df["problem"] == problem]
    order = [m for m in METHODS if m in set(sub["method"])]
    sizes = list(dict.fromkeys(sub["sizes"].fillna("")))
    table = pd.DataFrame(index=order, columns=[s or "-" for s in sizes], dtype=object)
    for _, row in sub.iterrows():
        table.loc[row["method"], row["sizes"] or "-"] = _cell(row)
    table = table.fillna("")
    table.insert(0, "method", table.index)
    return table.reset_index(drop=True)


def time_ratio_vs_size(df: pd.DataFrame, problem: str):
    """``time_ratio`` against the single varying size parameter of ``problem``, one
    line per method (adbench's own and the peers'); None without one such parameter."""
    sub = df[(df["problem"] == problem) & df["status"].isin(MEASURED_STATUSES)]
    varying = varying_sizes(sub)
    if len(varying) != 1 or not numbers(sub, "time_ratio").notna().any():
        return None
    axis = varying[0]
    fig, axes = _figure(width=7.0, height=4.4)
    ax = axes[0][0]
    data = sub.assign(_x=size_table(sub)[axis], _y=numbers(sub, "time_ratio"))
    size_axis(ax, data["_x"])
    scale_axis(ax, "y", data["_y"])
    _lines_by_method(ax, data, "_x", "_y")
    ax.set_xlabel(axis)
    ax.set_ylabel("time of the Jacobian / time of f")
    ax.grid(True, alpha=0.3)
    legend_outside(fig)
    suptitle(fig, f"{problem}: time ratio against {axis}, every tool")
    return fig
