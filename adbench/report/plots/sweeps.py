"""Forward against reverse mode over an n x m sweep: cost against n and against
m, with the measured crossover marked."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from adbench.measure.harness import numbers
from adbench.report.plots.common import (
    AD_FD_METHODS,
    _figure,
    _has,
    _lines_by_method,
    _name,
    _zeros_note,
    is_wide,
    legend_outside,
    size_axis,
    suptitle,
)


@dataclass
class Crossover:
    """Where forward- and reverse-mode costs meet along one dimension, as drawn.

    ``low``, ``high``: the measured bracket (the neighbouring sizes between which
    the cheaper mode changes; None when it does not change in the measured
    range); ``at``: the estimate inside it, interpolated in the coordinates of
    the panel (log or linear on each axis, :func:`~adbench.report.plots.common.is_wide`)
    so that the marker sits where the panel's lines cross; ``cheaper_below``:
    the mode cheaper at the smallest size; ``note``: the report's sentence.
    """

    along: str
    fixed: str
    fixed_value: float
    metric: str
    at: float | None
    cheaper_below: str | None
    note: str
    low: int | None = None
    high: int | None = None


def _slices(tidy: pd.DataFrame, along: str) -> list:
    """The values of the other dimension at which ``along`` has the most
    distinct points (at least two), in increasing order."""
    other = "m" if along == "n" else "n"
    if along not in tidy.columns or other not in tidy.columns or tidy.empty:
        return []
    counts = tidy.groupby(other)[along].nunique()
    counts = counts[counts > 1]
    return sorted(counts[counts == counts.max()].index) if len(counts) else []


def _crossover(data: pd.DataFrame, metric: str, along: str, value, log_x: bool = True,
               log_y: bool = True) -> Crossover | None:
    """The crossover marked on the plots, as :mod:`adbench.measure.crossover` measures
    it (the one definition) in the panel's coordinates, with the report's sentence."""
    from adbench.measure import crossover as measured

    try:
        c = measured.crossover(data, along, int(value), metric, log_x=log_x, log_y=log_y)
    except (ValueError, KeyError):
        return None
    other = "m" if along == "n" else "n"
    label = f"{metric}, {other} = {value:g}"
    if c.low is None:
        cheaper = c.cheaper_below or c.cheaper_above or "neither"
        note = f"{label}: {cheaper} is cheaper over the whole measured range (no crossover)"
    elif c.low == c.high:
        note = (f"{label}: {c.cheaper_below} is cheaper below {along} = {c.low} and "
                f"{c.cheaper_above} above; they cost the same at {along} = {c.low}")
    else:
        note = (f"{label}: {c.cheaper_below} is cheaper at the smallest {along} measured and "
                f"{c.cheaper_above} at the largest; they cross {c.bracket}")
        if c.at is not None:
            note += (f" (near {along} ≈ {c.at:.2g} with each method's {c.method} "
                     "between those two sizes, as the plot draws it)")
    return Crossover(along, other, value, metric, c.at, c.cheaper_below, note, c.low, c.high)


def _mark(ax, cross: Crossover) -> None:
    """The bracket as a grey band, the estimate as a dotted line labelled with it."""
    if cross.low is None:
        return
    if cross.high != cross.low:
        ax.axvspan(cross.low, cross.high, color="0.5", alpha=0.08, linewidth=0, zorder=0)
    if cross.at is None:
        return
    ax.axvline(cross.at, color="black", linestyle=":", linewidth=1.2)
    ax.annotate(f"crossover\n{cross.along} ≈ {cross.at:.2g}", (cross.at, 0.03),
                xycoords=("data", "axes fraction"), xytext=(4, 0),
                textcoords="offset points", va="bottom", fontsize=8,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                      "edgecolor": "none", "alpha": 0.85})


def dimension_sweep(tidy: pd.DataFrame, metrics=("ops_derivative", "time_derivative_s"),
                    methods=AD_FD_METHODS, crossovers: dict | None = None):
    """Cost against n (m fixed) and against m (n fixed) for forward, reverse and
    the finite differences, with the forward/reverse crossover marked: the
    measured bracket shaded, the interpolated estimate as a dotted line.

    ``tidy`` has columns n, m, method and the ``metrics`` (rows of results.csv
    will do). ``crossovers`` may map ``(metric, along)`` to a precomputed
    :class:`Crossover`; otherwise the crossover comes from
    :mod:`adbench.measure.crossover`. Each row of panels (one metric) shares one
    y scale, each column (one dimension) one x scale, by the axis rule of
    :mod:`~adbench.report.plots.common`. Returns ``(figure, [Crossover...])``,
    or ``(None, [])`` when neither n nor m varies or no metric is present.
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
                    and c.low is not None]
        value = crossing[len(crossing) // 2] if crossing else values[0]
        dims.append((along, "m" if along == "n" else "n", value))
    if not dims:
        return None, []
    labels = {"ops_derivative": "operations for the Jacobian",
              "time_derivative_s": "time for the Jacobian (s)"}
    fig, axes = _figure(width=5.2 * len(dims), height=3.4 * len(metrics) + 0.6,
                        ncols=len(dims), nrows=len(metrics))
    slices = {along: data[data[other] == value] for along, other, value in dims}
    found = []
    for r, metric in enumerate(metrics):
        row_values = pd.concat([numbers(sl, metric) for sl in slices.values()])
        for c, (along, other, value) in enumerate(dims):
            ax = axes[r][c]
            sl = slices[along]
            sl = sl.assign(_x=sl[along].astype(float), _y=numbers(sl, metric))
            log_x = size_axis(ax, sl["_x"])
            log_y = is_wide(row_values)
            if log_y:
                ax.set_yscale("log")
            _lines_by_method(ax, sl, "_x", "_y")
            cross = (crossovers or {}).get((metric, along)) or _crossover(
                data, metric, along, value, log_x, log_y)
            if cross is not None:
                found.append(cross)
                _mark(ax, cross)
            ax.set_xlabel(f"{along}  ({other} = {value:g})")
            ax.set_ylabel(labels.get(metric, metric) + _zeros_note(ax, sl["_y"]))
            ax.grid(True, alpha=0.3, which="major")
    legend_outside(fig)
    shaded = any(c.low is not None and c.high != c.low for c in found)
    suptitle(fig, f"{_name(tidy)}: forward against reverse mode (and finite differences)"
             + ("; shaded: between the measured sizes where the cheaper mode changes"
                if shaded else ""))
    return fig, found
