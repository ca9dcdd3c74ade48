"""Plots of a run, from DataFrames alone (PNG, headless).

Every function takes a tidy DataFrame (rows of ``results.csv``, or the table
of an fd-sweep) and returns a :class:`matplotlib.figure.Figure`, or ``None``
when the data it needs is absent (a column not measured, a single size), so
that a report simply leaves that plot out. :func:`save_figure` writes a PNG
atomically. Figures are built on :class:`~matplotlib.figure.Figure` with the
Agg canvas, never through pyplot's global state, so they work without a
display and in worker processes.

Conventions: each method has one colour and line style in every plot
(:func:`method_style`); an axis is logarithmic when its positive values span more
than a factor 10 (:func:`~adbench.report.plots.common.is_wide`, the one rule);
sizes get integer ticks; legends sit below the axes; errors of exactly zero
are drawn at :data:`ZERO_FLOOR` and the axis says so.

The package: :mod:`~adbench.report.plots.common` (styles, figures, axes,
sizes), :mod:`~adbench.report.plots.overview` (per method, and per problem
against its size), :mod:`~adbench.report.plots.sweeps` (n x m sweeps,
forward against reverse) and :mod:`~adbench.report.plots.fdstep` (error
against step).
"""

from adbench.report.plots.common import (
    AD_FD_METHODS,
    SWELL_COLUMNS,
    ZERO_FLOOR,
    method_style,
    parse_size_label,
    save_figure,
    size_table,
    varying_sizes,
)
from adbench.report.plots.fdstep import fd_error_vs_step
from adbench.report.plots.overview import (
    cost_vs_size,
    error_by_method,
    error_vs_size,
    ratios_by_method,
    strip_by_method,
    swell_vs_size,
)
from adbench.report.plots.sweeps import Crossover, dimension_sweep


__all__ = ["method_style", "save_figure", "parse_size_label", "size_table", "varying_sizes",
           "strip_by_method", "error_by_method", "ratios_by_method", "error_vs_size",
           "cost_vs_size", "swell_vs_size", "dimension_sweep", "Crossover",
           "fd_error_vs_step", "ZERO_FLOOR", "AD_FD_METHODS", "SWELL_COLUMNS"]
