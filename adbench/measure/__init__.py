"""Measurement: one (problem instance, method) pair -> one row.

The harness (:mod:`~adbench.measure.harness`) runs each measurement in a
killable worker (:mod:`~adbench.measure.isolation`), scores the Jacobian
against the 80-digit reference (:mod:`~adbench.measure.reference`,
:mod:`~adbench.measure.accuracy`) and hands a
:class:`~adbench.measure.context.Context` to each metric
(:mod:`~adbench.measure.metrics`). The crossover estimate lives here too,
because reports and studies both read it.
"""
