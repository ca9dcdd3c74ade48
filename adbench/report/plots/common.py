"""What every plot of a report shares: one style per method, the Agg figure,
the atomic PNG writer, axis scaling rules, and the size labels of rows.

Figures are built on :class:`~matplotlib.figure.Figure` with the Agg canvas,
never through pyplot's global state, so they work without a display and in
worker processes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from adbench.measure.harness import numbers

#: Where an error of exactly 0 is drawn on a log axis.
ZERO_FLOOR = 1e-18

#: The methods of the n x m cost plots: the two AD modes and the finite differences.
AD_FD_METHODS = ("ad-forward", "ad-reverse", "ad-compiled", "fd-forward", "fd-central",
                 "fd-complex", "fd-richardson")

#: Sizes compared in the swell plot: column -> legend label, drawn for each method
#: that fills the column (symbolic, symengine and casadi each count their own).
SWELL_COLUMNS = {
    "expr_ops": "derivative, count_ops (tree)",
    "expr_nodes": "derivative, tree nodes",
    "expr_ops_cse": "derivative after cse (DAG)",
    "expr_ops_simplified": "derivative, simplified",
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


#: An axis is logarithmic when its positive values span more than this factor.
WIDE_FACTOR = 10.0


def is_wide(values, factor: float = WIDE_FACTOR) -> bool:
    """The axis rule of every plot: the positive finite ``values`` span more than
    ``factor`` (max / min > factor), so that a linear axis would squash the small
    ones flat against the large ones."""
    v = np.asarray([x for x in pd.to_numeric(pd.Series(list(values), dtype=object),
                                             errors="coerce")
                    if np.isfinite(x) and x > 0], dtype=float)
    return v.size > 1 and v.max() / v.min() > factor


def scale_axis(ax, axis: str, values, base: int = 10) -> bool:
    """Make ``axis`` ("x" or "y") of ``ax`` logarithmic by :func:`is_wide`;
    returns whether it is."""
    if not is_wide(values):
        return False
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=base)
    return True


def size_axis(ax, values, axis: str = "x") -> bool:
    """An axis of a size parameter (n, m, depth, ...): logarithmic base 2 by
    :func:`is_wide` (sizes come in doublings), and integer ticks when the sizes
    are integers: the measured sizes themselves when there are at most 12, else
    whole numbers only (never a tick at 2.25). Returns whether it is log."""
    from matplotlib.ticker import (FixedLocator, FuncFormatter, LogLocator, MaxNLocator,
                                   NullLocator)

    sizes = sorted({float(v) for v in pd.to_numeric(pd.Series(list(values), dtype=object),
                                                     errors="coerce") if np.isfinite(v)})
    log = scale_axis(ax, axis, sizes, base=2)
    target = ax.xaxis if axis == "x" else ax.yaxis
    if not sizes or not all(v.is_integer() for v in sizes):
        return log
    if len(sizes) <= 12:
        target.set_major_locator(FixedLocator(sizes))
    elif log:
        target.set_major_locator(LogLocator(base=2, numticks=20))  # every doubling
    else:
        target.set_major_locator(MaxNLocator(integer=True))
    if log:
        target.set_minor_locator(NullLocator())
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}" if float(v).is_integer()
                                             else f"{v:g}"))
    return log


def legend_outside(fig, axes=None, ncols: int | None = None) -> None:
    """One legend for the figure, below the axes (never over a line): the
    labelled lines of ``axes`` (default: all), each label once."""
    handles: dict = {}
    for ax in (axes if axes is not None else fig.axes):
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    # "ad-compiled (same as ad-reverse)" in one panel and "ad-compiled" drawn on
    # its own in another: the legend names it once, with its own style
    handles = {label: h for label, h in handles.items()
               if label.split(" (same as ")[0] == label
               or label.split(" (same as ")[0] not in handles}
    if not handles:
        return
    if ncols is None:  # as many as fit the width, then balanced over the rows
        most = max(1, int(fig.get_figwidth() / 1.5))
        rows = -(-len(handles) // most)
        ncols = -(-len(handles) // rows)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncols=ncols, fontsize=8, frameon=False)


def _zeros_note(ax, values) -> str:
    """A note for the axis label when a log axis leaves out values of 0."""
    v = pd.to_numeric(pd.Series(values), errors="coerce")
    return "  (0 not shown)" if ax.get_yscale() == "log" and (v == 0).any() else ""



def _has(df: pd.DataFrame, column: str) -> bool:
    return column in df.columns and numbers(df, column).notna().any()


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
    # each distinct label parsed once (a large run repeats each label per method)
    codes, uniques = pd.factorize(labels)
    parsed = [parse_size_label(s) for s in uniques]
    if (codes < 0).any():  # a missing label: no sizes
        codes = np.where(codes < 0, len(parsed), codes)
        parsed.append({})
    table = pd.DataFrame(parsed).take(codes)
    table.index = df.index
    return table


def varying_sizes(df: pd.DataFrame) -> list[str]:
    """The size parameters that take more than one value in ``df``."""
    sizes = size_table(df)
    return [c for c in sizes.columns if sizes[c].nunique() > 1]


def _lines_by_method(ax, data: pd.DataFrame, x: str, y: str, methods=None) -> int:
    """One line per method. A method whose points are exactly those of a line
    already drawn (ad-compiled counting the operations of ad-reverse) is drawn
    as a wide translucent band under it and says so in its label, so that
    neither hides the other."""
    drawn: dict = {}
    if ax.get_yscale() == "log":
        data = data[data[y] > 0]  # a cost of 0 (an identity Jacobian) has no place on a log axis
    for method in _method_order(methods if methods is not None else data["method"]):
        sub = data[data["method"] == method].dropna(subset=[x, y]).sort_values(x)
        if sub.empty:
            continue
        points = (tuple(sub[x]), tuple(sub[y]))
        style = method_style(method)
        if points in drawn:
            ax.plot(sub[x], sub[y], label=f"{method} (same as {drawn[points]})",
                    color=style["color"], linewidth=6, alpha=0.35, zorder=1.5,
                    solid_capstyle="round")
            continue
        drawn[points] = method
        ax.plot(sub[x], sub[y], label=method, markersize=5, **style)
    return len(drawn)


def _single_size_axis(df: pd.DataFrame) -> str | None:
    """The size parameter to plot against: the one that varies (or None)."""
    varying = varying_sizes(df)
    return varying[0] if len(varying) == 1 else None


def suptitle(fig, text: str) -> None:
    """The figure's title, wrapped to its width (never cut off at the edges)."""
    import textwrap

    fig.suptitle(textwrap.fill(text, width=max(30, int(fig.get_figwidth() * 12))), fontsize=10)


def _name(df: pd.DataFrame) -> str:
    names = list(dict.fromkeys(df["problem"])) if "problem" in df.columns else []
    return names[0] if len(names) == 1 else "all problems"
