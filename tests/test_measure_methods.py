"""fd-complex and fd-richardson: accuracy, refusals with reasons, error estimates."""

import numpy as np
import pytest

from adbench import problem
from adbench.measure.accuracy import compare
from adbench.measure.reference import reference_jacobian
from adbench.methods import METHODS, Unsupported
from adbench.methods.richardson import NUM_STEPS
from adbench.registry import load_registry

REGISTRY = load_registry()


@problem(name="with-abs", n=2, m=1, x0=[0.5, -1.5])
def with_abs(x, xp):
    return xp.abs(x[0]) * x[1]


@problem(name="with-maximum", n=2, m=1, x0=[0.5, -1.5])
def with_maximum(x, xp):
    return xp.maximum(x[0], x[1]) * x[1]


@problem(name="with-where", n=1, m=1, x0=[0.5])
def with_where(x, xp):
    return xp.where(x[0] > 0, x[0], -x[0])


@pytest.mark.parametrize("prob,reason", [
    (with_abs, "f applies abs, which is not complex-analytic"),
    (with_maximum, "f applies maximum, which is not complex-analytic"),
    (with_where, "compares a value depending on the input"),
])
def test_complex_step_refuses_non_analytic_code_with_the_reason(prob, reason):
    with pytest.raises(Unsupported, match=reason):
        METHODS["fd-complex"].prepare(prob.instance())
    J = METHODS["ad-reverse"].prepare(prob.instance()).jacobian(prob.instance().x0.copy())
    assert np.all(np.isfinite(J))


def test_complex_step_is_exact_to_rounding_with_n_evaluations():
    inst = REGISTRY.get("survey-example").instance()
    prepared = METHODS["fd-complex"].prepare(inst)
    J = prepared.jacobian(inst.x0.copy())
    np.testing.assert_allclose(J[0], [5.5, 2 - np.cos(5.0)], rtol=1e-15)
    assert prepared.info["f_evaluations"] == inst.n


@pytest.mark.parametrize("name,sizes", [("survey-example", {}), ("logistic-map", {"depth": 6}),
                                        ("rosenbrock", {"n": 10}),
                                        ("tanh-layer", {"n": 4, "m": 4})])
def test_richardson_error_estimate_bounds_its_error(name, sizes):
    inst = REGISTRY.get(name).instance(**sizes)
    prepared = METHODS["fd-richardson"].prepare(inst)
    J = prepared.jacobian(inst.x0.copy())
    err = compare(J, reference_jacobian(inst).jacobian, 0)["max_rel_error"]
    estimate = prepared.info["error_estimate"]
    assert err <= estimate, (err, estimate)
    assert estimate < 1e-10
    assert prepared.info["f_evaluations"] == 2 * NUM_STEPS * inst.n + 1


def test_richardson_estimate_is_large_when_steps_are_too_coarse():
    # l_18 varies on a scale ~ 2^-17, below the smallest step 0.05 / 4^8.
    inst = REGISTRY.get("logistic-map").instance(depth=18)
    prepared = METHODS["fd-richardson"].prepare(inst)
    J = prepared.jacobian(inst.x0.copy())
    err = compare(J, reference_jacobian(inst).jacobian, 0)["max_rel_error"]
    assert err > 1e-6
    assert prepared.info["error_estimate"] > 1e-3
