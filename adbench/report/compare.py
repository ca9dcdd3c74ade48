"""The regression view of two runs: rows added and removed, status changes, and
errors or ratios that moved by more than a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adbench.measure.harness import numbers
from adbench.report.tables import format_table

__all__ = ["compare_runs", "render_diff", "diff_summary", "RunDiff", "ChangeRule",
           "CHANGE_RULES", "KEY", "TIME_COLUMNS", "noise_factor"]

KEY = ["problem", "sizes", "method"]


@dataclass(frozen=True)
class ChangeRule:
    """When a column counts as changed between two runs.

    Values below ``floor`` are raised to it (errors at rounding level all
    count as equal); a change is reported when the larger value over the
    smaller is at least ``factor``. Lower is better for every column here.
    """

    floor: float
    factor: float


#: The compared columns: errors by a factor of 2 above 1e-15; op counts and
#: sizes (deterministic) on any change; time ratios by 25% (timing noise); peak
#: memory ratios by 25% (allocator and interpreter details move them a little).
CHANGE_RULES: dict[str, ChangeRule] = {
    "max_rel_error": ChangeRule(1e-15, 2.0),
    "mean_rel_error": ChangeRule(1e-15, 2.0),
    "error_estimate": ChangeRule(1e-15, 2.0),
    "ops_ratio": ChangeRule(0.0, 1 + 1e-9),
    "ops_f": ChangeRule(0.0, 1 + 1e-9),
    "ops_derivative": ChangeRule(0.0, 1 + 1e-9),
    "passes": ChangeRule(0.0, 1 + 1e-9),
    "expr_ops": ChangeRule(0.0, 1 + 1e-9),
    "expr_ops_cse": ChangeRule(0.0, 1 + 1e-9),
    "tape_length": ChangeRule(0.0, 1 + 1e-9),
    "time_ratio": ChangeRule(0.0, 1.25),
    "mem_ratio": ChangeRule(0.0, 1.25),
}


#: Columns that are timings: judged against the noise both runs measured.
TIME_COLUMNS = ("time_ratio",)

#: Fewer derivative samples than this say nothing of the noise (a slow method
#: takes one): such a row's time is judged only against a threshold the user sets.
MIN_SAMPLES = 3


def noise_factor(old: pd.DataFrame, new: pd.DataFrame, floor: float) -> pd.Series:
    """How far a time ratio may move between two runs by noise alone, per row.

    A run's timings scatter by s = (median - min) / min over their samples:
    ``time_spread`` for the derivative, ``time_f_median_s / time_f_s - 1`` for
    f. The ratio time(J) / time(f) carries both, and two runs each carry
    theirs, so the band is the product of (1 + s) over the four, never below
    ``floor``. A row with fewer than :data:`MIN_SAMPLES` derivative samples in
    either run has no measured noise: its band is infinite (not judged).
    ``old`` and ``new`` hold the rows' timing columns, aligned.
    """
    band = pd.Series(1.0, index=old.index)
    few = pd.Series(False, index=old.index)
    for run in (old, new):
        spread_f = (numbers(run, "time_f_median_s") / numbers(run, "time_f_s") - 1)
        for spread in (numbers(run, "time_spread"), spread_f):
            band = band * (1 + spread.fillna(0).clip(lower=0).to_numpy())
        few = few | (numbers(run, "time_samples").fillna(0) < MIN_SAMPLES).to_numpy()
    band = band.where(~few, np.inf)
    return np.maximum(band, floor)


@dataclass
class RunDiff:
    """The differences between two runs, keyed by (problem, sizes, method)."""

    added: pd.DataFrame
    removed: pd.DataFrame
    status: pd.DataFrame       # key, old status, new status, new message
    changes: pd.DataFrame      # key, column, old, new, change, direction
    versions: pd.DataFrame     # problems whose definition hash changed
    compared: int              # rows present in both

    @property
    def worse(self) -> int:
        return int((self.changes["direction"] == "worse").sum()) if len(self.changes) else 0

    @property
    def better(self) -> int:
        return int((self.changes["direction"] == "better").sum()) if len(self.changes) else 0

    def empty(self) -> bool:
        return not (len(self.added) or len(self.removed) or len(self.status)
                    or len(self.changes) or len(self.versions))


def _keyed(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["sizes"] = df["sizes"].fillna("").astype(str)
    return df.drop_duplicates(KEY, keep="last").set_index(KEY)


def _factor_text(old: float, new: float, rule: ChangeRule) -> str:
    a, b = max(old, rule.floor), max(new, rule.floor)
    if a == 0 or b == 0:
        return f"{old:.3g} -> {new:.3g}"
    ratio = b / a
    return f"x{ratio:.3g}" if ratio >= 1 else f"/{1 / ratio:.3g}"


def compare_runs(old: pd.DataFrame, new: pd.DataFrame,
                 rules: dict[str, ChangeRule] | None = None, *,
                 time_threshold: float | None = None, times: bool = True) -> RunDiff:
    """Rows added and removed, status changes, and for rows ok in both runs the
    columns of ``rules`` (default :data:`CHANGE_RULES`) that moved by at least
    their factor. Columns absent from either run are not compared.

    A timing (:data:`TIME_COLUMNS`) moves only beyond the noise both runs
    measured (:func:`noise_factor`), or, with ``time_threshold``, beyond that
    factor alone; ``times=False`` leaves timings out (accuracy, counts, sizes
    and memory only)."""
    rules = CHANGE_RULES if rules is None else rules
    if not times:
        rules = {c: r for c, r in rules.items() if c not in TIME_COLUMNS}
    a, b = _keyed(old), _keyed(new)
    added = b.index.difference(a.index, sort=False)
    removed = a.index.difference(b.index, sort=False)
    common = a.index.intersection(b.index, sort=False)
    both = a.loc[common].merge(b.loc[common], left_index=True, right_index=True,
                               suffixes=(" old", " new")).reset_index()
    moved = both["status old"] != both["status new"]
    status = both[moved].rename(columns={"status old": "old status",
                                         "status new": "new status"})
    status = status.assign(message=status.get("message new", "")).reindex(
        columns=[*KEY, "old status", "new status", "message"])
    ok = both[~moved & (both["status new"] == "ok")]
    changes = []
    for column, rule in rules.items():
        if column not in a.columns or column not in b.columns:
            continue
        va, vb = numbers(ok, f"{column} old"), numbers(ok, f"{column} new")
        fa, fb = va.clip(lower=rule.floor), vb.clip(lower=rule.floor)
        lo, hi = np.minimum(fa, fb), np.maximum(fa, fb)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = hi / lo
        needed = rule.factor
        if column in TIME_COLUMNS:
            def run(suffix):
                cols = [c for c in ok.columns if c.endswith(suffix)]
                return ok[cols].rename(columns=lambda c: c[:-len(suffix)])
            needed = (time_threshold if time_threshold is not None
                      else noise_factor(run(" old"), run(" new"), rule.factor))
        changed = va.notna() & vb.notna() & (hi > lo) & ((lo == 0) | (factor >= needed))
        appeared, gone = va.isna() & vb.notna(), va.notna() & vb.isna()
        for mask, direction in ((changed & (fb > fa), "worse"), (changed & (fb < fa), "better"),
                                (appeared, "new"), (gone, "gone")):
            rows = ok[mask]
            if rows.empty:
                continue
            if direction in ("worse", "better"):
                text = [_factor_text(x, y, rule) for x, y in zip(va[mask], vb[mask],
                                                                  strict=True)]
            else:
                text = ["now measured" if direction == "new" else "no longer measured"] * len(rows)
            changes.append(pd.DataFrame({**{k: rows[k].to_numpy() for k in KEY},
                                         "column": column, "old": va[mask].to_numpy(),
                                         "new": vb[mask].to_numpy(), "change": text,
                                         "direction": direction}))
    change_cols = [*KEY, "column", "old", "new", "change", "direction"]
    changes = (pd.concat(changes, ignore_index=True) if changes
               else pd.DataFrame(columns=change_cols))
    versions = pd.DataFrame(columns=["problem", "old version", "new version"])
    if "version" in a.columns and "version" in b.columns:
        va = a["version"].groupby(level="problem").first()
        vb = b["version"].groupby(level="problem").first()
        shared = va.index.intersection(vb.index, sort=False)
        differ = [p for p in shared if va[p] != vb[p]]
        versions = pd.DataFrame({"problem": differ, "old version": [va[p] for p in differ],
                                 "new version": [vb[p] for p in differ]})
    return RunDiff(added=b.loc[added, ["status"]].reset_index(),
                   removed=a.loc[removed, ["status"]].reset_index(),
                   status=status.reset_index(drop=True), changes=changes,
                   versions=versions, compared=len(common))


def diff_summary(diff: RunDiff) -> str:
    """One line: how many rows were compared and what changed."""
    if diff.empty():
        return f"no differences ({diff.compared} rows compared)"
    parts = [f"{diff.compared} rows compared", f"{diff.worse} values worse",
             f"{diff.better} better", f"{len(diff.status)} status changes",
             f"{len(diff.added)} rows added", f"{len(diff.removed)} removed"]
    if len(diff.versions):
        parts.append(f"{len(diff.versions)} problem definitions changed")
    return ", ".join(parts)


def render_diff(diff: RunDiff, old_name: str = "old", new_name: str = "new") -> str:
    """The regression view as markdown."""
    parts = [f"# Changes from {old_name} to {new_name}", "", diff_summary(diff) + ".", ""]
    rules = ", ".join(f"{c} (x{r.factor:g}" + (f", floor {r.floor:g})" if r.floor else ")")
                      for c, r in CHANGE_RULES.items()
                      if r.factor >= 1.01 and c not in TIME_COLUMNS)
    rules += (", time ratios beyond the timing noise both runs measured (the product of "
              "1 + (median - min) / min of f and of the derivative in each run) and at least "
              f"x{CHANGE_RULES['time_ratio'].factor:g} (not judged with fewer than {MIN_SAMPLES} "
              "samples in either run)")
    parts += [f"Compared for rows ok in both runs: errors and ratios; a change is listed when "
              f"the value moved by at least its factor: {rules}; op counts and sizes on any "
              "change. Lower is better for each.", ""]
    if len(diff.changes):
        for direction, title in (("worse", "Worse"), ("better", "Better"),
                                 ("new", "Newly measured"), ("gone", "No longer measured")):
            sub = diff.changes[diff.changes["direction"] == direction].drop(columns="direction")
            if len(sub):
                parts += [f"## {title}", "", format_table(sub), ""]
    if len(diff.status):
        parts += ["## Status changes", "", format_table(diff.status), ""]
    if len(diff.added):
        parts += ["## Rows added", "", format_table(diff.added), ""]
    if len(diff.removed):
        parts += ["## Rows removed", "", format_table(diff.removed), ""]
    if len(diff.versions):
        parts += ["## Problem definitions changed", "",
                  "The rows of these problems come from different definitions: compare them "
                  "with care.", "", format_table(diff.versions), ""]
    return "\n".join(parts).rstrip() + "\n"
