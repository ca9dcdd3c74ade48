"""The field's tools as differentiators of the same problems (adbench/methods/peers*.py).

Each peer's tests skip, saying which package is missing, when it is not installed.
Sizes are small and instances shared: JAX and torch imports and XLA compilation
dominate the time of this file."""

from __future__ import annotations

import functools
import importlib.util
import re

import numpy as np
import pytest

from adbench.interpret import peers as peer_table
from adbench.ad import jacrev
from adbench.interpret.xp import XP_FUNCTIONS, numpy_xp
from adbench.measure import harness
from adbench.measure.accuracy import rho
from adbench.measure.metrics import timing
from adbench.measure.reference import reference_jacobian
from adbench.methods import METHODS, Unsupported
from adbench.methods.peers import JaxReverse, PeerMethod, PrecisionError, float64_jacobian

PEER_NAMES = [m.name for m in METHODS.values() if isinstance(m, PeerMethod)]
#: A sample of the registry: scalar code, arrays (matmul, logsumexp), a loop.
PROBLEMS = [("survey-example", {}), ("helmholtz", {"n": 5}), ("gmm", {"D": 2, "K": 3, "N": 10}),
            ("lstm", {"l": 1, "c": 3, "b": 3}), ("unrolled-loop", {"steps": 4})]


def _require(method_name: str):
    method = METHODS[method_name]
    pytest.importorskip(method.library, reason=f"{method.library} is not installed "
                        f"(pip install 'adbench[{method.extra}]')")
    return method


@functools.cache
def _instance(name, sizes):
    from adbench.registry import load_registry
    return load_registry().problems[name].instance(**dict(sizes))


@functools.cache
def _reference(name, sizes):
    return reference_jacobian(_instance(name, sizes)).jacobian


def test_every_xp_function_is_mapped_or_missing_with_a_reason_for_every_peer():
    unlisted = sorted(set(XP_FUNCTIONS) - set(peer_table.TABLE))
    assert not unlisted, f"add a line to adbench/interpret/peers.py TABLE for {unlisted}"
    lacking = {}
    for name in XP_FUNCTIONS:
        row = peer_table.TABLE[name]
        assert len(row) == len(peer_table.PEERS), name
        for peer, entry in zip(peer_table.PEERS, row, strict=True):
            if isinstance(entry, peer_table.Missing):
                assert entry.reason.strip(), f"{peer} lacks xp.{name} without a reason"
                lacking.setdefault(peer, []).append(name)
            else:  # (COMPOSED is a string too)
                assert (entry is peer_table.SAME or isinstance(entry, (str, peer_table.shim))), \
                    (peer, name, entry)
                if entry is peer_table.NUMPY:
                    assert peer in peer_table.OBJECT_PEERS, (peer, name)
    # what each peer lacks, for whoever reads the test log
    print({peer: names for peer, names in lacking.items()})


@pytest.mark.parametrize("peer", peer_table.PEERS)
def test_each_peer_namespace_resolves_every_entry_in_its_library(peer):
    module = peer_table.MODULES[peer].split(".")[0]
    pytest.importorskip(module, reason=f"{module} is not installed")
    xp = peer_table.namespace(peer)  # AttributeError if a name is absent from the library
    for name in XP_FUNCTIONS:
        fn = peer_table.resolve(xp, name)
        # r_ and c_ are index objects (xp.r_[a, b]), as in numpy
        assert callable(fn) or (name in ("r_", "c_") and hasattr(fn, "__getitem__")), (peer, name)


#: Eager JAX dispatches each of GMM's and the LSTM's thousands of small operations
#: one by one (seconds per Jacobian): those pairs are left to the peers suite.
SLOW = {("gmm", "jax-fwd"), ("gmm", "jax-rev"), ("lstm", "jax-fwd"), ("lstm", "jax-rev")}
ACCURACY_CASES = [(m, p, s) for m in PEER_NAMES for p, s in PROBLEMS if (p, m) not in SLOW]


