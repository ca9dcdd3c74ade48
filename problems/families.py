"""Dimension families R^n -> R^m for the forward/reverse crossover.

Forward mode needs n passes and reverse mode m, so the ratio n/m decides which
wins (the survey, Section 3). Each family here has n, m or both as size
parameters; defaults stay small and the ``scaling`` suite sweeps them to 256.
"""

import numpy as np

from adbench import problem

# --------------------------------------------------------------------------
# Linear map, elementwise chain, fan-in, fan-out
# --------------------------------------------------------------------------


def _linear_map_data(n, m):
    return {"A": np.random.default_rng(11).normal(size=(m, n)) / np.sqrt(n)}


@problem(name="linear-map", sizes={"n": [1, 4, 16], "m": [1, 4, 16]},
         n=lambda n, m: n, m=lambda n, m: m, x0=lambda n, m: np.linspace(-1.0, 1.0, n),
         data=_linear_map_data, tags=["array", "dimensions"],
         description="y = A x, A (m x n) ~ N(0, 1/n) from seed 11: the Jacobian is A, the "
                     "cleanest forward (n passes) versus reverse (m passes) comparison")
def linear_map(x, xp, A):
    """A dense linear map R^n -> R^m; J = A at every point.

    A ~ N(0, 1) / sqrt(n) from seed 11, x0 = linspace(-1, 1, n). Every method is
    exact up to rounding (finite differences too: the truncation error of a linear
    function is zero). Default sizes n, m in {1, 4, 16}.
    """
    return A @ x


@linear_map.manual
def _(x, xp, A):
    return A


@problem(name="elementwise-chain", sizes={"n": [1, 4, 16]}, n=lambda n: n, m=lambda n: n,
         x0=lambda n: np.linspace(-1.0, 1.0, n), tags=["array", "dimensions"],
         description="y_i = sqrt(1 + exp(sin(tanh(x_i)))): a chain of four elementwise "
                     "operations, R^n -> R^n with a diagonal Jacobian")
def elementwise_chain(x, xp):
    """y = sqrt(1 + exp(sin(tanh(x)))) elementwise, R^n -> R^n.

    The Jacobian is diagonal, so forward and reverse mode both need n passes whose
    results are mostly zeros: the case that calls for a single JVP with a vector of
    ones (or a VJP), not a Jacobian. x0 = linspace(-1, 1, n); default sizes n in
    {1, 4, 16}.
    """
    return xp.sqrt(1.0 + xp.exp(xp.sin(xp.tanh(x))))


@elementwise_chain.manual
def _(x, xp):
    t = xp.tanh(x)
    e = xp.exp(xp.sin(t))
    slope = (1.0 - t * t) * xp.cos(t) * e / (2.0 * xp.sqrt(1.0 + e))
    return xp.eye(len(x)) * slope


def _fan_in_data(n):
    return {"w": np.random.default_rng(12).uniform(0.5, 1.5, n)}


@problem(name="fan-in", sizes={"n": [1, 4, 16, 64]}, n=lambda n: n, m=1,
         x0=lambda n: np.linspace(0.5, 1.5, n), data=_fan_in_data,
         tags=["array", "dimensions"],
         description="f = sum_i w_i sin(x_i) + (sum_i x_i)^2 / (2n), w ~ U(0.5, 1.5) from seed "
                     "12: R^n -> R, where reverse mode needs one pass and forward mode n")
def fan_in(x, xp, w):
    """A scalar function of n inputs (the reverse-mode case), R^n -> R.

    f(x) = sum_i w_i sin(x_i) + (sum_i x_i)^2 / (2n): a weighted sum plus a term
    coupling all inputs. w ~ U(0.5, 1.5) from seed 12, x0 = linspace(0.5, 1.5, n).
    Default sizes n in {1, 4, 16, 64}.
    """
    s = xp.sum(x)
    return xp.sum(w * xp.sin(x)) + s * s / (2.0 * len(x))


@fan_in.manual
def _(x, xp, w):
    return [w * xp.cos(x) + xp.sum(x) / len(x)]


def _fan_out_data(m):
    rng = np.random.default_rng(13)
    return {"c": rng.uniform(0.5, 2.0, m), "phase": rng.uniform(0.0, np.pi, m)}


