"""Where a report's times were measured: the note beside its time ratios.

A time ratio (derivative time over f time) is measured in one process on one
host, and the methods of one problem instance always run on the same host
(one task of a spread run, :mod:`adbench.measure.task`), so ratios are
compared within a problem's table. Across hosts (a ``--cluster`` run) only
the ratios of one host are comparable; the note says which hosts there were.
"""

from __future__ import annotations

import pandas as pd

from adbench.measure.harness import numbers

__all__ = ["host_note"]


def host_note(df: pd.DataFrame) -> list[str]:
    """A one-line note (and a blank line) on the hosts of the timed rows;
    nothing when no row was timed or the rows say nothing of their host."""
    if "time_ratio" not in df.columns or "host" not in df.columns:
        return []
    timed = df[numbers(df, "time_ratio").notna()]
    hosts = [h for h in dict.fromkeys(timed["host"].dropna().astype(str)) if h]
    if not hosts:
        return []
    at_once = numbers(timed, "concurrency").max()  # NaN: not recorded (an older file)
    alone = "one measurement at a time" if not at_once > 1 else (
        f"up to {int(at_once)} measurements at once, one per physical core, pinned")
    if len(hosts) == 1:
        return [f"Times were measured on {hosts[0]}, {alone}; time ratios are compared within "
                "this one host.", ""]
    return [f"Times come from {len(hosts)} hosts ({'; '.join(hosts)}), {alone}: compare time "
            "ratios within one host only (the methods of a problem instance always ran on one "
            "host, so a problem's Time table is one host's; the summary's median mixes hosts).",
            ""]