@pytest.mark.parametrize("method_name,problem,sizes", ACCURACY_CASES,
                         ids=[f"{m}-{p}" for m, p, _ in ACCURACY_CASES])
def test_peer_matches_the_reference_within_its_tolerance(method_name, problem, sizes):
    method = _require(method_name)
    key = tuple(sizes.items())
    inst = _instance(problem, key)
    prepared = method.prepare(inst)
    J = prepared.jacobian(inst.x0.copy())
    assert J.dtype == np.float64 and J.shape == (inst.m, inst.n)
    assert np.max(rho(J, _reference(problem, key))) <= method.tolerance
    assert prepared.traceable is None  # the op counter cannot see inside another library


#: What each tool does with the control-flow programs (problems/control_flow.py): a
#: Python `if` or `while` on the input is followed by the eager tools, refused under
#: jax.jit (TracerBoolConversionError) and by the symbolic tools (no truth value of a
#: symbolic comparison); the fixed-trip loops unroll everywhere.
BRANCHING = ("piecewise", "babylonian-sqrt", "fixed-point")
REFUSED = {"jax-jit": "TracerBoolConversionError", "symengine": "truth value of Relational",
           "casadi": "truth value"}
CONTROL_FLOW = [("piecewise", {}), ("babylonian-sqrt", {}), ("fixed-point", {}),
                ("unrolled-loop", {"steps": 8}), ("logistic-map", {"depth": 6})]


@pytest.mark.parametrize("method_name", PEER_NAMES)
@pytest.mark.parametrize("problem,sizes", CONTROL_FLOW, ids=[p for p, _ in CONTROL_FLOW])
def test_control_flow_outcome_of_each_tool(method_name, problem, sizes):
    method = _require(method_name)
    if method_name == "numdifftools" and problem == "babylonian-sqrt":
        pytest.skip("numdifftools's first steps (about x +- 2) reach x <= 0, where the "
                    "`while` loop never ends: in a run this row is a timeout")
    inst = _instance(problem, tuple(sizes.items()))
    if problem in BRANCHING and method_name in REFUSED:
        with pytest.raises(Unsupported, match=REFUSED[method_name]):
            method.prepare(inst)
        return
    J = method.prepare(inst).jacobian(inst.x0.copy())
    assert np.max(rho(J, _reference(problem, tuple(sizes.items())))) <= method.tolerance


def test_jit_branch_is_an_unsupported_row_with_the_reason():
    _require("jax-jit")
    row = _measure("jax-jit", "piecewise", ())
    assert row["status"] == "unsupported"
    assert "jax-jit: TracerBoolConversionError" in row["message"]


def _measure(method_name, problem, sizes):
    saved = timing.settings()["budget_s"]
    timing.configure(budget_s=0)
    try:
        return harness.measure(_instance(problem, sizes), METHODS[method_name], None)
    finally:
        timing.configure(budget_s=saved)


class _Float32Jax(JaxReverse):
    """jax-rev whose Jacobian comes back in float32, as JAX's default would give it."""

    name = "jax-rev-float32"

    def build(self, inst):
        raw, info = super().build(inst)
        return (lambda x: raw(x).astype(np.float32)), info


def test_a_float32_jacobian_is_an_error_not_a_quiet_cast():
    _require("jax-rev")
    prepared = _Float32Jax().prepare(_instance("survey-example", ()))
    with pytest.raises(PrecisionError, match="float32"):
        prepared.jacobian(np.array([2.0, 5.0]))
    with pytest.raises(PrecisionError, match="float32"):
        float64_jacobian(np.ones((1, 2), dtype=np.float32), 1, 2, "test")
    assert float64_jacobian(np.ones(2), 1, 2, "test").shape == (1, 2)


