"""Regression tests for defects found while building the problem library."""

import numpy as np

from adbench.interpret.counting import count_ops
from adbench.measure.accuracy import compare
from adbench.measure.reference import reference_jacobian
from adbench.methods import METHODS
from adbench.registry import load_registry

REGISTRY = load_registry()


def test_a_nan_entry_counts_as_over_tolerance():
    scores = compare([[float("nan"), 1.0]], [[1.0, 1.0]], 1e-12)
    assert scores["n_over_tol"] == 1
    assert np.isnan(scores["max_rel_error"])


def test_richardson_drops_steps_outside_the_domain():
    # helmholtz's x_i are about 0.05, below the first Richardson step: x - h < 0.
    inst = REGISTRY.get("helmholtz").instance(n=2)
    J = METHODS["fd-richardson"].prepare(inst).jacobian(inst.x0.copy())
    ref = reference_jacobian(inst).jacobian
    assert np.all(np.isfinite(J))
    assert compare(J, ref, 1e-10)["n_over_tol"] == 0


def test_symbolic_max_of_many_entries_compiles_and_counts():
    inst = REGISTRY.get("logsumexp").instance(n=5)
    prepared = METHODS["symbolic"].prepare(inst)
    J = prepared.jacobian(inst.x0.copy())
    ref = reference_jacobian(inst).jacobian
    assert compare(J, ref, 1e-12)["n_over_tol"] == 0
    counted = np.asarray(prepared.traceable(inst.x0.copy()), dtype=float)
    np.testing.assert_allclose(counted, J, rtol=1e-15)
    assert count_ops(prepared.traceable, inst.x0.copy()).ops > 0
