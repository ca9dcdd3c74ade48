"""Reports of runs: report.md (tables and plots) and the regression view of two runs.

* :mod:`adbench.report.tables`: the summary and per-problem tables, as markdown;
* :mod:`adbench.report.document`: report.md itself (:func:`write_report`);
* :mod:`adbench.report.compare`: two runs compared (:func:`compare_runs`, :func:`render_diff`);
* :mod:`adbench.report.plots`: the figures; :mod:`adbench.report.catalogue`: the problem list.

Everything importable from ``adbench.report`` before the split still is.
"""

# adbench.report.os stays the os module: code that interrupts a write patches
# os.replace through it.
import os  # noqa: F401

from adbench.report.compare import (
    CHANGE_RULES,
    KEY,
    ChangeRule,
    RunDiff,
    compare_runs,
    diff_summary,
    render_diff,
)
from adbench.report.document import command_line, render_report, write_report
from adbench.report.tables import (
    COLUMN_GROUPS,
    HIDDEN_COLUMNS,
    INTEGER_COLUMNS,
    KEY_COLUMNS,
    MESSAGE_WIDTH,
    atomic_write,
    find_fd_sweeps,
    format_table,
    problem_tables,
    summary_table,
)

__all__ = ["write_report", "render_report", "atomic_write", "summary_table", "problem_tables",
           "format_table", "find_fd_sweeps", "compare_runs", "render_diff", "RunDiff",
           "COLUMN_GROUPS", "CHANGE_RULES", "ChangeRule", "diff_summary", "command_line",
           "KEY", "KEY_COLUMNS", "HIDDEN_COLUMNS", "INTEGER_COLUMNS", "MESSAGE_WIDTH"]
