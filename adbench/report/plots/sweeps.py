"""Forward against reverse mode over an n x m sweep: cost against n and against
m, with the measured crossover marked."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from adbench.report.plots.common import (
    AD_FD_METHODS,
    _dimension_axis,
    _figure,
    _has,
    _lines_by_method,
    _log_if_wide,
    _name,
    _numeric,
    _zeros_note,
)

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
