"""Differential fuzzing: random programs from the primitive table, with every
differentiator an oracle for the others.

A *program* is a small random DAG of operations over the inputs x (length n),
ending in m outputs. Each node is one Python expression over earlier values,
spelled as a problem file spells it (``xp.log(v2)``, ``v1 @ v3``, ``v4[::-1]``,
``2.5 ** v1``...), and exercising one entry of
:data:`adbench.interpret.primitives.PRIMITIVES` (:data:`OPS` says which; every entry of
the table is either generated or listed in :data:`EXCLUDED` with the reason).
A program becomes an ordinary :class:`~adbench.problem.Problem` whose ``f``
walks the DAG with ``xp``, so it runs under every interpretation, and prints
as the source of a problem file (:meth:`Program.source`) that reproduces it
under ``--problems-dir``.

Generation is value-aware: the generator evaluates each candidate node at x0
and keeps it only if its value is finite, bounded (|v| <= :data:`BOUND`) and,
for an operation with a restricted domain or a kink, at least :data:`MARGIN`
away from the boundary (log and sqrt of values >= 0.05, division by |d| >=
0.1, tan of |v| <= 1.2, abs/maximum/where/max away from their kinks, ...), or
else wraps the argument in a guard (``xp.log(v * v + c)``,
``xp.tan(xp.tanh(v))``, ``v / (w * w + c)``). The margins keep finite
differences (steps ~6e-6) on one side of every kink.

:func:`check_program` then demands (see :data:`TOLERANCE`):

* ad-forward, ad-reverse and symbolic agree pairwise, and each agrees with the
  80-digit mpmath reference, to rho <= 1e-10 (no manual Jacobian exists);
* f in float64 agrees with the reference value;
* fd-central is within its error bound, per entry: 10 x (truncation
  |f'''| h^2 / 6, with f''' from three nested forward passes, plus rounding
  2 c eps S_j / (2h), where S_j = |f_j| + sum over nodes of |df_j/dv| |v| is
  the first-order sensitivity of f_j to a relative error in each node, found by
  reverse mode over per-node perturbations);
* the second derivatives by forward-over-forward, forward-over-reverse,
  reverse-over-forward and reverse-over-reverse agree;
* each method's ``traceable`` form (what op counting runs) gives its Jacobian;
* the checks of :data:`EXTRA_CHECKS`: the op-count bounds of the measurements
  issue (:func:`op_count_bounds`: one JVP and one reverse pass under 6 ops(f),
  an operation of a primitive whose own derivative costs more, such as arctan2,
  allowed that primitive's ratio; fd-central exactly 2n evaluations of f).

:func:`shrink` reduces a failing program to a smallest one with the same kind
of finding, and :func:`fuzz` drives it all for ``adbench fuzz``.

The parts: :mod:`.program` (programs, random decisions), :mod:`.ops` (one
generator per primitive), :mod:`.generate`, :mod:`.checks`, :mod:`.shrink` and
:mod:`.driver` (``adbench fuzz``). Every name is re-exported here; a setting
such as ``MIN_OPS_FOR_BOUND`` is read by its own part, so that is the module to change it in.
"""

from __future__ import annotations

from adbench.studies.fuzz import checks  # noqa: F401 - the part that holds the settings
from adbench.studies.fuzz.program import (  # noqa: F401
    BOUND, Choices, HypothesisChoices, MARGIN, MAX_SIZE, Node, Program, RandomChoices,
    _compiled, _name, _output_expr, _output_source)
from adbench.studies.fuzz.ops import (  # noqa: F401
    Candidate, EXCLUDED, OPS, _Pool, _WEIGHTS, _binary, _extremum, _gap, _gen_abs, _gen_amax,
    _gen_broadcast_to, _gen_concatenate, _gen_div, _gen_getitem, _gen_logsumexp, _gen_matmul,
    _gen_mul, _gen_pow, _gen_reshape, _gen_sign, _gen_stack, _gen_sum, _gen_swapaxes,
    _gen_transpose, _gen_where, _max_abs, _min, _min_abs, _unary)
from adbench.studies.fuzz.generate import (  # noqa: F401
    _accept, _choose_outputs, _dead_code_removed, _op_names, generate, programs)
from adbench.studies.fuzz.checks import (  # noqa: F401
    CHECKS, EXACT, EXTRA_CHECKS, Evaluation, FD_SAFETY, Finding, KNOWN_LIMITATIONS,
    MIN_OPS_FOR_BOUND, OPS_PER_NODE, PASS_COST_BOUND, SYMBOLIC_TIMEOUT, TOLERANCE, _check_exact,
    _check_fd, _check_reference, _check_second_order, _check_traceable, _disagree,
    _evaluate_method, _run_methods, _symbolic_isolated, _worst, check_program, fd_error_bound,
    op_count_bounds, unexpected, warm_up)
from adbench.studies.fuzz.shrink import (  # noqa: F401
    _bypassed, _candidates, _valid, shrink)
from adbench.studies.fuzz.driver import (  # noqa: F401
    FuzzReport, _checked, fuzz, program_seed)

__all__ = ["Node", "Program", "Finding", "OPS", "EXCLUDED", "generate", "programs",
           "check_program", "shrink", "fuzz", "RandomChoices", "TOLERANCE", "EXTRA_CHECKS",
           "FuzzReport", "KNOWN_LIMITATIONS", "unexpected"]

