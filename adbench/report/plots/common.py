"""What every plot of a report shares: one style per method, the Agg figure,
the atomic PNG writer, axis scaling rules, and the size labels of rows.

Figures are built on :class:`~matplotlib.figure.Figure` with the Agg canvas,
never through pyplot's global state, so they work without a display and in
worker processes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

#: Where an error of exactly 0 is drawn on a log axis.
ZERO_FLOOR = 1e-18

#: The methods of the n x m cost plots: the two AD modes and the finite differences.
AD_FD_METHODS = ("ad-forward", "ad-reverse", "ad-compiled", "fd-forward", "fd-central",
                 "fd-complex", "fd-richardson")

#: Sizes compared in the swell plot: column -> legend label.
SWELL_COLUMNS = {
    "expr_ops": "symbolic derivative, count_ops (tree)",
    "expr_nodes": "symbolic derivative, tree nodes",
    "expr_ops_cse": "symbolic derivative after cse (DAG)",
    "expr_ops_simplified": "symbolic derivative, simplified",
    "f_ops_tree": "f itself, as a tree",
    "tape_length": "reverse-mode tape length",
}

_KNOWN_STYLES = {
    "manual": ("#7f7f7f", "-.", "P"),
    "fd-forward": ("#ff7f0e", "--", "v"),
    "fd-central": ("#d62728", "--", "^"),
    "fd-complex": ("#9467bd", "--", "D"),
    "fd-richardson": ("#8c564b", "--", "X"),
    "symbolic": ("#2ca02c", ":", "s"),
    "ad-forward": ("#1f77b4", "-", "o"),
    "ad-reverse": ("#17becf", "-", "*"),
    "ad-compiled": ("#393b79", "-", "p"),
}
_SPARE_COLOURS = ["#e377c2", "#bcbd22", "#637939", "#8c6d31", "#843c39"]


def method_style(method: str) -> dict:
    """Colour, line style and marker of a method, the same in every plot."""
    if method in _KNOWN_STYLES:
        colour, line, marker = _KNOWN_STYLES[method]
    else:  # a method this module does not know: a stable spare colour
        colour = _SPARE_COLOURS[sum(map(ord, method)) % len(_SPARE_COLOURS)]
        line, marker = "-", "o"
    return {"color": colour, "linestyle": line, "marker": marker}


def _method_order(methods) -> list:
    from adbench.methods import METHODS

    present = list(dict.fromkeys(methods))
    order = list(METHODS) + [m for m in _KNOWN_STYLES if m not in METHODS]
    return [m for m in order if m in present] + sorted(m for m in present if m not in order)


def _figure(width: float = 7.0, height: float = 4.2, ncols: int = 1, nrows: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def save_figure(fig, path: str | Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (write, then rename)."""
    from matplotlib.ticker import NullFormatter

    for ax in fig.axes:
        # Minor-tick labels of log axes cost most of the drawing time and
        # crowd the axis; the decades are labelled.
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                axis.set_minor_formatter(NullFormatter())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png")
    os.replace(tmp, path)
    return path


def _spans_decades(values, decades: float = 2.0) -> bool:
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0], dtype=float)
    return v.size > 1 and math.log10(v.max() / v.min()) > decades


def _log_if_wide(ax, axis: str, values, decades: float = 2.0, base: int = 10) -> None:
    if _spans_decades(values, decades):
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=base)


def _dimension_axis(ax, values) -> None:
    """n and m: a log-2 axis once they span a factor of 8 (sizes come in doublings),
    with the measured values as plain tick labels."""
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    if _spans_decades(values, math.log10(8)):
        ax.set_xscale("log", base=2)
        ticks = sorted({float(v) for v in values if np.isfinite(v) and v > 0})
        if len(ticks) <= 12:
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(ScalarFormatter())


def _zeros_note(ax, values) -> str:
    """A note for the axis label when a log axis leaves out values of 0."""
    v = pd.to_numeric(pd.Series(values), errors="coerce")
    return "  (0 not shown)" if ax.get_yscale() == "log" and (v == 0).any() else ""


def _numeric(df: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(df[column], errors="coerce") if column in df.columns else \
        pd.Series(np.nan, index=df.index)


def _has(df: pd.DataFrame, column: str) -> bool:
    return column in df.columns and _numeric(df, column).notna().any()


# --------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------

def parse_size_label(label) -> dict:
    """``"n=4,m=16"`` -> ``{"n": 4, "m": 16}``; ``""`` -> ``{}``."""
    out = {}
    if not isinstance(label, str) or not label.strip():
        return out
    for part in label.split(","):
        key, _, value = part.partition("=")
        try:
            number = float(value)
        except ValueError:
            continue
        out[key.strip()] = int(number) if number.is_integer() else number
    return out


def size_table(df: pd.DataFrame) -> pd.DataFrame:
    """One numeric column per size parameter, parsed from the ``sizes`` column."""
    labels = df["sizes"] if "sizes" in df.columns else pd.Series("", index=df.index)
    return pd.DataFrame([parse_size_label(s) for s in labels], index=df.index)


def varying_sizes(df: pd.DataFrame) -> list[str]:
    """The size parameters that take more than one value in ``df``."""
    sizes = size_table(df)
    return [c for c in sizes.columns if sizes[c].nunique() > 1]


def _lines_by_method(ax, data: pd.DataFrame, x: str, y: str, methods=None) -> int:
    drawn = 0
    if ax.get_yscale() == "log":
        data = data[data[y] > 0]  # a cost of 0 (an identity Jacobian) has no place on a log axis
    for method in _method_order(methods if methods is not None else data["method"]):
        sub = data[data["method"] == method].dropna(subset=[x, y]).sort_values(x)
        if sub.empty:
            continue
        ax.plot(sub[x], sub[y], label=method, markersize=5, **method_style(method))
        drawn += 1
    return drawn


def _single_size_axis(df: pd.DataFrame) -> str | None:
    """The size parameter to plot against: the one that varies (or None)."""
    varying = varying_sizes(df)
    return varying[0] if len(varying) == 1 else None


def _name(df: pd.DataFrame) -> str:
    names = list(dict.fromkeys(df["problem"])) if "problem" in df.columns else []
    return names[0] if len(names) == 1 else "all problems"
