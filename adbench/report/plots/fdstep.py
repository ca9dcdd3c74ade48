"""The finite-difference step study: error against step h, log-log (the
survey's Figure 3), the one drawing of it (``adbench fd-sweep`` and the report
both come here)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from adbench.measure.harness import numbers
from adbench.report.plots.common import (
    _KNOWN_STYLES,
    ZERO_FLOOR,
    _figure,
    _method_order,
    legend_outside,
    method_style,
    scale_axis,
)

#: Truncation order of each finite-difference scheme: the slope of its guide line.
_FD_ORDERS = {"fd-forward": 1, "fd-central": 2}


def _as_method(scheme: str) -> str:
    """``forward`` (the fd-sweep spelling) -> ``fd-forward``, for colours and guides."""
    return scheme if scheme in _KNOWN_STYLES or f"fd-{scheme}" not in _KNOWN_STYLES \
        else f"fd-{scheme}"


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
    from adbench.studies.fdsweep import best_step

    if not {"h", "scheme", "error"} <= set(sweep.columns):
        return None
    data = sweep.assign(h=numbers(sweep, "h"), error=numbers(sweep, "error"))
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
        best = best_step(sub)
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
        best_h = float(best_step(sub)["h"])
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
    scale_axis(ax, "x", data["h"])
    scale_axis(ax, "y", data["_e"])
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
    legend_outside(fig, ncols=2)
    return fig
