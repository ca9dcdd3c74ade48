"""Classic optimisation test functions."""

import numpy as np

from adbench import problem


def _rosenbrock_start(n):
    return np.resize([-1.2, 1.0], n)


@problem(name="rosenbrock", sizes={"n": [2, 5, 10, 50]}, n=lambda n: n, m=1,
         x0=_rosenbrock_start, tags=["optimisation", "array"],
         description="sum_i 100 (x_(i+1) - x_i^2)^2 + (1 - x_i)^2: the extended Rosenbrock "
                     "function (Rosenbrock 1960), started at (-1.2, 1, -1.2, ...)")
def rosenbrock(x, xp):
    """The chained Rosenbrock function of n >= 2 variables; minimum 0 at (1, ..., 1)."""
    head, tail = x[:-1], x[1:]
    return xp.sum(100.0 * (tail - head ** 2) ** 2 + (1.0 - head) ** 2)


@rosenbrock.manual
def _(x, xp):
    n = len(x)
    g = [0.0] * n
    for i in range(n - 1):
        r = x[i + 1] - x[i] ** 2
        g[i] = g[i] - 400.0 * x[i] * r - 2.0 * (1.0 - x[i])
        g[i + 1] = g[i + 1] + 200.0 * r
    return [g]
