"""The metrics measured on each (problem instance, method) row.

A metric is an :class:`adbench.measure.context.Metric`: a name, the CSV columns it
fills and a function of the measurement :class:`~adbench.measure.context.Context`.
:data:`METRICS` is the ordered list the harness runs; a new metric is one
module here and one entry in that list.
"""

from __future__ import annotations

from adbench.measure.metrics.estimate import ESTIMATE
from adbench.measure.metrics.memory import COMPILED, PEAK, TAPE
from adbench.measure.metrics.ops import OPS
from adbench.measure.metrics.swell import SWELL
from adbench.measure.metrics.timing import TIMING

METRICS: list = [ESTIMATE, OPS, TIMING, SWELL, TAPE, COMPILED, PEAK]
