"""Accuracy of a Jacobian against the reference.

The error of an entry is rho(a, b) = |a - b| / max(1, |a| + |b|), the metric of
ADBench and GradBench: relative for large entries, absolute for small ones, and
finite when both are zero.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rho", "compare"]


def rho(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(1.0, np.abs(a) + np.abs(b))


def compare(J, reference, tolerance: float) -> dict:
    """max and mean rho over the entries, and how many exceed ``tolerance``
    (a non-finite entry counts as exceeding it, and makes the max and mean nan)."""
    J = np.asarray(J, dtype=float)
    reference = np.asarray(reference, dtype=float)
    if J.shape != reference.shape:
        raise ValueError(f"Jacobian shape {J.shape} differs from the reference {reference.shape}")
    err = rho(J, reference)
    return {
        "max_rel_error": float(err.max()) if err.size else 0.0,
        "mean_rel_error": float(err.mean()) if err.size else 0.0,
        "n_over_tol": int(np.count_nonzero(~(err <= tolerance))),
    }
