"""Richardson extrapolation of central differences, with its own error estimate.

The central difference D(h) = (f(x + h) - f(x - h)) / 2h has the error
expansion D(h) = f'(x) + c_1 h^2 + c_2 h^4 + ... . Evaluating it on the steps
h_j = h_0 / r^j (j = 0..K-1) and eliminating one power of h^2 at a time gives
the Neville tableau (the scheme of Ridders 1982, Numerical Recipes' dfridr)

    T[j][0] = D(h_j),
    T[j][k] = T[j][k-1] + (T[j][k-1] - T[j-1][k-1]) / (r^(2k) - 1),

whose entry T[j][k] has truncation error O(h_j^(2k+2)). Each entry's error
is estimated as the larger of its distances to the two entries it was built
from, plus the round-off the difference carries, eps (|f(x)| + 1) / h_j times
the growth of rounding through the extrapolation; the entry with the smallest
estimate is returned, per Jacobian entry, and the estimate goes to the row's
``error_estimate`` column (on the scale of ``max_rel_error``).

Steps: h_0 = 0.05 max(1, |x_i|), ratio r = 4, K = 9 (down to about 8e-7
h_0 / 0.05), 2K = 18 evaluations per input plus one of f(x). The wide range
matters more than a fine ratio: steps far above the length scale on which f
varies give differences that agree with each other and are all wrong (with
ratio 2 from 0.01, the logistic map at depth 12-16 came out 96% wrong with
estimates of 1e-4 to 1e-8). With these steps it is accurate to ~1e-11 up to
depth 16; beyond, no step is small enough, and the estimate is large (0.1-1),
which is the honest answer. Steps for which f is not finite (x +- h outside
its domain) are dropped, and the tableau starts from the first finite one.
"""

from __future__ import annotations

import numpy as np

from adbench.interpret import primitives as P
from adbench.interpret.core import primal
from adbench.methods.finite import EPS, _FiniteDifference, central_difference, exact_step

__all__ = ["FDRichardson", "richardson_column", "BASE_STEP", "RATIO", "NUM_STEPS"]

#: h_j = BASE_STEP * max(1, |x_i|) / RATIO^j, j = 0 .. NUM_STEPS - 1.
BASE_STEP = 0.05
RATIO = 4.0
NUM_STEPS = 9


def richardson_column(f, x, i: int, h0: float, fx_scale: np.ndarray,
                      num_steps: int = NUM_STEPS):
    """One Jacobian column by extrapolated central differences.

    Returns ``(column, error)``: the column (built with the primitive table, so
    it can be counted) and the estimated absolute error of each entry (plain
    float64). ``fx_scale`` is |f(x)| + 1 entrywise, for the round-off term.
    """
    xi = float(primal(x)[i])
    prev: list = []
    best = best_err = None
    for j in range(num_steps):
        h = exact_step(xi, h0 / RATIO ** j)
        row = [central_difference(f, x, i, h)]
        if not np.all(np.isfinite(primal(row[0]))):
            # x +- h left f's domain (log of a negative number...): start the
            # tableau again from the next, smaller step.
            prev = []
            continue
        noise = 4.0 * EPS * fx_scale / h  # rounding of one difference, with margin
        for k in range(1, len(prev) + 1):
            w = RATIO ** (2 * k) - 1.0
            row.append(row[k - 1] + (row[k - 1] - prev[k - 1]) / w)
            t, left, up = primal(row[k]), primal(row[k - 1]), primal(prev[k - 1])
            # T[j][k] mixes two entries with weights of absolute sum 1 + 2/w
            err = np.maximum(np.abs(t - left), np.abs(t - up)) + noise * (1 + 2 / w)
            if best is None:
                best, best_err = row[k], err
            else:
                better = err < best_err
                best = P.where(better, row[k], best)
                best_err = np.where(better, err, best_err)
        prev = row
    if best is None:  # at most one usable step: no extrapolation, no estimate
        if not prev:
            raise FloatingPointError(f"every step of coordinate {i} leaves the domain of f")
        return prev[0], np.full(np.shape(primal(prev[0])), np.inf)
    return best, best_err


class FDRichardson(_FiniteDifference):
    name = "fd-richardson"
    description = ("central differences on 9 steps from 0.05 max(1, |x_i|) down by 4x, "
                   "Richardson-extrapolated, with an error estimate")
    tolerance = 1e-10
    order = 2

    def columns(self, f, x, info):
        fx_scale = np.abs(np.asarray(primal(f(x)), dtype=float)) + 1.0
        cols, errors = [], []
        for i in range(len(x)):
            h0 = BASE_STEP * max(1.0, abs(float(primal(x)[i])))
            col, err = richardson_column(f, x, i, h0, fx_scale)
            cols.append(col)
            errors.append(err)
        J = np.abs(np.stack([np.asarray(primal(c), dtype=float) for c in cols], axis=1))
        # On the scale of rho (adbench.measure.accuracy), the measure of max_rel_error.
        info["error_estimate"] = float(np.max(np.stack(errors, axis=1)
                                              / np.maximum(1.0, 2.0 * J)))
        return cols
