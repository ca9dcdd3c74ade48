"""The engine benchmark runs and reports (its timings are never asserted)."""

import numpy as np
import pytest
from test_cli import invoke

from adbench.studies.bench import TARGETS, format_table, namespace_over, run_engine_bench


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
    rows = run_engine_bench(gmm_sizes=[(2, 3)], repeats=3, min_sample=0.001,
                            use_autograd=False)
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
    table = format_table(rows, wide=True)
    assert "D=2 K=3 N=1000" in table and "n=50" in table and "compiled met" in table
    low, high = rows[0].ratio_range
    assert "ratio per round" in table and f"{low:.2f}-{high:.2f}" in table
    assert "manual ratio" in table and f"{rows[1].manual_ratio:.2f}" in table
    assert f"{rows[1].compiled_ratio:.2f}" in table


def test_bench_engine_command(benchmark_problems):
    out = invoke(["bench", "engine", "--workload", "helmholtz", "--repeats", "1",
                  "--min-sample", "0.001", "--no-autograd"])
    assert out.exit_code == 0, out.output
    assert "OPENBLAS_NUM_THREADS=1" in out.output and "helmholtz" in out.output


def test_bench_engine_rejects_a_bad_size():
    out = invoke(["bench", "engine", "--gmm-size", "10"])
    assert out.exit_code == 2
    assert "--gmm-size '10': expected D,K" in out.output


def test_autograd_differentiates_the_same_gmm_with_its_own_logsumexp(registry):
    pytest.importorskip("autograd")
    from adbench.ad import grad
    from adbench.studies.bench import autograd_grad
    inst = registry.get("gmm").instance(D=3, K=4, N=20)
    theirs = autograd_grad(inst.f)(inst.x0)
    np.testing.assert_allclose(theirs, grad(inst.f)(inst.x0), rtol=1e-12, atol=1e-12)
