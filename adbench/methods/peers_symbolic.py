"""SymEngine and CasADi: symbolic peers, on the same problem functions.

Both run ``f(x, xp)`` on numpy object arrays of the library's scalar
expressions (:func:`adbench.interpret.peers.namespace`) and differentiate the
expression graph that results; a Python ``if`` or loop test on a symbolic
value has no answer there, and the row is unsupported with the library's
own words.

* ``symengine``: the stages of ``symbolic`` (SymPy), timed apart: derive (f on
  symbols and ``diff`` of every output by every input), ``cse``, compile
  (``Lambdify`` with its LLVM backend at :data:`LLVM_OPT_LEVEL` when SymEngine
  was built with LLVM, else its ``lambda`` backend; ``Lambdify(cse=True)`` eliminates common
  subexpressions again on its own, so compile includes a CSE pass). The
  expression sizes are SymEngine's trees: ``expr_nodes`` (the Jacobian
  entries as trees), ``expr_nodes_cse`` (after ``cse``), ``f_nodes_tree``.
* ``casadi``: f on an SX vector, ``casadi.jacobian`` of the outputs, and a
  ``casadi.Function`` of it (the graph sorted into CasADi's virtual-machine
  algorithm; no C code is generated). Setup is the whole: building the graph,
  the Jacobian graph and the Function. ``expr_ops_cse`` is the Function's
  ``n_instructions()`` (instructions of its algorithm: every operation once,
  plus the input and output instructions) and ``expr_nodes_cse`` its
  ``n_nodes()`` (nodes of the shared SX graph); both count a DAG, as the
  ``*_cse`` columns of ``symbolic`` do.

``setup_s`` is the sum of the timed stages (counting sizes is not in it, nor
importing the library). Memory: both evaluate in compiled code whose work
memory (CasADi's work vector, SymEngine's LLVM or C++ evaluation) is not
allocated through Python, so :mod:`tracemalloc`'s figure would be wrong; the
``mem_*`` columns are empty with that reason.
"""

from __future__ import annotations

import time

import numpy as np

from adbench.methods.peers import PeerMethod
from adbench.methods.symbolic import tree_size

__all__ = ["SymEngineJacobian", "CasadiJacobian", "LLVM_OPT_LEVEL"]

#: LLVM optimisation level of SymEngine's Lambdify. 0, not its default 3: on Helmholtz
#: n = 32 it compiles in 0.7 s instead of 2.9 s, and the compiled gradient runs as fast
#: (about 5 us a call either way).
LLVM_OPT_LEVEL = 0


def _outputs(inst, x, peer: str):
    """f at the object array ``x`` of the peer's symbols: its m outputs, flat."""
    from adbench.interpret.peers import _object_asarray, namespace
    outputs = list(np.ravel(_object_asarray(inst.f(x, namespace(peer)))))
    if len(outputs) != inst.m:
        raise ValueError(f"f returned {len(outputs)} outputs, expected m = {inst.m}")
    return outputs


class SymEngineJacobian(PeerMethod):
    name = "symengine"
    library = extra = peer = "symengine"
    description = ("SymEngine: f run on symbols, diff, cse, Lambdify (LLVM backend if "
                   "available, else lambda), each stage timed")
    refusals = (TypeError, RuntimeError, NotImplementedError)
    memory_unseen = ("SymEngine's Lambdify evaluates in compiled code whose memory "
                     "tracemalloc does not see")

    def build(self, inst):
        import symengine as se
        t0 = time.perf_counter()
        # not x0, x1...: SymEngine's cse names its subexpressions so, and Lambdify(cse=True)
        # then reads an input x1 as the subexpression x1 (a wrong Jacobian, silently)
        syms = [se.Symbol(f"input_{i}") for i in range(inst.n)]
        x = np.empty(inst.n, dtype=object)
        x[:] = syms
        outputs = [se.sympify(y) for y in _outputs(inst, x, "symengine")]
        # row-major m x n entries; Matrix.jacobian is diff entry by entry, in C++
        entries = list(se.Matrix(outputs).jacobian(se.Matrix(syms)))
        t1 = time.perf_counter()
        replacements, reduced = se.cse(entries)
        t2 = time.perf_counter()
        # checked on the CSE'd DAG (atoms on the trees would take seconds), not timed
        left = [d for e in [r for _, r in replacements] + list(reduced)
                for d in e.atoms(se.Derivative)]
        if left:
            raise NotImplementedError(f"SymEngine leaves a derivative unevaluated: {left[0]}")
        t2a = time.perf_counter()
        if getattr(se, "have_llvm", False):
            compiled = se.Lambdify(syms, entries, cse=True, backend="llvm",
                                   opt_level=LLVM_OPT_LEVEL)
        else:
            compiled = se.Lambdify(syms, entries, cse=True, backend="lambda")
        t3 = time.perf_counter()
        info = {"setup_derive_s": t1 - t0, "setup_cse_s": t2 - t1, "setup_compile_s": t3 - t2a,
                "setup_s": (t1 - t0) + (t2 - t1) + (t3 - t2a),
                "expr_nodes": tree_size(entries),
                "expr_nodes_cse": tree_size([e for _, e in replacements] + list(reduced)),
                "f_nodes_tree": tree_size(outputs)}
        if not getattr(se, "have_llvm", False):
            info["message"] = "SymEngine without LLVM: Lambdify's lambda backend"
        return (lambda v: np.asarray(compiled(v))), info


class CasadiJacobian(PeerMethod):
    name = "casadi"
    library = extra = peer = "casadi"
    description = ("CasADi SX: f on an SX graph, casadi.jacobian, casadi.Function "
                   "(setup: building and sorting the graph); expr_ops_cse = the Function's "
                   "n_instructions(), expr_nodes_cse = its n_nodes()")
    refusals = (TypeError, RuntimeError, NotImplementedError)
    memory_unseen = ("CasADi evaluates in C++ with its own work vectors, which tracemalloc "
                     "does not see")

    def build(self, inst):
        import casadi as ca
        t0 = time.perf_counter()
        xs = ca.SX.sym("x", inst.n)
        x = np.empty(inst.n, dtype=object)
        x[:] = [xs[i] for i in range(inst.n)]
        y = ca.vertcat(*(v if isinstance(v, ca.SX) else ca.SX(float(v))
                         for v in _outputs(inst, x, "casadi")))
        fn = ca.Function("jacobian", [xs], [ca.jacobian(y, xs)])
        setup = time.perf_counter() - t0
        info = {"setup_s": setup, "expr_ops_cse": fn.n_instructions(),
                "expr_nodes_cse": fn.n_nodes()}
        return (lambda v: np.asarray(fn(v))), info
