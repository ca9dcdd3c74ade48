"""How an isolated worker starts: a fork of this process, unless a library whose
threads a fork would copy without their owners (JAX, torch) is running here;
then a fork of multiprocessing's fork server, given the call pickled."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap

import pytest

from adbench.measure import isolation
from adbench.measure.harness import measure, select
from adbench.measure.metrics import timing
from adbench.methods import get_method
from adbench.registry import ProblemFileError, load_registry, problem_from_file

ONE_PROBLEM = '''
from adbench import problem

@problem(name="scaled-square", n=2, m=1, x0=[1.5, -0.5])
def scaled_square(x, xp):
    return [3.0 * x[0] * x[0] + x[1]]
'''


@pytest.fixture
def threaded(monkeypatch):
    """This process as if a multithreaded runtime were running in it."""
    monkeypatch.setattr(isolation, "THREADED_RUNTIMES", {"runtime": lambda: True})


def test_a_worker_is_a_fork_unless_its_call_runs_a_threaded_runtime_running_here(monkeypatch):
    monkeypatch.setattr(isolation, "THREADED_RUNTIMES", {"runtime": lambda: False})
    assert isolation.start_method(("runtime",)) == "fork"
    monkeypatch.setattr(isolation, "THREADED_RUNTIMES", {"runtime": lambda: False,
                                                         "other": lambda: True})
    assert isolation.start_method(("runtime",)) == "fork"
    assert isolation.start_method(("runtime", "other")) == "forkserver"
    assert isolation.start_method(("other",)) == "forkserver"
    # a call that runs none of them (adbench's own methods), or an unknown library
    assert isolation.start_method() == "fork"
    assert isolation.start_method(("autograd",)) == "fork"


def test_a_peer_measurement_names_its_library_and_adbench_methods_none():
    assert get_method("jax-rev").runtimes == ("jax",)
    assert get_method("torch-rev").runtimes == ("torch",)
    assert get_method("ad-reverse").runtimes == ()


def _problems(tmp_path):
    folder = tmp_path / "problems"
    folder.mkdir()
    (folder / "scaled.py").write_text(ONE_PROBLEM)
    return load_registry([folder])


def test_a_measurement_from_the_fork_server_gives_the_row_of_a_fork(tmp_path, threaded):
    reg = _problems(tmp_path)
    for name in ("survey-example", "scaled-square"):  # built in; from a problem file
        inst = select(reg, None, [name], None)[0]
        method = get_method("ad-reverse")
        here = measure(inst, method, None)
        served = isolation.run_isolated(measure, (inst, method, None, 60), 60,
                                        runtimes=("runtime",))
        assert served.status == "ok", served.message
        row = served.value
        assert row["status"] == "ok" and row["problem"] == name
        for column in ("n", "m", "ops_f", "ops_derivative", "tape_length", "version"):
            assert row[column] == here[column], column


def test_the_fork_server_worker_gets_the_timing_budget(tmp_path, threaded):
    inst = select(load_registry(), None, ["survey-example"], None)[0]
    before = timing.settings()
    try:
        timing.configure(budget_s=0)  # --time-budget 0: no time columns
        row = isolation.run_isolated(measure, (inst, get_method("manual"), None, 60), 60,
                                     runtimes=("runtime",)).value
        assert "time_f_s" not in row and row["status"] == "ok"
        timing.configure(budget_s=0.01)
        row = isolation.run_isolated(measure, (inst, get_method("manual"), None, 60), 60,
                                     runtimes=("runtime",)).value
        assert row["time_samples"] >= 1
    finally:
        timing.configure(**before)


def test_a_call_that_cannot_be_pickled_is_forked_all_the_same(threaded):
    outcome = isolation.run_isolated(lambda a: a * 2, (21,), 60, runtimes=("runtime",))
    assert outcome.status == "ok" and outcome.value == 42


def test_a_problem_file_edited_since_it_was_loaded_is_not_measured_as_the_loaded_one(tmp_path):
    reg = _problems(tmp_path)
    prob = reg.get("scaled-square")
    assert problem_from_file(prob.source, prob.name, prob.version).version == prob.version
    (tmp_path / "problems" / "scaled.py").write_text(ONE_PROBLEM.replace("3.0", "4.0"))
    with pytest.raises(ProblemFileError, match="changed since it was loaded"):
        problem_from_file(prob.source, prob.name, prob.version)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_after_jax_has_run_a_worker_is_not_forked_and_jax_measures_in_it():
    """In a fresh interpreter (whatever the tests before ran here): the start
    method is fork until JAX's backend starts, then the fork server; a jax-rev
    measurement through it gives its row, and JAX never warns of a fork."""
    script = textwrap.dedent('''
        import numpy as np
        from adbench.measure import isolation
        from adbench.measure.harness import measure, select
        from adbench.methods import get_method
        from adbench.registry import load_registry

        inst = select(load_registry(), None, ["survey-example"], None)[0]
        import jax
        print(isolation.start_method(("jax",)))
        import jax.numpy as jnp
        float(jnp.ones(3).sum())  # the backend starts, and its threads
        print(isolation.start_method(("jax",)))
        for name in ("jax-rev",):
            method = get_method(name)
            out = isolation.run_isolated(measure, (inst, method, None, 120), 120,
                                         runtimes=method.runtimes)
            print(name, out.status, out.value and out.value["status"], out.message)
    ''')
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["fork", "forkserver", "jax-rev ok ok "], done.stdout
    assert "os.fork()" not in done.stderr


def test_the_torch_pool_counts_only_with_several_threads(monkeypatch):
    class Torch:
        threads = 1

        def get_num_threads(self):
            return self.threads

    torch = Torch()
    monkeypatch.setitem(sys.modules, "torch", torch)
    assert not isolation.THREADED_RUNTIMES["torch"]()
    torch.threads = 4
    assert isolation.THREADED_RUNTIMES["torch"]()


def test_a_script_is_not_run_again_in_the_worker_and_its_own_functions_are_forked(tmp_path):
    """An unguarded script (no ``if __name__ == "__main__"``): the fork server's
    worker does not import it again, and a function it defines (not importable
    by another interpreter) is forked, as before."""
    script = textwrap.dedent('''
        from adbench.measure import isolation
        from adbench.measure.harness import measure, select
        from adbench.methods import get_method
        from adbench.registry import load_registry

        print("script body")
        isolation.THREADED_RUNTIMES = {"runtime": lambda: True}

        def double(a):
            return 2 * a

        inst = select(load_registry(), None, ["survey-example"], None)[0]
        row = isolation.run_isolated(measure, (inst, get_method("manual"), None, 60), 60,
                                     runtimes=("runtime",))
        print(row.status, row.value["status"],
              isolation.run_isolated(double, (21,), 60, runtimes=("runtime",)).value)
    ''')
    (tmp_path / "unguarded.py").write_text(script)
    done = subprocess.run([sys.executable, str(tmp_path / "unguarded.py")], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["script body", "ok ok 42", ""], done.stdout
