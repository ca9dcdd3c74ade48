"""Studies built on the measurements and reports.

The survey's claims reproduced (:mod:`~adbench.studies.reproduce`), expression
swell across sizes (:mod:`~adbench.studies.swell`), finite-difference error
against step (:mod:`~adbench.studies.fdsweep`), evaluation traces
(:mod:`~adbench.studies.evaltrace`), differential fuzzing
(:mod:`~adbench.studies.fuzz`), the engine benchmark
(:mod:`~adbench.studies.bench`) and expressions typed on the command line
(:mod:`~adbench.studies.expr`).
"""
