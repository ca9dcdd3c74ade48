"""The deterministic parts of the survey's claims on learning, implicit
differentiation and overhead, and the plumbing of the timed claims (at small
sizes; their verdicts rest on timings and are not asserted)."""

import numpy as np
import pytest

from adbench import ad
from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import rho
from adbench.methods import METHODS
from adbench.studies.reproduce import checkpointing, iterative, learning, overhead
from adbench.studies.reproduce.claim import Evidence


@pytest.fixture(scope="module")
def reg():
    from adbench.registry import load_registry
    return load_registry()


def test_mlp_backpropagation_equals_reverse_mode(reg):
    inst = learning.mlp(reg)
    x = inst.x0 + 0.1 * np.random.default_rng(0).normal(size=inst.n)
    J_manual = METHODS["manual"].prepare(inst).jacobian(x.copy())
    J_reverse = METHODS["ad-reverse"].prepare(inst).jacobian(x.copy())
    assert rho(J_manual, J_reverse).max() <= 1e-12
    assert 0.3 < inst.f(inst.x0, numpy_xp) < 1.0  # overlapping classes: far from 0


@pytest.mark.parametrize("name, g, x_init, theta, loss", iterative.FIXED_POINTS)
def test_implicit_and_unrolled_derivatives_agree(name, g, x_init, theta, loss):
    unrolled, implicit = iterative.routes(g, x_init, loss, 64)
    assert np.allclose(ad.grad(unrolled)(theta), ad.grad(implicit)(theta), rtol=0, atol=1e-12)
    assert len(ad.record(implicit, theta)[0].tape) < 5 < len(ad.record(unrolled, theta)[0].tape)


def test_fixed_point_jvp_is_the_implicit_function_formula():
    solve = ad.fixed_point(iterative.newton_sqrt, 1.0)
    assert abs(ad.jvp(lambda a, xp: solve(a, xp))(2.0, 1.0)[1] - 0.5 / np.sqrt(2.0)) < 1e-15


def test_fixed_point_that_does_not_converge_raises():
    with pytest.raises(RuntimeError, match="no convergence"):
        ad.fixed_point(lambda x, a, xp: 2.0 * x + a, 1.0, max_iter=10)(1.0)


def test_hypergradient_matches_central_differences(reg):
    hg = learning.hypergradients(reg)
    fd = hg["central difference"]
    for route in ("forward-over-reverse", "reverse-over-reverse"):
        assert abs(hg[route] - fd) <= 1e-6 * abs(fd), route


def test_timed_claims_run_and_report_their_numbers(reg, tmp_path, monkeypatch):
    monkeypatch.setattr(overhead, "CHAIN_STEPS", 50)
    monkeypatch.setattr(overhead, "ROUNDS", 1)
    monkeypatch.setattr(overhead, "_peer_gradients", lambda f, jax_too=True: {})
    ev = overhead._overhead(reg, tmp_path)
    assert isinstance(ev, Evidence) and set(ev.values["compiled_over_manual"]) == {
        "helmholtz[n=20]", "chain of 100 ops"}
    assert "hand-written gradient" in ev.body and "compile_grad" in ev.body
    monkeypatch.setattr(checkpointing, "TIME_STEPS", 16)
    monkeypatch.setattr(checkpointing, "ROUNDS", 1)
    ev = checkpointing._checkpointed_bptt(reg, tmp_path)
    assert ev.values["segments"] == 4
    assert ev.values["value_gap"] <= 1e-12 and ev.values["grad_gap"] <= 1e-12
    assert 0 < ev.values["saved"] < 1
