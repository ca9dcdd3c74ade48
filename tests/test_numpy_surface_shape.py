"""The shape and indexing functions of xp, and the array methods numpy users
write, checked as autograd's numpy tests check them (the function-and-shape
cases of HIPS autograd's tests/test_numpy.py, transcribed into f(x, xp) form).

Every case is a function f(x, xp) whose names are numpy's, so that the same
function runs on numpy itself: the float64 value must equal numpy's exactly,
the mpmath namespace must give the same value, and adbench.ad's jacfwd, jacrev,
grad and hessian must agree with central differences.
"""

import mpmath
import numpy as np
import pytest

from adbench import ad
from adbench.interpret import primitives as P
from adbench.interpret.counting import count_ops
from adbench.interpret.xp import XP_FUNCTIONS, mpmath_xp, numpy_xp, sympy_xp
from adbench.measure import harness
from adbench.problem import problem

RNG = np.random.default_rng(11)

#: (label, f(x, xp), shape of x): autograd's cases, in its shapes.
CASES = [
    ("squeeze", lambda x, xp: xp.squeeze(x), (5, 1, 4)),
    ("squeeze-method", lambda x, xp: x.squeeze(), (5, 1, 4)),
    ("squeeze-axis", lambda x, xp: xp.squeeze(x, axis=1), (5, 1, 4)),
    ("repeat-axis1", lambda x, xp: xp.repeat(x, 2, axis=1), (5, 3, 4)),
    ("repeat-axis1-rep1", lambda x, xp: xp.repeat(x, 1, axis=1), (5, 3, 4)),
    ("repeat-axis0", lambda x, xp: xp.repeat(x, 2, axis=0), (5, 3)),
    ("repeat-1d-axis0", lambda x, xp: xp.repeat(x, 2, axis=0), (5,)),
    ("repeat-axis0-rep1", lambda x, xp: xp.repeat(x, 1, axis=0), (5, 1)),
    ("repeat-flat-counts", lambda x, xp: xp.repeat(x, [1, 0, 3, 2]), (2, 2)),
    ("repeat-method", lambda x, xp: x.repeat(2, axis=0), (3,)),
    ("expand-dims", lambda x, xp: xp.expand_dims(x, 2), (5, 1, 4)),
    ("expand-dims-tuple", lambda x, xp: xp.expand_dims(x, (0, -1)), (3,)),
    ("roll", lambda x, xp: xp.roll(x, 2, axis=1), (4, 5)),
    ("roll-no-axis", lambda x, xp: xp.roll(x, 2), (4, 5)),
    ("roll-tuple", lambda x, xp: xp.roll(x, (1, -2), axis=(0, 1)), (4, 5)),
    ("flipud", lambda x, xp: xp.flip(x, 0), (10, 11)),
    ("fliplr", lambda x, xp: xp.flip(x, axis=1), (10, 11)),
    ("flip-all", lambda x, xp: xp.flip(x), (2, 3, 2)),
    ("tile", lambda x, xp: xp.tile(x, (2, 1, 3)), (2, 3)),
    ("tile-int", lambda x, xp: xp.tile(x, 3), (2,)),
    ("moveaxis", lambda x, xp: xp.moveaxis(x, 0, -1), (2, 3, 4)),
    ("moveaxis-tuple", lambda x, xp: xp.moveaxis(x, (0, 1), (2, 0)), (2, 3, 4)),
    ("split-1d", lambda x, xp: xp.split(x, 2)[0], (10,)),
    ("split-2d", lambda x, xp: xp.split(x, [1, 3], axis=1)[1], (4, 5)),
    ("split-all", lambda x, xp: xp.concatenate([p * (k + 1.0) for k, p in
                                               enumerate(xp.split(x, 3))]), (6,)),
    ("vstack-1d", lambda x, xp: xp.vstack([x, 2.0 * x]), (4,)),
    ("vstack-2d", lambda x, xp: xp.vstack([x, x[:1]]), (2, 3)),
    ("hstack-1d", lambda x, xp: xp.hstack([x, x[:2]]), (4,)),
    ("hstack-2d", lambda x, xp: xp.hstack([x, x[:, :1]]), (2, 3)),
    ("pad-constant", lambda x, xp: xp.pad(x, ((1, 0), (2, 1))), (2, 3)),
    ("pad-value", lambda x, xp: xp.pad(x, 2, constant_values=1.5), (3,)),
    ("pad-edge", lambda x, xp: xp.pad(x, ((1, 2), (0, 1)), mode="edge"), (2, 3)),
    ("pad-reflect", lambda x, xp: xp.pad(x, 2, mode="reflect"), (4,)),
    ("pad-symmetric", lambda x, xp: xp.pad(x, (1, 3), mode="symmetric"), (3,)),
    ("pad-wrap", lambda x, xp: xp.pad(x, ((1, 1), (2, 0)), mode="wrap"), (2, 3)),
    ("sort", lambda x, xp: xp.sort(x), (10,)),
    ("sort-axis0", lambda x, xp: xp.sort(x, axis=0), (4, 3)),
    ("sort-none", lambda x, xp: xp.sort(x, axis=None), (3, 2)),
    ("take", lambda x, xp: xp.take(x, [2, 0, 2, -1]), (5,)),
    ("take-axis", lambda x, xp: xp.take(x, [1, 1, 0], axis=1), (2, 3)),
    ("take-method", lambda x, xp: x.take(1, axis=0), (3, 2)),
    # the compositions (adbench/interpret/compositions.py), in autograd's shapes
    ("fliplr-comp", lambda x, xp: xp.fliplr(x), (5, 3)),
    ("flipud-comp", lambda x, xp: xp.flipud(x), (5, 3)),
    ("rot90", lambda x, xp: xp.rot90(x), (5, 3)),
    ("rot90-k2-axes", lambda x, xp: xp.rot90(x, 2, axes=(1, 2)), (2, 3, 4)),
    ("rot90-k-1", lambda x, xp: xp.rot90(x, -1), (5, 3)),
    ("rollaxis", lambda x, xp: xp.rollaxis(x, 2), (2, 3, 4)),
    ("rollaxis-start", lambda x, xp: xp.rollaxis(x, 0, 2), (2, 3, 4)),
    ("atleast-1d-scalar", lambda x, xp: xp.atleast_1d(x[1]) * x, (3,)),
    ("atleast-2d", lambda x, xp: xp.atleast_2d(x), (3,)),
    ("atleast-3d", lambda x, xp: xp.atleast_3d(x), (3,)),
    ("atleast-3d-matrix", lambda x, xp: xp.atleast_3d(x), (2, 3)),
    ("atleast-2d-several", lambda x, xp: xp.concatenate(
        [xp.ravel(a) for a in xp.atleast_2d(x, x[0])]), (3,)),
    ("row-stack", lambda x, xp: xp.vstack([x, 2.0 * x]) if xp is np else
     xp.row_stack([x, 2.0 * x]), (4,)),  # numpy 2.4 warns that row_stack is vstack
    ("column-stack", lambda x, xp: xp.column_stack([x, x[::-1]]), (4,)),
    ("column-stack-2d", lambda x, xp: xp.column_stack([x, x[:, :1]]), (2, 3)),
    ("append", lambda x, xp: xp.append(x, x[:2]), (2, 3)),
    ("append-axis", lambda x, xp: xp.append(x, x[:1], axis=0), (2, 3)),
    ("array-split", lambda x, xp: xp.concatenate([p * (k + 1.0) for k, p in
                                                 enumerate(xp.array_split(x, 3))]), (7,)),
    ("array-split-axis1", lambda x, xp: xp.array_split(x, 2, axis=1)[1], (2, 5)),
    ("hsplit", lambda x, xp: xp.hsplit(x, 2)[1], (4, 6)),
    ("hsplit-1d", lambda x, xp: xp.hsplit(x, [2])[0], (5,)),
    ("vsplit", lambda x, xp: xp.vsplit(x, 2)[0], (4, 3)),
    ("dsplit", lambda x, xp: xp.dsplit(x, [1, 3])[1], (2, 2, 4)),
    ("diff", lambda x, xp: xp.diff(x), (5,)),
    ("diff-n2-axis0", lambda x, xp: xp.diff(x, 2, axis=0), (5, 3)),
    ("diff-prepend-append", lambda x, xp: xp.diff(x, prepend=0.5, append=x[-1:] * 2.0), (5,)),
    ("gradient", lambda x, xp: xp.gradient(x), (6,)),
    ("gradient-spacing-order2", lambda x, xp: xp.gradient(x, 0.5, edge_order=2), (6,)),
    ("gradient-coordinates", lambda x, xp: xp.gradient(
        x, np.array([0.0, 0.2, 0.5, 0.6, 1.0, 1.7]), edge_order=2), (6,)),
    ("gradient-coordinates-order1", lambda x, xp: xp.gradient(
        x, [0.0, 0.2, 0.5, 0.6, 1.0, 1.7]), (6,)),
    ("gradient-2d", lambda x, xp: xp.stack(xp.gradient(x, 2.0, [0.0, 1.0, 3.0])), (4, 3)),
    ("gradient-axis", lambda x, xp: xp.gradient(x, axis=1, edge_order=2), (3, 4)),
    ("cross", lambda x, xp: xp.cross(x[0], x[1]), (2, 3)),
    ("cross-rows", lambda x, xp: xp.cross(x[:2], x[2:]), (4, 3)),
    ("cross-axis0", lambda x, xp: xp.cross(x[:, :2], x[:, 2:], axis=0), (3, 4)),
    ("cross-axes-abc", lambda x, xp: xp.cross(x[:, :2], x[0, :3], axisa=0, axisc=0), (3, 4)),
    ("linspace", lambda x, xp: xp.linspace(x[0], x[1], 7), (2,)),
    ("linspace-open", lambda x, xp: xp.linspace(x[0], x[1], 4, endpoint=False), (2,)),
    ("linspace-arrays-axis", lambda x, xp: xp.linspace(x[:2], x[2:], 3, axis=1), (4,)),
    ("linspace-retstep", lambda x, xp: xp.linspace(x[0], x[1], 5, retstep=True)[1] * x, (2,)),
    ("r_", lambda x, xp: xp.r_[x, x[:2]], (3,)),
    ("r_-scalar-slice", lambda x, xp: xp.r_[x, 1.5, 0:3] * xp.r_[x[0], x, x[1:], x[2]], (3,)),
    ("r_-matrices", lambda x, xp: xp.r_[x, 2.0 * x], (2, 3)),
    ("c_", lambda x, xp: xp.c_[x, 2.0 * x], (3,)),
    ("c_-matrices", lambda x, xp: xp.c_[x, x[:, ::-1]], (2, 3)),
    ("c_-row-and-scalars", lambda x, xp: xp.c_[x[None], 0.5, x[None]], (3,)),
    # array methods
    ("reshape-method", lambda x, xp: x.reshape((5 * 4, 6)), (5, 6, 4)),
    ("reshape-method-nolist", lambda x, xp: x.reshape(5 * 4, 6), (5, 6, 4)),
    ("ravel-method", lambda x, xp: x.ravel(), (5, 6, 4)),
    ("flatten-method", lambda x, xp: x.flatten(), (2, 3)),
    ("transpose-T", lambda x, xp: x.T, (8, 8)),
    ("sum-method", lambda x, xp: x.sum(axis=1), (3, 4)),
    ("mean-method", lambda x, xp: x.mean(axis=0, keepdims=True), (3, 4)),
    ("max-method", lambda x, xp: x.max(), (10, 11)),
    ("min-method", lambda x, xp: x.min(), (10, 11)),
    ("min-axis", lambda x, xp: x.min(axis=1), (3, 4, 5)),
    ("min-axis-keepdims", lambda x, xp: x.min(axis=1, keepdims=True), (3, 4, 5)),
    ("dot-method", lambda x, xp: x.dot(x[0]), (3, 3)),
    ("swapaxes-method", lambda x, xp: x.swapaxes(0, 1), (2, 3)),
    ("shape-attributes", lambda x, xp: x * (x.shape[0] + 10.0 * x.ndim + 100.0 * x.size),
     (2, 3)),
]


