"""adbench's own AD engine as differentiators: forward mode (n JVPs) and
reverse mode (one recording, m backward passes)."""

from __future__ import annotations

from adbench import primitives as P
from adbench.ad import jacfwd, jacrev
from adbench.methods.base import Method, Prepared, as_jacobian


class _AD(Method):
    transform = None
    tolerance = 1e-12

    def prepare(self, inst):
        jac = type(self).transform(inst.f)

        def traceable(x):
            return P.reshape(jac(x), (inst.m, inst.n))

        return Prepared(lambda x: as_jacobian(traceable(x), inst.m, inst.n), traceable)


class ADForward(_AD):
    name = "ad-forward"
    description = "forward-mode AD: dual numbers, one pass per input (n passes)"
    transform = staticmethod(jacfwd)


class ADReverse(_AD):
    name = "ad-reverse"
    description = "reverse-mode AD: a tape replayed backwards, one pass per output (m passes)"
    transform = staticmethod(jacrev)
