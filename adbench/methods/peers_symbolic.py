"""SymEngine and CasADi: symbolic peers, on the same problem functions.

Both run ``f(x, xp)`` on numpy object arrays of the library's scalar
expressions (:func:`adbench.interpret.peers.namespace`) and differentiate the
expression graph that results; a Python ``if`` or loop test on a symbolic
value has no answer there, and the row is unsupported with the library's
own words.

* ``symengine``: the stages of ``symbolic`` (SymPy), timed apart: derive (f on
  symbols and ``diff`` of every output by every input, ``setup_derive_s``) and
  compile (``setup_compile_s``: ``Lambdify(cse=True)`` with its LLVM backend at
  :data:`LLVM_OPT_LEVEL` when SymEngine was built with LLVM, else its ``lambda``
  backend). Lambdify eliminates common subexpressions itself, with the same
  ``symengine.cse``, so compile includes the CSE pass and ``setup_cse_s`` is
  empty: a separate ``cse`` before it would be done twice (it was a third of the
  setup on Helmholtz n = 32). The expression sizes are SymEngine's trees
  (:func:`symengine_sizes`, counted outside the timed stages): ``expr_nodes``
  (the Jacobian entries as trees), ``expr_nodes_cse`` (after ``symengine.cse``),
  ``f_nodes_tree``.
* ``casadi``: f on an SX vector, ``casadi.jacobian`` of the outputs, and a
  ``casadi.Function`` of it (the graph sorted into CasADi's virtual-machine
  algorithm; no C code is generated). Setup is the whole: building the graph,
  the Jacobian graph and the Function. ``expr_ops_cse`` is the Function's
  ``n_instructions()`` (instructions of its algorithm: every operation once,
  plus the input and output instructions) and ``expr_nodes_cse`` its
  ``n_nodes()`` (nodes of the shared SX graph); both count a DAG, as the
  ``*_cse`` columns of ``symbolic`` do.

``setup_s`` is the sum of the timed stages (counting sizes is not in it, nor
importing the library). :meth:`SymbolicPeer.expression_sizes` gives the same
sizes without compiling, for ``adbench swell``. Memory: both evaluate in
compiled code whose work memory (CasADi's work vector, SymEngine's LLVM or C++
evaluation) is not allocated through Python, so :mod:`tracemalloc`'s figure
would be wrong; the ``mem_*`` columns are empty with that reason.
"""

from __future__ import annotations

import time

import numpy as np

from adbench.methods.peers import PeerMethod
from adbench.methods.symbolic import tree_size

__all__ = ["SymbolicPeer", "SymEngineJacobian", "CasadiJacobian", "LLVM_OPT_LEVEL",
           "symengine_jacobian", "symengine_sizes", "casadi_jacobian", "casadi_sizes"]

#: LLVM optimisation level of SymEngine's Lambdify. 0, not its default 3: on Helmholtz
#: n = 32, Lambdify(cse=True) takes about a quarter of the time of levels 1-3 (medians of
#: 5 interleaved rounds: 0.14 s against 0.48-0.73 s on an idle machine, 0.64 s against
#: 2.3-3.0 s on a loaded one), the gradient is the same to the last bit, and a call takes
#: as long (fastest of 60 batches: 6 us at every level).
LLVM_OPT_LEVEL = 0


def _outputs(inst, x, peer: str):
    """f at the object array ``x`` of the peer's symbols: its m outputs, flat."""
    from adbench.interpret.peers import _object_asarray, namespace
    outputs = list(np.ravel(_object_asarray(inst.f(x, namespace(peer)))))
    if len(outputs) != inst.m:
        raise ValueError(f"f returned {len(outputs)} outputs, expected m = {inst.m}")
    return outputs


def symengine_jacobian(inst):
    """f run on SymEngine symbols: ``(syms, outputs, entries)``, the Jacobian entries
    row-major m x n as differentiated (``Matrix.jacobian``: ``diff`` entry by entry, in
    C++)."""
    import symengine as se
    # not x0, x1...: SymEngine's cse names its subexpressions so, and Lambdify(cse=True)
    # then reads an input x1 as the subexpression x1 (a wrong Jacobian, silently)
    syms = [se.Symbol(f"input_{i}") for i in range(inst.n)]
    x = np.empty(inst.n, dtype=object)
    x[:] = syms
    outputs = [se.sympify(y) for y in _outputs(inst, x, "symengine")]
    entries = list(se.Matrix(outputs).jacobian(se.Matrix(syms)))
    return syms, outputs, entries


