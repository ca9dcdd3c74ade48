"""adbench as a GradBench tool (adbench.studies.gradbench, ``adbench gradbench-tool``).

tests/data/gradbench_session.jsonl holds the messages of GradBench evals (hello, lse,
llsq, det, gmm, lstm, ba) as GradBench's own Python evals sent them, recorded with
small sizes (gradbench/gradbench at f26651a7, e.g. ``python -m gradbench.evals.gmm.run
-d 2 -k 3 -n 20 --min-seconds 0``, ba from ba1's camera with n=3, m=5, p=12), ids
renumbered into one file, followed by messages the tool must refuse. The outputs
are checked against adbench's 80-digit reference and the problem's f, on instances
built here from the messages, not by the tool's own mapping.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import rho
from adbench.measure.reference import reference_jacobian
from adbench.methods import METHODS, Method, Prepared
from adbench.problem import Instance
from adbench.registry import load_registry
from adbench.studies.gradbench import Tool, run_until, serve

SESSION = Path(__file__).parent / "data" / "gradbench_session.jsonl"
TOL = 1e-12
REFUSALS = 42   # the id of the first message after the recorded evals (start of "ode")


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def messages():
    return [json.loads(line) for line in SESSION.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def answers(messages, registry):
    tool = Tool(METHODS["ad-reverse"], registry)
    return {m["id"]: (m, tool.respond(m)) for m in messages}


def _recorded(m) -> bool:
    """A message of the recorded evals, not one of the refusals appended after them."""
    return m["id"] < REFUSALS


def _evaluations(answers, module, function, recorded=True):
    return [(m, r) for m, r in answers.values()
            if m["kind"] == "evaluate" and m["module"] == module and m["function"] == function
            and _recorded(m) == recorded]


def _close(a, b, tol=TOL):
    assert np.asarray(a).shape == np.asarray(b).shape
    assert float(np.max(rho(a, b))) <= tol, (a, b)


def test_every_message_is_answered_with_its_id_and_the_served_evals_succeed(answers):
    for mid, (message, response) in answers.items():
        assert response["id"] == mid
        if message["kind"] in ("start", "analysis"):
            assert "success" not in response
        if message["kind"] == "define" and message["module"] in (
                "hello", "lse", "llsq", "det", "gmm", "lstm", "ba"):
            assert response["success"] is True
    recorded = [(m, r) for m, r in answers.values()
                if m["kind"] == "evaluate" and _recorded(m)]
    assert len(recorded) == 14
    assert all(r["success"] for _, r in recorded), [r.get("error") for _, r in recorded]


def test_declined_unknown_and_malformed_messages_answer_success_false(answers):
    by_module = {m.get("module"): r for m, r in answers.values() if m["kind"] == "define"}
    assert by_module["ode"]["success"] is False and "ode-rk4" in by_module["ode"]["error"]
    assert by_module["kmeans"]["success"] is False
    assert "freezes the assignments" in by_module["kmeans"]["error"]
    assert by_module["nosuch"]["success"] is False
    assert "unknown module 'nosuch'" in by_module["nosuch"]["error"]
    (_, hessian), = _evaluations(answers, "llsq", "hessian", recorded=False)
    assert hessian["success"] is False and "no function 'hessian'" in hessian["error"]
    (_, malformed), = _evaluations(answers, "llsq", "gradient", recorded=False)
    assert malformed["success"] is False and "no field 'x'" in malformed["error"]


def test_timings_follow_min_runs_with_a_prepare_before_a_derivative(answers):
    (_, primal), = _evaluations(answers, "lse", "primal")
    assert [t["name"] for t in primal["timings"]] == ["evaluate"] * 3   # min_runs 3
    (_, gradient), = _evaluations(answers, "lse", "gradient")
    assert [t["name"] for t in gradient["timings"]] == ["prepare", "evaluate"]
    assert all(isinstance(t["nanoseconds"], int) and t["nanoseconds"] > 0
               for t in primal["timings"] + gradient["timings"])


def test_run_until_runs_min_runs_times_and_at_least_min_seconds():
    ticks = iter(range(0, 10**12, 300_000_000))   # every clock reading 0.3 s later

    def clock():
        return next(ticks)

    _, times = run_until(lambda: None, min_runs=2, min_seconds=1.0, clock=clock)
    assert times == [300_000_000] * 4              # 4 x 0.3 s >= 1 s
    _, times = run_until(lambda: None, min_runs=5, min_seconds=0.5, clock=clock)
    assert len(times) == 5


def test_hello(answers):
    (m, r), = _evaluations(answers, "hello", "square")
    assert r["output"] == m["input"] ** 2
    (m, r), = _evaluations(answers, "hello", "double")
    _close(r["output"], 2 * m["input"])


@pytest.mark.parametrize("module, problem, sizes, point", [
    ("lse", "logsumexp", lambda i: {"n": len(i["x"])}, lambda i: i["x"]),
    ("llsq", "llsq", lambda i: {"n": len(i["x"]), "rows": i["n"]}, lambda i: i["x"]),
    ("det", "det-minors", lambda i: {"l": i["ell"]}, lambda i: i["A"]),
])
def test_vector_evals_match_f_and_the_reference(answers, registry, module, problem, sizes,
                                                 point):
    primal, derivative = ("primal", "gradient")
    (m, r), = _evaluations(answers, module, primal)
    inst = registry.get(problem).instance(**sizes(m["input"]))   # its data depend on sizes
    ref = reference_jacobian(inst, point(m["input"]))
    _close(r["output"], ref.value[0])
    (m, r), = _evaluations(answers, module, derivative)
    _close(r["output"], ref.jacobian[0])


def test_gmm_input_is_adbench_gmm_at_that_size_and_the_outputs_match(answers, registry):
    (m, r), = _evaluations(answers, "gmm", "objective")
    inp = m["input"]
    inst = registry.get("gmm").instance(D=inp["d"], K=inp["k"], N=inp["n"])
    # GradBench's eval drew this input from seed 31337: adbench's x0 and points are it.
    flat = np.concatenate([np.ravel(inp[p]) for p in ("alpha", "mu", "q", "l")])
    np.testing.assert_array_equal(inst.x0, flat)
    np.testing.assert_array_equal(inst.params["points_T"][0].T, np.array(inp["x"]))
    ref = reference_jacobian(inst)
    _close(r["output"], ref.value[0])
    (m, r), = _evaluations(answers, "gmm", "jacobian")
    out = r["output"]
    assert set(out) == {"alpha", "mu", "q", "l"}
    assert np.shape(out["mu"]) == (inp["k"], inp["d"])
    _close(np.concatenate([np.ravel(out[p]) for p in ("alpha", "mu", "q", "l")]),
           ref.jacobian[0])


def test_lstm_outputs_match_the_reference(answers, registry):
    (m, r), = _evaluations(answers, "lstm", "objective")
    inp = m["input"]
    prob = registry.get("lstm")
    state, sequence = np.array(inp["state"]), np.array(inp["sequence"])
    sizes = {"l": len(state) // 2, "c": len(sequence), "b": sequence.shape[1]}
    x = np.concatenate([np.ravel(inp["main_params"]), np.ravel(inp["extra_params"])])
    inst = Instance(prob, sizes, x.size, 1, x,
                    {**sizes, "state": state, "sequence": sequence})
    ref = reference_jacobian(inst)
    _close(r["output"], ref.value[0])
    (_, r), = _evaluations(answers, "lstm", "jacobian")
    _close(r["output"], ref.jacobian[0])


def test_ba_outputs_are_gradbench_sparse_blocks_of_the_reference(answers, registry):
    (m, r), = _evaluations(answers, "ba", "objective")
    inp = m["input"]
    n, mm, p = inp["n"], inp["m"], inp["p"]
    x = np.array(inp["cam"] + inp["x"] + [inp["w"]])
    inst = Instance(registry.get("ba"), {}, 15, 3, x, {"feat": inp["feat"]})
    ref = reference_jacobian(inst)
    out = r["output"]
    assert out["reproj_error"]["repeated"] == p and out["w_err"]["repeated"] == p
    _close(out["reproj_error"]["elements"] + [out["w_err"]["element"]], ref.value)
    (_, r), = _evaluations(answers, "ba", "jacobian")
    J = r["output"]
    assert len(J["vals"]) == len(J["rows"]) == len(J["cols"]) == 31
    # the first observation's two rows (camera 0, point 0, weight 0), then the last entry:
    # d w_err / d w of observation p - 1, in row 3p - 1 of the CSR matrix
    _close(J["vals"][:30], np.concatenate([ref.jacobian[0], ref.jacobian[1]]))
    _close(J["vals"][30], ref.jacobian[2, 14])
    first = list(range(11)) + [11 * n, 11 * n + 1, 11 * n + 2, 11 * n + 3 * mm]
    assert J["cols"][:30] == first + first and J["cols"][30] == 11 * n + 3 * mm + p - 1
    # CSR row starts: 2p rows of 15 entries, then p rows of one
    starts = [15 * i for i in range(2 * p + 1)] + [30 * p + i for i in range(1, p + 1)]
    assert J["rows"] == starts[:30] + [31 * p]


class _Failing(Method):
    name = "failing"

    def __init__(self, jacobian=None):
        self.jacobian = jacobian

    def prepare(self, inst):
        if self.jacobian is None:
            raise RuntimeError("this method always fails")
        return Prepared(self.jacobian)


@pytest.mark.parametrize("method, says", [
    (METHODS["fd-complex"], "not complex-analytic"),        # Unsupported: max
    (_Failing(), "RuntimeError: this method always fails"),
    (_Failing(lambda x: np.full((1, x.size), np.nan)), "non-finite Jacobian"),
])
def test_a_failing_method_answers_an_error(registry, method, says):
    message = {"id": 7, "kind": "evaluate", "module": "lse", "function": "gradient",
               "input": {"x": [0.5, 0.25, 2.0], "min_runs": 1, "min_seconds": 0}}
    response = Tool(method, registry).respond(message)
    assert response["id"] == 7 and response["success"] is False
    assert says in response["error"]


def test_serve_writes_one_json_line_per_message(messages, registry):
    import io

    out = io.StringIO()
    lines = [json.dumps(m) for m in messages[:6]] + ["", "not json"]
    assert serve(Tool(METHODS["manual"], registry), lines, out) == 6
    responses = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in responses] == [m["id"] for m in messages[:6]]


def test_cli_tool_answers_the_recorded_session_in_a_subprocess(messages, answers):
    proc = subprocess.run([sys.executable, "-m", "adbench", "gradbench-tool", "--method",
                           "ad-forward"], input=SESSION.read_text(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    responses = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in responses] == [m["id"] for m in messages]
    for response in responses:
        message, in_process = answers[response["id"]]
        assert response.get("success") == in_process.get("success")
        if message["kind"] == "evaluate" and response.get("success"):
            a, b = response["output"], in_process["output"]   # ad-forward vs ad-reverse
            flat = [np.ravel(v) for v in (a.values() if isinstance(a, dict) else [a])]
            other = [np.ravel(v) for v in (b.values() if isinstance(b, dict) else [b])]
            if not (isinstance(a, dict) and "reproj_error" in a):
                for u, v in zip(flat, other, strict=True):
                    _close(u, v, 1e-10)
    assert "14 outputs valid, 0 invalid" in proc.stderr


# --------------------------------------------------------------------------
# GMM: adbench's instance is GradBench's (its generator's order, its objective)
# --------------------------------------------------------------------------

def _gradbench_generate(seed, d, k, n):
    """GradBench's gmm generator transcribed: x, alpha, mu, q, l, row by row."""
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=d) for _ in range(n)]
    alpha = rng.normal(size=k)
    mu = [rng.uniform(size=d) for _ in range(k)]
    q = [rng.normal(size=d) for _ in range(k)]
    l = [rng.normal(size=d * (d - 1) // 2) for _ in range(k)]
    return np.array(x), alpha, np.array(mu), np.array(q), np.array(l)


def _gradbench_log_posterior(x, alpha, mu, q, l, m=0, gamma=1.0):
    """GradBench's definition, density by density (evals/gmm/README.md): log of
    prod_i sum_k phi_k N(x_i | mu_k, (Q_k^T Q_k)^-1) times prod_k W(Q_k^T Q_k | I /
    gamma^2, D + m + 1), the product over points taken as a sum of logs (it underflows
    at N = 1000)."""
    N, D = x.shape
    K = len(alpha)
    phi = np.exp(alpha) / np.sum(np.exp(alpha))
    precisions = []
    for k in range(K):
        Q = np.diag(np.exp(q[k]))
        rows, cols = [], []
        for col in range(D):               # l fills the strict lower triangle by columns
            for row in range(col + 1, D):
                rows.append(row)
                cols.append(col)
        Q[rows, cols] = l[k]
        precisions.append(Q.T @ Q)
    loglik = 0.0
    for i in range(N):
        density = 0.0
        for k in range(K):
            r = x[i] - mu[k]
            density += phi[k] * math.exp(-0.5 * r @ precisions[k] @ r) / math.sqrt(
                (2 * math.pi) ** D / np.linalg.det(precisions[k]))
        loglik += math.log(density)
    dof = D + m + 1
    V = np.eye(D) / gamma ** 2
    log_multigamma = D * (D - 1) / 4 * math.log(math.pi) + sum(
        math.lgamma(dof / 2 + (1 - j) / 2) for j in range(1, D + 1))
    logprior = sum((dof - D - 1) / 2 * math.log(np.linalg.det(P))
                   - np.trace(np.linalg.inv(V) @ P) / 2 - dof * D / 2 * math.log(2)
                   - dof / 2 * math.log(np.linalg.det(V)) - log_multigamma
                   for P in precisions)
    return loglik + logprior


def test_gmm_at_gradbench_sizes_is_gradbench_instance_and_objective(registry):
    d, k, n = 2, 5, 1000                      # GradBench's smallest gmm size, seed 31337
    x, alpha, mu, q, l = _gradbench_generate(31337, d, k, n)
    inst = registry.get("gmm").instance(D=d, K=k, N=n)
    np.testing.assert_array_equal(inst.x0, np.concatenate([alpha, mu.ravel(), q.ravel(),
                                                           l.ravel()]))
    np.testing.assert_array_equal(inst.params["points_T"][0].T, x)
    value = float(inst.f(inst.x0, numpy_xp))
    assert value == pytest.approx(_gradbench_log_posterior(x, alpha, mu, q, l), rel=1e-12)
    # GradBench's own C++ manual tool on this input gives -3916.464821054466
    # (gradbench f26651a7: tools/manual/bin/gmm on generate(seed=31337, d=2, k=5, n=1000,
    # m=0, gamma=1.0) from python/gradbench/gradbench/evals/gmm/run.py, "objective").
    assert value == pytest.approx(-3916.464821054466, rel=1e-13)
