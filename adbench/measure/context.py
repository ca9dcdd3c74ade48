"""What a metric is and what it sees: the one interface between the harness and the metrics.

The harness builds a :class:`Context` for each (instance, method) measurement
and hands it to each :class:`Metric` in :data:`adbench.measure.metrics.METRICS`;
both the harness and the metrics import this module, and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from adbench.measure.reference import Reference
from adbench.methods import Method, Prepared
from adbench.problem import Instance

__all__ = ["Context", "Metric"]


@dataclass
class Context:
    """What a metric sees: the instance, the method and its prepared form."""

    inst: Instance
    method: Method
    prepared: Prepared
    reference: Reference | None
    jacobian: np.ndarray
    x: np.ndarray
    timeout: float | None = None
    jacobian_s: float | None = None  # seconds of the first Jacobian call (lazy set-up too)


@dataclass
class Metric:
    """A measurement adding ``columns`` to a row: ``compute(ctx) -> dict``.

    ``integers`` names the columns that hold whole numbers (counts, sizes in
    bytes): results.csv reads them back as integers (``Int64``, a missing
    cell ``<NA>``); every other column is read as a float.
    """

    name: str
    columns: list
    compute: Callable[[Context], dict]
    methods: tuple = ()  # restrict to these methods (empty: all)
    integers: tuple = ()

    def __post_init__(self):
        stray = [c for c in self.integers if c not in self.columns]
        if stray:
            raise ValueError(f"metric {self.name!r}: integer columns {stray} are not among "
                             f"its columns {self.columns}")