def _point(shape):
    return RNG.uniform(-2.0, 2.0, shape)  # distinct entries: no ties in sort, max, min


def _central(f, x, h=1e-6):
    """Central differences of f: R^n -> R^m at the flat x, as m x n."""
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        cols.append((np.ravel(f(x + e)) - np.ravel(f(x - e))) / (2 * h))
    return np.array(cols).T


@pytest.mark.parametrize("label,f,shape", CASES, ids=[c[0] for c in CASES])
def test_value_derivatives_and_mpmath_agree(label, f, shape):
    x = _point(shape)
    value = np.asarray(f(x, numpy_xp))
    np.testing.assert_array_equal(value, f(x.copy(), np))  # the numpy function itself
    mp = np.array([mpmath.mpf(float(v)) for v in x.ravel()], dtype=object).reshape(shape)
    np.testing.assert_allclose(np.asarray(f(mp, mpmath_xp), dtype=float), value, rtol=1e-15)

    def flat(v, xp):
        return P.ravel(P.asarray(f(P.reshape(v, shape), xp)))
    v0 = x.ravel()
    expected = _central(lambda v: flat(v, numpy_xp), v0)
    m = expected.shape[0]
    for mode in (ad.jacfwd, ad.jacrev):
        J = np.reshape(mode(flat)(v0), (m, v0.size))
        np.testing.assert_allclose(J, expected, atol=1e-8, err_msg=f"{label} {mode.__name__}")
    w = RNG.uniform(0.5, 1.5, m)

    def scalar(v, xp):
        return xp.sum(xp.sin(flat(v, xp)) * w)
    g = ad.grad(scalar)
    np.testing.assert_allclose(g(v0), _central(lambda v: scalar(v, numpy_xp), v0)[0],
                               atol=1e-8)
    if v0.size <= 24:  # second derivatives: central differences of the gradient
        np.testing.assert_allclose(np.reshape(ad.hessian(scalar)(v0), (v0.size, v0.size)),
                                   _central(g, v0), atol=1e-6)


