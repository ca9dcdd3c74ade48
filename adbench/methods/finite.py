"""Finite differences: the numerical method of the survey (Section 2.1).

Three separate pieces, as in numdifftools: a *step policy* (how large h is for
coordinate i), a *difference formula* (which points are evaluated and how they
are combined) and the driver that builds the Jacobian column by column. Every
step is made exactly representable, ``(x_i + h) - x_i == h``, so that the
denominator is the step actually taken.
"""

from __future__ import annotations

import numpy as np

from adbench.interpret import primitives as P
from adbench.interpret.core import primal
from adbench.interpret.xp import numpy_xp
from adbench.methods.base import Method, Prepared, as_jacobian

EPS = float(np.finfo(float).eps)

__all__ = ["FDForward", "FDCentral", "default_step", "exact_step", "perturb",
           "forward_difference", "central_difference", "EPS"]


def default_step(x_i: float, order: int) -> float:
    """The standard step for a difference of the given order of accuracy:
    eps^(1/(order+1)) * max(1, |x_i|), i.e. sqrt(eps) for forward and cbrt(eps)
    for central differences, made exactly representable at x_i."""
    return exact_step(x_i, EPS ** (1.0 / (order + 1)) * max(1.0, abs(x_i)))


def exact_step(x_i: float, h: float) -> float:
    """The step really taken when h is added to x_i: (x_i + h) - x_i. Dividing
    by it divides by the true distance; it is 0 when h is below half the
    spacing of the floats at x_i."""
    return (x_i + h) - x_i


def perturb(x, i: int, h):
    """x with h added to coordinate i, without touching the others.

    On plain arrays this is a copy; on boxed values (op counting) it is one
    scalar addition and slicing, so that only the work really done is counted.
    """
    if isinstance(x, np.ndarray):
        y = x.copy()
        y[i] += h
        return y
    return P.concatenate([x[:i], P.reshape(x[i] + h, (1,)), x[i + 1:]])


def forward_difference(f, x, i: int, h: float, fx):
    """(f(x + h e_i) - f(x)) / h: one Jacobian column, with truncation error
    |f''| h / 2 and rounding error about eps |f| / h. ``fx`` is f(x), shared by
    all columns; ``h`` is used as given (make it exact with :func:`exact_step`)."""
    return (f(perturb(x, i, h)) - fx) / h


def central_difference(f, x, i: int, h: float, exact: bool = True):
    """(f(x + h e_i) - f(x - h e_i)) / (2h): one Jacobian column, with
    truncation error |f'''| h^2 / 6 and rounding error about eps |f| / h.

    With ``exact`` (the fd methods) the divisor is the distance really spanned
    in float64, (x_i + h) - (x_i - h); without, it is 2h as written (the
    survey's Figure 3), which adds the rounding of x_i +- h to the error.
    """
    if not exact:
        return (f(perturb(x, i, h)) - f(perturb(x, i, -h))) / (2.0 * h)
    xi = float(primal(x)[i])
    lo = xi - h
    width = (xi + h) - lo
    return (f(perturb(x, i, h)) - f(perturb(x, i, lo - xi))) / width


class _FiniteDifference(Method):
    approximate = True
    order = 1

    def columns(self, f, x, info: dict) -> list:  # pragma: no cover - abstract
        """The Jacobian's columns at x from evaluations of f; ``info`` takes
        extra result columns (an error estimate)."""
        raise NotImplementedError

    def prepare(self, inst):
        stats = {"f_evaluations": 0}

        def f(x):
            stats["f_evaluations"] += 1
            return P.reshape(P.array(inst.f(x, numpy_xp)), (inst.m,))

        def traceable(x):
            stats["f_evaluations"] = 0
            return P.stack(self.columns(f, x, stats), axis=1)

        return Prepared(lambda x: as_jacobian(traceable(x), inst.m, inst.n), traceable, stats)


class FDForward(_FiniteDifference):
    name = "fd-forward"
    description = "forward differences (f(x + h e_i) - f(x)) / h, h = sqrt(eps) max(1, |x_i|)"
    tolerance = 1e-4
    order = 1

    def columns(self, f, x, info):
        fx = f(x)
        return [forward_difference(f, x, i, default_step(float(primal(x)[i]), self.order), fx)
                for i in range(len(x))]


class FDCentral(_FiniteDifference):
    name = "fd-central"
    description = ("central differences (f(x + h e_i) - f(x - h e_i)) / 2h, "
                   "h = cbrt(eps) max(1, |x_i|)")
    tolerance = 1e-6
    order = 2

    def columns(self, f, x, info):
        return [central_difference(f, x, i, default_step(float(primal(x)[i]), self.order))
                for i in range(len(x))]