def test_a_peer_that_is_not_installed_is_listed_and_unsupported(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "jax" else real(name, *a))
    method = JaxReverse()
    assert method.description == "unavailable: pip install 'adbench[jax]'"
    row = harness.measure(_instance("survey-example", ()), method, None)
    assert row["status"] == "unsupported"
    assert row["message"] == "unavailable: pip install 'adbench[jax]'"


def test_memory_columns_are_empty_where_tracemalloc_cannot_see_the_allocator():
    _require("torch-rev")
    _require("autograd")
    torch_row = _measure("torch-rev", "helmholtz", (("n", 5),))
    assert torch_row["status"] == "ok"
    assert "mem_derivative_bytes" not in torch_row
    assert "tracemalloc does not see" in torch_row["message"]
    assert "no traceable form" in torch_row["message"]  # ops columns empty, with the reason
    autograd_row = _measure("autograd", "helmholtz", (("n", 5),))
    assert autograd_row["mem_derivative_bytes"] > 0  # numpy arrays: tracemalloc sees them


def test_numdifftools_fills_its_error_estimate_on_the_rho_scale():
    method = _require("numdifftools")
    assert method.approximate
    row = _measure("numdifftools", "helmholtz", (("n", 5),))
    inst = _instance("helmholtz", (("n", 5),))
    J = method.prepare(inst).jacobian(inst.x0.copy())
    err = np.max(rho(J, _reference("helmholtz", (("n", 5),))))
    assert 0 < row["error_estimate"] < 1e-6
    assert err <= method.tolerance


def test_symengine_times_each_stage_and_counts_its_expressions():
    _require("symengine")
    row = _measure("symengine", "helmholtz", (("n", 5),))
    assert row["status"] == "ok"
    # Lambdify(cse=True) runs SymEngine's cse itself: compile includes it, no cse stage
    assert row["setup_s"] == pytest.approx(row["setup_derive_s"] + row["setup_compile_s"])
    assert "setup_cse_s" not in row
    assert row["expr_nodes"] > row["expr_nodes_cse"] > 0
    assert row["f_nodes_tree"] > 0


def test_casadi_reports_its_instruction_and_node_counts():
    _require("casadi")
    import casadi as ca
    row = _measure("casadi", "survey-example", ())
    # J = [1/x1 + x2, x1 - cos x2]: its Function has at least one instruction per operation
    x = ca.SX.sym("x", 2)
    fn = ca.Function("j", [x], [ca.jacobian(ca.log(x[0]) + x[0] * x[1] - ca.sin(x[1]), x)])
    assert row["expr_ops_cse"] == fn.n_instructions() > 0
    assert row["expr_nodes_cse"] == fn.n_nodes() > 0


# --------------------------------------------------------------------------
# A sample of the numpy surface under each peer, against adbench's reverse mode
# --------------------------------------------------------------------------

def _m(x, xp, r=2):
    return xp.reshape(x[:r * 3], (r, 3))


def _sq(x, xp):
    return xp.reshape(x[:4], (2, 2)) + 3.0 * xp.eye(2)


