"""Expression swell: how big the symbolic derivative is, stage by stage.

Symbolic differentiation of a program's expression tree (Baydin et al. 2018,
Table 1) repeats shared subexpressions at every use, so the derivative of the
logistic map l_n grows exponentially in n as a tree (about 2.6x a level),
its DAG after common subexpression elimination only polynomially (about 2 n^2
operations: each level's product rule refers to every earlier level), and the
AD tape linearly (3 entries a level). For one problem instance this module
measures, each with its own budget:

* ``expr_ops``, ``expr_nodes``: SymPy's ``count_ops`` of the Jacobian entries as
  differentiated, with no simplification, and their node count as trees
  (``count_ops`` counts the tree: a subexpression used k times counts k times;
  it is left empty above :data:`COUNT_NODE_BUDGET` nodes, where it takes
  longer than the rest of the measurement);
* ``expr_ops_cse``, ``expr_nodes_cse``: the same for the output of ``sympy.cse``
  (the replacements' right-hand sides plus the reduced expressions);
* ``expr_ops_simplified``: ``count_ops`` after ``sympy.simplify``, interrupted
  after a time budget and skipped above a size budget (``simplify_status``
  says which: ``ok``, ``timeout``, ``skipped``, ``error``);
* ``f_ops_tree``, ``f_nodes_tree``: the size of f itself as a SymPy tree;
* ``tape_length``: the operations reverse-mode AD records for f (array
  operations: a vectorised f has a short tape whatever n);
* ``ops_f``, ``ops_reverse``: scalar operations executed by f and by its
  reverse-mode Jacobian (:mod:`adbench.interpret.counting`), the DAG counterparts of
  ``f_ops_tree`` and ``expr_ops``.
* the same problem differentiated by the symbolic peers
  (:class:`~adbench.methods.peers_symbolic.SymbolicPeer`), with the tool's own
  sizes, the columns its ``adbench run`` rows fill, prefixed with its name
  (:func:`peer_sizes`): ``symengine_expr_nodes`` and ``symengine_expr_nodes_cse``
  (SymEngine's Jacobian entries as trees, and the trees of ``symengine.cse``'s
  output), ``symengine_f_nodes_tree``; ``casadi_expr_ops_cse`` and
  ``casadi_expr_nodes_cse`` (the Jacobian Function's ``n_instructions()`` and
  ``n_nodes()``: CasADi's SX graph is a DAG). ``<tool>_status`` says ``ok``,
  ``unavailable: pip install 'adbench[<tool>]'`` (the columns are then empty) or
  ``unsupported: <the tool's reason>``.

:func:`swell_table` runs this over a family's sizes, each size in a killable
worker (``timeout``), and :func:`plot_swell` draws size against the size
parameter on a log scale.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import sympy

from adbench.measure.isolation import one_line, run_isolated
from adbench.methods.base import Unsupported
from adbench.methods.symbolic import derive, tree_size
from adbench.problem import Instance, Problem

__all__ = ["expression_sizes", "simplify_entries", "swell_row", "swell_table", "plot_swell",
           "SIMPLIFY_BUDGET_S", "SIMPLIFY_NODE_BUDGET", "COUNT_NODE_BUDGET", "SWELL_COLUMNS",
           "TIME_BUDGETED_COLUMNS", "tape_length", "peer_sizes", "symbolic_peers"]

#: Seconds ``simplify`` may take in ``adbench run`` (the swell command has its own option).
SIMPLIFY_BUDGET_S = 0.5
#: Above this many tree nodes simplify is not attempted (it would not finish).
SIMPLIFY_NODE_BUDGET = 20_000
#: Columns whose values depend on the time budget, as times do: on a busy machine
#: simplify can run out of its budget where it finished before.
TIME_BUDGETED_COLUMNS = ("expr_ops_simplified", "simplify_status")
#: Above this many tree nodes count_ops is not run (the ``*_ops`` column is empty).
COUNT_NODE_BUDGET = 1_000_000



def _preload_simplify() -> None:
    """Import what ``sympy.simplify`` imports on its first call (units,
    combinatorics: about 0.6 s) in the parent process, before it forks a
    measurement worker, so that every worker inherits it instead of paying
    for it again. Cheap after the first time."""
    import sympy.combinatorics  # noqa: F401
    import sympy.physics.units  # noqa: F401


os.register_at_fork(before=_preload_simplify)

SWELL_COLUMNS = ["expr_ops", "expr_nodes", "expr_ops_cse", "expr_nodes_cse",
                 "expr_ops_simplified", "simplify_status", "f_ops_tree", "f_nodes_tree"]


def _count_ops(exprs, nodes: int, node_budget: int):
    # count_ops walks the tree, every occurrence of a shared subexpression
    # (about 11 s for 900,000 nodes); tree_size works on the DAG in linear time.
    return int(sympy.count_ops(exprs)) if nodes <= node_budget else None


def expression_sizes(outputs, entries, replacements, reduced,
                     count_node_budget: int = COUNT_NODE_BUDGET) -> dict:
    """Tree and DAG sizes of f's outputs and of the Jacobian entries (see module
    doc). A ``*_ops`` count is None when its tree exceeds ``count_node_budget``
    nodes; the node counts are always given."""
    cse_exprs = [rhs for _, rhs in replacements] + list(reduced)
    nodes = tree_size(entries)
    f_nodes = tree_size(outputs)
    cse_nodes = tree_size(cse_exprs)
    return {
        "expr_ops": _count_ops(entries, nodes, count_node_budget),
        "expr_nodes": nodes,
        "expr_ops_cse": _count_ops(cse_exprs, cse_nodes, count_node_budget),
        "expr_nodes_cse": cse_nodes,
        "f_ops_tree": _count_ops(outputs, f_nodes, count_node_budget),
        "f_nodes_tree": f_nodes,
    }


#: Seconds between repeated alarms once a time budget has run out (see time_limit).
REARM_S = 0.05


class BudgetExceeded(BaseException):
    """Raised inside a computation when its time budget runs out (a
    BaseException, so that library code catching Exception cannot swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Interrupt the block with :class:`BudgetExceeded` after ``seconds``.

    Uses SIGALRM, so it works in the main thread of a process (the harness's
    workers run measurements there); elsewhere the block runs unlimited and
    only the harness's hard ``--timeout`` applies. Pure-Python work (SymPy) is
    interrupted promptly; a long call inside a C extension at its return.

    The alarm repeats every :data:`REARM_S` until the block is left: Python
    discards an exception raised by a handler that runs inside a finaliser
    (``__del__``, a weakref or collector callback: "Exception ignored in ..."), so a
    single alarm can be lost and the block would then run unbounded.
    """
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expire(signum, frame):
        raise BudgetExceeded

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, REARM_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def simplify_entries(entries, budget_s: float = SIMPLIFY_BUDGET_S,
                     node_budget: int = SIMPLIFY_NODE_BUDGET) -> dict:
    """``sympy.simplify`` of each entry, interrupted after ``budget_s`` seconds.

    Returns ``expr_ops_simplified`` (None unless ok), ``simplify_status``
    (``ok``, ``timeout: ...``, ``skipped: ...`` above ``node_budget`` tree
    nodes or when ``budget_s`` is 0, ``error: ...``), ``setup_simplify_s`` and
    ``simplified`` (the expressions, or None).
    """
    if budget_s <= 0:  # time_limit(0) would not limit at all
        return {"expr_ops_simplified": None, "simplified": None, "setup_simplify_s": None,
                "simplify_status": "skipped: a time budget of 0 s"}
    nodes = tree_size(entries)
    if nodes > node_budget:
        return {"expr_ops_simplified": None, "simplified": None, "setup_simplify_s": None,
                "simplify_status": f"skipped: {nodes} tree nodes exceed the size budget "
                                   f"of {node_budget}"}
    t0 = time.perf_counter()
    simplified, status = None, "ok"
    try:
        with time_limit(budget_s):
            simplified = [sympy.simplify(e) for e in entries]
    except BudgetExceeded:
        status = f"timeout: over the budget of {budget_s:g} s"
    except Exception as exc:  # noqa: BLE001 - a failed simplification is a status
        status = f"error: {one_line(exc)}"
    seconds = time.perf_counter() - t0
    return {"expr_ops_simplified": int(sympy.count_ops(simplified)) if simplified else None,
            "simplified": simplified, "setup_simplify_s": seconds, "simplify_status": status}


def tape_length(inst: Instance, x=None) -> int:
    """Operations recorded on a reverse-mode tape by one evaluation of f."""
    from adbench.ad import record

    trace, _, _ = record(inst.f, inst.x0.copy() if x is None else x)
    return sum(entry is not None for entry in trace.tape)


def executed_ops(inst: Instance) -> dict:
    """Scalar operations executed (op counter): ``ops_f`` for f (the program as
    a DAG, the counterpart of ``f_ops_tree``) and ``ops_reverse`` for its
    Jacobian by reverse-mode AD (the counterpart of ``expr_ops``)."""
    from adbench.interpret.counting import count_ops
    from adbench.interpret.xp import numpy_xp
    from adbench.methods import METHODS

    x = inst.x0.copy()
    with np.errstate(all="ignore"):
        ops_f = count_ops(lambda v: inst.f(v, numpy_xp), x).ops
        reverse = count_ops(METHODS["ad-reverse"].prepare(inst).traceable, x).ops
    return {"ops_f": ops_f, "ops_reverse": reverse}


def symbolic_peers() -> list:
    """The peer methods that build the derivative as an expression graph."""
    from adbench.methods import METHODS
    from adbench.methods.peers_symbolic import SymbolicPeer

    return [m for m in METHODS.values() if isinstance(m, SymbolicPeer)]


def peer_sizes(inst: Instance) -> dict:
    """Each symbolic peer's own sizes of the derivative of ``inst`` (see module
    doc): ``<tool>_<column>`` for its ``size_columns``, and ``<tool>_status``."""
    row = {}
    for method in symbolic_peers():
        prefix = f"{method.name}_"
        row.update({prefix + column: None for column in method.size_columns})
        if not method.available():
            row[prefix + "status"] = method.unavailable_message
            continue
        method.load()
        try:
            sizes = method.expression_sizes(inst)
        except method.refusal_types() as exc:
            row[prefix + "status"] = f"unsupported: {method.refusal(exc)}"
            continue
        row.update({prefix + column: sizes[column] for column in method.size_columns})
        row[prefix + "status"] = "ok"
    return row


def swell_row(inst: Instance, simplify_budget: float = SIMPLIFY_BUDGET_S,
              node_budget: int = SIMPLIFY_NODE_BUDGET) -> dict:
    """Every swell measure of one instance, with the time of each stage."""
    row = {"problem": inst.name, "sizes": inst.size_label, **inst.sizes, "n": inst.n,
           "m": inst.m, "status": "ok", "message": ""}
    row["tape_length"] = tape_length(inst)
    row.update(executed_ops(inst))
    row.update(peer_sizes(inst))
    t0 = time.perf_counter()
    try:
        _, outputs, entries = derive(inst)
    except Unsupported as exc:
        row.update(status="unsupported", message=str(exc))
        return row
    t1 = time.perf_counter()
    replacements, reduced = sympy.cse(entries)
    t2 = time.perf_counter()
    row.update(expression_sizes(outputs, entries, replacements, reduced))
    row.update(setup_derive_s=t1 - t0, setup_cse_s=t2 - t1)
    simp = simplify_entries(entries, simplify_budget, node_budget)
    simp.pop("simplified")
    row.update(simp)
    return row


def swell_table(problem: Problem, sizes: Mapping[str, Sequence] | None = None,
                timeout: float | None = 60.0, simplify_budget: float = 10.0,
                node_budget: int = SIMPLIFY_NODE_BUDGET, progress=None) -> pd.DataFrame:
    """:func:`swell_row` for each instance of ``problem`` (its default sizes or
    ``sizes``), each in a worker killed after ``timeout`` s; after a timeout the
    larger sizes are marked ``timeout`` without running."""
    rows, timed_out = [], None
    for inst in problem.instances(sizes):
        base = {"problem": inst.name, "sizes": inst.size_label, **inst.sizes, "n": inst.n,
                "m": inst.m}
        if timed_out is not None and all(inst.sizes[k] >= v for k, v in timed_out.items()):
            rows.append({**base, "status": "timeout",
                         "message": "skipped: a smaller size timed out"})
            continue
        if progress is not None:
            progress(inst)
        outcome = run_isolated(swell_row, (inst, simplify_budget, node_budget), timeout)
        if outcome.status == "ok":
            rows.append(outcome.value)
        else:
            rows.append({**base, "status": outcome.status, "message": outcome.message})
            if outcome.status == "timeout" and inst.sizes:
                timed_out = dict(inst.sizes)
    df = pd.DataFrame(rows)
    df.attrs["size_parameters"] = list(problem.sizes)
    return df


#: Series drawn by plot_swell: column -> legend label.
PLOT_SERIES = {
    "expr_ops": "SymPy derivative as a tree (count_ops)",
    "expr_ops_cse": "SymPy derivative after cse (DAG)",
    "expr_ops_simplified": "SymPy derivative simplified",
    "expr_nodes": "SymPy derivative as a tree (nodes)",
    "ops_reverse": "reverse-mode AD Jacobian, ops executed",
    "f_ops_tree": "f as a tree (count_ops)",
    "ops_f": "f, ops executed (DAG)",
    "symengine_expr_nodes": "SymEngine derivative as a tree (nodes)",
    "symengine_expr_nodes_cse": "SymEngine derivative after its cse (nodes)",
    "casadi_expr_ops_cse": "CasADi Jacobian graph (instructions, DAG)",
}


def plot_swell(df: pd.DataFrame, path: str | Path, along: str | None = None,
               title: str | None = None) -> Path:
    """Expression sizes against the size parameter ``along`` (default: the
    single size parameter that varies), log scale. Writes a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    path = Path(path)
    if along is None:
        along = _varying_parameter(df)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    markers = itertools.cycle("osD^vP<>")
    for col, label in PLOT_SERIES.items():
        if col not in df.columns:
            continue
        sub = df[[along, col]].apply(pd.to_numeric, errors="coerce").dropna()
        sub = sub[sub[col] > 0]
        if len(sub):
            ax.plot(sub[along], sub[col], marker=next(markers), label=label)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(along)
    ax.set_ylabel("size (operations or nodes)")
    name = df["problem"].iloc[0] if len(df) else ""
    ax.set_title(title or f"Expression swell: {name}")
    ax.grid(True, which="major", alpha=0.4)
    ax.legend(fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _varying_parameter(df: pd.DataFrame) -> str:
    """The size parameter that takes several values (the first one if none does)."""
    params = [c for c in df.attrs.get("size_parameters", []) if c in df.columns]
    params = params or [c for c in ("n", "m") if c in df.columns]
    for c in params:
        if df[c].nunique() > 1:
            return c
    return params[0] if params else "n"
