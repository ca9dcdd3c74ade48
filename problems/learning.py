"""Training objectives of machine learning: the loss of a small neural network as a
function of its weights, the setting of the survey's Section 4 (backpropagation is
reverse mode applied to it, p. 17)."""

import numpy as np

from adbench import problem

MLP_SEED = 20150201


def _mlp_shapes(d, h):
    """(W1 (h x d), b1 (h), w2 (h), b2 (1)) as slices of the flat weight vector."""
    sizes = (h * d, h, h, 1)
    ends = np.cumsum(sizes)
    return [slice(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True)]


def _mlp_data(d, h, N):
    """Two Gaussian classes in R^d, labels +-1: class +1 around (1, ..., 1) / 2 and
    class -1 around -(1, ..., 1) / 2, unit variance, so that they overlap and the
    loss cannot reach 0; N points in all, from seed MLP_SEED."""
    rng = np.random.default_rng(MLP_SEED)
    labels = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)
    points = 0.5 * labels[:, None] + rng.normal(size=(N, d))
    return {"X": points, "labels": labels}


def _mlp_x0(d, h, N):
    """Weights ~ N(0, 1 / fan-in) from seed MLP_SEED + 1, biases 0."""
    rng = np.random.default_rng(MLP_SEED + 1)
    return np.concatenate([rng.normal(size=h * d) / np.sqrt(d), np.zeros(h),
                           rng.normal(size=h) / np.sqrt(h), np.zeros(1)])


@problem(name="mlp-loss", sizes={"d": [2], "h": [8], "N": [32]},
         n=lambda d, h, N: h * d + 2 * h + 1, m=1, x0=_mlp_x0, data=_mlp_data,
         tags=["learning", "array"],
         description="mean_i log(1 + exp(-y_i (w2 . tanh(W1 x_i + b1) + b2))): the logistic "
                     "loss of a two-layer tanh network on two Gaussian classes (seed 20150201), "
                     "as a function of its weights")
def mlp_loss(x, xp, d, h, X, labels):
    """The training loss of a two-layer tanh network, a function of its h d + 2 h + 1 weights.

    x = (W1 (h x d, by rows), b1 (h), w2 (h), b2); for the N points X (N x d) with
    labels y in {-1, +1}::

        H = tanh(X W1^T + b1)        (N x h, the hidden layer)
        z = H w2 + b2                (N, the logits)
        f = mean_i log(1 + exp(-y_i z_i))

    Data: two unit-variance Gaussian classes centred at +-(1, ..., 1) / 2 (they
    overlap, so the loss stays above 0); weights ~ N(0, 1 / fan-in), biases 0, from
    seed 20150201. Default d = 2, h = 8, N = 32: n = 33. log(1 + exp(t)) overflows
    for t > 709, far from any weight gradient descent reaches here.

    The hand-written gradient is backpropagation written layer by layer, as a
    textbook does it: the output error dz = -y sigmoid(-y z) / N, then
    dw2 = H^T dz, db2 = sum dz, the hidden error dA = (dz w2^T) * (1 - H^2),
    dW1 = dA^T X and db1 = the column sums of dA.
    """
    s1, s2, s3, s4 = _mlp_shapes(d, h)
    W1 = xp.reshape(x[s1], (h, d))
    hidden = xp.tanh(X @ xp.transpose(W1) + x[s2])
    logits = hidden @ x[s3] + x[s4][0]
    return xp.mean(xp.log(1.0 + xp.exp(-labels * logits)))


@mlp_loss.manual
def _(x, xp, d, h, X, labels):
    s1, s2, s3, s4 = _mlp_shapes(d, h)
    W1 = xp.reshape(x[s1], (h, d))
    hidden = xp.tanh(X @ xp.transpose(W1) + x[s2])
    logits = hidden @ x[s3] + x[s4][0]
    # backward, layer by layer: output error, output layer, hidden error, first layer
    dz = -labels / (1.0 + xp.exp(labels * logits)) / len(labels)
    dw2 = xp.transpose(hidden) @ dz
    db2 = xp.sum(dz)
    dA = xp.outer(dz, x[s3]) * (1.0 - hidden * hidden)
    dW1 = xp.transpose(dA) @ X
    db1 = xp.sum(dA, axis=0)
    return [xp.concatenate([xp.ravel(dW1), db1, dw2, xp.stack([db2])])]
