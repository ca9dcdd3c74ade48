"""Forward mode: dual numbers carried through the primitive table.

A :class:`Dual` pairs a primal value with a tangent. Each primitive applied to
duals of a :class:`ForwardTrace` computes its output from the primals and its
output tangent from the primitive's JVP rule, in the same pass (the survey's
Table 2). One pass gives one Jacobian-vector product J v.
"""

from __future__ import annotations

from adbench.core import Trace, apply
from adbench.primitives import Box

__all__ = ["Dual", "ForwardTrace"]


class Dual(Box):
    """``value + tangent * eps`` where ``eps`` belongs to one trace only."""

    __slots__ = ("tangent",)

    def __init__(self, value, tangent, trace: "ForwardTrace"):
        self.value = value
        self.tangent = tangent
        self.trace = trace


class ForwardTrace(Trace):
    """One forward-mode differentiation in progress (one epsilon)."""

    __slots__ = ("observer",)

    def __init__(self, observer=None):
        super().__init__()
        # Called as observer(prim, primals, tangents, params, out, out_tangent)
        # after every operation: used to print evaluation traces.
        self.observer = observer

    def process(self, prim, args, params):
        primals = list(args)
        tangents = [None] * len(args)
        for k, a in enumerate(args):
            if type(a) is Dual and a.trace is self:
                primals[k] = a.value
                tangents[k] = a.tangent
        for k in prim.nondiff:
            tangents[k] = None
        out = apply(prim, *primals, **params)
        tangent = prim.jvp(tangents, primals, out, **params)
        if self.observer is not None:
            self.observer(prim, primals, tangents, params, out, tangent)
        if tangent is None:
            return out
        return Dual(out, tangent, self)

    def tangent_of(self, y):
        """The tangent of an output: zero when ``y`` does not depend on the seed."""
        if type(y) is Dual and y.trace is self:
            return y.value, y.tangent
        return y, None
