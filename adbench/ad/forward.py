"""Forward mode: dual numbers carried through the primitive table.

A :class:`Dual` pairs a primal value with a tangent. Each primitive applied to
duals of a :class:`ForwardTrace` computes its output from the primals and its
output tangent from the primitive's JVP rule, in the same pass (the survey's
Table 2). One pass gives one Jacobian-vector product J v.

Fast path: an elementwise primitive with a Python-float output has no
broadcasting to undo, so its tangent is the sum of its ``lin`` rules applied
to the argument tangents directly (the same rules the generic JVP uses).
"""

from __future__ import annotations

import numpy as np

from adbench.interpret.core import DOMAIN_ERRORS, BoxBase, Trace, apply
from adbench.interpret.primitives import (
    IDENTITY,
    NEGATE,
    Box,
    TimesArg,
    add,
    install_operators,
    multiply,
    negative,
)

__all__ = ["Dual", "ForwardTrace"]


_new = object.__new__

def _float_term(rule, t: float, x: float, y: float, out: float):
    """``t`` times the partial derivative ``rule`` stands for, all floats."""
    if rule is IDENTITY:
        return t
    if rule is NEGATE:
        return -t
    if type(rule) is TimesArg:
        return t * (y if rule.j else x)
    return rule(t, x, y, out)


def _float_operator(prim, dunder: str, reflected: bool):
    """A :class:`Dual` operator method with a fast path for a binary arithmetic
    primitive on float duals of one trace (and float or int constants): the
    output tangent is the sum of the primitive's ``lin`` rules applied to the
    argument tangents, as :meth:`ForwardTrace.process` computes it. Anything
    else, and any trace with an observer, goes through
    :func:`~adbench.interpret.core.apply`."""
    scalar = prim.scalar

    def method(self, other):
        v, t = self.value, self.tangent
        trace = self.trace
        if type(v) is float and type(t) is float and trace.observer is None:
            to = type(other)
            if to is float:
                w, u = other, None
            elif (to is Dual and other.trace is trace and type(other.value) is float
                    and type(other.tangent) is float):
                w, u = other.value, other.tangent
            elif to is int:
                w, u = float(other), None
            else:
                w = None
            if w is not None:
                x, y, tx, ty = (w, v, u, t) if reflected else (v, w, t, u)
                try:
                    out = scalar(x, y)
                except DOMAIN_ERRORS:
                    pass
                else:
                    lin = prim.lin
                    tangent = None if tx is None else _float_term(lin[0], tx, x, y, out)
                    if ty is not None:
                        term = _float_term(lin[1], ty, x, y, out)
                        tangent = term if tangent is None else tangent + term
                    if type(tangent) is float:
                        dual = _new(Dual)  # Dual(out, tangent, trace) without the call
                        dual.value = out
                        dual.tangent = tangent
                        dual.trace = trace
                        return dual
        return apply(prim, other, self) if reflected else apply(prim, self, other)

    method.__name__ = method.__qualname__ = dunder
    return method


class Dual(Box):
    """``value + tangent * eps`` where ``eps`` belongs to one trace only."""

    __slots__ = ("tangent",)

    def __init__(self, value, tangent, trace: "ForwardTrace"):
        self.value = value
        self.tangent = tangent
        self.trace = trace

    def __iter__(self):
        """``x[0], x[1], ...``: for a plain float vector with a plain tangent, the
        duals of its entries directly (what getitem's JVP gives)."""
        v, t = self.value, self.tangent
        if (type(v) is np.ndarray and type(t) is np.ndarray and v.ndim == 1
                and v.dtype == np.float64 and t.dtype == np.float64
                and self.trace.observer is None):
            trace = self.trace
            for value, tangent in zip(v.tolist(), t.tolist()):
                yield Dual(value, tangent, trace)
            return
        yield from Box.__iter__(self)



install_operators(Dual, _float_operator)

class ForwardTrace(Trace):
    """One forward-mode differentiation in progress (one epsilon).

    ``observer(prim, args, params, result)``, if given, is called after every
    operation of this trace with the arguments as passed (boxes included) and
    the result (a :class:`Dual`, or a plain value when no tangent flows): the
    evaluation-trace printer (:mod:`adbench.studies.evaltrace`) is built on it.
    """

    __slots__ = ("observer",)

    def __init__(self, observer=None):
        super().__init__()
        self.observer = observer

    def process(self, prim, args, params):
        primals = list(args)
        tangents = [None] * len(args)
        plain = True  # no primal is a box of an enclosing trace
        for k, a in enumerate(args):
            if isinstance(a, BoxBase):
                if a.trace is self:
                    v = a.value
                    primals[k] = v
                    tangents[k] = a.tangent
                    if plain and isinstance(v, BoxBase):
                        plain = False
                else:
                    plain = False
        for k in prim.nondiff:
            tangents[k] = None
        if plain:
            out = prim.evaluate(*primals, **params)
        else:
            out = apply(prim, *primals, **params)
        lin = prim.lin
        if lin is not None and type(out) is float:
            tangent = None
            for k, t in enumerate(tangents):
                if t is None:
                    continue
                rule = lin[k]
                if rule is None:
                    continue
                if rule is IDENTITY:
                    term = t
                elif rule is NEGATE:
                    term = negative(t)
                elif type(rule) is TimesArg:
                    p = primals[rule.j]
                    term = t * p if type(t) is float and type(p) is float else multiply(t, p)
                else:
                    term = rule(t, *primals, out)
                if tangent is None:
                    tangent = term
                elif type(tangent) is float and type(term) is float:
                    tangent = tangent + term
                else:
                    tangent = add(tangent, term)
        else:
            tangent = prim.jvp(tangents, primals, out, **params)
        result = out if tangent is None else Dual(out, tangent, self)
        if self.observer is not None:
            self.observer(prim, args, params, result)
        return result

    def tangent_of(self, y):
        """``(primal, tangent)`` of an output; the tangent is None when ``y``
        does not depend on the seed."""
        if type(y) is Dual and y.trace is self:
            return y.value, y.tangent
        return y, None
