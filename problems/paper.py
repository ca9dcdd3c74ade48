"""Classic AD test functions that go with the survey (Baydin et al. 2018, JMLR 18(153)):
Griewank's Helmholtz energy, which the survey's first author also uses as the gradient
example of DiffSharp. The survey's own running examples are in survey.py."""

import math

import numpy as np

from adbench import problem

SQRT2 = math.sqrt(2.0)
HELMHOLTZ_SEED = 1991


def _helmholtz_draw(n):
    rng = np.random.default_rng(HELMHOLTZ_SEED)
    A = 0.1 * rng.random((n, n))
    b = 0.1 * rng.random(n)
    x0 = 0.1 * rng.random(n)
    return A, b, x0


def _helmholtz_data(n):
    A, b, _ = _helmholtz_draw(n)
    return {"A": A.tolist(), "b": b.tolist()}


def _helmholtz_sums(xs, A, b):
    """(b.x, x.Ax, sum_i x_i) by scalar loops."""
    n = len(xs)
    bx, total = 0.0, 0.0
    for i in range(n):
        bx = bx + b[i] * xs[i]
        total = total + xs[i]
    xAx = 0.0
    for i in range(n):
        row = 0.0
        for j in range(n):
            row = row + A[i][j] * xs[j]
        xAx = xAx + xs[i] * row
    return bx, xAx, total


@problem(name="helmholtz", sizes={"n": [1, 2, 5, 10, 20, 50]}, n=lambda n: n, m=1,
         x0=lambda n: _helmholtz_draw(n)[2], data=_helmholtz_data,
         tags=["paper", "scalar"],
         description="RT sum_i x_i log(x_i / (1 - b.x)) - x.Ax / (sqrt(8) b.x) log((1 + (1 + "
                     "sqrt 2) b.x) / (1 + (1 - sqrt 2) b.x)), R = T = 1: the Helmholtz free "
                     "energy test of Griewank (1989), as in DiffSharp's Helmholtz example")
def helmholtz(x, xp, A, b):
    """The Helmholtz free energy of a mixed fluid, Griewank's classic AD test function.

    f(x) = RT sum_i x_i log(x_i / (1 - b.x))
           - x.Ax / (sqrt(8) b.x) log((1 + (1 + sqrt 2) b.x) / (1 + (1 - sqrt 2) b.x)),

    with R = T = 1: the free energy of a mixed fluid under the Peng-Robinson equation
    of state, Griewank's classic gradient benchmark (Griewank 1989, "On automatic
    differentiation"). Setup as in the DiffSharp example by the survey's first
    author (http://diffsharp.github.io/DiffSharp/examples-helmholtzenergyfunction.html):
    entries of A, b and x0 are 0.1 U(0, 1), here from seed 1991, so that
    b.x <= 0.01 n < 1 and every logarithm is defined. A is not symmetrised (only
    its symmetric part enters x.Ax). Default sizes n in {1, 2, 5, 10, 20, 50}.

    Written as a scalar program (Python loops over the entries, A and b as lists of
    floats): it doubles as the benchmark of operator-overloading speed per scalar
    operation. Its cost is O(n^2), dominated by x.Ax.
    """
    return helmholtz_energy(list(x), xp, A, b)


def helmholtz_energy(xs, xp, A, b):
    """The Helmholtz energy of :func:`helmholtz`, read by ``xs[i]`` from any sequence:
    the registry's problem passes ``list(x)``; ``adbench bench engine`` also passes x
    itself (``x[i]`` on the array inside the loops, as a program is naturally written)."""
    bx, xAx, _ = _helmholtz_sums(xs, A, b)
    log_free = xp.log(1.0 - bx)
    entropy = 0.0
    for xi in xs:
        entropy = entropy + xi * (xp.log(xi) - log_free)
    ratio = xp.log((1.0 + (1.0 + SQRT2) * bx) / (1.0 + (1.0 - SQRT2) * bx))
    return entropy - xAx / (SQRT2 * 2.0 * bx) * ratio


@helmholtz.manual
def _(x, xp, A, b):
    # With B = b.x, Q = x.Ax, S = sum_i x_i and L(B) = log((1 + (1+r2) B) / (1 + (1-r2) B)):
    # df/dx_k = log x_k + 1 - log(1 - B) + S b_k / (1 - B)
    #           - ((A + A^T) x)_k L / (sqrt8 B) - Q / sqrt8 * b_k (L'(B) / B - L / B^2)
    xs = list(x)
    n = len(xs)
    bx, xAx, total = _helmholtz_sums(xs, A, b)
    log_free = xp.log(1.0 - bx)
    plus, minus = 1.0 + (1.0 + SQRT2) * bx, 1.0 + (1.0 - SQRT2) * bx
    ratio = xp.log(plus / minus)
    dratio = (1.0 + SQRT2) / plus - (1.0 - SQRT2) / minus
    sqrt8 = 2.0 * SQRT2
    d_over_b = (dratio / bx - ratio / (bx * bx)) * xAx / sqrt8
    grad = []
    for k in range(n):
        sym = 0.0
        for j in range(n):
            sym = sym + (A[k][j] + A[j][k]) * xs[j]
        grad.append(xp.log(xs[k]) + 1.0 - log_free + total * b[k] / (1.0 - bx)
                    - sym * ratio / (sqrt8 * bx) - b[k] * d_over_b)
    return [grad]