@problem(name="fan-out", sizes={"m": [1, 4, 16, 64]}, n=1, m=lambda m: m, x0=[0.7],
         data=_fan_out_data, tags=["array", "dimensions"],
         description="y_j = exp(-c_j x / 4) sin(c_j x + phase_j), c ~ U(0.5, 2), phase ~ U(0, "
                     "pi) from seed 13: R -> R^m, where forward mode needs one pass")
def fan_out(x, xp, c, phase):
    """One input, m outputs (the forward-mode case), R -> R^m.

    y_j = exp(-c_j x / 4) sin(c_j x + phase_j), damped waves of random frequency and
    phase (seed 13), at x = 0.7. Default sizes m in {1, 4, 16, 64}.
    """
    t = c * x[0]
    return xp.exp(-0.25 * t) * xp.sin(t + phase)


@fan_out.manual
def _(x, xp, c, phase):
    t = c * x[0]
    slope = c * xp.exp(-0.25 * t) * (xp.cos(t + phase) - 0.25 * xp.sin(t + phase))
    return xp.reshape(slope, (len(c), 1))


# --------------------------------------------------------------------------
# Random DAG of primitives
# --------------------------------------------------------------------------

# Each operation maps values in [-1, 1] to values in [-1, 1], well inside the
# domain of every primitive it uses, so any random composition stays defined.
DAG_OPERATIONS = ("mul", "mean", "half-difference", "sin", "cos", "tanh", "exp",
                  "log", "sqrt", "divide")


def _dag_apply(op, a, b, xp):
    if op == "mul":
        return a * b
    if op == "mean":
        return 0.5 * (a + b)
    if op == "half-difference":
        return 0.5 * (a - b)
    if op == "sin":
        return xp.sin(a)
    if op == "cos":
        return xp.cos(a)
    if op == "tanh":
        return xp.tanh(a)
    if op == "exp":
        return xp.exp(a - 1.0)          # in (e^-2, 1]
    if op == "log":
        return xp.log(2.0 + a) - 0.5    # argument in [1, 3]
    if op == "sqrt":
        return xp.sqrt(2.0 + a) - 1.0   # argument in [1, 3]
    if op == "divide":
        return a / (2.0 + b)            # denominator in [1, 3]
    raise ValueError(f"unknown DAG operation {op!r}")


def _dag_data(n, m, ops):
    """The program: rows (operation code, first argument, second argument), as floats.

    Nodes 0..n-1 are the inputs; node n + k is operation k. The first min(n, ops)
    operations each read a different input first, so that every input is used; the
    last m operations are the outputs.
    """
    rng = np.random.default_rng(14)
    rows = []
    for k in range(ops + m):
        available = n + k
        first = k if k < min(n, ops) else int(rng.integers(available))
        rows.append([float(rng.integers(len(DAG_OPERATIONS))), float(first),
                     float(rng.integers(available))])
    return {"program": np.array(rows)}


@problem(name="random-dag", sizes={"n": [2, 8], "m": [1, 4], "ops": [24]},
         n=lambda n, m, ops: n, m=lambda n, m, ops: m,
         x0=lambda n, m, ops: np.random.default_rng(15).uniform(-0.9, 0.9, n),
         data=_dag_data, tags=["scalar", "dimensions"],
         description="ops + m random operations (mul, mean, sin, exp, log, divide...) on "
                     "earlier nodes from seed 14, the last m the outputs: a random "
                     "computational graph R^n -> R^m")
def random_dag(x, xp, n, m, program):
    """A seeded random DAG of ops + m operations over the n inputs, R^n -> R^m.

    Every node is one of DAG_OPERATIONS applied to one or two earlier nodes
    (chosen uniformly, so values are reused many times: fan-out that reverse mode
    must accumulate); every operation maps [-1, 1] into [-1, 1] inside its
    primitives' domains (log(2 + a), a / (2 + b), ...), and x0 ~ U(-0.9, 0.9) (seed
    15), so any program is defined at and near x0. The last m nodes are the
    outputs; not every output depends on every input (a sparse Jacobian).

    No hand-written Jacobian: nobody hand-differentiates a random program, which is
    the point of the family. Default sizes n in {2, 8}, m in {1, 4}, ops = 24.
    """
    nodes = [x[i] for i in range(n)]
    for code, first, second in program:
        nodes.append(_dag_apply(DAG_OPERATIONS[int(code)], nodes[int(first)],
                                nodes[int(second)], xp))
    return xp.stack(nodes[-m:])
