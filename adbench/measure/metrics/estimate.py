"""A method's own estimate of its error (fd-richardson), beside the measured one.

``error_estimate`` is on the scale of ``max_rel_error`` (rho against the
reference), so the two columns can be compared directly.
"""

from __future__ import annotations

from adbench.measure.context import Context, Metric

__all__ = ["ESTIMATE"]


def estimate_columns(ctx: Context) -> dict:
    # Written into the method's info while the Jacobian was evaluated.
    value = ctx.prepared.info.get("error_estimate")
    return {} if value is None else {"error_estimate": value}


ESTIMATE = Metric("error-estimate", ["error_estimate"], estimate_columns)
