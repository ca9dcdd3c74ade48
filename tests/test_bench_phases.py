"""The GMM gradient's phases, timed apart (python -m adbench.studies.bench_phases)."""

import pytest

from adbench.ad import compile_grad
from adbench.interpret.xp import numpy_xp
from adbench.studies import bench_phases
from adbench.studies.bench import gmm_workload, plain_gmm_xp


def test_the_phases_are_ratios_to_the_plain_evaluation_and_the_sweep_is_the_rest():
    phases = bench_phases.run(D=2, K=3, N=50, repeats=2, min_sample=0.002)
    assert set(phases) == {"plain", "record", "grad", "compile_grad", "compiled forward",
                           "hand-written", "sweep", "compiled sweep", "floor"}
    assert phases["plain"] == (1.0, 1.0, 1.0)
    for name, (median, low, high) in phases.items():
        assert low <= median <= high, name
        if "sweep" not in name:
            assert low > 0, name


def test_the_compiled_forward_is_the_programs_first_half():
    inst = gmm_workload(2, 3, 50)
    x = inst.x0
    forward = bench_phases.compiled_forward(inst.f, x)
    value = forward(x, 1.0)
    program = compile_grad(inst.f)
    program(x)
    full = next(iter(program.sources.values())).splitlines()
    first_reverse = next(n for n, line in enumerate(full) if line.startswith("    g"))
    # the same lines up to the reverse sweep (the del lines aside: which arrays die
    # where depends on the lines that follow), then f's value returned
    *head, last = forward.source.splitlines()
    assert [line for line in head if "del " not in line] == \
        [line for line in full[:first_reverse] if "del " not in line]
    assert last.startswith("    return v")
    assert not any(line.startswith("    g") for line in head)
    assert value == inst.f(x, numpy_xp)
    assert value == pytest.approx(float(inst.f(x, plain_gmm_xp())), rel=1e-14)


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
