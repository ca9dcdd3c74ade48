"""Forward against reverse mode over an n x m sweep: the measured crossover.

For f: R^n -> R^m, forward mode builds the Jacobian from n JVPs and reverse
mode from m VJPs, at a small constant times the cost of f each (the survey,
Section 3); so forward mode should be cheaper when n < m and reverse mode when
m < n, and finite differences cost O(n) evaluations of f like forward mode.

These functions read the rows of a family run over a grid of n and m
(``adbench run --problem tanh-layer --sizes n=1,2,4,8 --sizes m=1,2,4,8``),
the results.csv DataFrame, and measure that:

* :func:`against`: one cost column (``ops_derivative``, ``time_derivative_s``...)
  per method against n at a fixed m, or against m at a fixed n;
* :func:`crossover`: along one such line, which of two methods is cheaper at
  the small end and at the large end, and where they swap (the survey expects
  the swap at n = m): the bracket, the two neighbouring measured sizes between
  which the cheaper method changes, and an estimate inside it by
  :func:`interpolate_crossing`;
* :func:`crossovers`: every line of the grid in both directions;
* :func:`winner_grid`, :func:`agreement`: the cheaper method in each (n, m)
  cell, and the fraction of cells with n != m where it is the one the survey
  predicts.

Only rows with status ``ok`` and a value of the metric are used; a method
missing from a cell leaves that cell out.

What is measured is the bracket; the estimate inside it is a model. With
costs c_1(x) and c_2(x) measured at x_0 < x_1 on either side of the swap,
each cost is taken as linear between them in the chosen coordinates
(log x and log c by default: costs that are powers of the size, a * x^k,
are exactly straight there) and the estimate is where the two straight
pieces meet. It is never extrapolated beyond the measured sizes, and none
is given when a cost needed on a log scale is not positive. A plot drawing
its lines in the same coordinates shows the estimate where its lines cross.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from adbench.measure.harness.results import numbers

__all__ = ["DEFAULT_METHODS", "FORWARD", "REVERSE", "Crossover", "cost_table", "against",
           "crossover", "crossovers", "winner_grid", "agreement", "default_fixed",
           "interpolate_crossing", "interpolation_words"]

FORWARD, REVERSE = "ad-forward", "ad-reverse"
#: The methods compared by default: both AD modes and the finite differences present.
DEFAULT_METHODS = (FORWARD, REVERSE, "fd-forward", "fd-central", "fd-complex",
                   "fd-richardson")


def cost_table(df: pd.DataFrame, metric: str = "ops_derivative",
               methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Long table (n, m, method, value) of ``metric`` over the ok rows.

    Raises ValueError when the metric is not a column or no row has it.
    """
    if metric not in df.columns:
        raise ValueError(f"no column {metric!r} in the results")
    methods = list(DEFAULT_METHODS if methods is None else methods)
    sub = df[(df["status"] == "ok") & df["method"].isin(methods)]
    sub = sub[["n", "m", "method", metric]].rename(columns={metric: "value"})
    sub = sub.assign(value=numbers(sub, "value")).dropna()
    if sub.empty:
        raise ValueError(f"no ok rows with {metric!r} for {', '.join(methods)}")
    sub = sub.astype({"n": int, "m": int})
    # One value per (n, m, method): a family may have other size parameters too.
    return sub.groupby(["n", "m", "method"], as_index=False)["value"].median()


def _other(along: str) -> str:
    if along not in ("n", "m"):
        raise ValueError(f"along must be 'n' or 'm', not {along!r}")
    return "m" if along == "n" else "n"


def default_fixed(df: pd.DataFrame, along: str) -> int:
    """The value of the other dimension nearest the geometric middle of the
    range of ``along``: where a crossover along ``along`` is expected inside it."""
    other = _other(along)
    values = sorted(set(int(v) for v in df[along]))
    middle = math.sqrt(values[0] * values[-1])
    candidates = sorted(set(int(v) for v in df[other]))
    return min(candidates, key=lambda v: (abs(math.log(v / middle)), v))


