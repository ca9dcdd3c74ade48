"""adbench's own AD engine as differentiators: forward mode (n JVPs),
reverse mode (one recording, m backward passes), and reverse mode compiled
(the tape recorded once in setup and turned into Python, then one compiled
forward sweep and m compiled reverse sweeps per Jacobian), and the same compiled
to C where the tape is of float64 scalars (``ad-native``: not a default method,
since it needs a C compiler and each compile takes seconds)."""

from __future__ import annotations

from adbench.ad import compile_jacrev, jacfwd, jacrev
from adbench.interpret import primitives as P
from adbench.methods.base import Method, Prepared, as_jacobian


class _AD(Method):
    transform = None
    tolerance = 1e-12

    def prepare(self, inst):
        jac = type(self).transform(inst.f)

        def traceable(x):
            return P.reshape(jac(x), (inst.m, inst.n))

        return Prepared(lambda x: as_jacobian(traceable(x), inst.m, inst.n), traceable,
                        self.setup(jac, inst))

    def setup(self, jac, inst) -> dict:
        """Work done once, before any Jacobian is timed; returns extra row columns."""
        return {}


class ADForward(_AD):
    name = "ad-forward"
    description = "forward-mode AD: dual numbers, one pass per input (n passes)"
    transform = staticmethod(jacfwd)


class ADReverse(_AD):
    name = "ad-reverse"
    description = "reverse-mode AD: a tape replayed backwards, one pass per output (m passes)"
    transform = staticmethod(jacrev)


class ADCompiled(_AD):
    name = "ad-compiled"
    description = ("reverse-mode AD compiled: the tape recorded once (setup) and written out "
                   "as Python, one forward and m reverse sweeps per Jacobian")
    transform = staticmethod(compile_jacrev)

    def setup(self, jac, inst) -> dict:
        # records and compiles; under an op counter the engine's own path runs instead
        jac(inst.x0.copy())
        key = next(iter(jac.programs))
        if jac.programs[key] is not None:
            return {}
        return {"message": f"not compiled ({jac.reasons[key]}): the ordinary engine serves it"}


def _native_jacrev(f):
    return compile_jacrev(f, backend="c")


class ADNative(ADCompiled):
    name = "ad-native"
    description = ("reverse-mode AD compiled to C: a tape of float64 scalars written as C and "
                   "built by the system compiler (setup), called through ctypes; other tapes "
                   "run as ad-compiled, with the reason")
    transform = staticmethod(_native_jacrev)

    def setup(self, jac, inst) -> dict:
        info = super().setup(jac, inst)
        key = next(iter(jac.programs))
        if info or jac.backends.get(key) == "c":
            return info
        return {"message": f"not native ({jac.reasons[key].removeprefix('not native: ')}): "
                           "the compiled Python serves it"}
