"""Plots of a run, from DataFrames alone (PNG, headless).

Every function takes a tidy DataFrame (rows of ``results.csv``, or the table
of an fd-sweep) and returns a :class:`matplotlib.figure.Figure`, or ``None``
when the data it needs is absent (a column not measured, a single size), so
that a report simply leaves that plot out. :func:`save_figure` writes a PNG
atomically. Figures are built on :class:`~matplotlib.figure.Figure` with the
Agg canvas, never through pyplot's global state, so they work without a
display and in worker processes.

Conventions: each method has one colour and line style in every plot
(:func:`method_style`); an axis is logarithmic when its data spans more than
two decades; errors of exactly zero are drawn at :data:`ZERO_FLOOR` and the
axis says so.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["method_style", "save_figure", "parse_size_label", "size_table", "varying_sizes",
           "strip_by_method", "error_by_method", "ratios_by_method", "error_vs_size",
           "cost_vs_size", "swell_vs_size", "dimension_sweep", "Crossover",
           "fd_error_vs_step", "ZERO_FLOOR", "AD_FD_METHODS", "SWELL_COLUMNS"]

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


# --------------------------------------------------------------------------
# Per method, over the whole run
# --------------------------------------------------------------------------

def strip_by_method(df: pd.DataFrame, column: str, ylabel: str, title: str, *,
                    ax=None, floor: float | None = None, marks: dict | None = None):
    """One column of dots per method (one dot per row with a value), log scale
    when the values span decades. ``marks`` draws a short bar per method (the
    tolerance). Returns the Figure, or None when no row has the column."""
    if not _has(df, column):
        return None
    data = df.assign(_v=_numeric(df, column)).dropna(subset=["_v"])
    data = data[np.isfinite(data["_v"])]
    if floor is not None:
        data = data.assign(_v=data["_v"].clip(lower=floor))
    methods = _method_order(data["method"])
    fig = None
    if ax is None:
        fig, axes = _figure(width=max(5.5, 1.1 * len(methods) + 2.5), height=4.2)
        ax = axes[0][0]
    rng = np.random.default_rng(0)  # deterministic jitter
    for i, method in enumerate(methods):
        values = data.loc[data["method"] == method, "_v"].to_numpy()
        jitter = rng.uniform(-0.18, 0.18, size=values.size)
        style = method_style(method)
        ax.scatter(i + jitter, values, s=28, color=style["color"], marker=style["marker"],
                   alpha=0.8, edgecolors="none")
        if marks and method in marks and np.isfinite(marks[method]):
            ax.hlines(marks[method], i - 0.35, i + 0.35, colors="black", linewidth=1.2)
    ax.set_xticks(range(len(methods)), methods, rotation=25, ha="right")
    ax.set_xlim(-0.6, len(methods) - 0.4)
    values = list(data["_v"]) + list((marks or {}).values())
    _log_if_wide(ax, "y", values)
    if floor is not None and (data["_v"] <= floor).any():
        ax.set_yscale("log")
        ax.axhline(floor, color="0.6", linewidth=0.8, linestyle=":")
        ax.annotate("exact (0)", (1.0, floor), xycoords=("axes fraction", "data"),
                    xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8,
                    color="0.35")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="y", alpha=0.3, which="major")
    return fig


def error_by_method(df: pd.DataFrame):
    """Largest error of each row (rho against the reference) per method, with
    each method's tolerance as a black bar."""
    ok = df[df["status"] == "ok"] if "status" in df.columns else df
    marks = None
    if _has(ok, "tolerance"):
        marks = ok.groupby("method")["tolerance"].max().to_dict()
    fig = strip_by_method(ok, "max_rel_error", "max rho(J, reference)",
                          "Largest entry error per measurement (bar: the method's tolerance)",
                          floor=ZERO_FLOOR, marks=marks)
    return fig


def ratios_by_method(df: pd.DataFrame):
    """Derivative cost over the cost of f, per method: ``ops_ratio`` and
    ``time_ratio`` side by side when both are present; None if neither is."""
    ok = df[df["status"] == "ok"] if "status" in df.columns else df
    panels = [(c, label) for c, label in (("ops_ratio", "ops(Jacobian) / ops(f)"),
                                          ("time_ratio", "time(Jacobian) / time(f)"))
              if _has(ok, c)]
    if not panels:
        return None
    methods = _method_order(ok["method"])
    fig, axes = _figure(width=min(11.0, max(5.5, 0.9 * len(methods) + 2.5)),
                        height=3.4 * len(panels), nrows=len(panels))
    for row, (column, label) in zip(axes, panels, strict=True):
        strip_by_method(ok, column, label, f"{column}: {label}, one dot per measurement",
                        ax=row[0])
        row[0].axhline(1.0, color="0.6", linewidth=0.8, linestyle=":")
    return fig