def against(df: pd.DataFrame, along: str = "n", fixed: int | None = None,
            metric: str = "ops_derivative", methods: Sequence[str] | None = None
            ) -> pd.DataFrame:
    """``metric`` against ``along`` ("n" or "m") with the other dimension at
    ``fixed`` (default :func:`default_fixed`): index the values of ``along``,
    one column per method present."""
    table = cost_table(df, metric, methods)
    other = _other(along)
    if fixed is None:
        fixed = default_fixed(table, along)
    line = table[table[other] == fixed]
    if line.empty:
        raise ValueError(f"no rows with {other} = {fixed} "
                         f"(values present: {sorted(set(table[other]))})")
    wide = line.pivot(index=along, columns="method", values="value").sort_index()
    order = [m for m in (methods or DEFAULT_METHODS) if m in wide.columns]
    wide = wide[order]
    wide.columns.name = None
    wide.attrs.update(along=along, fixed=fixed, other=other, metric=metric)
    return wide


def interpolate_crossing(x: tuple[float, float], a: tuple[float, float],
                         b: tuple[float, float], log_x: bool = True,
                         log_y: bool = True) -> float | None:
    """Where two costs, each straight between its values at ``x = (x0, x1)``
    in the chosen coordinates, are equal: with X = log x (or x) and
    A = log a (or a), B likewise, d_i = A_i - B_i, the crossing is at
    X = X0 + d0 / (d0 - d1) * (X1 - X0).

    ``a`` and ``b`` are the two methods' costs at x0 and x1. Returns None when
    the difference does not change sign between x0 and x1 (no crossing inside,
    and this never extrapolates), or when a value needed on a log scale is not
    positive.
    """
    if not all(math.isfinite(v) for v in (*x, *a, *b)):
        return None
    if (log_x and min(x) <= 0) or (log_y and min(*a, *b) <= 0):
        return None
    fx = math.log if log_x else float
    fy = math.log if log_y else float
    d0, d1 = fy(a[0]) - fy(b[0]), fy(a[1]) - fy(b[1])
    if d0 == 0:
        return float(x[0])
    if d1 == 0:
        return float(x[1])
    if (d0 > 0) == (d1 > 0):
        return None
    X0, X1 = fx(x[0]), fx(x[1])
    X = X0 + d0 / (d0 - d1) * (X1 - X0)
    return math.exp(X) if log_x else X


def interpolation_words(along: str, log_x: bool = True, log_y: bool = True) -> str:
    """How :func:`interpolate_crossing` estimated, in words for a report."""
    x = f"log {along}" if log_x else along
    y = "log cost" if log_y else "cost"
    return f"{y} interpolated linearly in {x}"


@dataclass
class Crossover:
    """Where ``first`` and ``second`` swap along one line of the grid.

    ``cheaper_below`` / ``cheaper_above``: the cheaper method at the smallest
    and largest value of ``along`` (None for a tie); ``low``, ``high``: the
    bracket, the neighbouring measured values of ``along`` between which the
    cheaper method first changes (equal when the two tie at a measured value;
    None if it never changes); ``at``: the estimate inside the bracket by
    :func:`interpolate_crossing` in the coordinates ``log_x``, ``log_y`` (None
    without a bracket or when it cannot interpolate); ``expected``: the
    survey's crossover, ``along`` = ``fixed`` (n = m).
    """

    along: str
    fixed: int
    metric: str
    first: str
    second: str
    cheaper_below: str | None
    cheaper_above: str | None
    at: float | None
    expected: float
    points: int
    low: int | None = None
    high: int | None = None
    log_x: bool = True
    log_y: bool = True

    @property
    def bracket(self) -> str:
        """The measured bracket as text: "between 1 and 8", "at 4", or ""."""
        if self.low is None:
            return ""
        if self.low == self.high:
            return f"at {self.along} = {self.low}"
        return f"between {self.along} = {self.low} and {self.along} = {self.high}"

    @property
    def method(self) -> str:
        """How ``at`` was estimated, in words."""
        return interpolation_words(self.along, self.log_x, self.log_y)

    @property
    def as_predicted(self) -> bool | None:
        """Whether the measured swap is the survey's one: forward mode cheaper
        where n < m and reverse mode where n > m, the bracket of the swap
        reaching within a factor 2 of n = m. None when the line has no swap or
        the pair is not forward/reverse."""
        if {self.first, self.second} != {FORWARD, REVERSE} or self.low is None:
            return None
        if self.along == "n":  # n grows: forward first, then reverse
            ok = self.cheaper_below == FORWARD and self.cheaper_above == REVERSE
        else:  # m grows: reverse first, then forward
            ok = self.cheaper_below == REVERSE and self.cheaper_above == FORWARD
        return ok and self.low <= 2.0 * self.expected and self.high >= 0.5 * self.expected


