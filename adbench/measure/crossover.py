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
  the swap at n = m);
* :func:`crossovers`: every line of the grid in both directions;
* :func:`winner_grid`, :func:`agreement`: the cheaper method in each (n, m)
  cell, and the fraction of cells with n != m where it is the one the survey
  predicts.

Only rows with status ``ok`` and a value of the metric are used; a method
missing from a cell leaves that cell out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_METHODS", "FORWARD", "REVERSE", "Crossover", "cost_table", "against",
           "crossover", "crossovers", "winner_grid", "agreement", "default_fixed"]

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
    sub = sub.assign(value=pd.to_numeric(sub["value"], errors="coerce")).dropna()
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


@dataclass
class Crossover:
    """Where ``first`` and ``second`` swap along one line of the grid.

    ``cheaper_below`` / ``cheaper_above``: the cheaper method at the smallest
    and largest value of ``along`` (None for a tie); ``at``: the measured
    crossover, the geometric mean of the two neighbouring values of ``along``
    between which the cheaper method changes (None if it does not change);
    ``expected``: the survey's crossover, ``along`` = ``fixed`` (n = m).
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

    @property
    def as_predicted(self) -> bool | None:
        """Whether the measured swap is the survey's one: forward mode cheaper
        where n < m and reverse mode where n > m, swapping between the grid
        values around n = m. None when the line does not reach both sides of
        n = m or the pair is not forward/reverse."""
        if {self.first, self.second} != {FORWARD, REVERSE} or self.at is None:
            return None
        if self.along == "n":  # n grows: forward first, then reverse
            ok = self.cheaper_below == FORWARD and self.cheaper_above == REVERSE
        else:  # m grows: reverse first, then forward
            ok = self.cheaper_below == REVERSE and self.cheaper_above == FORWARD
        return ok and 0.5 * self.expected <= self.at <= 2.0 * self.expected


def _cheaper(a: float, b: float, first: str, second: str) -> str | None:
    if a < b:
        return first
    if b < a:
        return second
    return None


def crossover(df: pd.DataFrame, along: str = "n", fixed: int | None = None,
              metric: str = "ops_derivative", first: str = FORWARD,
              second: str = REVERSE) -> Crossover:
    """The crossover of ``first`` and ``second`` along one line (see :class:`Crossover`)."""
    line = against(df, along, fixed, metric, [first, second])
    fixed = line.attrs["fixed"]
    if first not in line.columns or second not in line.columns:
        raise ValueError(f"need both {first} and {second} on the line "
                         f"{line.attrs['other']} = {fixed}")
    line = line.dropna()
    xs = [int(v) for v in line.index]
    winners = [_cheaper(a, b, first, second)
               for a, b in zip(line[first], line[second], strict=True)]
    at = None
    decided = [(x, w) for x, w in zip(xs, winners, strict=True) if w is not None]
    for (x0, w0), (x1, w1) in zip(decided, decided[1:]):
        if w0 != w1:
            at = math.sqrt(x0 * x1)
            # a tie between them is the crossover itself
            ties = [x for x, w in zip(xs, winners, strict=True) if w is None and x0 < x < x1]
            if ties:
                at = float(ties[0])
            break
    return Crossover(along, int(fixed), metric, first, second,
                     winners[0] if winners else None, winners[-1] if winners else None,
                     at, float(fixed), len(xs))


def crossovers(df: pd.DataFrame, metric: str = "ops_derivative", first: str = FORWARD,
               second: str = REVERSE) -> pd.DataFrame:
    """:func:`crossover` along n for every m, and along m for every n, as a table."""
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
                         "crossover_at": c.at, "expected_at": c.expected,
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
