"""The GMM gradient's phases, timed apart (python -m adbench.studies.bench_phases)."""

import pytest

from adbench.studies import bench_phases


def test_the_phases_are_ratios_to_the_plain_evaluation_and_the_sweep_is_the_rest():
    phases = bench_phases.run(D=2, K=3, N=50, repeats=2, min_sample=0.002)
    assert set(phases) == {"plain", "record", "grad", "compile_grad", "hand-written", "sweep"}
    assert phases["plain"] == (1.0, 1.0, 1.0)
    for name, (median, low, high) in phases.items():
        assert low <= median <= high, name
        if name != "sweep":
            assert low > 0, name


def test_a_bad_size_is_one_line_and_exit_code_2(capsys):
    with pytest.raises(SystemExit) as stop:
        bench_phases.main(["--gmm-size", "2"])
    assert stop.value.code == 2
    assert "--gmm-size: expected D,K" in capsys.readouterr().err


def test_peak_memory_of_each_mode_is_at_least_the_points_size():
    peaks = bench_phases.peak_memory(D=2, K=3, N=2000)
    assert set(peaks) == {"plain", "grad", "compile_grad"}
    # the (K, N) log-likelihood terms, 48 KB, live at once in every mode
    assert all(mib > 3 * 2000 * 8 / 2**20 for mib in peaks.values())
