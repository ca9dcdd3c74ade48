"""The reference Jacobian, at high precision and independent of the float64 paths.

The problem is evaluated with mpmath numbers (:data:`adbench.interpret.xp.mpmath_xp`)
at ``WORKING_DPS`` decimal digits, and each column is a central difference
with a tiny step h: the truncation error is about |f'''| h^2 / 6 (~1e-40 for
h = 1e-20) and the rounding error about 10^-WORKING_DPS / h (~1e-60). Neither
the AD rules nor any float64 code is involved, so a wrong derivative rule or a
float64 cancellation cannot hide in the reference.

A second difference with step 2h estimates the error; the reference reports
how many digits it can vouch for.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from adbench.interpret.xp import mpmath_xp
from adbench.problem import Instance

__all__ = ["Reference", "reference_jacobian", "WORKING_DPS", "STEP"]

WORKING_DPS = 80
STEP = mpmath.mpf("1e-20")


@dataclass
class Reference:
    jacobian: np.ndarray   # (m, n) float64, rounded from the high-precision values
    value: np.ndarray      # f(x0), (m,) float64
    digits: float          # estimated correct significant digits (capped at 40)


def _evaluate(inst: Instance, x) -> list:
    y = inst.f(x, mpmath_xp)
    out = [mpmath.mpmathify(v) for v in np.ravel(np.array(y, dtype=object))]
    if len(out) != inst.m:
        raise ValueError(f"f returned {len(out)} outputs, expected m = {inst.m}")
    for v in out:
        if isinstance(v, mpmath.mpc):
            if abs(v.imag) > abs(v) * mpmath.mpf(10) ** (-WORKING_DPS // 2):
                raise ValueError("f is complex at x0: the point is outside the domain")
    return [mpmath.re(v) for v in out]


def reference_jacobian(inst: Instance, x0=None) -> Reference:
    """The m x n Jacobian of ``inst`` at x0 (default: the problem's x0)."""
    x0 = inst.x0 if x0 is None else np.asarray(x0, dtype=float)
    with mpmath.workdps(WORKING_DPS):
        x = np.array([mpmath.mpf(float(v)) for v in x0], dtype=object)
        fx = _evaluate(inst, x)
        J = np.empty((inst.m, inst.n), dtype=object)
        worst = mpmath.mpf(0)
        for i in range(inst.n):
            cols = []
            for h in (STEP, 2 * STEP):
                xp_, xm_ = x.copy(), x.copy()
                xp_[i] += h
                xm_[i] -= h
                fp, fm = _evaluate(inst, xp_), _evaluate(inst, xm_)
                cols.append([(a - b) / (2 * h) for a, b in zip(fp, fm, strict=True)])
            for j in range(inst.m):
                J[j, i] = cols[0][j]
                # D(2h) - D(h) ~ 3 c h^2 while the error of D(h) is ~ c h^2.
                err = abs(cols[1][j] - cols[0][j]) / 3
                scale = max(mpmath.mpf(1), abs(cols[0][j]))
                worst = max(worst, err / scale)
        digits = 40.0 if worst == 0 else float(min(40, -mpmath.log10(worst)))
        return Reference(J.astype(float), np.array([float(v) for v in fx]), digits)
