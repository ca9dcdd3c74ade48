"""Problems from the AD benchmark suites ADBench and GradBench.

ADBench: Srajer, Schkufza, Fitzgibbon (2018), "A benchmark of selected algorithmic
differentiation tools on some problems in computer vision and machine learning",
https://github.com/microsoft/ADBench (commit 38cb7931). GradBench continues it and
corrects it: https://github.com/gradbench/gradbench (``evals/*/README.md`` and the
reference implementations under ``python/gradbench/gradbench/tools``).

The code below is written afresh over ``xp``; each docstring names the definition it
follows and the quirks it keeps. Data are drawn from fixed seeds, so every instance is
reproducible; none is read from the suites' data files.
"""

import math
from types import SimpleNamespace

import numpy as np

from adbench import problem
from adbench.interpret.xp import numpy_xp

# --------------------------------------------------------------------------
# GMM: Gaussian mixture log-posterior with a Wishart prior (GradBench's corrected form)
# --------------------------------------------------------------------------

GMM_SEED = 31337
GMM_WISHART_GAMMA = 1.0
GMM_WISHART_M = 0


def _tril_columnwise(D):
    """(row, col) of the strict lower triangle, column by column: the order of l."""
    return [(row, col) for col in range(D) for row in range(col + 1, D)]


