"""adbench.ad.compile_grad: a tape compiled once gives the engine's gradient at other
points, and records again wherever the path through the program changes."""

import warnings

import numpy as np
import pytest

from adbench.ad import PASSES, compile_grad, compile_jacrev, grad, jacrev
from adbench.registry import load_registry
from adbench.studies import fuzz as F

REGISTRY = load_registry()


def scalarised(inst, weights):
    """u . f(x): a scalar function of every output of the instance."""
    def f(x, xp):
        return xp.sum(xp.reshape(inst.f(x, xp), (-1,)) * weights)
    return f


INSTANCES = [inst for prob in REGISTRY.problems.values() for inst in prob.instances()]


@pytest.mark.parametrize("inst", INSTANCES, ids=lambda inst: inst.label)
def test_compiled_gradient_matches_the_engine_at_a_new_point(inst):
    rng = np.random.default_rng(7)
    f = scalarised(inst, rng.uniform(0.5, 1.5, inst.m))
    x0 = np.asarray(inst.x0, dtype=float)
    x1 = x0 * (1.0 + 1e-3 * rng.standard_normal(x0.shape))
    g = compile_grad(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # also: the compiled check passed
        np.testing.assert_array_equal(g(x0), grad(f)(x0))  # the first call is the engine's
        expected = grad(f)(x1)
        got = g(x1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)
    # every problem of the library is compiled, and its path held at the nearby point
    assert g.stats == {"calls": 2, "recorded": 1, "compiled": 1, "ordinary": 0}
    # and the Jacobian of every output, by m compiled reverse sweeps
    J = compile_jacrev(inst.f)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        J(x0)
        np.testing.assert_allclose(J(x1), jacrev(inst.f)(x1), rtol=1e-12, atol=1e-300)
    assert J.stats == {"calls": 2, "recorded": 1, "compiled": 1, "ordinary": 0}


def test_registry_sweep_covers_scalar_and_array_programs():
    labels = {inst.label for inst in INSTANCES}
    assert {"helmholtz[n=50]", "gmm[D=2,K=5,N=10]", "piecewise", "kmeans[k=2,d=2,N=12]"} <= labels


def test_a_branch_taken_differently_records_the_new_path():
    def f(x, xp):
        if x[0] > 0:          # a guard on x[0]
            return xp.sum(x * x)
        return xp.sum(xp.sin(x))
    g = compile_grad(f)
    pos, neg = np.array([1.0, 2.0]), np.array([-1.0, 2.0])
    np.testing.assert_allclose(g(pos), 2 * pos)
    np.testing.assert_allclose(g(pos * 3), 6 * pos)              # compiled
    np.testing.assert_allclose(g(neg), np.cos(neg))              # guard fails: recorded
    np.testing.assert_allclose(g(neg * 2), np.cos(neg * 2))      # compiled, the new path
    np.testing.assert_allclose(g(pos), 2 * pos)                  # and back
    assert g.stats == {"calls": 5, "recorded": 3, "compiled": 2, "ordinary": 0}


def test_a_where_mask_is_a_guard():
    def relu_sum(x, xp):
        return xp.sum(xp.where(x > 0, x, 0.0) * x)
    g = compile_grad(relu_sum)
    a = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(g(a), [2.0, 0.0, 6.0])
    np.testing.assert_allclose(g(a * 2), [4.0, 0.0, 12.0])       # same mask: compiled
    np.testing.assert_allclose(g(-a), [0.0, 4.0, 0.0])           # another mask: recorded
    assert g.stats["compiled"] == 1 and g.stats["recorded"] == 2


def test_a_value_read_without_its_derivative_is_a_guard():
    # sign(x) carries no derivative, but the result depends on it
    def f(x, xp):
        return xp.sum(xp.sign(x) * x * 3.0)   # gradient 3 sign(x)
    g = compile_grad(f)
    a = np.array([1.0, -2.0])
    np.testing.assert_allclose(g(a), [3.0, -3.0])
    np.testing.assert_allclose(g(a * 3), [3.0, -3.0])
    np.testing.assert_allclose(g(-a), [-3.0, 3.0])
    assert g.stats["compiled"] == 1 and g.stats["recorded"] == 2


def test_a_domain_error_on_the_compiled_path_gets_the_engines_answer():
    g = compile_grad(lambda x, xp: xp.log(x))
    assert g(2.0) == 0.5
    assert g(4.0) == 0.25
    with pytest.warns(RuntimeWarning, match="invalid value"):
        assert g(-1.0) == -1.0   # math.log raised: numpy's nan for f, with its warning
    assert g.stats["ordinary"] == 1 and g.stats["compiled"] == 1


def test_a_function_that_differentiates_inside_is_left_to_the_engine():
    def f(x, xp):
        inner = grad(lambda y, xp: xp.sum(xp.maximum(y, 0.5) * x))(x)
        return xp.sum(inner * x)
    g = compile_grad(f)
    for a in (np.array([1.0, 0.2]), np.array([0.2, 1.0])):
        np.testing.assert_allclose(g(a), grad(f)(a))
    assert g.stats["compiled"] == 0 and g.stats["ordinary"] == 1


def test_inside_another_differentiation_it_is_the_engine():
    # d/dx [x * d/dy (x y)] = 2 x, with the inner gradient closing over the outer x
    outer = grad(lambda x, xp: x * compile_grad(lambda y, xp: x * y)(1.0))
    assert outer(3.0) == 6.0
    # and compile_grad differentiated itself: the Hessian of sum(x^3) is diag(6 x)
    from adbench.ad import jacfwd
    H = jacfwd(compile_grad(lambda x, xp: xp.sum(x ** 3)))(np.array([1.0, 2.0]))
    np.testing.assert_allclose(H, np.diag([6.0, 12.0]))


def test_a_function_of_nothing_gets_zeros_and_nonscalar_is_refused():
    g = compile_grad(lambda x, xp: 3.0 + 0.0 * xp.sum(x))
    np.testing.assert_array_equal(g(np.ones(3)), np.zeros(3))
    np.testing.assert_array_equal(g(np.ones(3) * 2), np.zeros(3))
    with pytest.raises(ValueError, match="scalar"):
        compile_grad(lambda x, xp: x * 2)(np.ones(2))


def test_each_call_is_one_reverse_pass():
    g = compile_grad(lambda x, xp: xp.sum(xp.exp(x)))
    before = PASSES["reverse"]
    for _ in range(3):
        g(np.zeros(4))
    assert PASSES["reverse"] - before == 3


def test_the_adjoint_it_returns_is_a_fresh_array():
    # in-place accumulation must never reach the caller's or the program's arrays
    g = compile_grad(lambda x, xp: xp.sum(x * x) + xp.sum(x))
    x = np.array([1.0, 2.0])
    first = g(x)
    second = g(x)
    assert first is not second
    first += 100.0
    np.testing.assert_allclose(g(x), [3.0, 5.0])
    np.testing.assert_allclose(x, [1.0, 2.0])


def _weights(m):
    return np.linspace(0.7, 1.3, m)


def test_random_programs_compiled_match_the_engine_across_kinks():
    # 100 random programs from the primitive table (where, sign, abs, maximum, max...),
    # each at x0 and at points far enough to cross its kinks and take other paths
    switched = fell_back = 0
    for index in range(100):
        program = F.generate(F.RandomChoices(F.program_seed(23, index)), max_nodes=10)
        inst = program.problem().instance()
        f = scalarised(inst, _weights(inst.m))
        g = compile_grad(f)
        rng = np.random.default_rng(index)
        x0 = np.asarray(inst.x0, dtype=float)
        points = [x0] + [x0 + scale * rng.standard_normal(x0.shape)
                         for scale in (1e-4, 0.3, 1.0, 2.0, 0.3, 1e-4, 1.0)]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for x in points:
                np.testing.assert_allclose(g(x), grad(f)(x), rtol=1e-11, atol=1e-300,
                                           equal_nan=True, err_msg=f"program {index} at {x}")
        assert g.stats["calls"] == len(points)
        switched += g.stats["recorded"] > 1
        fell_back += g.stats["ordinary"] > 0
    # the points did cross kinks (new paths recorded) and leave domains (engine's answer)
    assert switched >= 5 and fell_back >= 1


def test_compile_jacrev_matches_jacrev_and_makes_m_passes():
    inst = REGISTRY.get("tanh-layer").instance(n=4, m=16)
    J = compile_jacrev(inst.f)
    x0 = np.asarray(inst.x0, dtype=float)
    x1 = x0 + 0.1
    np.testing.assert_array_equal(J(x0), jacrev(inst.f)(x0))
    before = PASSES["reverse"]
    got = J(x1)
    assert PASSES["reverse"] - before == 16  # one reverse sweep per output
    np.testing.assert_allclose(got, jacrev(inst.f)(x1), rtol=1e-13)
    assert got.shape == (16, 4) and J.stats["compiled"] == 1
    assert "for seed in SEEDS:" in J.sources[((4,), np.dtype(float))]


def test_the_docstring_examples_hold():
    import doctest

    import adbench.ad.compiled
    result = doctest.testmod(adbench.ad.compiled)
    assert result.attempted >= 8 and result.failed == 0


def test_checkpointed_segments_stay_calls_in_the_compiled_code():
    from adbench.ad import checkpoint
    segment = checkpoint(REGISTRY.get("unrolled-loop").instance(steps=8).f)

    def f(x, xp):
        for _ in range(4):
            x = segment(x, xp)
        return xp.sum(x)
    g = compile_grad(f)
    g(np.array([1.0, 0.0]))
    x = np.array([0.5, 0.2])
    np.testing.assert_allclose(g(x), grad(f)(x), rtol=1e-13)
    assert g.stats["compiled"] == 1
    # four forward calls and four reverse calls of the segment: no unrolled steps
    source = g.sources[((2,), np.dtype(float))]
    assert source.count("fn=c0") == 8 and "sin" not in source


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 1), False)])
def test_residual_rules_give_the_tables_value_and_vjp(axis, keepdims):
    # what compiled code computes in place of a primitive's impl and vjp
    from adbench.interpret import primitives as P
    with_residual = [p for p in P.PRIMITIVES.values() if p.residual is not None]
    assert [p.name for p in with_residual] == ["logsumexp"]
    x = np.random.default_rng(3).standard_normal((4, 6)) * 30
    for prim in with_residual:
        forward, vjp = prim.residual
        out = prim.impl(x, axis=axis, keepdims=keepdims)
        value, r = forward(x, axis=axis, keepdims=keepdims)
        np.testing.assert_array_equal(value, out)
        g = np.linspace(0.5, 1.5, np.size(out)).reshape(np.shape(out))
        np.testing.assert_allclose(vjp(0, g, r, (x,), out, axis=axis, keepdims=keepdims),
                                   prim.vjp(0, g, (x,), out, axis=axis, keepdims=keepdims),
                                   rtol=1e-13, atol=1e-15)


