"""Finite differences: the numerical method of the survey (Section 2.1).

Three separate pieces, as in numdifftools: a *step policy* (how large h is for
coordinate i), a *difference formula* (which points are evaluated and how they
are combined) and the driver that builds the Jacobian column by column. Every
step is made exactly representable, ``(x_i + h) - x_i == h``, so that the
denominator is the step actually taken.
"""

from __future__ import annotations

import numpy as np

from adbench import primitives as P
from adbench.core import primal
from adbench.methods.base import Method, Prepared, as_jacobian
from adbench.xp import numpy_xp

EPS = float(np.finfo(float).eps)

__all__ = ["FDForward", "FDCentral", "default_step", "perturb", "EPS"]


def default_step(x_i: float, order: int) -> float:
    """The standard step for a difference of the given order of accuracy:
    eps^(1/(order+1)) * max(1, |x_i|), i.e. sqrt(eps) for forward and cbrt(eps)
    for central differences, made exactly representable at x_i."""
    h = EPS ** (1.0 / (order + 1)) * max(1.0, abs(x_i))
    return (x_i + h) - x_i


def perturb(x, i: int, h: float):
    """x with h added to coordinate i, without touching the others.

    On plain arrays this is a copy; on boxed values (op counting) it is one
    scalar addition and slicing, so that only the work really done is counted.
    """
    if isinstance(x, np.ndarray):
        y = x.copy()
        y[i] += h
        return y
    return P.concatenate([x[:i], P.reshape(x[i] + h, (1,)), x[i + 1:]])


class _FiniteDifference(Method):
    approximate = True
    order = 1

    def columns(self, f, x, fx):  # pragma: no cover - abstract
        raise NotImplementedError

    def prepare(self, inst):
        stats = {"f_evaluations": 0}

        def f(x):
            stats["f_evaluations"] += 1
            return P.reshape(P.array(inst.f(x, numpy_xp)), (inst.m,))

        def traceable(x):
            stats["f_evaluations"] = 0
            return P.stack(self.columns(f, x), axis=1)

        return Prepared(lambda x: as_jacobian(traceable(x), inst.m, inst.n), traceable, stats)


class FDForward(_FiniteDifference):
    name = "fd-forward"
    description = "forward differences (f(x + h e_i) - f(x)) / h, h = sqrt(eps) max(1, |x_i|)"
    tolerance = 1e-4
    order = 1

    def columns(self, f, x):
        fx = f(x)
        cols = []
        for i in range(len(x)):
            h = default_step(float(primal(x)[i]), self.order)
            cols.append((f(perturb(x, i, h)) - fx) / h)
        return cols


class FDCentral(_FiniteDifference):
    name = "fd-central"
    description = ("central differences (f(x + h e_i) - f(x - h e_i)) / 2h, "
                   "h = cbrt(eps) max(1, |x_i|)")
    tolerance = 1e-6
    order = 2

    def columns(self, f, x):
        cols = []
        for i in range(len(x)):
            xi = float(primal(x)[i])
            h = default_step(xi, self.order)
            lo = xi - h
            width = (xi + h) - lo  # the distance really spanned, exact in float64
            cols.append((f(perturb(x, i, h)) - f(perturb(x, i, lo - xi))) / width)
        return cols