def _gmm_draw(D, K, N):
    """Points and parameters from one seeded stream, in the order of GradBench's
    generator (``evals/gmm/run.py``, ``generate``): x (N x D) ~ N(0, 1), alpha (K)
    ~ N(0, 1), mu (K x D) ~ U(0, 1), q (K x D) ~ N(0, 1), l (K x D(D-1)/2) ~ N(0, 1),
    each drawn row by row, which for numpy's Generator is the same stream as one draw
    of the whole array. At seed 31337 and GradBench's sizes this is its instance."""
    rng = np.random.default_rng(GMM_SEED)
    points = rng.normal(size=(N, D))
    alpha = rng.normal(size=K)
    mu = rng.uniform(size=(K, D))
    q = rng.normal(size=(K, D))
    l = rng.normal(size=(K, D * (D - 1) // 2))
    return points, alpha, mu, q, l


def _gmm_x0(D, K, N):
    _, alpha, mu, q, l = _gmm_draw(D, K, N)
    return np.concatenate([alpha, mu.ravel(), q.ravel(), l.ravel()])


def _gmm_data(D, K, N, points=None, gamma=GMM_WISHART_GAMMA, m=GMM_WISHART_M):
    """The data of f: the points (drawn from the seed unless given, N x D) transposed,
    the gather of Q_k's entries, the Wishart parameters and the constant terms. The
    keywords take another instance's data, such as a GradBench input's x, gamma, m."""
    points = _gmm_draw(D, K, N)[0] if points is None else np.asarray(points, dtype=float)
    if points.shape != (N, D):
        raise ValueError(f"the points have shape {points.shape}, expected ({N}, {D})")
    tril = _tril_columnwise(D)
    # Q_k, row-major, is [0, l_k, exp(q_k)][:, gather]: l_kp at the p-th (row, col) of
    # tril, exp(q_kd) at (d, d), 0 above the diagonal.
    gather = np.zeros(D * D, dtype=np.intp)
    for p, (row, col) in enumerate(tril):
        gather[row * D + col] = 1 + p
    for d in range(D):
        gather[d * D + d] = 1 + len(tril) + d
    dof = D + m + 1
    wishart = dof * D * math.log(gamma / math.sqrt(2)) - numpy_xp.multigammaln(dof / 2, D)
    constant = -N * D / 2 * math.log(2 * math.pi) + K * wishart
    return {"points_T": points.T.reshape(1, D, N).copy(), "gather": gather,
            "constant": constant, "gamma": float(gamma), "wishart_m": float(m)}


def _gmm_parts(x, xp, D, K, points_T, gather):
    """Unpack x and compute what both the objective and its gradient need (as attributes)."""
    KD = K * D
    alpha = x[:K]
    mu = xp.reshape(x[K:K + KD], (K, D, 1))
    q = xp.reshape(x[K + KD:K + 2 * KD], (K, D))
    diag = xp.exp(q)                                          # (K, D): Q_k's diagonal
    l = xp.reshape(x[K + 2 * KD:], (K, D * (D - 1) // 2))
    entries = xp.concatenate([xp.zeros((K, 1)), l, diag], axis=1)  # Q_k's entries, and a 0
    Q = xp.reshape(entries[:, gather], (K, D, D))
    # Q_k (x_i - mu_k) = Q_k x_i - Q_k mu_k: the large product takes the points, constants,
    # so that reverse mode has only Q_k's side of it to differentiate.
    Qx = xp.matmul(Q, points_T) - xp.matmul(Q, mu)            # (K, D, N)
    inner = xp.reshape(alpha + xp.sum(q, axis=1), (K, 1)) - 0.5 * xp.sum(Qx * Qx, axis=1)
    return SimpleNamespace(alpha=alpha, mu=mu, q=q, l=l, diag=diag, entries=entries, Q=Q,
                           Qx=Qx, inner=inner)


@problem(name="gmm", sizes={"D": [2, 3], "K": [3, 5], "N": [10]},
         n=lambda D, K, N: K + 2 * K * D + K * D * (D - 1) // 2, m=1,
         x0=_gmm_x0, data=_gmm_data, tags=["benchmark", "adbench", "gradbench", "array"],
         description="log posterior of a K-component Gaussian mixture on N points in R^D with "
                     "a Wishart(D + m + 1, I / gamma^2) prior on the precisions Q_k^T Q_k: "
                     "GradBench's corrected ADBench GMM (evals/gmm)")
def gmm(x, xp, D, K, N, points_T, gather, constant, gamma, wishart_m):
    """The GMM objective of ADBench as corrected by GradBench (evals/gmm).

    x = (alpha (K), mu (K x D), q (K x D), l (K x D(D-1)/2)), rows flattened in that
    order. Q_k is lower triangular with diagonal exp(q_k) and strict lower triangle
    l_k, filled column by column (the order of ADBench's icf); the precision of
    component k is Q_k^T Q_k and the weights are softmax(alpha). With
    r_ik = alpha_k + sum_d q_kd - |Q_k (x_i - mu_k)|^2 / 2::

        f = sum_i logsumexp_k r_ik - N logsumexp(alpha) - N D / 2 log(2 pi)
            + sum_k [m sum_d q_kd - gamma^2 / 2 (|exp(q_k)|^2 + |l_k|^2)]
            + K [n' D log(gamma / sqrt 2) - log Gamma_D(n' / 2)],   n' = D + m + 1,

    i.e. sum_i log sum_k phi_k N(x_i | mu_k, (Q_k^T Q_k)^-1) plus sum_k the log
    Wishart density of Q_k^T Q_k. This is GradBench's corrected form: its eval fixes
    three errors of the ADBench paper and code (a sign error on one of the likelihood
    and the prior, transposed precision matrices, and a Wishart prior placed on the
    covariances instead of the precisions). Source: gradbench/gradbench
    ``python/gradbench/gradbench/evals/gmm/run.py`` (``log_posterior``, the naive
    density-by-density form) and ``python/gradbench/gradbench/tools/jax/
    gmm_objective.py`` (the vectorised form followed here).

    ADBench's own objective values (what its tools compute and write out) differ
    from these by the sign of the Wishart prior term: ADBench's ``log_wishart_prior``
    (``src/cpp/shared/gmm.h``) returns sum_k [gamma^2 / 2 |Q_k|_F^2 - m sum_d q_kd]
    - K C, with K C the last line above, which is minus the log prior, and
    ``gmm_objective`` adds it, so that ADBench's f is
    the log likelihood minus the log prior, and GradBench's (this one) the log
    likelihood plus the log prior. GradBench's correction flips that sign; the
    other two corrections do not change the value.

    Data: seed 31337, drawn in the order of GradBench's generator: points x ~ N(0, I),
    then x0 = (alpha ~ N(0, 1), mu ~ U(0, 1), q, l ~ N(0, 1)); gamma = 1, m = 0. At
    GradBench's sizes (D in {2, 10, 20, 32, 64}, K in {5, 10, 25, 50, 100}, N = 1000)
    this is GradBench's instance. Default sizes D in {2, 3}, K in {3, 5},
    N = 10 (n = 18 to 50); larger ones are in the ``benchmarks`` suite. Written with
    array operations; both log-sum-exps are ``xp.logsumexp``, as GradBench's tools use
    a library logsumexp: stable (shifted by the maximum) in floating point, with the
    softmax as its derivative. Q_k is gathered whole from (l_k, exp(q_k)), and
    Q_k (x_i - mu_k) is computed as Q_k x_i - Q_k mu_k: its large product then has
    the points, which are constants, as one factor, so reverse mode differentiates
    only Q_k's side of it.
    """
    p = _gmm_parts(x, xp, D, K, points_T, gather)
    # sum_k |Q_k|_F^2 = sum_k (|exp(q_k)|^2 + |l_k|^2), from Q_k's entries
    prior = wishart_m * xp.sum(p.q) - 0.5 * gamma * gamma * xp.sum(p.entries * p.entries)
    return (xp.sum(xp.logsumexp(p.inner, axis=0)) - N * xp.logsumexp(p.alpha)
            + prior + constant)


@gmm.manual
def _(x, xp, D, K, N, points_T, gather, gamma, wishart_m):
    # The gradient ADBench's manual tool also writes out (src/cpp/modules/manual/gmm_d.cpp).
    # With responsibilities w_ik = softmax_k(r_ik) and u_ik = Q_k (x_i - mu_k):
    # df/dalpha_k = sum_i w_ik - N softmax(alpha)_k
    # df/dmu_k    = Q_k^T sum_i w_ik u_ik
    # df/dq_kd    = sum_i w_ik (1 - u_ikd exp(q_kd) (x_i - mu_k)_d) + m - gamma^2 exp(2 q_kd)
    # df/dL_kab   = -sum_i w_ik u_ika (x_i - mu_k)_b - gamma^2 L_kab   (a > b)
    p = _gmm_parts(x, xp, D, K, points_T, gather)
    alpha, l, Q, diag, Qx, inner = p.alpha, p.l, p.Q, p.diag, p.Qx, p.inner
    centred = points_T - p.mu                                  # (K, D, N): x_i - mu_k
    resp = xp.exp(inner - xp.logsumexp(inner, axis=0))         # (K, N)
    weights = xp.exp(alpha - xp.logsumexp(alpha))
    g_alpha = xp.sum(resp, axis=1) - N * weights
    wQx = xp.reshape(resp, (K, 1, N)) * Qx                     # (K, D, N)
    g_mu = xp.matmul(xp.swapaxes(Q, 1, 2), xp.sum(wQx, axis=2, keepdims=True))
    g_q = (xp.reshape(xp.sum(resp, axis=1), (K, 1))
           - xp.sum(wQx * centred, axis=2) * diag
           + wishart_m - gamma * gamma * diag * diag)
    parts = [g_alpha, xp.reshape(g_mu, (K * D,)), xp.reshape(g_q, (K * D,))]
    if D > 1:
        G = -xp.matmul(wQx, xp.swapaxes(centred, 1, 2))        # (K, D, D)
        is_l = (gather >= 1) & (gather <= D * (D - 1) // 2)
        lower = np.empty(int(is_l.sum()), dtype=np.intp)  # lower[p]: where l_kp sits in Q_k
        lower[gather[is_l] - 1] = np.flatnonzero(is_l)
        g_l = xp.reshape(G, (K, D * D))[:, lower] - gamma * gamma * l
        parts.append(xp.reshape(g_l, (K * D * (D - 1) // 2,)))
    return xp.reshape(xp.concatenate(parts), (1, -1))


# --------------------------------------------------------------------------
# BA: one bundle-adjustment residual block
# --------------------------------------------------------------------------

# A camera of realistic scale: small rotation, focal length 400 px, mild distortion.
_BA_CAMERA = [0.0157, -0.0128, -0.0044,    # Rodrigues rotation r
              -0.034, -0.108, -1.12,       # camera centre C
              399.75,                      # focal length f
              2.5, -1.5,                   # principal point (u0, v0)
              -0.06, 0.012]                # radial distortion k1, k2
_BA_POINT = [0.31, -0.22, 1.87]
_BA_WEIGHT = 0.9
_BA_FEATURE = [44.75, -25.0]              # the observation, ~2 px from the projection


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _dot3(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _ba_rotate(rot, X, xp):
    """Rodrigues: rotate X by the angle-axis vector rot (ADBench's rodrigues_rotate_point)."""
    sqtheta = _dot3(rot, rot)
    if sqtheta != 0:
        theta = xp.sqrt(sqtheta)
        cos, sin = xp.cos(theta), xp.sin(theta)
        w = [r / theta for r in rot]
        w_cross_X = _cross(w, X)
        tmp = _dot3(w, X) * (1.0 - cos)
        return [X[i] * cos + w_cross_X[i] * sin + w[i] * tmp for i in range(3)]
    rot_cross_X = _cross(rot, X)  # first order at theta = 0, as ADBench does
    return [X[i] + rot_cross_X[i] for i in range(3)]


@problem(name="ba", n=15, m=3, x0=_BA_CAMERA + _BA_POINT + [_BA_WEIGHT],
         data=lambda: {"feat": list(_BA_FEATURE)},
         tags=["benchmark", "adbench", "gradbench", "scalar"],
         description="w (proj(cam, X) - feat) and 1 - w^2, proj = f distort(R(r)(X - C) "
                     "projected) + (u0, v0): one ADBench bundle-adjustment block "
                     "(src/cpp/shared/ba.h)")
def ba(x, xp, feat):
    """One residual block of ADBench's bundle adjustment (R^15 -> R^3).

    x = (camera (11): r1 r2 r3 C1 C2 C3 f u0 v0 k1 k2, point X (3), weight w).
    Xcam = R(r) (X - C) with R the Rodrigues rotation of the angle-axis vector r;
    p = (Xcam_1, Xcam_2) / Xcam_3; distorted = p (1 + k1 |p|^2 + k2 |p|^4);
    proj = f distorted + (u0, v0). Outputs: w (proj - feat) (2 reprojection
    residuals) and 1 - w^2 (Zach's weight residual). The full BA Jacobian is a
    block-sparse stack of exactly these 3 x 15 blocks, one per observation.

    Source: ADBench ``src/cpp/shared/ba.h`` (computeReprojError,
    computeZachWeightError, rodrigues_rotate_point) and GradBench ``evals/ba``
    (``tools/pytorch/ba_objective.py``). Like ADBench it branches on |r|^2 != 0 and
    uses the first-order rotation X + r x X at r = 0; the default point does not
    touch that branch. Default point: a camera of realistic scale (f = 399.75 px,
    small rotation, k1 = -0.06, k2 = 0.012; chosen here, not read from ADBench's
    files), X = (0.31, -0.22, 1.87), w = 0.9, feat ~2 px from the projection
    (43.2, -22.9).

    The hand-written Jacobian follows the stages (rotation, projection,
    distortion, scaling), as ADBench's manual tool does
    (``src/cpp/modules/manual/ba_d.cpp``); it assumes r != 0.
    """
    cam, X, w = x[0:11], x[11:14], x[14]
    Xo = [X[i] - cam[3 + i] for i in range(3)]
    Xcam = _ba_rotate([cam[0], cam[1], cam[2]], Xo, xp)
    p = [Xcam[0] / Xcam[2], Xcam[1] / Xcam[2]]
    rsq = p[0] * p[0] + p[1] * p[1]
    L = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq
    proj = [p[0] * L * cam[6] + cam[7], p[1] * L * cam[6] + cam[8]]
    return xp.stack([w * (proj[0] - feat[0]), w * (proj[1] - feat[1]), 1.0 - w * w])


def _matvec(M, v):
    return [sum(M[i][k] * v[k] for k in range(len(v))) for i in range(len(M))]


def _matmat(A, B):
    return [[sum(A[i][k] * B[k][j] for k in range(len(B))) for j in range(len(B[0]))]
            for i in range(len(A))]


@ba.manual
def _(x, xp, feat):
    # The chain rule stage by stage: err = w (f dist(p(R(r)(X - C))) + x0 - feat).
    cam, X, w = x[0:11], x[11:14], x[14]
    rot = [cam[0], cam[1], cam[2]]
    Xo = [X[i] - cam[3 + i] for i in range(3)]
    theta = xp.sqrt(_dot3(rot, rot))
    cos, sin = xp.cos(theta), xp.sin(theta)
    u = [r / theta for r in rot]                                 # unit axis
    uXo = _dot3(u, Xo)
    u_cross_Xo = _cross(u, Xo)
    Xcam = [Xo[i] * cos + u_cross_Xo[i] * sin + u[i] * uXo * (1.0 - cos) for i in range(3)]
    # dXcam/dXo = R = cos I + sin [u]x + (1 - cos) u u^T
    ux = [[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]]
    R = [[(cos if i == j else 0.0) + sin * ux[i][j] + (1.0 - cos) * u[i] * u[j]
          for j in range(3)] for i in range(3)]
    # dXcam/drot = dXcam/dtheta u^T + dXcam/du (I - u u^T) / theta
    d_theta = [-Xo[i] * sin + u_cross_Xo[i] * cos + u[i] * uXo * sin for i in range(3)]
    Xox = [[0.0, -Xo[2], Xo[1]], [Xo[2], 0.0, -Xo[0]], [-Xo[1], Xo[0], 0.0]]
    d_u = [[-sin * Xox[i][j] + (1.0 - cos) * ((uXo if i == j else 0.0) + u[i] * Xo[j])
            for j in range(3)] for i in range(3)]
    proj_u = [[((1.0 if i == j else 0.0) - u[i] * u[j]) / theta for j in range(3)]
              for i in range(3)]
    d_u_rot = _matmat(d_u, proj_u)
    d_rot = [[d_theta[i] * u[j] + d_u_rot[i][j] for j in range(3)] for i in range(3)]
    # p = Xcam[:2] / Xcam[2]
    z = Xcam[2]
    p = [Xcam[0] / z, Xcam[1] / z]
    dp_dXcam = [[1.0 / z, 0.0, -p[0] / z], [0.0, 1.0 / z, -p[1] / z]]
    rsq = p[0] * p[0] + p[1] * p[1]
    L = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq
    dL_drsq = cam[9] + 2.0 * cam[10] * rsq
    dist = [p[0] * L, p[1] * L]
    # d dist / dp = L I + p (dL/drsq 2 p)^T
    ddist_dp = [[(L if i == j else 0.0) + p[i] * dL_drsq * 2.0 * p[j] for j in range(2)]
                for i in range(2)]
    dproj_dXcam = _matmat([[cam[6] * v for v in row] for row in ddist_dp], dp_dXcam)
    dproj_drot = _matmat(dproj_dXcam, d_rot)
    dproj_dX = _matmat(dproj_dXcam, R)
    proj = [dist[0] * cam[6] + cam[7], dist[1] * cam[6] + cam[8]]
    rows = []
    for i in range(2):
        rows.append([w * dproj_drot[i][0], w * dproj_drot[i][1], w * dproj_drot[i][2],
                     -w * dproj_dX[i][0], -w * dproj_dX[i][1], -w * dproj_dX[i][2],
                     w * dist[i],
                     w if i == 0 else 0.0, w if i == 1 else 0.0,
                     w * cam[6] * p[i] * rsq, w * cam[6] * p[i] * rsq * rsq,
                     w * dproj_dX[i][0], w * dproj_dX[i][1], w * dproj_dX[i][2],
                     proj[i] - feat[i]])
    rows.append([0.0] * 14 + [-2.0 * w])
    return rows


# --------------------------------------------------------------------------
# LSTM: ADBench's diagonal LSTM
# --------------------------------------------------------------------------

_LSTM_TEXT = "From fairest creatures we desire increase, That thereby beauty's rose might never die"


def _lstm_data(l, c, b):
    rng = np.random.default_rng(20180001)
    state = rng.random((2 * l, b))
    codes = [ord(ch) for ch in (_LSTM_TEXT * (c // len(_LSTM_TEXT) + 1))[:c]]
    sequence = np.array([[float((code >> bit) & 1) for bit in range(b)] for code in codes])
    return {"state": state, "sequence": sequence}


def _lstm_x0(l, c, b):
    rng = np.random.default_rng(20180002)
    return np.concatenate([rng.random((2 * l, 4 * b)).ravel(), rng.random((3, b)).ravel()])


def _sigmoid(z, xp):
    return 1.0 / (1.0 + xp.exp(-z))


@problem(name="lstm", sizes={"l": [1, 2], "c": [3], "b": [3]},
         n=lambda l, c, b: 8 * l * b + 3 * b, m=1, x0=_lstm_x0, data=_lstm_data,
         tags=["benchmark", "adbench", "gradbench", "array", "loop"],
         description="-(1 / ((c-1) b)) sum_t y_(t+1) . (o_t - log(2 + sum exp o_t)), o_t the "
                     "output of an l-layer LSTM with diagonal weights: ADBench's LSTM "
                     "(src/cpp/shared/lstm.h)")
def lstm(x, xp, l, c, b, state, sequence):
    """ADBench's LSTM objective, with its quirks kept (GradBench ``evals/lstm``).

    x = (main_params (2l x 4b), extra_params (3 x b)) flattened by rows: for layer i
    row 2i holds the weights and row 2i+1 the biases of the forget, input, output
    and change gates (b each); extra_params are the input weight, output weight and
    output bias. For t = 0 .. c-2, the input s_t (scaled by the input weight) goes
    through the layers, each updating its (hidden, cell) state; the output o_t =
    h * w_out + b_out is scored against the next character s_(t+1)::

        f = -(1 / ((c - 1) b)) sum_t s_(t+1) . (o_t - log(2 + sum_j exp o_tj))

    Quirks of ADBench's definition, kept deliberately: every weight "matrix" is
    diagonal (elementwise products); the forget and output gates see only the
    layer input and the input and change gates only the hidden state; the log-sum-
    exp has a stray "+ 2" (ADBench issue #143); the initial state is data, not a
    parameter; the next input is the true next character (teacher forcing).

    Source: ADBench ``src/cpp/shared/lstm.h`` and GradBench
    ``tools/tensorflow/lstm_objective.py``. Data: each character of a Shakespeare
    line (as in ADBench's data) as its b low-order bits; state and x0 ~ U(0, 1) from
    seeds 20180001 and 20180002, as ADBench's generator draws them. Default sizes
    l (layers) in {1, 2}, c (characters) = 3, b (bits) = 3: n = 33 or 57
    (ADBench's are l in {2, 4}, c in {1024, 4096}, b = 14; the ``benchmarks``
    suite goes to c = 10, b = 14).

    The hand-written gradient is backpropagation through time written out, as in
    ADBench's manual tool (``src/cpp/modules/manual/lstm_d.cpp``): a forward sweep
    storing every gate, then a sweep backwards over time and layers.
    """
    main = xp.reshape(x[:8 * l * b], (2 * l, 4 * b))
    extra = xp.reshape(x[8 * l * b:], (3, b))
    hidden = [state[2 * i] for i in range(l)]
    cell = [state[2 * i + 1] for i in range(l)]
    total = 0.0
    for t in range(c - 1):
        total = total + lstm_step(sequence[t], sequence[t + 1], hidden, cell, main, extra, b, xp)
    return -total / ((c - 1) * b)


def lstm_step(x_t, x_next, hidden, cell, main, extra, b, xp):
    """One time step of :func:`lstm`: every layer's gates on the input ``x_t``, the
    lists ``hidden`` and ``cell`` updated in place, and the step's term
    sum(x_next * ynorm) of the log-likelihood (b: the entries of a state).
    Checkpointed backpropagation through time (``adbench reproduce survey``, claim
    checkpoint-time) runs the same step."""
    inp = x_t * extra[0]
    for i in range(len(hidden)):
        weight, bias = main[2 * i], main[2 * i + 1]
        forget = _sigmoid(inp * weight[:b] + bias[:b], xp)
        ingate = _sigmoid(hidden[i] * weight[b:2 * b] + bias[b:2 * b], xp)
        outgate = _sigmoid(inp * weight[2 * b:3 * b] + bias[2 * b:3 * b], xp)
        change = xp.tanh(hidden[i] * weight[3 * b:] + bias[3 * b:])
        cell[i] = cell[i] * forget + ingate * change
        hidden[i] = outgate * xp.tanh(cell[i])
        inp = hidden[i]
    ypred = inp * extra[1] + extra[2]
    ynorm = ypred - xp.log(xp.sum(xp.exp(ypred)) + 2.0)
    return xp.sum(x_next * ynorm)


@lstm.manual
def _(x, xp, l, c, b, state, sequence):
    main = xp.reshape(x[:8 * l * b], (2 * l, 4 * b))
    extra = xp.reshape(x[8 * l * b:], (3, b))
    w_in, w_out, b_out = extra[0], extra[1], extra[2]
    weights = [[main[2 * i][g * b:(g + 1) * b] for g in range(4)] for i in range(l)]
    biases = [[main[2 * i + 1][g * b:(g + 1) * b] for g in range(4)] for i in range(l)]
    count = (c - 1) * b
    # Forward sweep, keeping what the backward sweep needs: tape[t][i] = (layer input,
    # previous hidden, previous cell, forget, input, output, change gates, tanh(cell)).
    hidden = [state[2 * i] for i in range(l)]
    cell = [state[2 * i + 1] for i in range(l)]
    tape, top = [], []
    for t in range(c - 1):
        inp = sequence[t] * w_in
        layers = []
        for i in range(l):
            wf, wi, wo, wc = weights[i]
            bf, bi, bo, bc = biases[i]
            forget = _sigmoid(inp * wf + bf, xp)
            ingate = _sigmoid(hidden[i] * wi + bi, xp)
            outgate = _sigmoid(inp * wo + bo, xp)
            change = xp.tanh(hidden[i] * wc + bc)
            new_cell = cell[i] * forget + ingate * change
            tanh_cell = xp.tanh(new_cell)
            layers.append((inp, hidden[i], cell[i], forget, ingate, outgate, change, tanh_cell))
            cell[i] = new_cell
            hidden[i] = outgate * tanh_cell
            inp = hidden[i]
        tape.append(layers)
        top.append(inp)
    # Backward sweep. d loss / d o_t = -(y - (sum y) exp(o) / (2 + sum exp o)) / count.
    g_w = [[0.0] * 4 for _ in range(l)]
    g_b = [[0.0] * 4 for _ in range(l)]
    g_w_in, g_w_out, g_b_out = 0.0, 0.0, 0.0
    g_hidden = [0.0] * l   # adjoints flowing from step t + 1 into step t
    g_cell = [0.0] * l
    for t in range(c - 2, -1, -1):
        ypred = top[t] * w_out + b_out
        e = xp.exp(ypred)
        gold = sequence[t + 1]
        g_pred = -(gold - xp.sum(gold) * e / (2.0 + xp.sum(e))) / count
        g_w_out = g_w_out + g_pred * top[t]
        g_b_out = g_b_out + g_pred
        g_h = g_pred * w_out
        for i in range(l - 1, -1, -1):
            inp, h_prev, c_prev, forget, ingate, outgate, change, tanh_cell = tape[t][i]
            wf, wi, wo, wc = weights[i]
            g_h = g_h + g_hidden[i]
            g_c = g_cell[i] + g_h * outgate * (1.0 - tanh_cell * tanh_cell)
            g_zf = g_c * c_prev * forget * (1.0 - forget)
            g_zi = g_c * change * ingate * (1.0 - ingate)
            g_zo = g_h * tanh_cell * outgate * (1.0 - outgate)
            g_zc = g_c * ingate * (1.0 - change * change)
            for k, (g_z, source) in enumerate(((g_zf, inp), (g_zi, h_prev), (g_zo, inp),
                                                (g_zc, h_prev))):
                g_w[i][k] = g_w[i][k] + g_z * source
                g_b[i][k] = g_b[i][k] + g_z
            g_hidden[i] = g_zi * wi + g_zc * wc
            g_cell[i] = g_c * forget
            g_h = g_zf * wf + g_zo * wo   # adjoint of this layer's input
        g_w_in = g_w_in + g_h * sequence[t]
    zeros = xp.zeros(b)
    rows = []
    for i in range(l):
        rows.append(xp.concatenate([g + zeros for g in g_w[i]]))
        rows.append(xp.concatenate([g + zeros for g in g_b[i]]))
    rows.extend([g_w_in + zeros, g_w_out + zeros, g_b_out + zeros])
    return xp.reshape(xp.concatenate(rows), (1, -1))


# --------------------------------------------------------------------------
# Smaller GradBench evals
# --------------------------------------------------------------------------

def _lse_x0(n):
    return 1000.0 + np.random.default_rng(271828).normal(size=n)


@problem(name="logsumexp", sizes={"n": [2, 4, 16, 64]}, n=lambda n: n, m=1, x0=_lse_x0,
         tags=["benchmark", "gradbench", "array", "stability"],
         description="log sum_i exp x_i = a + log sum_i exp(x_i - a), a = max x, at x ~ 1000: "
                     "GradBench evals/lse")
def logsumexp(x, xp):
    """The log-sum-exp in its stable, shifted form (GradBench ``evals/lse``).

    f(x) = a + log sum_i exp(x_i - a) with a = max_i x_i; gradient softmax(x). A
    numerical-stability trap: x0 = 1000 + N(0, 1) (seed 271828), where the naive
    log(sum(exp(x))) overflows to inf. The shift is differentiated too: its
    derivative cancels exactly, but symbolic differentiation sees Max() and
    Heaviside() (slow from n = 4 on). At this scale the finite-difference steps are
    large (h = cbrt(eps) 1000 = 6e-3 for central differences): fd-central's error is
    ~5e-7, close to its 1e-6 tolerance, fd-forward's ~2e-6 (the gradient entries are
    below 1, so rho measures absolute error). Default sizes n in {2, 4, 16, 64}.
    Written out rather than ``xp.logsumexp``, so that every method differentiates
    the shift.
    """
    shift = xp.max(x)
    return shift + xp.log(xp.sum(xp.exp(x - shift)))


@logsumexp.manual
def _(x, xp):
    # softmax(x), shifted by the maximum; exp(x - logsumexp(x)) would lose digits, since
    # logsumexp(x) ~ 1000 is rounded to ~1e-13 absolute before the subtraction.
    e = xp.exp(x - xp.max(x))
    return [e / xp.sum(e)]


def _llsq_data(n, rows):
    t = np.linspace(-1.0, 1.0, rows)
    return {"A": t[:, None] ** np.arange(n)[None, :], "s": np.sign(t)}


@problem(name="llsq", sizes={"n": [2, 4, 8], "rows": [16]}, n=lambda n, rows: n, m=1,
         x0=lambda n, rows: np.random.default_rng(1618).uniform(-1.0, 1.0, n),
         data=_llsq_data, tags=["benchmark", "gradbench", "array"],
         description="1/2 |A x - s|^2, A_ij = t_i^j, s_i = sign t_i, t_i = -1 + 2i/(rows-1): "
                     "GradBench evals/llsq (from cmpad llsq_obj)")
def llsq(x, xp, A, s):
    """Linear least squares: fit a polynomial of degree n-1 to sign(t) on [-1, 1].

    f(x) = 1/2 sum_i (s_i - sum_j x_j t_i^j)^2 with t_i = -1 + 2i/(rows - 1) and
    s_i = sign(t_i): GradBench ``evals/llsq`` (adapted from cmpad's llsq_obj). The
    gradient is A^T (A x - s). x0 ~ U(-1, 1) from seed 1618; default sizes n (the
    number of coefficients) in {2, 4, 8} with rows = 16.
    """
    r = A @ x - s
    return 0.5 * xp.sum(r * r)


@llsq.manual
def _(x, xp, A, s):
    return [A.T @ (A @ x - s)]


def _det_by_minors(rows):
    """Determinant by cofactor expansion along the first row: l! products."""
    size = len(rows)
    if size == 1:
        return rows[0][0]
    total = 0.0
    for j in range(size):
        minor = [row[:j] + row[j + 1:] for row in rows[1:]]
        term = rows[0][j] * _det_by_minors(minor)
        total = total + term if j % 2 == 0 else total - term
    return total


def _as_rows(x, l):
    # Row slices first, then entries: in reverse mode each read of an entry adds a
    # dense adjoint of the sliced vector, so reading a row (length l) is cheaper than
    # reading x (length l^2) l^2 times.
    rows = [x[i * l:(i + 1) * l] for i in range(l)]
    return [[row[j] for j in range(l)] for row in rows]


@problem(name="det-minors", sizes={"l": [2, 3, 4, 5]}, n=lambda l: l * l, m=1,
         x0=lambda l: np.random.default_rng(314159).uniform(-1.0, 1.0, l * l),
         tags=["benchmark", "gradbench", "scalar"],
         description="det A for A (l x l, row-major in x) by cofactor expansion, l! terms: "
                     "GradBench evals/det_by_minor (from cmpad det_by_minor)")
def det_minors(x, xp, l):
    """The determinant by expansion by minors along the first row (GradBench
    ``evals/det_by_minor``, from cmpad): an absurd algorithm for det, but a clean
    source of l! e floating-point operations on scalars.

    x is A in row-major order, x0 ~ U(-1, 1) from seed 314159. The gradient is the
    cofactor matrix, d det A / d A_ij = (-1)^(i+j) det(A without row i and column j)
    = adj(A)_ji. Default sizes l in {2, 3, 4, 5} (n = 4 to 25).
    """
    return _det_by_minors(_as_rows(x, l))


@det_minors.manual
def _(x, xp, l):
    rows = _as_rows(x, l)
    if l == 1:
        return [[1.0]]
    cofactors = []
    for i in range(l):
        for j in range(l):
            minor = [row[:j] + row[j + 1:] for k, row in enumerate(rows) if k != i]
            d = _det_by_minors(minor)
            cofactors.append(d if (i + j) % 2 == 0 else -d)
    return [cofactors]


def _lotka_volterra(y, p):
    prey, predator = y
    a, b, g, d = p
    return [a * prey - b * prey * predator, d * prey * predator - g * predator]


ODE_T_END = 1.0


@problem(name="ode-rk4", sizes={"s": [1, 2, 4, 8]}, n=6, m=2,
         x0=[1.0, 0.5, 1.5, 1.0, 3.0, 1.0], tags=["benchmark", "scalar", "loop"],
         description="s classical RK4 steps on [0, 1] of the Lotka-Volterra system u' = a u - "
                     "b u v, v' = d u v - g v; x = (u0, v0, a, b, g, d): after GradBench "
                     "evals/ode (cmpad an_ode)")
def ode_rk4(x, xp, s):
    """The state at t = 1 of s explicit RK4 steps of the Lotka-Volterra equations.

    u' = a u - b u v (prey), v' = d u v - g v (predators); x = (u(0), v(0), a, b, g,
    d), default (1, 0.5, 1.5, 1, 3, 1); step h = 1/s; output (u, v)(1), R^6 -> R^2.
    The loop over steps is what a tape must record. After GradBench ``evals/ode``
    (cmpad's an_ode, which uses a linear system instead). Default sizes s in {1, 2,
    4, 8}. Every stage reuses the state, so the expression tree of f grows ~175-fold
    per step (1,156 nodes at s = 1, 2.0e5 at s = 2, 6.2e9 at s = 4): symbolic
    differentiation takes ~100 s at s = 2 and exceeds its size budget from s = 3.
    """
    y, params = [x[0], x[1]], [x[2], x[3], x[4], x[5]]
    h = ODE_T_END / s
    for _ in range(s):
        k1 = _lotka_volterra(y, params)
        k2 = _lotka_volterra([y[i] + 0.5 * h * k1[i] for i in range(2)], params)
        k3 = _lotka_volterra([y[i] + 0.5 * h * k2[i] for i in range(2)], params)
        k4 = _lotka_volterra([y[i] + h * k3[i] for i in range(2)], params)
        y = [y[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) for i in range(2)]
    return xp.stack(y)


def _lv_tangent(y, S, p):
    """The vector field and its derivative along the sensitivities S = dy/dx (2 x 6)."""
    prey, predator = y
    a, b, g, d = p
    fy = [[a - b * predator, -b * prey], [d * predator, d * prey - g]]
    fp = [[0.0, 0.0, prey, -prey * predator, 0.0, 0.0],
          [0.0, 0.0, 0.0, 0.0, -predator, prey * predator]]
    dS = [[fy[i][0] * S[0][j] + fy[i][1] * S[1][j] + fp[i][j] for j in range(6)]
          for i in range(2)]
    return _lotka_volterra(y, p), dS


@ode_rk4.manual
def _(x, xp, s):
    # Discrete forward sensitivities: the RK4 scheme differentiated stage by stage
    # (exact for the discrete map, unlike integrating the continuous sensitivity ODE).
    y, params = [x[0], x[1]], [x[2], x[3], x[4], x[5]]
    S = [[1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]]
    h = ODE_T_END / s
    for _ in range(s):
        k1, dk1 = _lv_tangent(y, S, params)
        stages, dstages = [k1], [dk1]
        for c in (0.5, 0.5, 1.0):
            k, dk = stages[-1], dstages[-1]
            yc = [y[i] + c * h * k[i] for i in range(2)]
            Sc = [[S[i][j] + c * h * dk[i][j] for j in range(6)] for i in range(2)]
            k_next, dk_next = _lv_tangent(yc, Sc, params)
            stages.append(k_next)
            dstages.append(dk_next)
        weighted = list(zip((1.0, 2.0, 2.0, 1.0), stages, dstages, strict=True))
        y = [y[i] + h / 6.0 * sum(w * k[i] for w, k, _ in weighted) for i in range(2)]
        S = [[S[i][j] + h / 6.0 * sum(w * dk[i][j] for w, _, dk in weighted)
              for j in range(6)] for i in range(2)]
    return S


def _kmeans_draw(k, d, N):
    rng = np.random.default_rng(1994)
    centres = rng.uniform(-3.0, 3.0, size=(k, d))
    points = centres[np.arange(N) % k] + 0.5 * rng.normal(size=(N, d))
    start = centres + 0.3 * rng.normal(size=(k, d))
    nearest = np.argmin(((points[:, None, :] - start[None, :, :]) ** 2).sum(axis=2), axis=1)
    return points, start, np.eye(k)[nearest]


def _kmeans_data(k, d, N):
    points, _, assign = _kmeans_draw(k, d, N)
    return {"points": points, "assign": assign}


@problem(name="kmeans", sizes={"k": [2, 3], "d": [2], "N": [12]}, n=lambda k, d, N: k * d,
         m=1, x0=lambda k, d, N: _kmeans_draw(k, d, N)[1].ravel(), data=_kmeans_data,
         tags=["benchmark", "gradbench", "array"],
         description="sum_i |C_(a(i)) - P_i|^2 over k centroids C in R^d, assignments a(i) "
                     "fixed (nearest centroid at x0): the cost of GradBench evals/kmeans")
def kmeans(x, xp, k, d, points, assign):
    """The k-means cost with the assignments frozen, so that it is smooth.

    f(C) = sum_i |C_(a(i)) - P_i|^2, C = x reshaped k x d, a(i) the centroid nearest
    to P_i at x0 (a one-hot N x k matrix in the data). GradBench's ``evals/kmeans``
    uses sum_i min_j |C_j - P_i|^2, which equals this near x0 (away from ties) and
    has the same derivatives there. Its Newton step J H^-1 ("dir") needs only the
    Hessian diagonal, 2 |cluster j| per coordinate: the Hessian is diagonal, which
    GradBench computes as one Hessian-vector product with a vector of ones
    (Bottou and Bengio 1994). Data: N points around k centres in [-3, 3]^d, x0 the
    centres plus noise (seed 1994). Default sizes k in {2, 3}, d = 2, N = 12.
    """
    C = xp.reshape(x, (k, d))
    r = assign @ C - points
    return xp.sum(r * r)


@kmeans.manual
def _(x, xp, k, d, points, assign):
    C = xp.reshape(x, (k, d))
    counts = np.sum(assign, axis=0).reshape(k, 1)
    return xp.reshape(2.0 * (counts * C - assign.T @ points), (1, k * d))
