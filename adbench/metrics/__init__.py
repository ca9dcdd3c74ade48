"""The metrics measured on each (problem instance, method) row.

A metric is an :class:`adbench.harness.Metric`: a name, the CSV columns it
fills and a function of the measurement :class:`~adbench.harness.Context`.
:data:`METRICS` is the ordered list the harness runs; a new metric is one
module here and one entry in that list.
"""

from __future__ import annotations

METRICS: list = []

# The metric modules import adbench.harness, which imports METRICS from here:
# the list exists before they load, whichever of the two is imported first.
from adbench.metrics.estimate import ESTIMATE  # noqa: E402
from adbench.metrics.memory import COMPILED, PEAK, TAPE  # noqa: E402
from adbench.metrics.ops import OPS  # noqa: E402
from adbench.metrics.swell import SWELL  # noqa: E402
from adbench.metrics.timing import TIMING  # noqa: E402

METRICS.extend([ESTIMATE, OPS, TIMING, SWELL, TAPE, COMPILED, PEAK])
