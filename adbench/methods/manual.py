"""The hand-written Jacobian a problem may provide (``@prob.manual``)."""

from __future__ import annotations

from adbench.interpret import primitives as P
from adbench.interpret.xp import numpy_xp
from adbench.methods.base import Method, Prepared, Unsupported, as_jacobian, \
    check_jacobian_shape


class Manual(Method):
    name = "manual"
    description = "the problem's hand-written Jacobian, evaluated in float64"
    tolerance = 1e-12

    def prepare(self, inst):
        if not inst.has_manual:
            raise Unsupported("the problem has no hand-written Jacobian")

        def traceable(x):
            J = P.array(inst.manual(x, numpy_xp))
            check_jacobian_shape(P.shape_of(J), inst.m, inst.n)  # before a reshape hides it
            return P.reshape(J, (inst.m, inst.n))

        return Prepared(lambda x: as_jacobian(traceable(x), inst.m, inst.n), traceable)