def test_every_name_of_the_family_is_in_every_namespace():
    names = ["squeeze", "expand_dims", "tile", "repeat", "flip", "roll", "moveaxis", "vstack",
             "hstack", "split", "pad", "sort", "take", "argsort", "argmax", "argmin"]
    for name in names:
        assert name in XP_FUNCTIONS
        for ns in (numpy_xp, mpmath_xp, sympy_xp):
            assert callable(getattr(ns, name)), (name, ns.name)


def test_rearrangements_do_no_arithmetic():
    x = _point((4, 5))
    for label, f, shape in CASES:
        if not label.startswith(("squeeze", "repeat", "roll", "flip", "tile", "take", "sort",
                                 "moveaxis", "split-1d", "split-2d", "pad-edge", "pad-wrap",
                                 "expand")):
            continue
        counts = count_ops(lambda v, f=f: f(v, numpy_xp), _point(shape))
        assert counts.ops == 0, (label, counts)
    # a constant pad adds its constants to the scattered entries: one add per entry
    assert count_ops(lambda v: numpy_xp.pad(v, 1, constant_values=2.0), x).ops == 6 * 7


# --------------------------------------------------------------------------
# sort: the permutation, and its ties
# --------------------------------------------------------------------------

def test_sort_derivative_is_the_permutation_of_argsort():
    x = np.array([0.3, -1.2, 2.5, 0.9])
    order = np.argsort(x)
    for mode in (ad.jacfwd, ad.jacrev):
        np.testing.assert_array_equal(mode(lambda v, xp: xp.sort(v))(x), np.eye(4)[order])
    np.testing.assert_array_equal(numpy_xp.argsort(x), order)
    assert numpy_xp.argmax(x) == 2 and numpy_xp.argmin(x) == 1