# --------------------------------------------------------------------------
# Per problem, against its size
# --------------------------------------------------------------------------

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


def error_vs_size(df: pd.DataFrame, problem: str | None = None):
    """Largest error against the (single varying) size parameter of a family,
    one line per method; None if the rows do not vary in exactly one size."""
    sub = df if problem is None else df[df["problem"] == problem]
    sub = sub[sub["status"] == "ok"] if "status" in sub.columns else sub
    axis = _single_size_axis(sub)
    if axis is None or not _has(sub, "max_rel_error"):
        return None
    data = sub.assign(**{"_x": size_table(sub)[axis],
                         "_y": _numeric(sub, "max_rel_error").clip(lower=ZERO_FLOOR)})
    fig, axes = _figure()
    ax = axes[0][0]
    _lines_by_method(ax, data, "_x", "_y")
    ax.set_yscale("log")
    _log_if_wide(ax, "x", data["_x"])
    ax.set_xlabel(axis)
    ax.set_ylabel(f"max rho(J, reference)  (0 drawn at {ZERO_FLOOR:g})")
    ax.set_title(f"{_name(sub)}: error against {axis}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncols=2)
    return fig


def cost_vs_size(df: pd.DataFrame, problem: str | None = None):
    """``ops_derivative`` and ``time_derivative_s`` (whichever are present)
    against the single varying size parameter, one line per method."""
    sub = df if problem is None else df[df["problem"] == problem]
    sub = sub[sub["status"] == "ok"] if "status" in sub.columns else sub
    axis = _single_size_axis(sub)
    panels = [(c, label) for c, label in (("ops_derivative", "operations for the Jacobian"),
                                          ("time_derivative_s", "time for the Jacobian (s)"))
              if _has(sub, c)]
    if axis is None or not panels:
        return None
    fig, axes = _figure(width=6.0 * len(panels), height=4.2, ncols=len(panels))
    sizes = size_table(sub)[axis]
    for ax, (column, label) in zip(axes[0], panels, strict=True):
        data = sub.assign(_x=sizes, _y=_numeric(sub, column))
        _log_if_wide(ax, "x", data["_x"])
        _log_if_wide(ax, "y", data["_y"])
        _lines_by_method(ax, data, "_x", "_y")
        ax.set_xlabel(axis)
        ax.set_ylabel(label + _zeros_note(ax, data["_y"]))
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{_name(sub)}: cost against {axis}", fontsize=10)
    return fig


def swell_vs_size(df: pd.DataFrame, problem: str | None = None):
    """Expression swell: the sizes of the symbolic derivative (as a tree, after
    cse, simplified), of f, and of the reverse-mode tape against the varying
    size parameter (log scale). None without such columns or a varying size."""
    sub = df if problem is None else df[df["problem"] == problem]
    axis = _single_size_axis(sub)
    present = [c for c in SWELL_COLUMNS if _has(sub, c)]
    if axis is None or not present:
        return None
    sizes = size_table(sub)[axis]
    fig, axes = _figure()
    ax = axes[0][0]
    everything = []
    markers = "osD^vP"
    for k, column in enumerate(present):
        values = pd.DataFrame({"x": sizes, "y": _numeric(sub, column)}).dropna()
        values = values[values["y"] > 0].groupby("x")["y"].median()
        if values.empty:
            continue
        everything.extend(values)
        ax.plot(values.index, values.to_numpy(), marker=markers[k % len(markers)],
                markersize=5, label=SWELL_COLUMNS[column])
    if not everything:
        return None
    ax.set_yscale("log")
    _log_if_wide(ax, "x", sizes)
    ax.set_xlabel(axis)
    ax.set_ylabel("size (operations or nodes)")
    ax.set_title(f"{_name(sub)}: expression swell against {axis}", fontsize=10)
    ax.grid(True, alpha=0.3, which="major")
    ax.legend(fontsize=8)
    return fig


def _name(df: pd.DataFrame) -> str:
    names = list(dict.fromkeys(df["problem"])) if "problem" in df.columns else []
    return names[0] if len(names) == 1 else "all problems"


# --------------------------------------------------------------------------
# n x m sweeps: forward against reverse
# --------------------------------------------------------------------------

@dataclass
class Crossover:
    """Where forward- and reverse-mode costs meet along one dimension.

    ``at`` is the interpolated value of the dimension where the two costs are
    equal (None when they do not cross in the measured range); ``cheaper_below``
    is the mode that is cheaper for smaller values of the dimension.
    """

    along: str
    fixed: str
    fixed_value: float
    metric: str
    at: float | None
    cheaper_below: str | None
    note: str


def _slices(tidy: pd.DataFrame, along: str) -> list:
    """The values of the other dimension at which ``along`` has the most
    distinct points (at least two), in increasing order."""
    other = "m" if along == "n" else "n"
    if along not in tidy.columns or other not in tidy.columns or tidy.empty:
        return []
    counts = tidy.groupby(other)[along].nunique()
    counts = counts[counts > 1]
    return sorted(counts[counts == counts.max()].index) if len(counts) else []


def _crossover(data: pd.DataFrame, metric: str, along: str, value) -> Crossover | None:
    """The crossover marked on the plots, as :mod:`adbench.measure.crossover` measures
    it (the one definition), with the sentence the report prints."""
    from adbench.measure import crossover as measured

    try:
        c = measured.crossover(data, along, int(value), metric)
    except (ValueError, KeyError):
        return None
    other = "m" if along == "n" else "n"
    label = f"{metric}, {other} = {value:g}"
    if c.at is not None:
        note = (f"{label}: {c.cheaper_below} is cheaper for {along} below about {c.at:.3g}, "
                f"{c.cheaper_above} above")
    else:
        cheaper = c.cheaper_below or c.cheaper_above or "neither"
        note = f"{label}: {cheaper} is cheaper over the whole measured range (no crossover)"
    return Crossover(along, other, value, metric, c.at, c.cheaper_below, note)


def dimension_sweep(tidy: pd.DataFrame, metrics=("ops_derivative", "time_derivative_s"),
                    methods=AD_FD_METHODS, crossovers: dict | None = None):
    """Cost against n (m fixed) and against m (n fixed) for forward, reverse and
    the finite differences, with the forward/reverse crossover marked.

    ``tidy`` has columns n, m, method and the ``metrics`` (rows of results.csv
    will do). ``crossovers`` may map ``(metric, along)`` to a precomputed
    :class:`Crossover`; otherwise the crossover comes from
    :mod:`adbench.measure.crossover`. Returns ``(figure, [Crossover...])``, or
    ``(None, [])`` when neither n nor m varies or no metric is present.
    """
    data = tidy[tidy["method"].isin(methods)]
    if "status" in data.columns:
        data = data[data["status"] == "ok"]
    metrics = [c for c in metrics if _has(data, c)]
    if not metrics:
        return None, []
    dims = []
    for along in ("n", "m"):
        given = (crossovers or {}).get((metrics[0], along))
        if given is not None:
            dims.append((along, given.fixed, given.fixed_value))
            continue
        values = _slices(data, along)
        if not values:
            continue
        # Show the slice where the modes cross inside the measured range (the
        # middle one if several do); otherwise the smallest value.
        crossing = [v for v in values
                    if (c := _crossover(data, metrics[0], along, v)) is not None
                    and c.at is not None]
        value = crossing[len(crossing) // 2] if crossing else values[0]
        dims.append((along, "m" if along == "n" else "n", value))
    if not dims:
        return None, []
    labels = {"ops_derivative": "operations for the Jacobian",
              "time_derivative_s": "time for the Jacobian (s)"}
    fig, axes = _figure(width=5.2 * len(dims), height=3.6 * len(metrics), ncols=len(dims),
                        nrows=len(metrics))
    found = []
    for r, metric in enumerate(metrics):
        for c, (along, other, value) in enumerate(dims):
            ax = axes[r][c]
            sl = data[data[other] == value]
            sl = sl.assign(_x=sl[along].astype(float), _y=_numeric(sl, metric))
            _dimension_axis(ax, sl["_x"])
            _log_if_wide(ax, "y", sl["_y"])
            _lines_by_method(ax, sl, "_x", "_y")
            cross = (crossovers or {}).get((metric, along)) or _crossover(
                data, metric, along, value)
            if cross is not None:
                found.append(cross)
                if cross.at is not None:
                    ax.axvline(cross.at, color="black", linestyle=":", linewidth=1.2)
                    ax.annotate(f"crossover\n{along} ≈ {cross.at:.3g}", (cross.at, 0.97),
                                xycoords=("data", "axes fraction"), xytext=(4, 0),
                                textcoords="offset points", va="top", fontsize=8,
                                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                                      "edgecolor": "none", "alpha": 0.85})
            ax.set_xlabel(f"{along}  ({other} = {value:g})")
            ax.set_ylabel(labels.get(metric, metric) + _zeros_note(ax, sl["_y"]))
            ax.grid(True, alpha=0.3, which="major")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{_name(tidy)}: forward against reverse mode (and finite differences)",
                 fontsize=10)
    return fig, found