#: name -> f(x, xp) of x in (0.2, 0.8)^6 (off ties, bounds and jumps), each using that function.
#: A scalar factor is a slice (x[0:1], not x[0]): an SX scalar times a numpy object array is
#: CasADi's product, which reads the array as a numeric matrix. autograd has no gradient of
#: the norms ord=1, inf (only the 2-norm is sampled).
SURFACE = {
    "arcsin": lambda x, xp: xp.arcsin(x) * x[0:1],
    "arctan2": lambda x, xp: xp.arctan2(x[:3], x[3:]),
    "arccosh": lambda x, xp: xp.arccosh(x + 1.5),
    "log2": lambda x, xp: xp.log2(x) + xp.exp2(x),
    "logaddexp": lambda x, xp: xp.logaddexp(x[:3], x[3:]),
    "hypot": lambda x, xp: xp.hypot(x[:3], x[3:]) * xp.reciprocal(x[:3]),
    "fmax": lambda x, xp: xp.fmax(x[:3], x[3:] + 0.7),
    "mod": lambda x, xp: xp.mod(x * 3.0, 0.7) + xp.floor(x * 3.0),
    "erf": lambda x, xp: xp.erf(x) * x[1:2],
    "gammaln": lambda x, xp: xp.gammaln(x + 1.0),
    "polygamma": lambda x, xp: xp.polygamma(1, x + 1.0),
    "multigammaln": lambda x, xp: xp.multigammaln(x + 2.0, 3),
    "round": lambda x, xp: xp.round(x * 10.0 + 0.3) * x,
    "clip": lambda x, xp: xp.clip(x, 0.25, 0.75) * x[0:1],
    "min": lambda x, xp: xp.min(x),
    "prod": lambda x, xp: xp.prod(_m(x, xp), axis=1),
    "var": lambda x, xp: xp.var(_m(x, xp), axis=1, ddof=1),
    "std": lambda x, xp: xp.std(_m(x, xp), axis=0, keepdims=True) * x[0:1],
    "cumsum": lambda x, xp: xp.cumsum(_m(x, xp), axis=1) ** 2,
    "cumprod": lambda x, xp: xp.cumprod(x),
    "einsum": lambda x, xp: xp.einsum("ij,j->i", _m(x, xp), x[:3]),
    "tensordot": lambda x, xp: xp.tensordot(_m(x, xp), _m(x, xp), axes=([1], [1])),
    "kron": lambda x, xp: xp.kron(x[:2], x[2:5]),
    "trace": lambda x, xp: xp.trace(_sq(x, xp)) * x[4:5] + xp.inner(x[:3], x[3:]),
    "diag": lambda x, xp: xp.diag(xp.tril(_sq(x, xp)) + xp.triu(_sq(x, xp), 1) * x[5:6]),
    "solve": lambda x, xp: xp.linalg.solve(_sq(x, xp), x[4:]),
    "inv": lambda x, xp: xp.linalg.inv(_sq(x, xp)),
    "det": lambda x, xp: xp.linalg.det(_sq(x, xp)) + xp.linalg.slogdet(_sq(x, xp))[1],
    "cholesky": lambda x, xp: xp.linalg.cholesky(_sq(x, xp) @ xp.transpose(_sq(x, xp))),
    "norm": lambda x, xp: xp.linalg.norm(_m(x, xp), axis=1) * xp.linalg.norm(x, keepdims=True),
    "squeeze": lambda x, xp: xp.squeeze(xp.expand_dims(x, 0) * x[0:1], axis=0),
    "tile": lambda x, xp: xp.tile(x[:2], 3) * xp.repeat(x[2:4], 3),
    "flip": lambda x, xp: xp.flip(x) * xp.roll(x, 2) * x,
    "moveaxis": lambda x, xp: xp.moveaxis(_m(x, xp), 0, 1) * x[0:1],
    "vstack": lambda x, xp: xp.vstack([x[:3], x[3:] * x[0:1]]) + xp.hstack([x[:3], x[3:]])[:3],
    "split": lambda x, xp: xp.split(x, 3)[1] * xp.split(x, [1, 4])[0],
    "pad": lambda x, xp: xp.pad(x * x, 2),
    "take": lambda x, xp: xp.take(_m(x, xp), [2, 0, 2], axis=1) * x[1:2],
    "sort": lambda x, xp: xp.sort(x * x[2:3]) * x,
    # the compositions (adbench/interpret/compositions.py)
    "degrees": lambda x, xp: xp.degrees(x) * xp.radians(x[0:1]) + xp.rad2deg(x),
    "deg2rad": lambda x, xp: xp.deg2rad(x) * x,
    "logaddexp2": lambda x, xp: xp.logaddexp2(x[:3], x[3:]),
    "sinc": lambda x, xp: xp.sinc(x * 2.0),
    "fabs": lambda x, xp: xp.fabs(x - 0.5) + xp.true_divide(x, x[1:2]),
    "nan_to_num": lambda x, xp: xp.nan_to_num(x * x),
    "select": lambda x, xp: xp.select([SURFACE_X > 0.6, SURFACE_X < 0.3], [x * x, -x], 0.5),
    "fliplr": lambda x, xp: xp.fliplr(_m(x, xp)) * xp.flipud(_m(x, xp)),
    "rot90": lambda x, xp: xp.rot90(_m(x, xp)) * xp.rot90(_m(x, xp), 3)[:, :1],
    "rollaxis": lambda x, xp: xp.rollaxis(xp.reshape(x, (1, 2, 3)), 2) * x[0:1],
    "partition": lambda x, xp: xp.partition(x * x[2:3], 2)[2:4],
    "atleast_3d": lambda x, xp: xp.atleast_3d(x) * xp.atleast_1d(x[0:1]) + xp.atleast_2d(x),
    "column_stack": lambda x, xp: xp.column_stack([x[:3], x[3:]]) * xp.row_stack([x[:2]]),
    "append": lambda x, xp: xp.append(_m(x, xp), x[:3] * x[1:2]),
    "array_split": lambda x, xp: xp.array_split(x, 4)[1] * xp.hsplit(x, 3)[0],
    "vsplit": lambda x, xp: xp.vsplit(_m(x, xp), 2)[1][0, :2] * xp.dsplit(
        xp.reshape(x, (1, 2, 3)), [1])[1][0, :, 0],
    "diff": lambda x, xp: xp.diff(x * x, 2) + xp.diff(x, prepend=0.5)[:4],
    "gradient": lambda x, xp: xp.gradient(x * x, edge_order=2) + xp.gradient(
        x, [0.0, 0.1, 0.3, 0.4, 0.8, 1.0]),
    "linspace": lambda x, xp: xp.linspace(x[0], x[1] * x[2], 5),
    "cross": lambda x, xp: xp.cross(x[:3], x[3:] * x[0:1]),
    "r_": lambda x, xp: xp.r_[x[:2], x[3:]][:3] * xp.c_[x[:3], x[3:]][:, 1],
}
SURFACE_X = np.array([0.31, 0.74, 0.46, 0.58, 0.23, 0.67])
#: one method per library (each library's other methods differentiate the same xp)
SURFACE_METHODS = ("jax-rev", "torch-rev", "autograd", "symengine", "casadi")