def test_sort_splits_ties_evenly_like_max():
    x = np.array([3.0, 1.0, 3.0, 2.0])
    expected = np.array([[0, 1, 0, 0], [0, 0, 0, 1], [0.5, 0, 0.5, 0], [0.5, 0, 0.5, 0]])
    for mode in (ad.jacfwd, ad.jacrev):
        np.testing.assert_array_equal(mode(lambda v, xp: xp.sort(v))(x), expected)
    np.testing.assert_array_equal(ad.grad(lambda v, xp: xp.sort(v)[-1])(x),
                                  ad.grad(lambda v, xp: xp.max(v))(x))
    # ties within rows only: along axis 0 the columns are separate groups
    X = np.array([[1.0, 2.0], [1.0, 0.0]])
    J = ad.jacrev(lambda v, xp: xp.sort(P.reshape(v, (2, 2)), axis=0))(X.ravel())
    np.testing.assert_array_equal(np.reshape(J, (4, 4)),
                                  [[.5, 0, .5, 0], [0, 0, 0, 1], [.5, 0, .5, 0], [0, 1, 0, 0]])


def test_argsort_argmax_argmin_on_boxes_are_plain_integers():
    def f(v, xp):
        i = xp.argmax(v)
        assert isinstance(i, np.integer) and i == v.argmax() == 1
        assert list(v.argsort()) == [2, 0, 1] and v.argmin() == 2
        return v[i] * v[xp.argmin(v)]
    np.testing.assert_array_equal(ad.grad(f)(np.array([0.5, 2.0, -1.0])), [0.0, -1.0, 2.0])


