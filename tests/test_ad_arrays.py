"""The engine on array programs: each array feature in forward and reverse
mode, against central differences, against the other mode and, where short,
against the hand-written derivative."""

import numpy as np
import pytest

from adbench.ad import grad, jacfwd, jacrev, jvp, vjp
from adbench.interpret import primitives as P
from adbench.interpret.xp import numpy_xp as xp_numpy

RNG = np.random.default_rng(20180153)


def fd_jacobian(f, x, h=1e-6):
    """Central differences, column by column: an oracle that shares no code with AD."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(f(x, np), dtype=float)
    J = np.zeros(y.shape + x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        J[(Ellipsis,) + i] = (np.asarray(f(x + e, np)) - np.asarray(f(x - e, np))) / (2 * h)
    return J


def assert_jacobians(f, x, expected=None):
    """Forward and reverse mode agree to rounding, match central differences,
    and match ``expected`` (the hand formula) when given."""
    x = np.asarray(x, dtype=float)
    Jf, Jr = np.asarray(jacfwd(f)(x)), np.asarray(jacrev(f)(x))
    y = np.asarray(f(x, np))
    assert Jf.shape == Jr.shape == y.shape + x.shape
    np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Jf, fd_jacobian(f, x), rtol=1e-6, atol=1e-7)
    if expected is not None:
        np.testing.assert_allclose(Jf, expected, rtol=1e-12, atol=1e-12)
    return Jf


# --------------------------------------------------------------------------
# broadcasting
# --------------------------------------------------------------------------

def test_broadcast_column_plus_row_sums_cotangents_back():
    def f(x, xp):
        col = xp.reshape(x[:3], (3, 1))
        row = xp.reshape(x[3:], (1, 4))
        return col * row + col
    x = RNG.random(7)
    J = assert_jacobians(f, x)
    # reverse mode with a ones cotangent: d/dcol_i sum_j (col_i row_j + col_i) = sum(row) + 4
    _, g = vjp(f)(x, np.ones((3, 4)))
    np.testing.assert_allclose(g[:3], np.sum(x[3:]) + 4)
    np.testing.assert_allclose(g[3:], np.sum(x[:3]))
    assert J.shape == (3, 4, 7)


def test_scalar_times_matrix_and_vector_times_matrix():
    A = RNG.random((3, 4))
    assert_jacobians(lambda x, xp: x[0] * A + x[1:] * A, RNG.random(5))


def test_broadcast_against_a_constant_array_of_higher_rank():
    B = RNG.random((2, 3, 4))
    x = RNG.random((3, 1))
    assert_jacobians(lambda x, xp: xp.exp(x) * B, x)


# --------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------

@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 1), False),
                                           (-1, False)])
def test_sum_along_axes(axis, keepdims):
    x = RNG.random((3, 4))
    assert_jacobians(lambda x, xp: xp.sum(x * x, axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True)])
def test_mean_along_axes(axis, keepdims):
    x = RNG.random((3, 4))
    J = assert_jacobians(lambda x, xp: xp.mean(x, axis=axis, keepdims=keepdims), x)
    count = 12 if axis is None else x.shape[axis]
    assert np.allclose(J[J != 0], 1 / count)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True)])
def test_max_along_axes_picks_the_argmax(axis, keepdims):
    x = RNG.permutation(12).reshape(3, 4) / 7.0  # distinct entries: no ties
    J = assert_jacobians(lambda x, xp: xp.max(x, axis=axis, keepdims=keepdims), x)
    # one-hot rows: each output entry has derivative 1 with respect to its argmax only
    rows = J.reshape(-1, x.size)
    assert np.all((rows == 0) | (rows == 1)) and np.all(rows.sum(axis=1) == 1)
    np.testing.assert_array_equal(rows @ x.ravel(),
                                  np.max(x, axis=axis, keepdims=keepdims).ravel())


def test_max_splits_the_derivative_evenly_between_ties():
    g = grad(lambda x, xp: xp.max(x))(np.array([1.0, 3.0, 3.0]))
    np.testing.assert_allclose(g, [0.0, 0.5, 0.5])
    _, t = jvp(lambda x, xp: xp.max(x))(np.array([1.0, 3.0, 3.0]), np.array([0.0, 1.0, 0.0]))
    assert t == pytest.approx(0.5)


# --------------------------------------------------------------------------
# matmul and dot
# --------------------------------------------------------------------------

MATMUL_SHAPES = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)), ((3, 4), (4, 2)),
                 ((2, 3, 4), (4, 2)), ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5)),
                 ((4,), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_in_every_rank_combination(sa, sb):
    na = int(np.prod(sa))
    x = RNG.standard_normal(na + int(np.prod(sb)))

    def f(x, xp):
        return xp.matmul(xp.reshape(x[:na], sa), xp.reshape(x[na:], sb))
    assert_jacobians(f, x)


def test_matrix_vector_product_has_the_hand_jacobian():
    A = RNG.standard_normal((3, 4))
    assert_jacobians(lambda x, xp: A @ x, RNG.standard_normal(4), expected=A)
    assert_jacobians(lambda x, xp: x @ A.T, RNG.standard_normal(4), expected=A)
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(grad(lambda x, xp: x @ A.T @ A @ x)(x), 2 * A.T @ A @ x)


@pytest.mark.parametrize("sa,sb", [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)),
                                   ((3, 4), (4, 2)), ((), (3,)), ((2, 3, 4), (4,))])
def test_dot(sa, sb):
    na = int(np.prod(sa))
    x = RNG.standard_normal(na + int(np.prod(sb)))

    def f(x, xp):
        a = xp.reshape(x[:na], sa) if sa else x[0]
        return xp.dot(a, xp.reshape(x[na:], sb))
    assert_jacobians(f, x)


def test_dot_with_a_stack_second_argument_is_numpys():
    # numpy.dot pairs every stack of a with every stack of b (not matmul's broadcast)
    from adbench.interpret import primitives as P
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(P.dot(a, b), np.dot(a, b), rtol=1e-14)


# --------------------------------------------------------------------------
# indexing and slicing
# --------------------------------------------------------------------------

INDICES = [1, -1, slice(1, 3), slice(None, None, -1), slice(-3, None), [0, 2, 0, 0],
           np.array([3, -1, 1]), (Ellipsis, 2)]


@pytest.mark.parametrize("idx", INDICES, ids=repr)
def test_vector_indexing(idx):
    x = RNG.random(5)
    J = assert_jacobians(lambda x, xp: x[idx] * 2.0, x)
    # scatter-add: each selection contributes 2 to the element it read
    hand = np.zeros(np.shape(x[idx]) + (5,))
    for out, i in enumerate(np.arange(5)[idx].reshape(-1)):
        hand.reshape(-1, 5)[out, i] += 2.0
    np.testing.assert_array_equal(J, hand)


@pytest.mark.parametrize("idx", [(1, 2), (-1, slice(None)), (slice(None), -1),
                                 ([0, 1, 1], [2, 0, 2]), (slice(0, 2), [3, 3]),
                                 (None, 1), (np.array([True, False, True]),)], ids=repr)
def test_matrix_indexing(idx):
    assert_jacobians(lambda x, xp: xp.sin(x)[idx], RNG.random((3, 4)))


def test_repeated_fancy_index_accumulates_in_reverse_mode():
    g = grad(lambda x, xp: xp.sum(x[[0, 0, 2, 0]] ** 2))(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, [3 * 2.0, 0.0, 6.0])


def test_many_scalar_reads_accumulate_into_one_gradient():
    x = RNG.random(200)

    def f(x, xp):
        total = 0.0
        for i in range(len(x)):
            total = total + x[i] * x[-1 - i]
        return total
    np.testing.assert_allclose(grad(f)(x), 2 * x[::-1])


def test_iterating_a_matrix_gives_rows():
    x = RNG.random((3, 2))
    assert_jacobians(lambda x, xp: xp.stack([r[0] * r[1] for r in x]), x)


# --------------------------------------------------------------------------
# structure: reshape, transpose, concatenate, stack
# --------------------------------------------------------------------------

def test_reshape_transpose_swapaxes_ravel():
    x = RNG.random(24)

    def f(x, xp):
        a = xp.reshape(x, (2, 3, 4))
        b = xp.transpose(a, (2, 0, 1)) * xp.swapaxes(a, 0, 2).transpose((0, 2, 1))
        return xp.ravel(b.T)[::5]
    assert_jacobians(f, x)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack(axis):
    x = RNG.random(12)

    def f(x, xp):
        a, b = xp.reshape(x[:6], (2, 3)), xp.reshape(x[6:], (2, 3))
        return xp.concatenate([a * b, xp.exp(a), b], axis=axis)

    def g(x, xp):
        a, b = xp.reshape(x[:6], (2, 3)), xp.reshape(x[6:], (2, 3))
        return xp.stack([a, b * a, np.ones((2, 3))], axis=axis)
    assert_jacobians(f, x)
    assert_jacobians(g, x)


def test_array_of_scalars_packs_into_one_array():
    assert_jacobians(lambda x, xp: xp.array([[x[0] * x[1], 1.0], [x[1], xp.sin(x[0])]]),
                     np.array([0.3, 0.8]),
                     expected=[[[0.8, 0.3], [0.0, 0.0]], [[0.0, 1.0], [np.cos(0.3), 0.0]]])


# --------------------------------------------------------------------------
# piecewise: where, maximum, minimum, abs
# --------------------------------------------------------------------------

def test_where_maximum_minimum_abs():
    x = np.array([-1.5, -0.3, 0.4, 2.0])

    def f(x, xp):
        return (xp.where(x > 0, x ** 2, -x) + xp.maximum(x, 0.1) * xp.minimum(x, 1.0)
                + xp.abs(x))
    hand = np.diag([-1 + 0.1 - 1, -1 + 0.1 - 1, 0.8 + 0.8 + 1, 4 + 1 + 1])
    assert_jacobians(f, x, expected=hand)


def test_relu_layer_gradient():
    W = RNG.standard_normal((3, 4))
    x = RNG.standard_normal(4)
    g = grad(lambda x, xp: xp.sum(xp.maximum(W @ x, 0.0)))(x)
    np.testing.assert_allclose(g, W.T @ (W @ x > 0).astype(float))


# --------------------------------------------------------------------------
# a stable log-sum-exp, and a small Gaussian-mixture log-likelihood
# --------------------------------------------------------------------------

def logsumexp(a, xp, axis=None):
    shift = xp.max(a, axis=axis, keepdims=True)
    return xp.sum(shift, axis=axis) + xp.log(xp.sum(xp.exp(a - shift), axis=axis))


def test_stable_logsumexp_gradient_is_softmax_even_for_huge_inputs():
    x = np.array([1000.0, 1001.0, 999.0])
    value = logsumexp(x, np)
    assert np.isfinite(value)
    softmax = np.exp(x - value)
    np.testing.assert_allclose(grad(lambda x, xp: logsumexp(x, xp))(x), softmax, rtol=1e-12)
    np.testing.assert_allclose(jacfwd(lambda x, xp: logsumexp(x, xp))(x), softmax, rtol=1e-12)


def test_logsumexp_along_an_axis():
    assert_jacobians(lambda x, xp: logsumexp(x, xp, axis=1), RNG.standard_normal((3, 4)))


def test_gaussian_mixture_log_likelihood_without_scalar_loops():
    points = RNG.standard_normal((20, 2))

    def loglik(x, xp):  # K = 3 isotropic components: weights logits, means, log-scales
        logits, means, logs = x[:3], xp.reshape(x[3:9], (3, 1, 2)), x[9:]
        d2 = xp.sum((points - means) ** 2, axis=2)                      # (3, 20)
        scale = xp.reshape(xp.exp(logs), (3, 1))
        logp = (xp.reshape(logits - logsumexp(logits, xp), (3, 1)) - d2 / (2 * scale ** 2)
                - 2 * xp.reshape(logs, (3, 1)) - np.log(2 * np.pi))
        return xp.sum(logsumexp(logp, xp, axis=0))
    x = RNG.standard_normal(12) * 0.5
    g = grad(loglik)(x)
    np.testing.assert_allclose(g, fd_jacobian(loglik, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g, jacfwd(loglik)(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("gs,fs,ts", [
    ((5, 4, 3), (5, 4, 3), (5, 4, 1)), ((5, 4, 3), (4, 1), (5, 1, 3)),
    ((5, 4, 3), (1, 4, 3), (3,)), ((5, 4, 3), (5, 4, 3), ()), ((4, 3), (3,), (4, 1)),
    # from EINSUM_SIZE elements on, the one-pass einsum
    ((64, 32, 17), (64, 32, 17), (64, 32, 1)), ((64, 32, 17), (32, 1), (1, 32, 17))])
def test_product_unbroadcast_is_unbroadcast_of_the_product(gs, fs, ts):
    from adbench.interpret.primitives import product_unbroadcast, unbroadcast
    g, f = RNG.random(gs), RNG.random(fs)
    fused = product_unbroadcast(g, f, ts)
    assert np.shape(fused) == ts
    np.testing.assert_allclose(fused, unbroadcast(g * f, ts), rtol=1e-12)


def test_the_logsumexp_primitive_matches_its_written_out_form():
    a = RNG.standard_normal((3, 4)) * 3
    for axis in (None, 0, 1, (0, 1)):
        np.testing.assert_allclose(xp_numpy.logsumexp(a, axis=axis),
                                   logsumexp(a, np, axis=axis), rtol=1e-14)
        # (xp_numpy: assert_jacobians also evaluates f with xp = numpy, which has no logsumexp)
        assert_jacobians(lambda x, xp, axis=axis: xp_numpy.logsumexp(x, axis=axis), a)
    assert_jacobians(lambda x, xp: xp_numpy.logsumexp(x, axis=1, keepdims=True) * x, a)
    huge = np.array([1000.0, 1001.0, 999.0])
    np.testing.assert_allclose(grad(lambda x, xp: xp.logsumexp(x))(huge),
                               np.exp(huge - logsumexp(huge, np)), rtol=1e-12)
    assert xp_numpy.logsumexp(np.full(3, -np.inf)) == -np.inf  # a slice of -inf: no nan


# --------------------------------------------------------------------------
# memory reuse in the backward sweep (arrays of REUSE_SIZE elements and more)
# --------------------------------------------------------------------------

def test_large_cotangents_reused_in_place_give_the_same_gradients():
    from adbench.ad.reverse import REUSE_SIZE
    n = REUSE_SIZE + 3
    x = RNG.standard_normal(n) * 0.5
    w = RNG.standard_normal(n)

    def f(x, xp):
        y = xp.exp(x) * w        # the cotangent of exp(x) * w is dying at the product
        z = y + y * x            # y feeds two uses: its adjoint is shared, never overwritten
        return xp.sum(z * z) + xp.sum(x * x)  # x * x: both contributions, one array

    def manual(x):
        y = np.exp(x) * w
        z = y + y * x
        dz = 2 * z
        dy = dz * (1 + x)
        return dy * np.exp(x) * w + dz * y + 2 * x

    g = grad(f)(x)
    np.testing.assert_allclose(g, manual(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(vjp(f)(x, 1.0)[1], g, rtol=0, atol=0)  # deterministic
    t = RNG.standard_normal(n)
    np.testing.assert_allclose(jvp(f)(x, t)[1], g @ t, rtol=1e-12)


def test_a_cotangent_the_caller_holds_is_never_written_to():
    from adbench.ad.reverse import REUSE_SIZE
    n = REUSE_SIZE
    x = RNG.standard_normal(n)
    u = RNG.standard_normal(n)
    before = u.copy()
    _, g = vjp(lambda x, xp: x * 3.0)(x, u)
    np.testing.assert_array_equal(u, before)
    np.testing.assert_array_equal(g, 3.0 * before)


def test_a_private_adjoint_is_added_to_in_place_and_a_shared_one_is_not():
    from adbench.ad.reverse import _add_to
    adjoints = [np.ones(4), None]
    address = id(adjoints[0])  # an id holds no reference
    _add_to(adjoints, 0, np.full(4, 2.0))
    assert id(adjoints[0]) == address  # nothing else refers to it: updated in place
    np.testing.assert_array_equal(adjoints[0], np.full(4, 3.0))
    shared = adjoints[0]
    _add_to(adjoints, 0, np.ones(4))
    assert adjoints[0] is not shared  # the caller's reference is left alone
    np.testing.assert_array_equal(shared, np.full(4, 3.0))
    np.testing.assert_array_equal(adjoints[0], np.full(4, 4.0))
    _add_to(adjoints, 1, 2.5)
    _add_to(adjoints, 1, 0.5)
    assert adjoints[1] == 3.0


@pytest.mark.parametrize("b_shape", [(1, 8, 128), (8, 128)])
def test_matmul_vjp_of_a_stack_times_one_large_matrix(b_shape):
    # from GEMM_SIZE cotangent entries the VJP is one product of two matrices:
    # it must equal the stacked products, summed where b was broadcast
    rng = np.random.default_rng(5)
    a = rng.standard_normal((40, 8, 8))
    b = rng.standard_normal(b_shape)
    g = rng.standard_normal((40, 8, 128))
    assert g.size >= P.GEMM_SIZE
    expected = np.matmul(g, np.swapaxes(b.reshape(1, 8, 128), -1, -2))
    np.testing.assert_allclose(P.matmul_p.vjp(0, g, (a, b), None), expected, rtol=1e-12)
    stacked_b = np.einsum("kij,kil->jl", a, g).reshape(b_shape)
    np.testing.assert_allclose(P.matmul_p.vjp(1, g, (a, b), None), stacked_b, rtol=1e-12,
                               atol=1e-11)
