"""Expression swell of the symbolic method, per row (see :mod:`adbench.studies.swell`).

The sizes come from the expressions the symbolic method built while preparing
(f on symbols, the Jacobian entries as differentiated, their CSE); simplify
runs under :data:`adbench.studies.swell.SIMPLIFY_BUDGET_S`. The time of each stage is
a ``setup_*_s`` column.
"""

from __future__ import annotations

from adbench.measure.context import Context, Metric
from adbench.studies import swell

__all__ = ["SWELL"]

COLUMNS = swell.SWELL_COLUMNS + ["setup_derive_s", "setup_cse_s", "setup_compile_s",
                                 "setup_simplify_s"]


def swell_columns(ctx: Context) -> dict:
    _, outputs, entries, replacements, reduced = ctx.prepared.expressions
    row = swell.expression_sizes(outputs, entries, replacements, reduced)
    simp = swell.simplify_entries(entries, swell.SIMPLIFY_BUDGET_S, swell.SIMPLIFY_NODE_BUDGET)
    simp.pop("simplified")
    row.update(simp)
    return row


SWELL = Metric("swell", COLUMNS, swell_columns, methods=("symbolic",),
               integers=("expr_ops", "expr_nodes", "expr_ops_cse", "expr_nodes_cse",
                         "expr_ops_simplified", "f_ops_tree", "f_nodes_tree"))