def test_refusals_name_the_problem():
    x = np.arange(6.0)
    with pytest.raises(ValueError, match="mode 'mean' is not supported"):
        numpy_xp.pad(x, 1, mode="mean")
    with pytest.raises(ValueError, match="does not split into 4 equal"):
        numpy_xp.split(x, 4)
    with pytest.raises(ValueError, match="length other than 1"):
        numpy_xp.squeeze(x.reshape(2, 3), axis=0)
    with pytest.raises(IndexError, match="integers"):
        numpy_xp.take(x, [0.5])


# --------------------------------------------------------------------------
# methods on every interpretation: a problem written with array methods
# --------------------------------------------------------------------------

@problem(name="array-methods", n=6, m=2, x0=np.linspace(0.3, 1.8, 6))
def array_methods(x, xp):
    A = x.reshape(2, 3)
    B = A.T.reshape((3, 2))
    s = A.sum(axis=1) + A.mean(axis=0).dot(B) + A.ravel()[:2] * (A.ndim + A.shape[1] + A.size)
    return s + xp.flip(x)[:2] * xp.roll(x, 1)[1:3] + xp.pad(x[:1], (0, 1))


@problem(name="array-extrema", n=4, m=1, x0=np.array([0.3, 1.7, -0.4, 0.9]))
def array_extrema(x, xp):
    return x.max() - 2.0 * x.min() + xp.tile(x[:2], 2).dot(xp.sort(x))


@pytest.mark.parametrize("prob,methods", [
    (array_methods, ["ad-forward", "ad-reverse", "symbolic", "fd-central", "fd-complex"]),
    # SymPy cannot order symbols (max, min, sort): symbolic has no closed form to offer
    (array_extrema, ["ad-forward", "ad-reverse", "fd-central"]),
])
def test_array_methods_on_every_interpretation(prob, methods):
    """float64 (fd), boxes (ad), mpmath (the reference), SymPy (symbolic),
    complex values (complex step) and op counting (the ops metric)."""
    df = harness.run([prob], methods=methods, isolate=False, timeout=None)
    for _, row in df.iterrows():
        assert row["status"] == "ok", (row["method"], row["message"])
        assert row["max_rel_error"] <= row["tolerance"]
        assert row["ops_derivative"] > 0
