"""The engine benchmark runs and reports (its timings are never asserted)."""

import numpy as np
import pytest
from test_cli import invoke

from adbench.studies.bench import (
    TARGETS,
    format_peer_table,
    format_table,
    namespace_over,
    run_engine_bench,
)
from adbench.studies.bench_peers import PEER_TOOLS, installed_tools, prepare_peer


@pytest.fixture(scope="module")
def benchmark_problems(registry):
    missing = {"gmm", "helmholtz"} - set(registry.problems)
    if missing:
        pytest.skip(f"problems {sorted(missing)} are not in this checkout's registry")


def test_namespace_over_numpy_runs_a_problem_unchanged(registry):
    inst = registry.get("rosenbrock").instance(n=4)
    xp = namespace_over(np)
    assert xp.sum is np.sum and xp.abs is np.abs
    assert inst.f(inst.x0, xp) == pytest.approx(float(inst.f(inst.x0, np)))


def test_engine_bench_rows_hold_ratios_and_gradient_agreement(benchmark_problems):
    rows = run_engine_bench(gmm_sizes=[(2, 3)], repeats=3, min_sample=0.001, peers=())
    assert [r.workload for r in rows] == ["gmm", "helmholtz"]
    for r in rows:
        assert r.plain > 0 and r.ours > 0 and r.ratio == r.ours / r.plain
        assert len(r.round_ratios) == 3 and r.ratio_range == (min(r.round_ratios),
                                                              max(r.round_ratios))
        assert r.target == TARGETS[r.workload]
        assert r.gradient_gap < 1e-12  # against the hand-written gradient
        assert r.manual > 0 and r.manual_ratio == r.manual / r.plain  # timed in the rounds
        # compile_grad, timed in the same rounds, gives grad's gradient
        assert r.compiled > 0 and r.compiled_ratio == r.compiled / r.plain
        assert len(r.compiled_rounds) == 3 and r.compile_seconds > 0
        assert r.compiled_gap < 1e-12
        assert r.compiled_met == (r.compiled_ratio <= r.target)
        assert r.peers == {}
    table = format_table(rows, wide=True)
    assert "D=2 K=3 N=1000" in table and "n=50" in table and "compiled met" in table
    low, high = rows[0].ratio_range
    assert "ratio per round" in table and f"{low:.2f}-{high:.2f}" in table
    assert "manual ratio" in table and f"{rows[1].manual_ratio:.2f}" in table
    assert f"{rows[1].compiled_ratio:.2f}" in table
    assert format_peer_table(rows, wide=True) == ""  # no peer timed, no peer table


def test_bench_engine_command(benchmark_problems):
    out = invoke(["bench", "engine", "--workload", "helmholtz", "--repeats", "1",
                  "--min-sample", "0.001", "--no-peers"])
    assert out.exit_code == 0, out.output
    assert "OPENBLAS_NUM_THREADS=1" in out.output and "helmholtz" in out.output


def test_bench_engine_rejects_a_bad_size():
    out = invoke(["bench", "engine", "--gmm-size", "10"])
    assert out.exit_code == 2
    assert "--gmm-size '10': expected D,K" in out.output


#: Every installed tool on one workload by default (about 6 s on a loaded 2-core machine);
#: on all three, the GMM's eager JAX dispatch among them (about 30 s), under ``study``.
PEER_WORKLOADS = [("helmholtz",),
                  pytest.param(("gmm", "helmholtz", "helmholtz-x[i]"), marks=pytest.mark.study)]