def _cheaper(a: float, b: float, first: str, second: str) -> str | None:
    if a < b:
        return first
    if b < a:
        return second
    return None


def crossover(df: pd.DataFrame, along: str = "n", fixed: int | None = None,
              metric: str = "ops_derivative", first: str = FORWARD,
              second: str = REVERSE, log_x: bool = True, log_y: bool = True) -> Crossover:
    """The crossover of ``first`` and ``second`` along one line (see
    :class:`Crossover`); ``log_x``, ``log_y``: the coordinates of the estimate."""
    line = against(df, along, fixed, metric, [first, second])
    fixed = line.attrs["fixed"]
    if first not in line.columns or second not in line.columns:
        raise ValueError(f"need both {first} and {second} on the line "
                         f"{line.attrs['other']} = {fixed}")
    line = line.dropna()
    xs = [int(v) for v in line.index]
    winners = [_cheaper(a, b, first, second)
               for a, b in zip(line[first], line[second], strict=True)]
    at = low = high = None
    decided = [(x, w) for x, w in zip(xs, winners, strict=True) if w is not None]
    for (x0, w0), (x1, w1) in zip(decided, decided[1:]):
        if w0 != w1:
            ties = [x for x, w in zip(xs, winners, strict=True) if w is None and x0 < x < x1]
            if ties:  # a tie between them is the crossover itself, measured
                low = high = ties[0]
                at = float(ties[0])
            else:
                low, high = x0, x1
                at = interpolate_crossing(
                    (x0, x1), (line.loc[x0, first], line.loc[x1, first]),
                    (line.loc[x0, second], line.loc[x1, second]), log_x, log_y)
            break
    return Crossover(along, int(fixed), metric, first, second,
                     winners[0] if winners else None, winners[-1] if winners else None,
                     at, float(fixed), len(xs), low, high, log_x, log_y)


def crossovers(df: pd.DataFrame, metric: str = "ops_derivative", first: str = FORWARD,
               second: str = REVERSE) -> pd.DataFrame:
    """:func:`crossover` along n for every m, and along m for every n, as a table:
    the measured bracket (``crossover_between``) and the log-log estimate in it."""
    table = cost_table(df, metric, [first, second])
    rows = []
    for along in ("n", "m"):
        other = _other(along)
        for fixed in sorted(set(table[other])):
            if table[table[other] == fixed][along].nunique() < 2:
                continue
            c = crossover(df, along, int(fixed), metric, first, second)
            rows.append({"along": along, "fixed": f"{other}={c.fixed}",
                         "cheaper_at_small": c.cheaper_below, "cheaper_at_large": c.cheaper_above,
                         "crossover_between": "" if c.low is None else
                         f"{c.low}" if c.low == c.high else f"{c.low} and {c.high}",
                         "estimate_log_log": c.at, "expected_at": c.expected,
                         "as_predicted": c.as_predicted, "points": c.points})
    return pd.DataFrame(rows)


def winner_grid(df: pd.DataFrame, metric: str = "ops_derivative", first: str = FORWARD,
                second: str = REVERSE) -> pd.DataFrame:
    """The cheaper of the two methods in each (n, m) cell ("tie" if equal):
    rows n, columns m."""
    wide = cost_table(df, metric, [first, second]).pivot(
        index=["n", "m"], columns="method", values="value").dropna()
    names = np.where(wide[first] < wide[second], first,
                     np.where(wide[second] < wide[first], second, "tie"))
    grid = pd.Series(names, index=wide.index).unstack("m")
    grid.columns.name = "m"
    return grid


def agreement(df: pd.DataFrame, metric: str = "ops_derivative") -> float:
    """Fraction of cells with n != m where the cheaper AD mode is the survey's
    (forward when n < m, reverse when n > m); NaN when there is no such cell."""
    grid = winner_grid(df, metric, FORWARD, REVERSE)
    hits = total = 0
    for n in grid.index:
        for m in grid.columns:
            w = grid.loc[n, m]
            if n == m or not isinstance(w, str):
                continue
            total += 1
            hits += w == (FORWARD if n < m else REVERSE)
    return hits / total if total else math.nan
