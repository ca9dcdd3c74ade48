"""Plots of a whole run per method (error and cost ratios), and of one problem
against its size (error, cost, expression swell)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adbench.measure.harness import numbers
from adbench.report.plots.common import (
    SWELL_COLUMNS,
    ZERO_FLOOR,
    _figure,
    _has,
    _lines_by_method,
    legend_outside,
    scale_axis,
    size_axis,
    _method_order,
    _name,
    _single_size_axis,
    _zeros_note,
    method_style,
    size_table,
    suptitle,
)

def _scored(df: pd.DataFrame) -> pd.DataFrame:
    """The rows with a scored Jacobian (ok, or inaccurate: over its tolerance)."""
    from adbench.measure.harness import MEASURED_STATUSES

    return df[df["status"].isin(MEASURED_STATUSES)] if "status" in df.columns else df


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
    data = df.assign(_v=numbers(df, column)).dropna(subset=["_v"])
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
    scale_axis(ax, "y", values)
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
    """Largest error of each scored row (ok or inaccurate; rho against the
    reference) per method, with each method's tolerance as a black bar."""
    ok = _scored(df)
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

def error_vs_size(df: pd.DataFrame, problem: str | None = None):
    """Largest error against the (single varying) size parameter of a family,
    one line per method; None if the rows do not vary in exactly one size."""
    sub = _scored(df if problem is None else df[df["problem"] == problem])
    axis = _single_size_axis(sub)
    if axis is None or not _has(sub, "max_rel_error"):
        return None
    data = sub.assign(**{"_x": size_table(sub)[axis],
                         "_y": numbers(sub, "max_rel_error").clip(lower=ZERO_FLOOR)})
    fig, axes = _figure()
    ax = axes[0][0]
    ax.set_yscale("log")  # errors run from 0 (drawn at the floor) to order 1
    size_axis(ax, data["_x"])
    _lines_by_method(ax, data, "_x", "_y")
    ax.set_xlabel(axis)
    ax.set_ylabel(f"max rho(J, reference)  (0 drawn at {ZERO_FLOOR:g})")
    ax.set_title(f"{_name(sub)}: error against {axis}", fontsize=10)
    ax.grid(True, alpha=0.3)
    legend_outside(fig)
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
        data = sub.assign(_x=sizes, _y=numbers(sub, column))
        size_axis(ax, data["_x"])
        scale_axis(ax, "y", data["_y"])
        _lines_by_method(ax, data, "_x", "_y")
        ax.set_xlabel(axis)
        ax.set_ylabel(label + _zeros_note(ax, data["_y"]))
        ax.grid(True, alpha=0.3)
    legend_outside(fig)
    suptitle(fig, f"{_name(sub)}: cost against {axis}")
    return fig


def swell_vs_size(df: pd.DataFrame, problem: str | None = None):
    """Expression swell: the sizes of the symbolic derivative (as a tree, after
    cse, simplified), of f, and of the reverse-mode tape against the varying
    size parameter (log scale), a line for each method that fills a column (each
    tool counts its own expressions: they are not pooled). None without such
    columns or a varying size."""
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
    methods = sub["method"] if "method" in sub.columns else pd.Series("", index=sub.index)
    k = 0
    for column in present:
        values = pd.DataFrame({"x": sizes, "y": numbers(sub, column),
                               "method": methods}).dropna()
        values = values[values["y"] > 0]
        for method, own in values.groupby("method", sort=True):
            line = own.groupby("x")["y"].median()
            everything.extend(line)
            label = f"{method}: {SWELL_COLUMNS[column]}" if method else SWELL_COLUMNS[column]
            ax.plot(line.index, line.to_numpy(), marker=markers[k % len(markers)],
                    markersize=5, label=label)
            k += 1
    if not everything:
        return None
    ax.set_yscale("log")  # swell is exponential: the sizes span decades
    size_axis(ax, sizes)
    ax.set_xlabel(axis)
    ax.set_ylabel("size (operations or nodes)")
    ax.set_title(f"{_name(sub)}: expression swell against {axis}", fontsize=10)
    ax.grid(True, alpha=0.3, which="major")
    legend_outside(fig, ncols=2)
    return fig
