"""One problem definition feeds every differentiator; each is held to its tolerance."""

import math

import numpy as np
import pytest

from adbench.interpret.xp import mpmath_xp, numpy_xp
from adbench.measure.accuracy import compare, rho
from adbench.measure.reference import reference_jacobian
from adbench.methods import DEFAULT_METHODS, METHODS, Unsupported
from adbench.registry import load_registry

REGISTRY = load_registry()

#: (problem, method) pairs that cannot work, with the reason the row must give.
UNSUPPORTED = {
    ("piecewise", "symbolic"): "control flow depends on the input",
    ("piecewise", "fd-complex"): "a branch on a comparison has no complex-analytic extension",
    ("babylonian-sqrt", "symbolic"): "control flow depends on the input",
    ("babylonian-sqrt", "fd-complex"): "f applies abs, which is not complex-analytic",
}

QUICK = [(inst.label, inst)
         for inst in REGISTRY.instances(REGISTRY.expand(REGISTRY.suite("quick")))]


@pytest.fixture(scope="module")
def references():
    return {}


def _reference(references, inst):
    if inst.label not in references:
        references[inst.label] = reference_jacobian(inst)
    return references[inst.label]


@pytest.mark.parametrize("method", DEFAULT_METHODS)  # the peers: tests/test_peers.py
@pytest.mark.parametrize("label,inst", QUICK, ids=[q[0] for q in QUICK])
def test_every_method_meets_its_tolerance_on_the_quick_suite(references, label, inst, method):
    meth = METHODS[method]
    reason = UNSUPPORTED.get((inst.name, method))
    if reason is not None:
        with pytest.raises(Unsupported, match=reason):
            meth.prepare(inst)
        return
    J = meth.prepare(inst).jacobian(inst.x0.copy())
    assert J.shape == (inst.m, inst.n)
    scores = compare(J, _reference(references, inst).jacobian, meth.tolerance)
    assert scores["n_over_tol"] == 0, (label, method, scores)


def test_survey_example_value_and_gradient():
    inst = REGISTRY.get("survey-example").instance()
    y = inst.f(np.array([2.0, 5.0]), numpy_xp)
    assert y == pytest.approx(11.652071455223084, rel=1e-15)
    expected = [5.5, 2 - math.cos(5)]
    assert expected[1] == pytest.approx(1.7163378145367738, rel=1e-15)
    for name in ("manual", "symbolic", "ad-forward", "ad-reverse"):
        J = METHODS[name].prepare(inst).jacobian(inst.x0.copy())
        np.testing.assert_allclose(J[0], expected, rtol=1e-15, atol=0)


def test_reference_is_high_precision_and_independent_of_float64():
    inst = REGISTRY.get("logistic-map").instance(depth=4)
    ref = reference_jacobian(inst)
    assert ref.digits > 30
    # l_4'(0.2) = 708288/78125 (survey-facts, Figure 3); x0 is the double nearest 0.2.
    assert ref.jacobian[0, 0] == pytest.approx(708288 / 78125, rel=2e-16)
    assert ref.value[0] == pytest.approx(0.28901376, rel=1e-15)


def test_logistic_map_runs_under_mpmath_exactly():
    import mpmath
    inst = REGISTRY.get("logistic-map").instance(depth=4)
    with mpmath.workdps(50):
        y = inst.f(np.array([mpmath.mpf("0.2")], dtype=object), mpmath_xp)
        assert abs(y - mpmath.mpf("0.28901376")) < mpmath.mpf(10) ** -45


def test_rho_is_relative_for_large_and_absolute_for_small_entries():
    assert rho(1e6, 1e6 + 1) == pytest.approx(1 / (2e6 + 1))
    assert rho(1e-9, 2e-9) == pytest.approx(1e-9)
    assert rho(0.0, 0.0) == 0.0


def test_finite_difference_steps_are_exactly_representable():
    from adbench.methods.finite import default_step
    for x in (0.1, 2.0, 1e5, -3.7, 0.0):
        for order in (1, 2):
            h = default_step(x, order)
            assert (x + h) - x == h
            assert h > 0


def test_fd_central_makes_exactly_2n_evaluations():
    inst = REGISTRY.get("rosenbrock").instance(n=10)
    prepared = METHODS["fd-central"].prepare(inst)
    prepared.jacobian(inst.x0.copy())
    assert prepared.info["f_evaluations"] == 2 * inst.n
    prepared = METHODS["fd-forward"].prepare(inst)
    prepared.jacobian(inst.x0.copy())
    assert prepared.info["f_evaluations"] == inst.n + 1


def test_problem_without_manual_is_unsupported_by_manual(tmp_path):
    (tmp_path / "mine.py").write_text(
        "from adbench import problem\n"
        "@problem(name='cube', n=1, m=1, x0=[2.0], description='x^3')\n"
        "def cube(x, xp):\n    return x[0] ** 3\n")
    reg = load_registry([tmp_path])
    inst = reg.get("cube").instance()
    with pytest.raises(Unsupported, match="no hand-written Jacobian"):
        METHODS["manual"].prepare(inst)
    J = METHODS["ad-reverse"].prepare(inst).jacobian(inst.x0.copy())
    assert J[0, 0] == 12.0
