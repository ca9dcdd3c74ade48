"""The finite-difference step study: error against step size (the survey's Figure 3).

For each step h of a logarithmic grid, each scheme's Jacobian at x0 is compared
with the 80-digit reference:

* ``forward``: (f(x + h e_i) - f(x)) / h, truncation error |f''| h / 2;
* ``central``: (f(x + h e_i) - f(x - h e_i)) / 2h, truncation error |f'''| h^2 / 6;
* ``complex``: Im f(x + ih e_i) / h, truncation error |f'''| h^2 / 6 and no
  subtractive cancellation (only where f is complex-analytic).

The error of a Jacobian is max_ij |J_ij(h) - J_ij|, the survey's E(h) for a
scalar function; ``rel_error`` is the same with rho (adbench.measure.accuracy). The
difference formulas are those of the fd methods (:mod:`adbench.methods.finite`,
:mod:`adbench.methods.complex_step`). By default h is used as written, as in
the survey; with ``exact_steps`` it is first made exactly representable at
x_i, as the fd methods do, which removes the rounding of x + h from the error.

As h shrinks the truncation error falls (slope 1 forward, 2 central, on a
log-log plot) until round-off, about eps |f| / h, takes over and the error
rises again. :func:`summarise` reports each scheme's best step and error and
the slope of a least-squares line through its truncation regime: the steps
right of the best one whose error exceeds 100 times the error floor, up to
1e-2 max(1, |x0|) (beyond, higher-order terms bend the curve).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from adbench.interpret import primitives as P
from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import rho
from adbench.measure.reference import reference_jacobian
from adbench.methods.complex_step import NotAnalytic, complex_step_column
from adbench.methods.finite import EPS, central_difference, exact_step, forward_difference
from adbench.problem import Instance

__all__ = ["SCHEMES", "ORDERS", "parse_h_range", "step_grid", "sweep", "summarise", "best_step",
           "plot_sweep", "SweepResult"]

SCHEMES = ("forward", "central", "complex")
#: Order of the truncation error of each scheme: the expected slope.
ORDERS = {"forward": 1, "central": 2, "complex": 2}


class HRangeError(ValueError):
    """A malformed ``--h-range``."""


def parse_h_range(text: str) -> tuple[float, float]:
    """``"1e-16:1"`` -> (1e-16, 1.0); HRangeError unless 0 < lo < hi."""
    lo, sep, hi = text.partition(":")
    try:
        if not sep:
            raise ValueError
        lo_v, hi_v = float(lo), float(hi)
    except ValueError:
        raise HRangeError(f"malformed --h-range {text!r}: expected LO:HI such as "
                          "1e-16:1") from None
    if not (0 < lo_v < hi_v) or not math.isfinite(hi_v):
        raise HRangeError(f"--h-range {text!r}: need 0 < LO < HI")
    return lo_v, hi_v


def step_grid(lo: float, hi: float, per_decade: int = 4) -> np.ndarray:
    """Steps spaced evenly in log10 h, ``per_decade`` to a decade, from lo to hi;
    whole decades land exactly on powers of ten."""
    if per_decade < 1:
        raise ValueError("per_decade must be >= 1")
    a, b = math.log10(lo), math.log10(hi)
    k0, k1 = math.ceil(a * per_decade - 1e-9), math.floor(b * per_decade + 1e-9)
    exps = [k / per_decade for k in range(k0, k1 + 1)]
    steps = [float(f"1e{e:.0f}") if float(e).is_integer() else 10.0 ** e for e in exps]
    return np.array(sorted(set([lo] + steps + [hi])))


def _columns(scheme: str, f, x: np.ndarray, h: float, exact: bool) -> list:
    cols = []
    fx = f(x) if scheme == "forward" else None
    for i in range(len(x)):
        if scheme == "forward":
            step = exact_step(float(x[i]), h) if exact else h
            cols.append(forward_difference(f, x, i, step, fx))
        elif scheme == "central":
            cols.append(central_difference(f, x, i, h, exact=exact))
        else:
            cols.append(complex_step_column(f, x, i, h))
    return cols


def sweep(inst: Instance, x0: Sequence[float] | None = None,
          steps: Sequence[float] | None = None, schemes: Sequence[str] = SCHEMES,
          exact_steps: bool = False) -> tuple[pd.DataFrame, dict]:
    """The error of each scheme at each step.

    Returns ``(table, notes)``: one row per (scheme, h) with ``error`` (max
    absolute) and ``rel_error`` (max rho), NaN where the step vanished in
    float64 (an exact step of 0); ``notes`` maps a scheme left out to the reason
    (complex step on a non-analytic f).
    """
    x = inst.x0.copy() if x0 is None else np.asarray(x0, dtype=float).reshape(-1)
    steps = step_grid(1e-16, 1.0) if steps is None else np.asarray(steps, dtype=float)
    J = reference_jacobian(inst, x).jacobian
    m = inst.m

    def f(v):
        return P.reshape(P.array(inst.f(v, numpy_xp)), (m,))

    rows, notes = [], {}
    for scheme in schemes:
        if scheme not in ORDERS:
            raise ValueError(f"unknown scheme {scheme!r}; schemes are {', '.join(SCHEMES)}")
        for h in steps:
            try:
                with np.errstate(all="ignore"):
                    Jh = np.stack([np.asarray(c, dtype=float).reshape(m)
                                   for c in _columns(scheme, f, x.copy(), float(h),
                                                     exact_steps)], axis=1)
            except NotAnalytic as exc:
                notes[scheme] = f"left out: {exc}"
                rows = [r for r in rows if r["scheme"] != scheme]
                break
            finite = np.all(np.isfinite(Jh))
            rows.append({"scheme": scheme, "h": float(h),
                         "error": float(np.max(np.abs(Jh - J))) if finite else math.nan,
                         "rel_error": float(np.max(rho(Jh, J))) if finite else math.nan})
    table = pd.DataFrame(rows, columns=["scheme", "h", "error", "rel_error"])
    table.insert(0, "at", ",".join(f"{v:g}" for v in x))
    table.insert(0, "sizes", inst.size_label)
    table.insert(0, "problem", inst.name)
    table.attrs["reference"] = J
    return table, notes


@dataclass
class SweepResult:
    """One scheme's summary: best step and error, and the fitted truncation slope
    over [fit_lo, fit_hi] (NaN with fewer than 3 points there); ``coefficient``
    is C in error ~ C h^order at the theoretical order (median over the window)."""

    scheme: str
    best_h: float
    best_error: float
    slope: float
    expected_slope: int
    coefficient: float
    fit_lo: float
    fit_hi: float
    fit_points: int


def best_step(sub: pd.DataFrame) -> pd.Series:
    """The row of one scheme's smallest error (``sub`` sorted by h); among ties (a
    flat floor of rounding errors, or zeros) the largest step. The one rule for
    the best step: the summary and the plot's star both use it."""
    return sub[sub["error"] <= sub["error"].min()].iloc[-1]


