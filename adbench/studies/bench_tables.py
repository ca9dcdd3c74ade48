"""The tables of the engine benchmark (:mod:`adbench.studies.bench`): adbench's own
gradients, one line per workload and size, and the other libraries', one line per
workload, size and tool; markdown, one line per row, or plain text fitted to the
terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adbench.studies.bench import BenchRow

__all__ = ["format_table", "format_peer_table"]


def _cells():
    def ms(t):
        return "-" if t is None else f"{t * 1e3:.3f}"

    def x(r):
        return "-" if r is None else f"{r:.2f}"

    def span(pair):
        return "-" if pair is None else "{:.2f}-{:.2f}".format(*pair)
    return ms, x, span


def _tabulate(table, headers, fmt, width: int | None = None, wide: bool = False):
    """Markdown (``fmt="md"``), one line per row (``wide``), or plain text fitted to
    ``width`` columns (default: the terminal's), the columns after the first two
    dealt into blocks when they do not fit."""
    from tabulate import tabulate

    if fmt == "text" and not wide:
        import pandas as pd

        from adbench.report.terminal import fit_table
        return fit_table(pd.DataFrame(table, columns=headers), width=width, keys=2)
    return tabulate(table, headers=headers, tablefmt="github" if fmt == "md" else "simple",
                    disable_numparse=True)


def format_table(rows: list[BenchRow], fmt: str = "text", width: int | None = None,
                 wide: bool = False) -> str:
    """adbench's own gradients, one line per workload and size."""
    ms, x, span = _cells()

    def yes(met):
        return "-" if met is None else "yes" if met else "NO"

    def c(r, cell, mark=False):  # a cell of the C backend's: "-" if not timed, with a note
        if r.native is not None:
            return cell
        return f"- [{_native_marks(rows)[r.native_note]}]" if mark and r.native_note else "-"

    table = [[r.workload, r.size, r.n, r.collector, ms(r.plain), ms(r.ours), x(r.ratio),
              span(r.ratio_range),
              yes(r.met), ms(r.compiled), x(r.compiled_ratio), span(r.compiled_range),
              yes(r.compiled_met), c(r, ms(r.native)), c(r, x(r.native_ratio), mark=True),
              c(r, span(r.native_range)), f"<= {r.target:g}", x(r.manual_ratio),
              f"{r.gradient_gap:.1e}", f"{r.compiled_gap:.1e}",
              c(r, f"{r.native_gap:.1e}"),
              "-" if r.compile_seconds is None else f"{r.compile_seconds * 1e3:.0f}",
              "-" if r.native_first_seconds is None else f"{r.native_first_seconds:.2f}"]
             for r in rows]
    headers = ["workload", "size", "n", "collector", "plain ms", "grad ms", "ratio",
               "ratio per round", "met", "compiled ms", "compiled ratio", "compiled per round",
               "compiled met", "c ms", "c ratio", "c per round", "target", "manual ratio",
               "grad gap", "compiled gap", "c gap", "compile ms", "c first s"]
    table = _tabulate(table, headers, fmt, width, wide)
    notes = _native_marks(rows)
    if notes:
        table += "\n\n" + "\n".join(f"[{k}] c: {note}" for note, k in notes.items())
    return table


def _native_marks(rows: list[BenchRow]) -> dict:
    """Each distinct reason a row's C backend has no time, numbered in order."""
    marks: dict = {}
    for r in rows:
        if r.native is None and r.native_note:
            marks.setdefault(r.native_note, len(marks) + 1)
    return marks


def format_peer_table(rows: list[BenchRow], fmt: str = "text", width: int | None = None,
                      wide: bool = False) -> str:
    """The other libraries' gradients, one line per workload, size and tool (empty
    when no tool was timed)."""
    ms, x, span = _cells()
    table = []
    for r in rows:
        for p in r.peers.values():
            timed = p.seconds is not None
            table.append([r.workload, r.size, p.tool, ms(p.seconds),
                          x(p.seconds / r.plain) if timed else "-", span(p.ratio_range),
                          x(p.seconds / r.compiled) if timed and r.compiled else "-",
                          x(p.seconds / r.ours) if timed else "-",
                          f"{p.gap:.1e}" if timed else "-",
                          ms(p.setup_seconds) if timed else "-", p.note[:70]])
    if not table:
        return ""
    headers = ["workload", "size", "tool", "ms", "ratio", "ratio per round", "/compiled",
               "/grad", "gap", "first call ms", "note"]
    return _tabulate(table, headers, fmt, width, wide)
