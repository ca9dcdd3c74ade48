"""Programs whose control flow depends on the input: AD and finite differences
follow the branch taken; symbolic differentiation of a closed form cannot."""

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
