"""adbench's own AD engine as differentiators: forward mode (n JVPs),
reverse mode (one recording, m backward passes), and reverse mode compiled
(the tape recorded once in setup and turned into Python, then one compiled
forward sweep and m compiled reverse sweeps per Jacobian)."""

from __future__ import annotations

from adbench import primitives as P
from adbench.ad import compile_jacrev, jacfwd, jacrev
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


class ADCompiled(Method):
    name = "ad-compiled"
    description = ("reverse-mode AD compiled: the tape recorded once (setup) and written out "
                   "as Python, one forward and m reverse sweeps per Jacobian")
    tolerance = 1e-12

    def prepare(self, inst):
        jac = compile_jacrev(inst.f)
        jac(inst.x0.copy())  # records and compiles: part of the setup time
        key = next(iter(jac.programs))
        info = {} if jac.programs[key] is not None else {
            "message": f"not compiled ({jac.reasons[key]}): the ordinary engine serves it"}

        def traceable(x):  # op counting: the engine runs the same rules under the counter
            return P.reshape(jac(x), (inst.m, inst.n))

        return Prepared(lambda x: as_jacobian(traceable(x), inst.m, inst.n), traceable, info)
