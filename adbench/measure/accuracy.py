"""Accuracy of a Jacobian against the reference.

The error of an entry is rho(a, b) = |a - b| / max(1, |a| + |b|), the metric of
ADBench and GradBench: relative for large entries, absolute for small ones, and
finite when both are zero.

A Jacobian is judged against its method's tolerance, but no float64 method can
be closer to the exact Jacobian than the problem's conditioning allows: where
float64 evaluates f itself with a relative error e_f (a deep logistic map
loses 5e-11), exact methods (manual, AD, symbolic) land near e_f too. So a row
is :func:`inaccurate` when its largest error exceeds both the tolerance and
:data:`FLOOR_MARGIN` times e_f (:func:`evaluation_floor`); a wrong derivative
(a dropped factor, a wrong rule) is off by far more than either.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rho", "compare", "evaluation_floor", "inaccurate", "FLOOR_MARGIN"]

#: How far beyond the float64 error of f itself a derivative may be before the
#: problem's conditioning no longer explains it.
FLOOR_MARGIN = 100.0


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


def evaluation_floor(f64_value, exact_value) -> float:
    """The largest relative error |f64 - exact| / |exact| of f evaluated in float64
    against its exact value (absolute where the exact value is below 1); 0 when
    the two do not compare (shapes differ, or a value is not finite)."""
    a = np.ravel(np.asarray(f64_value, dtype=float))
    b = np.ravel(np.asarray(exact_value, dtype=float))
    if a.shape != b.shape or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return 0.0
    return float((np.abs(a - b) / np.maximum(1.0, np.abs(b))).max()) if a.size else 0.0


def inaccurate(scores: dict, tolerance: float, floor: float = 0.0) -> str | None:
    """Why a Jacobian with these :func:`compare` ``scores`` is inaccurate, or None
    when it is not: its largest error exceeds ``tolerance`` and ``FLOOR_MARGIN``
    times the :func:`evaluation_floor` of its problem."""
    error = scores["max_rel_error"]
    bound = max(tolerance, FLOOR_MARGIN * floor)
    if not scores["n_over_tol"] or error <= bound:
        return None
    why = f"max error {error:.3g} exceeds the tolerance {tolerance:g}"
    if bound > tolerance:
        why += f" and {FLOOR_MARGIN:g} x the float64 error of f itself ({floor:.2g})"
    return f"{why} ({scores['n_over_tol']} entries over it)"
