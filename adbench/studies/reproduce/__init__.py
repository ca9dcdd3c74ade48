"""``adbench reproduce survey``: each checkable claim of the survey, measured.

Baydin, Pearlmutter, Radul and Siskind (2018), "Automatic Differentiation in
Machine Learning: a Survey", JMLR 18(153), arXiv:1502.05767. Each
:class:`Claim` carries the passage it checks (with its page in the arXiv
version), runs a measurement with adbench's own machinery and returns
:class:`Evidence`: markdown (numbers, a table, a plot) and PASS or FAIL against
a stated criterion. :func:`reproduce` writes them all to ``REPORT.md``.

The package: :mod:`~adbench.studies.reproduce.claim` (Claim, Evidence, running
the checks, REPORT.md) and the claims grouped by subject, each module holding
its checks and, at its end, its ``CLAIMS`` list:
:mod:`~adbench.studies.reproduce.tables` (Tables 1 to 3),
:mod:`~adbench.studies.reproduce.finite` (finite differences),
:mod:`~adbench.studies.reproduce.cost` (passes, crossover, cheap gradient, memory),
:mod:`~adbench.studies.reproduce.exact` (exactness, nesting, Newton, gradient descent),
:mod:`~adbench.studies.reproduce.control` (control flow, define-by-run),
:mod:`~adbench.studies.reproduce.learning` (training with inexact gradients,
backpropagation, hypergradients),
:mod:`~adbench.studies.reproduce.numerics` (numerical trouble, float32),
:mod:`~adbench.studies.reproduce.iterative` (implicit differentiation),
:mod:`~adbench.studies.reproduce.checkpointing` (checkpointed BPTT, memory and time),
:mod:`~adbench.studies.reproduce.overhead` (time per operation, engine and peers),
:mod:`~adbench.studies.reproduce.equivalence` (symbolic differentiation on a DAG is
reverse mode: Laue et al. 2019).

Adding a claim is one addition in one place: write its check function in the
module of its subject and append its ``Claim(...)`` to that module's ``CLAIMS``
list (the report shows the claims in that order, module by module as listed
in :data:`GROUPS`). Only a new subject module is also named in :data:`GROUPS`.
"""

from __future__ import annotations

from pathlib import Path

from adbench.registry import Registry, load_registry
from adbench.studies.reproduce import (
    checkpointing,
    control,
    cost,
    equivalence,
    exact,
    finite,
    iterative,
    learning,
    numerics,
    overhead,
    tables,
)
from adbench.studies.reproduce.claim import SURVEY, Claim, Evidence, render, run_claims

__all__ = ["Claim", "Evidence", "CLAIMS", "GROUPS", "SURVEY", "reproduce", "render"]

#: The modules of claims, in the order of the report.
GROUPS = (tables, finite, cost, exact, control, learning, numerics, iterative,
          checkpointing, overhead, equivalence)

#: Every claim, in the order of the report.
CLAIMS: list[Claim] = [claim for group in GROUPS for claim in group.CLAIMS]


def reproduce(out: str | Path = "results/survey", registry: Registry | None = None,
              only: list[str] | None = None) -> tuple[Path, list[tuple[Claim, Evidence]]]:
    """Run the claims (all, or the keys in ``only``) and write ``out/REPORT.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return run_claims(CLAIMS, out, registry or load_registry(), only)
