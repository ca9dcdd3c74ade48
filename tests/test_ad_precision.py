"""The engine computes in the precision of its input: float32 in, float32 out."""

from __future__ import annotations

import numpy as np
import pytest

from adbench.ad import grad

PROGRAMS = {
    "elementwise": lambda x, xp: xp.sum(xp.tanh(x) * x),
    "slices": lambda x, xp: xp.sum(x[1:] * x[:-1]),
    "reads": lambda x, xp: x[0] * x[1] + xp.sin(x[2]),
    "max": lambda x, xp: xp.max(x) + xp.sum(x * x),
    "logsumexp": lambda x, xp: xp.logsumexp(x),
    "matrix": lambda x, xp: xp.sum(xp.tanh(np.ones((2, 3), np.float32) @ x)),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_a_float32_input_gets_a_float32_gradient_close_to_float64(name):
    f = PROGRAMS[name]
    x = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    g32 = grad(f)(x)
    g64 = grad(f)(x.astype(np.float64))
    assert g32.dtype == np.float32 and g64.dtype == np.float64
    np.testing.assert_allclose(g32, g64, rtol=2e-6, atol=1e-6)
