"""Families over the input dimension n and the output dimension m."""

import numpy as np

from adbench import problem


def _layer_data(n, m):
    rng = np.random.default_rng(20180153)
    return {"W": rng.normal(size=(m, n)) / np.sqrt(n), "b": 0.1 * rng.normal(size=m)}


@problem(name="tanh-layer", sizes={"n": [1, 4, 16], "m": [1, 4, 16]},
         n=lambda n, m: n, m=lambda n, m: m,
         x0=lambda n, m: np.linspace(-1.0, 1.0, n), data=_layer_data,
         tags=["array", "dimensions"],
         description="y = tanh(W x + b), W (m x n) and b from seed 20180153: one neural-network "
                     "layer, R^n -> R^m")
def tanh_layer(x, xp, W, b):
    """A dense layer with tanh activation; J = diag(1 - y^2) W."""
    return xp.tanh(W @ x + b)


@tanh_layer.manual
def _(x, xp, W, b):
    y = xp.tanh(W @ x + b)
    return (1.0 - y * y)[:, None] * W