def _surface_instance(name):
    from adbench.problem import Problem
    f = SURFACE[name]
    m = int(np.size(f(SURFACE_X, numpy_xp)))
    return Problem(lambda x, xp: xp.ravel(xp.asarray(f(x, xp))), name=f"surface-{name}",
                   n=6, m=m, x0=SURFACE_X.copy()).instance()


def _lacks(method_name, fname):
    """Whether the peer's table row says it has no such function (then Unsupported)."""
    peer = METHODS[method_name].peer
    entries = [row[peer_table.PEERS.index(peer)] for key, row in peer_table.TABLE.items()
               if key.split(".")[-1] == fname or key == fname]
    return next((e.reason for e in entries if isinstance(e, peer_table.Missing)), None)


#: functions whose call in SURFACE also uses others of the table lacking in a peer
ALSO_USES = {"mod": ("floor",), "multigammaln": ("gammaln",), "det": ("slogdet",),
             "fabs": ("true_divide",), "fliplr": ("flipud",), "atleast_3d": ("atleast_2d",),
             "array_split": ("hsplit",), "vsplit": ("dsplit",), "degrees": ("radians",),
             "column_stack": ("row_stack",), "r_": ("c_",)}


def _surface_cases():
    """Every function x every peer; the default run keeps a deterministic sample in which
    every function runs once, under a peer that has it (the peers taken in turn), and each
    peer meets the first function it lacks (its refusal). The rest is marked ``study``
    (``pytest -m study tests/test_peers.py`` runs them)."""
    default = set()
    turn = 0
    for fname in sorted(SURFACE):
        for k in range(len(SURFACE_METHODS)):
            method_name = SURFACE_METHODS[(turn + k) % len(SURFACE_METHODS)]
            if not _lacks_any(method_name, fname):
                default.add((fname, method_name))
                turn = (turn + k + 1) % len(SURFACE_METHODS)
                break
    for method_name in SURFACE_METHODS:
        lacking = [f for f in sorted(SURFACE) if _lacks_any(method_name, f)]
        default.update((f, method_name) for f in lacking[:1])
    for fname in sorted(SURFACE):
        for method_name in SURFACE_METHODS:
            marks = () if (fname, method_name) in default else pytest.mark.study
            yield pytest.param(method_name, fname, marks=marks, id=f"{fname}-{method_name}")