def summarise(table: pd.DataFrame, x0: Sequence[float] | None = None) -> list[SweepResult]:
    """Best step, best error and fitted truncation slope of each scheme."""
    scale = max(1.0, float(np.max(np.abs(x0)))) if x0 is not None else 1.0
    J = table.attrs.get("reference")
    jscale = max(1.0, float(np.max(np.abs(J)))) if J is not None else 1.0
    out = []
    for scheme, sub in table.groupby("scheme", sort=False):
        sub = sub.dropna(subset=["error"]).sort_values("h")
        if sub.empty:
            continue
        best = best_step(sub)
        best_err = float(best["error"])
        floor = max(best_err, EPS * jscale)
        window = sub[(sub["h"] > best["h"]) & (sub["error"] > 100 * floor)
                     & (sub["h"] <= 1e-2 * scale)]
        order = ORDERS[scheme]
        if len(window) >= 3:
            lh, le = np.log10(window["h"].to_numpy()), np.log10(window["error"].to_numpy())
            slope = float(np.polyfit(lh, le, 1)[0])
            coef = float(np.median(window["error"].to_numpy() / window["h"].to_numpy() ** order))
            lo, hi = float(window["h"].min()), float(window["h"].max())
        else:
            slope = coef = lo = hi = math.nan
        out.append(SweepResult(scheme, float(best["h"]), best_err, slope, order, coef, lo, hi,
                               len(window)))
    return out


def plot_sweep(table: pd.DataFrame, results: Sequence[SweepResult], path: str | Path,
               title: str | None = None) -> Path | None:
    """Write the report's figure of error against step
    (:func:`adbench.report.plots.fd_error_vs_step`) with each scheme's fitted
    truncation line drawn as a band, as a PNG at ``path``; None (nothing
    written) if no step gave a finite error."""
    from adbench.report.plots import fd_error_vs_step, save_figure

    fig = fd_error_vs_step(table, title=title, fits=results)
    return None if fig is None else save_figure(fig, path)