def test_compiled_code_that_disagrees_with_the_engine_is_not_used(monkeypatch):
    # a deliberately wrong code generator: every contribution doubled
    from adbench.ad import compiled as C
    right = C._Writer.contribution

    def doubled(self, i, k, dying=False):
        term, fresh = right(self, i, k, dying)
        return f"2.0 * ({term})", False
    monkeypatch.setattr(C._Writer, "contribution", doubled)
    g = compile_grad(lambda x, xp: xp.sum(xp.sin(x) * x))
    x = np.array([0.3, 1.2])
    with pytest.warns(RuntimeWarning, match="differs from the engine's"):
        first = g(x)
    np.testing.assert_allclose(first, np.sin(x) + x * np.cos(x))
    np.testing.assert_allclose(g(x * 2), np.sin(2 * x) + 2 * x * np.cos(2 * x))
    assert g.stats["compiled"] == 0 and g.stats["ordinary"] == 1
    assert "differs" in g.reasons[((2,), np.dtype(float))]


def test_agreement_allows_rounding_and_not_errors():
    from adbench.ad.compiled import _same
    b = np.array([1000.0, 1e-3, np.nan, np.inf])
    assert _same(b + np.array([1e-9, 1e-10, 0.0, 0.0]), b)  # rounding of the large terms
    assert not _same(b + np.array([1e-9, 1e-8, 0.0, 0.0]), b)
    assert not _same(b * np.array([1.0, 1.5, 1.0, 1.0]), b)  # a wrong small entry
    assert not _same(np.array([1000.0, 1e-3, 0.0, np.inf]), b)
    assert not _same(b[:3], b)


def test_the_ad_compiled_method_says_when_the_engine_serves_it():
    from adbench.methods import METHODS
    from adbench.problem import Problem

    def nested(x, xp):  # differentiates inside: left to the engine
        return xp.reshape(grad(lambda y, xp: xp.sum(y * y * x[0]))(x), (2,))
    inst = Problem(nested, name="nested", n=2, m=2, x0=[1.0, 2.0], source="<test>").instance()
    prepared = METHODS["ad-compiled"].prepare(inst)
    assert prepared.info == {"message": "not compiled (f differentiates inside): "
                                        "the ordinary engine serves it"}
    # d/dx of 2 x x0 (with x0 also differentiated): [[4 x0, 0], [2 x1, 2 x0]]
    np.testing.assert_allclose(prepared.jacobian(np.array([1.0, 2.0])), [[4.0, 0.0], [4.0, 2.0]])
    compiled = METHODS["ad-compiled"].prepare(REGISTRY.get("rosenbrock").instance(n=2))
    assert compiled.info == {}
