"""The metrics measured on each (problem instance, method) row.

A metric is an :class:`adbench.harness.Metric`: a name, the CSV columns it
fills and a function of the measurement :class:`~adbench.harness.Context`.
:data:`METRICS` is the ordered list the harness runs; a new metric is one
module here and one entry in that list.
"""

from __future__ import annotations

METRICS: list = []
