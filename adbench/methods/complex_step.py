"""The complex step: f'(x) = Im f(x + ih) / h + O(h^2) (Squire and Trapp 1998).

For f analytic and real on the real line, f(x + ih) = f(x) + ih f'(x) - h^2
f''(x) / 2 - i h^3 f'''(x) / 6 + ..., so Im f(x + ih) / h = f'(x) - h^2 f'''(x)
/ 6 + ...: no difference of nearly equal numbers is formed, there is no
round-off to balance against truncation, and a tiny step (h = 1e-20 here) gives
the derivative to rounding. One evaluation in complex arithmetic per input, n
in all.

It needs the program to be complex-analytic along the way. Running f on
:class:`ComplexValue` boxes of a :class:`ComplexStepTrace` checks that: a
primitive flagged non-analytic in the table (``abs``, ``maximum``, ``where``,
``max``, ``sign``) or a comparison (a Python ``if`` on the input) raises
:class:`NotAnalytic`, and the method reports ``unsupported`` with the reason
rather than a silently wrong number (numpy's ``abs`` of a complex number is
its modulus, which carries no derivative in its imaginary part).
"""

from __future__ import annotations

import numpy as np

from adbench.interpret import primitives as P
from adbench.interpret.core import Trace, apply, primal
from adbench.interpret.primitives import Box
from adbench.interpret.xp import numpy_xp
from adbench.methods.base import Unsupported
from adbench.methods.finite import _FiniteDifference, perturb

__all__ = ["FDComplex", "ComplexStepTrace", "ComplexValue", "NotAnalytic",
           "complex_step_column", "STEP"]

#: The relative step: h = STEP * max(1, |x_i|).
STEP = 1e-20


class NotAnalytic(Unsupported):
    """f uses an operation that has no complex-analytic extension."""


class ComplexValue(Box):
    """A value of f evaluated at a complex point, checked for analyticity."""

    __slots__ = ()

    def __init__(self, value, trace: "ComplexStepTrace"):
        self.value = value
        self.trace = trace


class ComplexStepTrace(Trace):
    """One complex-step evaluation: passes analytic primitives through to the
    complex values underneath and refuses everything else."""

    __slots__ = ()

    def process(self, prim, args, params):
        if not prim.analytic:
            raise NotAnalytic(f"f applies {prim.name}, which is not complex-analytic")
        primals = [a.value if type(a) is ComplexValue and a.trace is self else a for a in args]
        return ComplexValue(apply(prim, *primals, **params), self)

    def compare(self, op, a, b):
        raise NotAnalytic(f"f compares a value depending on the input ({op.__name__}): a "
                          "branch on a comparison has no complex-analytic extension")


def complex_step_column(f, x, i: int, h: float):
    """Im f(x + ih e_i) / h: one Jacobian column, truncation error |f'''| h^2 / 6
    and no subtractive cancellation. Raises :class:`NotAnalytic` when f is not
    analytic along the way."""
    trace = ComplexStepTrace()
    base = x.astype(complex) if isinstance(x, np.ndarray) else x
    y = P.asarray(f(ComplexValue(perturb(base, i, 1j * h), trace)))  # f may return a list
    if type(y) is ComplexValue and y.trace is trace:
        y = y.value
    return P.imag(y) / h


class FDComplex(_FiniteDifference):
    name = "fd-complex"
    description = ("complex step Im f(x + ih e_i) / h, h = 1e-20 max(1, |x_i|): exact to "
                   "rounding where f is analytic")
    tolerance = 1e-12

    def columns(self, f, x, info):
        return [complex_step_column(f, x, i, STEP * max(1.0, abs(float(primal(x)[i]))))
                for i in range(len(x))]

    def prepare(self, inst):
        # One evaluation at x0 finds a non-analytic operation or a branch: without
        # comparisons, every column runs the same operations.
        try:
            with np.errstate(all="ignore"):
                complex_step_column(lambda z: inst.f(z, numpy_xp), inst.x0.copy(), 0, STEP)
        except NotAnalytic as exc:
            raise Unsupported(f"the complex step needs an analytic f: {exc}") from None
        return super().prepare(inst)