@pytest.mark.parametrize("workloads", PEER_WORKLOADS, ids=lambda w: "+".join(w))
def test_each_installed_peer_is_timed_with_grads_gradient(benchmark_problems, workloads):
    tools = installed_tools()
    if not tools:
        pytest.skip("no peer library installed")
    rows = run_engine_bench(workloads=workloads,
                            gmm_sizes=[(2, 3)], repeats=1, min_sample=1e-4, helmholtz_n=3)
    assert [r.workload for r in rows] == list(workloads)
    table = format_peer_table(rows, wide=True)
    for r in rows:
        assert list(r.peers) == tools
        for tool, p in r.peers.items():
            assert p.note == "" and p.seconds > 0, (r.workload, tool, p.note)
            assert p.gap < 1e-12, (r.workload, tool, p.gap)  # against grad's gradient
            assert len(p.rounds) == 1 and p.setup_seconds > 0
    for tool in tools:
        assert f"{tool} " in table
    assert "/compiled" in table and "first call ms" in table
    r = rows[0]
    if "autograd" in tools:
        assert r.autograd == r.peers["autograd"].seconds  # autograd's time enters ``met``


def test_a_peer_that_cannot_run_a_workload_is_a_note_not_a_crash():
    if "jax-jit" not in installed_tools():
        pytest.skip("jax is not installed")

    def branchy(x, xp):
        return xp.sum(x * x) if x[0] > 0 else xp.sum(x)  # a Python branch on a traced value
    p = prepare_peer("jax-jit", branchy, {}, np.array([1.0, 2.0]))
    assert p.call is None and p.gradient is None
    assert "Error" in p.note  # JAX's own refusal, in one line
    eager = prepare_peer("jax", branchy, {}, np.array([1.0, 2.0]))
    np.testing.assert_array_equal(eager.gradient, [2.0, 4.0])  # eager JAX runs the branch


def test_a_tool_not_installed_is_a_note(monkeypatch):
    import adbench.studies.bench_peers as bp
    monkeypatch.setitem(bp.LIBRARY, "autograd", "no_such_library_for_adbench")
    p = prepare_peer("autograd", lambda x, xp: xp.sum(x), {}, np.ones(2))
    assert p.call is None and p.note == "no_such_library_for_adbench is not installed"
    assert "autograd" not in installed_tools(PEER_TOOLS)


def test_scalar_op_costs_times_each_step_of_a_chain():
    from adbench.studies.bench import SCALAR_STEPS, scalar_op_costs
    costs = scalar_op_costs(length=50, repeats=1)
    assert set(costs) == set(SCALAR_STEPS)
    assert all(np.isfinite(v) for v in costs.values())


def test_the_c_backend_is_timed_on_the_scalar_workloads_and_says_why_not_elsewhere(
        benchmark_problems, monkeypatch):
    from adbench.ad import native
    try:
        native.compiler()
    except native.NotNative as why:
        pytest.skip(str(why))
    rows = run_engine_bench(workloads=("gmm", "helmholtz", "helmholtz-x[i]"),
                            gmm_sizes=[(2, 3)], repeats=2, min_sample=0.001, peers=(),
                            helmholtz_n=5)
    gmm, scalar = rows[0], rows[1:]
    assert gmm.native is None and gmm.native_ratio is None and "array code" in gmm.native_note
    for r in scalar:
        assert r.native > 0 and r.native_ratio == r.native / r.plain and r.native_note == ""
        assert len(r.native_rounds) == 2 and r.native_range == (min(r.native_rounds),
                                                                max(r.native_rounds))
        assert r.native_gap <= 1e-12 and r.native_first_seconds > 0
    table = format_table(rows, wide=True)
    assert "c ratio" in table and f"{scalar[0].native_ratio:.2f}" in table
    assert "- [1]" in table and "[1] c: array code" in table
    # no compiler: no time, and the reason
    monkeypatch.setattr(native, "CC", "/nonexistent/cc")
    (row,) = run_engine_bench(workloads=("helmholtz",), repeats=1, min_sample=0.001,
                              peers=(), helmholtz_n=3)
    assert row.native is None and "the C compiler /nonexistent/cc was not found" in \
        row.native_note
    assert "c: not native: the C compiler /nonexistent/cc was not found" in format_table([row])