def _lacks_any(method_name, fname):
    """The reasons, from the peer's table row, why it cannot run SURFACE[fname]."""
    return [r for r in (_lacks(method_name, g) for g in (fname, *ALSO_USES.get(fname, ())))
            if r]


@pytest.mark.parametrize("method_name,fname", list(_surface_cases()))
def test_each_peer_differentiates_the_numpy_surface_as_adbench_does(method_name, fname):
    method = _require(method_name)
    inst = _surface_instance(fname)
    reasons = _lacks_any(method_name, fname)
    if reasons:
        with pytest.raises(Unsupported, match=re.escape(reasons[0])):
            method.prepare(inst).jacobian(inst.x0.copy())
        return
    J = method.prepare(inst).jacobian(inst.x0.copy())
    expected = jacrev(lambda x, xp: inst.problem.fn(x, xp))(inst.x0.copy())
    np.testing.assert_allclose(J, np.reshape(expected, J.shape), rtol=1e-9, atol=1e-12)


def _tie_instance(name):
    from adbench.problem import Problem
    fns = {"maximum": lambda x, xp: xp.maximum(x[:1], x[1:]),
           "clip": lambda x, xp: xp.clip(x[:1], 1.0, 2.0) + 0.0 * x[1:]}
    return Problem(fns[name], name=f"tie-{name}", n=2, m=1, x0=np.array([1.0, 1.0])).instance()


#: d/dx of maximum(x0, x1) and of clip(x0, 1, 2) at x0 = x1 = 1, per method. adbench
#: splits a tie evenly (1/2, 1/2 for maximum; 1/2 to x at clip's bound), as JAX, torch's
#: maximum, autograd's maximum and CasADi do. The differences are the libraries' own
#: conventions, recorded here and not shimmed: torch's clamp gives x the whole derivative
#: at a bound, autograd's clip none of it, and SymEngine's Piecewise forms (the table's
#: shims, its max having no derivative) follow the first argument.
TIES = {"maximum": {"symengine": [1.0, 0.0]},
        "clip": {"torch-rev": [1.0, 0.0], "torch-fwd": [1.0, 0.0], "autograd": [0.0, 0.0],
                 "symengine": [1.0, 0.0]}}
ADBENCH_TIES = {"maximum": [0.5, 0.5], "clip": [0.5, 0.0]}
TIE_METHODS = ("jax-rev", "jax-fwd", "torch-rev", "torch-fwd", "autograd", "symengine",
               "casadi")


@pytest.mark.parametrize("method_name", TIE_METHODS)
@pytest.mark.parametrize("fname", sorted(ADBENCH_TIES))
def test_each_peers_derivative_at_a_tie_is_its_own_convention(fname, method_name):
    method = _require(method_name)
    inst = _tie_instance(fname)
    ours = jacrev(lambda x, xp: inst.problem.fn(x, xp))(inst.x0.copy())
    np.testing.assert_array_equal(np.ravel(ours), ADBENCH_TIES[fname])
    J = method.prepare(inst).jacobian(inst.x0.copy())
    np.testing.assert_array_equal(J[0], TIES[fname].get(method_name, ADBENCH_TIES[fname]))