def symengine_sizes(outputs, entries) -> dict:
    """SymEngine's expression sizes: ``expr_nodes`` (the Jacobian entries as trees,
    :func:`~adbench.methods.symbolic.tree_size`, as for SymPy), ``expr_nodes_cse``
    (the trees of ``symengine.cse``'s output: the replacements' right-hand sides
    plus the reduced expressions), ``f_nodes_tree`` (f's outputs as trees).

    NotImplementedError if SymEngine left a derivative unevaluated (checked on
    the CSE'd DAG: ``atoms`` on the trees would take seconds)."""
    import symengine as se
    replacements, reduced = se.cse(entries)
    cse_exprs = [rhs for _, rhs in replacements] + list(reduced)
    left = [d for e in cse_exprs for d in e.atoms(se.Derivative)]
    if left:
        raise NotImplementedError(f"SymEngine leaves a derivative unevaluated: {left[0]}")
    return {"expr_nodes": tree_size(entries), "expr_nodes_cse": tree_size(cse_exprs),
            "f_nodes_tree": tree_size(outputs)}


def casadi_jacobian(inst):
    """f run on a CasADi SX vector, and ``casadi.Function`` of its ``casadi.jacobian``."""
    import casadi as ca
    xs = ca.SX.sym("x", inst.n)
    x = np.empty(inst.n, dtype=object)
    x[:] = [xs[i] for i in range(inst.n)]
    y = ca.vertcat(*(v if isinstance(v, ca.SX) else ca.SX(float(v))
                     for v in _outputs(inst, x, "casadi")))
    return ca.Function("jacobian", [xs], [ca.jacobian(y, xs)])


def casadi_sizes(fn) -> dict:
    """CasADi's own counts of the Jacobian Function ``fn``: ``expr_ops_cse`` is its
    ``n_instructions()`` (its algorithm's instructions: every operation once, plus
    the input and output instructions), ``expr_nodes_cse`` its ``n_nodes()`` (nodes
    of the shared SX graph). Both count a DAG."""
    return {"expr_ops_cse": fn.n_instructions(), "expr_nodes_cse": fn.n_nodes()}


class SymbolicPeer(PeerMethod):
    """A peer that builds the derivative as an expression graph, whose sizes
    :meth:`expression_sizes` gives: the row columns :attr:`size_columns`."""

    #: The size columns the tool fills in its rows (and, prefixed with its name, in
    #: ``adbench swell``'s table).
    size_columns: tuple = ()

    def expression_sizes(self, inst) -> dict:
        """The tool's own sizes of the derivative of ``inst``, without compiling it:
        :attr:`size_columns` -> int. Raises what the tool raises on f (see
        :meth:`~adbench.methods.peers.PeerMethod.refusal`)."""
        raise NotImplementedError


class SymEngineJacobian(SymbolicPeer):
    name = "symengine"
    library = extra = peer = "symengine"
    description = ("SymEngine: f run on symbols, diff, Lambdify with its cse (LLVM backend "
                   "if available, else lambda), each stage timed")
    refusals = (TypeError, RuntimeError, NotImplementedError)
    memory_unseen = ("SymEngine's Lambdify evaluates in compiled code whose memory "
                     "tracemalloc does not see")
    size_columns = ("expr_nodes", "expr_nodes_cse", "f_nodes_tree")

    def build(self, inst):
        import symengine as se
        t0 = time.perf_counter()
        syms, outputs, entries = symengine_jacobian(inst)
        t1 = time.perf_counter()
        if getattr(se, "have_llvm", False):
            compiled = se.Lambdify(syms, entries, cse=True, backend="llvm",
                                   opt_level=LLVM_OPT_LEVEL)
        else:
            compiled = se.Lambdify(syms, entries, cse=True, backend="lambda")
        t2 = time.perf_counter()
        info = {"setup_derive_s": t1 - t0, "setup_compile_s": t2 - t1, "setup_s": t2 - t0,
                **symengine_sizes(outputs, entries)}
        if not getattr(se, "have_llvm", False):
            info["message"] = "SymEngine without LLVM: Lambdify's lambda backend"
        return (lambda v: np.asarray(compiled(v))), info

    def expression_sizes(self, inst) -> dict:
        _, outputs, entries = symengine_jacobian(inst)
        return symengine_sizes(outputs, entries)


class CasadiJacobian(SymbolicPeer):
    name = "casadi"
    library = extra = peer = "casadi"
    description = ("CasADi SX: f on an SX graph, casadi.jacobian, casadi.Function "
                   "(setup: building and sorting the graph); expr_ops_cse = the Function's "
                   "n_instructions(), expr_nodes_cse = its n_nodes()")
    refusals = (TypeError, RuntimeError, NotImplementedError)
    memory_unseen = ("CasADi evaluates in C++ with its own work vectors, which tracemalloc "
                     "does not see")
    size_columns = ("expr_ops_cse", "expr_nodes_cse")

    def build(self, inst):
        t0 = time.perf_counter()
        fn = casadi_jacobian(inst)
        info = {"setup_s": time.perf_counter() - t0, **casadi_sizes(fn)}
        return (lambda v: np.asarray(fn(v))), info

    def expression_sizes(self, inst) -> dict:
        return casadi_sizes(casadi_jacobian(inst))
