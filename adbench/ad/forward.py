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

from adbench.core import BoxBase, Trace, apply
from adbench.primitives import IDENTITY, NEGATE, Box, TimesArg, add, multiply, negative

__all__ = ["Dual", "ForwardTrace"]


class Dual(Box):
    """``value + tangent * eps`` where ``eps`` belongs to one trace only."""

    __slots__ = ("tangent",)

    def __init__(self, value, tangent, trace: "ForwardTrace"):
        self.value = value
        self.tangent = tangent
        self.trace = trace


class ForwardTrace(Trace):
    """One forward-mode differentiation in progress (one epsilon).

    ``observer(prim, args, params, result)``, if given, is called after every
    operation of this trace with the arguments as passed (boxes included) and
    the result (a :class:`Dual`, or a plain value when no tangent flows): the
    evaluation-trace printer (:mod:`adbench.evaltrace`) is built on it.
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
