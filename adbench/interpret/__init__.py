"""Interpretations of one problem function.

A problem is written once against an ``xp`` namespace. This stage holds what
gives that one function its meanings: the kernel of boxes and traces
(:mod:`~adbench.interpret.core`), the one table of primitives
(:mod:`~adbench.interpret.primitives`), the numpy functions made of other ``xp``
functions, written once over any namespace (:mod:`~adbench.interpret.compositions`),
the ``xp`` namespaces built from them (float64 numpy, mpmath, SymPy;
:mod:`~adbench.interpret.xp`; the peers', :mod:`~adbench.interpret.peers`) and op
counting (:mod:`~adbench.interpret.counting`).
"""