# --------------------------------------------------------------------------
# Finite-difference step study
# --------------------------------------------------------------------------

#: Truncation order of each finite-difference scheme: the slope of its guide line.
_FD_ORDERS = {"fd-forward": 1, "fd-central": 2}


def _as_method(scheme: str) -> str:
    """``forward`` (the fd-sweep spelling) -> ``fd-forward``, for colours and guides."""
    return scheme if scheme in _KNOWN_STYLES or f"fd-{scheme}" not in _KNOWN_STYLES \
        else f"fd-{scheme}"


def _best_step(sub: pd.DataFrame) -> pd.Series:
    """The row of the smallest error; among ties (a flat floor of rounding
    errors, or zeros) the largest step, as :func:`adbench.studies.fdsweep.summarise`
    chooses it."""
    return sub[sub["error"] <= sub["error"].min()].iloc[-1]


def fd_error_vs_step(sweep: pd.DataFrame, title: str | None = None, fits: Sequence = ()):
    """Error against step h (log-log), one line per scheme, the best step of
    each starred, and guide lines of slope 1 and 2 (the truncation orders of
    forward and central differences: the survey's Figure 3).

    ``sweep`` has columns ``h``, ``scheme`` and ``error``; ``problem``,
    ``sizes`` and ``at`` columns, if present, name the title. ``fits`` are
    fitted truncation lines, error = coefficient h^expected_slope over [fit_lo,
    fit_hi] (:class:`adbench.studies.fdsweep.SweepResult`), each drawn as a wide
    translucent band behind its scheme's curve; those with fewer than 3 points
    are left out. Returns None without the columns or without a finite error.
    """
    if not {"h", "scheme", "error"} <= set(sweep.columns):
        return None
    data = sweep.assign(h=_numeric(sweep, "h"), error=_numeric(sweep, "error"))
    data = data.dropna(subset=["h", "error"])
    data = data[data["h"] > 0]
    if data.empty:
        return None
    data = data.assign(_e=data["error"].clip(lower=ZERO_FLOOR))
    fig, axes = _figure(width=7.0, height=4.6)
    ax = axes[0][0]
    data = data.assign(scheme=data["scheme"].astype(str))
    names = {_as_method(s): s for s in data["scheme"].unique()}
    for method in _method_order(names):
        scheme = names[method]
        sub = data[data["scheme"] == scheme].sort_values("h")
        style = method_style(method)
        ax.plot(sub["h"], sub["_e"], label=scheme, color=style["color"],
                linestyle=style["linestyle"], marker=".", markersize=4)
        best = _best_step(sub)
        ax.plot([best["h"]], [best["_e"]], marker="*", markersize=13, color=style["color"],
                markeredgecolor="black", linestyle="none")
    for fit in fits:
        if fit.fit_points < 3:
            continue
        hs = np.array([fit.fit_lo, fit.fit_hi])
        ax.plot(hs, fit.coefficient * hs ** fit.expected_slope,
                color=method_style(_as_method(fit.scheme))["color"], linewidth=9, alpha=0.25,
                zorder=1, solid_capstyle="butt",
                label=f"{fit.scheme} fit: slope {fit.slope:.2f}, "
                      f"error ~ {fit.coefficient:.3g} h^{fit.expected_slope}")
    for method, order in _FD_ORDERS.items():
        if method not in names:
            continue
        sub = data[data["scheme"] == names[method]].sort_values("h")
        if len(sub) < 3:
            continue
        # Anchor the guide where truncation dominates: two decades of h above the
        # best step (or the largest step measured), and draw it a little below
        # the curve over two decades of h so that both stay visible.
        best_h = float(_best_step(sub)["h"])
        above = sub[sub["h"] >= best_h * 100]
        anchor = above.iloc[0] if len(above) else sub.iloc[-1]
        h0, e0 = float(anchor["h"]), float(anchor["_e"])
        hs = np.array([h0, h0 * 100])
        es = 0.05 * e0 * (hs / h0) ** order
        ax.plot(hs, es, color="0.3", linewidth=1.0, linestyle=(0, (1, 2)))
        ax.annotate(f"slope {order}", (hs[1], es[1]), fontsize=8, color="0.3",
                    xytext=(3, -3), textcoords="offset points", ha="left", va="top")
    if (data["_e"] <= ZERO_FLOOR).any():
        ax.axhline(ZERO_FLOOR, color="0.6", linewidth=0.8, linestyle=":")
        ax.annotate("exact (0)", (1.0, ZERO_FLOOR), xycoords=("axes fraction", "data"),
                    xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8,
                    color="0.35")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step h")
    ax.set_ylabel("error against the reference")
    if title is None:
        title = "Finite-difference error against step (star: the best step)"
        if "problem" in data.columns and data["problem"].nunique() == 1:
            where = str(data["problem"].iloc[0])
            sizes = data["sizes"].iloc[0] if "sizes" in data.columns else ""
            if isinstance(sizes, str) and sizes:
                where += f"[{sizes}]"
            at = data["at"].iloc[0] if "at" in data.columns else None
            if at is not None and not (isinstance(at, float) and math.isnan(at)):
                where += f" at x = {at}"
            title = f"{where}: {title[0].lower()}{title[1:]}"
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3, which="major")
    ax.legend(fontsize=8)
    return fig
