"""Operation counts: ``ops_f``, ``ops_derivative`` and their ratio, per method.

Every differentiator is counted the same way: its ``Prepared.traceable`` (the
same computation as its Jacobian, written with the primitive table) is run on
a :class:`~adbench.interpret.counting.Counted` x0, so the count is what it executes:
manual its own code, fd-* every evaluation of f they make plus the
differences, symbolic the CSE'd derivative as evaluated, ad-forward its n
passes, ad-reverse the recording sweep plus its m reverse sweeps. ``passes``
is the number of forward/reverse passes (AD) or f evaluations (fd-*) made.
"""

from __future__ import annotations

import numpy as np

from adbench.ad import PASSES
from adbench.interpret.counting import count_ops
from adbench.interpret.xp import numpy_xp
from adbench.measure.context import Context, Metric
from adbench.methods.base import Unsupported

__all__ = ["OPS", "ops_columns"]

COLUMNS = ["ops_f", "ops_f_transcendental", "ops_derivative", "ops_derivative_transcendental",
           "ops_ratio", "passes", "ops_ratio_per_pass"]


def ops_columns(ctx: Context) -> dict:
    """Count f and the method's Jacobian at x0 (see the module docstring)."""
    inst, prepared = ctx.inst, ctx.prepared
    if prepared.traceable is None:
        raise Unsupported("the method has no traceable form to count")
    x = ctx.x.copy()
    with np.errstate(all="ignore"):
        cf = count_ops(lambda v: inst.f(v, numpy_xp), x)
        before = dict(PASSES)
        cd = count_ops(prepared.traceable, x)
        ad_passes = sum(PASSES[k] - before[k] for k in PASSES)
    passes = prepared.info.get("f_evaluations") or ad_passes or None
    ratio = cd.ops / cf.ops if cf.ops else None
    return {
        "ops_f": cf.ops, "ops_f_transcendental": cf.transcendental,
        "ops_derivative": cd.ops, "ops_derivative_transcendental": cd.transcendental,
        "ops_ratio": ratio, "passes": passes,
        "ops_ratio_per_pass": ratio / passes if ratio is not None and passes else None,
    }


OPS = Metric("ops", COLUMNS, ops_columns,
             integers=("ops_f", "ops_f_transcendental", "ops_derivative",
                       "ops_derivative_transcendental", "passes"))
