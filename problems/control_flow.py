"""Programs with branches and loops.

Where the control flow depends on the input (a branch, a loop run to a tolerance),
AD and finite differences follow the path taken, while symbolic differentiation has
no closed form to work on. A loop of fixed trip count is different: symbolic
differentiation unrolls it, and its expressions swell with the trip count."""

from adbench import problem


@problem(name="piecewise", n=2, m=1, x0=[0.5, 1.5], tags=["control-flow", "scalar"],
         description="x1^2 x2 if x1 > x2 else sin(x1) x2 + x2^3: a Python `if` on the input")
def piecewise(x, xp):
    """Two smooth pieces joined along x1 = x2; the branch is chosen by comparing inputs."""
    if x[0] > x[1]:
        return x[0] ** 2 * x[1]
    return xp.sin(x[0]) * x[1] + x[1] ** 3


@piecewise.manual
def _(x, xp):
    if x[0] > x[1]:
        return [[2 * x[0] * x[1], x[0] ** 2]]
    return [[xp.cos(x[0]) * x[1], xp.sin(x[0]) + 3 * x[1] ** 2]]


SQRT_RTOL = 1e-12


@problem(name="babylonian-sqrt", n=1, m=1, x0=[2.0],
         tags=["control-flow", "scalar", "loop", "iterative"],
         description="y <- (y + x / y) / 2 from y = (1 + x) / 2 while |y^2 - x| > 1e-12 x: "
                     "Heron's square root, a `while` loop whose trip count depends on x")
def babylonian_sqrt(x, xp):
    """The Babylonian (Heron, Newton) iteration for sqrt(x), run to a relative residual.

    y_0 = (1 + x) / 2, y_(k+1) = (y_k + x / y_k) / 2 until |y^2 - x| <= 1e-12 x. The
    number of iterations depends on x (4 at the default x = 2, the same in float64 and
    at 80 digits), so there is no closed form for symbolic differentiation; AD and
    finite differences differentiate the iterations actually run.

    That derivative is the program's, not sqrt's. The tangent converges
    quadratically too (its relative error after a step is ~e d + e^2, for iterate and
    tangent errors e and d), so the two agree to rounding at x = 2 but differ by up
    to 7e-11 (relative) elsewhere in [0.01, 100] (e.g. x = 0.9), more than the 1e-12
    the exact methods are held to. The hand-written derivative therefore iterates
    the tangent alongside the value, dy <- (dy + 1 / y - x dy / y^2) / 2, rather than
    using the implicit-function formula 1 / (2 y).
    """
    a = x[0]
    y = 0.5 * (1.0 + a)
    while xp.abs(y * y - a) > SQRT_RTOL * a:
        y = 0.5 * (y + a / y)
    return y


@babylonian_sqrt.manual
def _(x, xp):
    a = x[0]
    y, dy = 0.5 * (1.0 + a), 0.5
    while xp.abs(y * y - a) > SQRT_RTOL * a:
        dy = 0.5 * (dy + 1.0 / y - a * dy / (y * y))
        y = 0.5 * (y + a / y)
    return [[dy]]


FIXED_POINT_RTOL = 1e-14


def _contraction(z, x, xp):
    return [0.5 * xp.cos(z[1]) + x[0], 0.5 * xp.sin(z[0]) + x[1]]


@problem(name="fixed-point", n=2, m=2, x0=[0.3, -0.2],
         tags=["control-flow", "scalar", "loop", "iterative"],
         description="z <- (cos(z2) / 2 + x1, sin(z1) / 2 + x2) from z = x until the step is "
                     "<= 1e-14 (1 + |z|_1): a fixed-point iteration run to tolerance")
def fixed_point(x, xp):
    """The fixed point z* = g(z*) + x of the contraction g(z) = (cos z2, sin z1) / 2.

    Iterates z <- g(z) + x from z = x until |step|_1 <= 1e-14 (1 + |z|_1): the
    Lipschitz constant of g is at most 1/2, so this takes a few tens of iterations
    (19 at the default point; the count depends on x). Returns z*, R^2 -> R^2.
    Symbolic differentiation finds no closed form (the loop test compares values
    of x).

    The hand-written Jacobian is the implicit-function one, dz*/dx = (I - g'(z*))^-1
    at the final iterate, which is what a person writes for a fixed point. It equals
    the derivative of the program (what AD, finite differences and the reference
    compute) only up to the convergence error: the tolerance is tight (1e-14) so that
    the two agree to ~1e-14. Default point x = (0.3, -0.2).
    """
    z = [x[0], x[1]]
    while True:
        z_new = _contraction(z, x, xp)
        step = xp.abs(z_new[0] - z[0]) + xp.abs(z_new[1] - z[1])
        z = z_new
        if step <= FIXED_POINT_RTOL * (1.0 + xp.abs(z[0]) + xp.abs(z[1])):
            return xp.stack(z)


@fixed_point.manual
def _(x, xp):
    z = fixed_point.fn(x, xp)
    # (I - g'(z))^-1 with g'(z) = [[0, -sin(z2) / 2], [cos(z1) / 2, 0]]
    a, b = 0.5 * xp.sin(z[1]), 0.5 * xp.cos(z[0])
    det = 1.0 + a * b
    return [[1.0 / det, -a / det], [b / det, 1.0 / det]]


LEAPFROG_STEP = 0.1


@problem(name="unrolled-loop", sizes={"steps": [1, 2, 4, 8]}, n=2, m=2, x0=[1.0, 0.0],
         tags=["loop", "swell", "scalar"],
         description="steps times: p <- p - h sin q, q <- q + h p (h = 0.1); returns (q, p): "
                     "a pendulum by symplectic Euler, a loop of fixed trip count")
def unrolled_loop(x, xp, steps):
    """``steps`` symplectic-Euler steps of the pendulum q'' = -sin q, h = 0.1.

    x = (q, p) = (angle, momentum), default (1, 0); returns (q, p) after ``steps``
    steps, R^2 -> R^2. The trip count does not depend on x, so symbolic
    differentiation works by unrolling the loop, but q enters each step twice and the
    expression tree doubles with every step (15 nodes after 1 step, 3,147 after 8,
    808,267 after 16; the derivative is larger still), while AD costs the same per
    step. Default sizes steps in {1, 2, 4, 8}; the
    ``control-flow`` suite has longer loops. The hand-written Jacobian multiplies the
    per-step 2 x 2 Jacobians as it goes (a hand-coded tangent-linear loop).
    """
    q, p = x[0], x[1]
    for _ in range(steps):
        p = p - LEAPFROG_STEP * xp.sin(q)
        q = q + LEAPFROG_STEP * p
    return xp.stack([q, p])


@unrolled_loop.manual
def _(x, xp, steps):
    q, p = x[0], x[1]
    dq, dp = [1.0, 0.0], [0.0, 1.0]  # rows of d(q, p) / d(q0, p0)
    for _ in range(steps):
        c = LEAPFROG_STEP * xp.cos(q)
        dp = [dp[j] - c * dq[j] for j in range(2)]
        dq = [dq[j] + LEAPFROG_STEP * dp[j] for j in range(2)]
        p = p - LEAPFROG_STEP * xp.sin(q)
        q = q + LEAPFROG_STEP * p
    return [dq, dp]
