"""Spread runs: ``--jobs`` on this machine and ``--cluster`` on a real Dask
LocalCluster (2 worker processes, one thread each) give the rows of a serial
run, survive a lost worker (retried once, then a ``worker lost`` row) and a
client killed with SIGKILL (--resume completes it), and time one measurement
per physical core, pinned.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from adbench.measure import harness
from adbench.measure.executors import LocalExecutor
from adbench.measure.harness import read_results
from adbench.measure.metrics import timing
from adbench.measure.placement import HOST_COLUMNS, physical_cores, placed
from adbench.measure.spread import Spread
from adbench.registry import load_registry

ROOT = Path(__file__).resolve().parent.parent

METHODS = ["manual", "fd-central", "ad-forward", "ad-reverse"]
SELECTION = dict(problems=["survey-example", "rosenbrock"], methods=METHODS,
                 sizes={"n": [2, 3]}, timeout=60)

#: Problems that kill the worker interpreter measuring them (the parent of the
#: forked check of f): "dies-once" on its first call only, "dies-always" on
#: every call. Each call is counted in a file beside the problem.
DYING = '''
import os, signal
from pathlib import Path
from adbench import problem

HERE = Path({here!r})

def _kill_the_worker(name, always):
    calls = HERE / (name + ".calls")
    first = not calls.exists()
    with open(calls, "a") as fh:
        fh.write("call\\n")
    if always or first:
        os.kill(os.getppid(), signal.SIGKILL)

@problem(name="dies-once", n=2, m=1, x0=[0.5, 1.5])
def dies_once(x, xp):
    _kill_the_worker("dies-once", False)
    return xp.sin(x[0]) * x[1]

@problem(name="dies-always", n=2, m=1, x0=[0.5, 1.5])
def dies_always(x, xp):
    _kill_the_worker("dies-always", True)
    return xp.sin(x[0]) * x[1]
'''

#: A problem that waits while the file ``hold`` exists (and says so in ``waiting``).
#: Its folder is named by its path: the worker runs a shipped copy of the file.
HELD = '''
import time
from pathlib import Path
from adbench import problem

HERE = Path({here!r})

@problem(name="held", n=2, m=1, x0=[0.5, 1.5])
def held(x, xp):
    while (HERE / "hold").exists():
        (HERE / "waiting").write_text("")
        time.sleep(0.01)
    return xp.sin(x[0]) * x[1]
'''


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """The rows without what may differ between identical runs: times, what a
    time budget cut, peak memory and where they ran."""
    from adbench.measure.metrics.memory import PEAK_COLUMNS
    from adbench.studies.swell import TIME_BUDGETED_COLUMNS
    drop = [c for c in df.columns if c.endswith("_s") or "time" in c or "setup" in c
            or c in PEAK_COLUMNS or c in HOST_COLUMNS or c in TIME_BUDGETED_COLUMNS]
    return df.drop(columns=drop).reset_index(drop=True)


@pytest.fixture(autouse=True)
def no_timing():
    """Accuracy, op counts and the like only (--time-budget 0), unless a test times."""
    before = timing.settings()["budget_s"]
    timing.configure(budget_s=0)
    yield
    timing.configure(budget_s=before)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    before = timing.settings()["budget_s"]
    timing.configure(budget_s=0)
    try:
        return harness.run(out=tmp_path_factory.mktemp("serial") / "run", **SELECTION)
    finally:
        timing.configure(budget_s=before)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as local:
        yield local.scheduler_address


def test_a_run_on_a_local_cluster_gives_the_rows_of_a_serial_run(serial, cluster, tmp_path):
    out = tmp_path / "run"
    spread = harness.run(out=out, spread=Spread(cluster=cluster), **SELECTION)
    pd.testing.assert_frame_equal(comparable(spread), comparable(serial))
    assert list(read_results(out / "results.csv")["method"]) == list(serial["method"])
    assert (spread["concurrency"] >= 1).all() and spread["host"].str.len().gt(0).all()


def test_jobs_gives_the_rows_of_a_serial_run_in_its_order(serial, tmp_path):
    spread = harness.run(out=tmp_path / "run", spread=Spread(jobs=2), **SELECTION)
    pd.testing.assert_frame_equal(comparable(spread), comparable(serial))
    assert spread["cpus"].isna().all()  # untimed tasks are not pinned


def test_a_lost_worker_is_retried_once_then_gives_worker_lost_rows(cluster, tmp_path):
    folder = tmp_path / "problems"
    folder.mkdir()
    (folder / "dying.py").write_text(DYING.format(here=str(folder)))
    df = harness.run(problems=["dies-once", "dies-always"], methods=["ad-forward", "manual"],
                     problems_dirs=[folder], out=tmp_path / "run", timeout=60,
                     spread=Spread(cluster=cluster))
    by = df.set_index(["problem", "method"])
    # dies-once: the first interpreter died in the check of f, the retry measured it
    assert by.loc[("dies-once", "ad-forward"), "status"] == "ok"
    assert by.loc[("dies-once", "ad-forward"), "max_rel_error"] < 1e-14
    assert by.loc[("dies-once", "manual"), "status"] == "unsupported"
    assert len((folder / "dies-once.calls").read_text().split()) > 2
    # dies-always: two interpreters died (the first try and the one retry), then error rows
    assert len((folder / "dies-always.calls").read_text().split()) == 2
    for method in ("ad-forward", "manual"):
        assert by.loc[("dies-always", method), "status"] == "error"
        assert by.loc[("dies-always", method), "message"].startswith("worker lost")


def test_a_missing_problems_folder_is_an_error_row_that_says_so(tmp_path, monkeypatch):
    from adbench.measure import task as task_module
    folder = tmp_path / "problems"
    folder.mkdir()
    (folder / "held.py").write_text(HELD.format(here=str(folder)))
    # too large to ship: the worker must find it at its path, and here it is gone
    monkeypatch.setattr(task_module, "SHIP_LIMIT_BYTES", 10)
    registry = load_registry([folder])
    assert registry.get("held").version  # computed while its file is there
    (folder / "held.py").rename(tmp_path / "elsewhere.py")
    folder.rmdir()
    df = harness.run(problems=["held"], methods=["ad-forward"], registry=registry,
                     spread=Spread(jobs=2), timeout=60)
    assert df["status"].tolist() == ["error"]
    assert f"problems folder {folder} does not exist on host" in df["message"][0]


def test_jobs_killed_with_sigkill_then_resumed_loses_nothing(tmp_path):
    folder = tmp_path / "problems"
    folder.mkdir()
    (folder / "held.py").write_text(HELD.format(here=str(folder)))
    (folder / "hold").write_text("")
    out = tmp_path / "run"
    command = [sys.executable, "-m", "adbench", "run", "--problems-dir", str(folder),
               "--problem", "held", "--problem", "survey-example", "--problem", "rosenbrock",
               "--sizes", "n=2", "--method", "ad-forward", "--method", "ad-reverse",
               "--time-budget", "0", "--jobs", "2", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    csv_path = out / "results.csv"
    deadline = time.monotonic() + 90
    # held waits; the other two instances finish and are written
    while not (csv_path.exists() and len(csv_path.read_text().splitlines()) >= 5
               and (folder / "waiting").exists()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the other instances were never written"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = read_results(csv_path)
    assert set(kept["problem"]) == {"survey-example", "rosenbrock"}
    (folder / "hold").unlink()
    done = subprocess.run([sys.executable, "-m", "adbench", "run", "--resume", str(out),
                           "--jobs", "2", "--quiet"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    df = read_results(csv_path)
    assert list(zip(df["problem"], df["method"])) == [
        (p, m) for p in ("held", "survey-example", "rosenbrock")
        for m in ("ad-forward", "ad-reverse")]
    assert (df["status"] == "ok").all()


def test_timing_tasks_run_one_per_physical_core_pinned(tmp_path):
    timing.configure(budget_s=0.01)
    df = harness.run(problems=["survey-example", "rosenbrock"], sizes={"n": [2, 3, 4]},
                     methods=["ad-forward", "ad-reverse"], out=tmp_path / "run", timeout=60,
                     spread=Spread(jobs=4))
    cores = physical_cores()
    assert df["time_ratio"].notna().all()
    pinned = df["cpus"].astype(float).astype(int)
    assert set(pinned) <= set(cores)
    assert (df["concurrency"] <= len(cores)).all()


def test_a_core_slot_is_held_by_one_task_at_a_time(tmp_path):
    cores = physical_cores()
    release = threading.Event()
    held = []

    def hold():
        with placed(timing=True, folder=tmp_path) as place:
            held.append(place.core)
            release.wait(timeout=30)

    threads = [threading.Thread(target=hold) for _ in cores]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(held) < len(cores) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(held) == sorted(cores)  # every core taken, once
    waiter = threading.Thread(target=hold)
    waiter.start()
    time.sleep(0.3)
    assert len(held) == len(cores)  # one more timing task waits for a free core
    release.set()
    for t in [*threads, waiter]:
        t.join(timeout=10)
    assert len(held) == len(cores) + 1 and held[-1] in cores


def test_a_spread_fuzz_campaign_finds_what_a_serial_one_finds(monkeypatch):
    from adbench.studies.fuzz import driver
    monkeypatch.setattr(driver, "CHUNK", 4)
    serial = driver.fuzz(10, 7, first=3, timeout=60)
    spread = driver.fuzz_spread(10, 7, LocalExecutor(2), first=3, timeout=60)
    assert (spread.examples, spread.failing, spread.nodes) == (
        serial.examples, serial.failing, serial.nodes)
    assert spread.counts == serial.counts and spread.by_primitive == serial.by_primitive
    assert {k: (i, p.source("p", "")) for k, (i, p, _) in spread.first.items()} == {
        k: (i, p.source("p", "")) for k, (i, p, _) in serial.first.items()}
    assert driver.partition(3, 10, 4) == [(3, 4), (7, 4), (11, 2)]


def test_the_report_says_on_which_hosts_the_time_ratios_were_measured():
    from adbench.report.hosts import host_note
    one = pd.DataFrame({"time_ratio": [2.0, 3.0, None], "host": ["a (X)", "a (X)", "b (Y)"],
                        "concurrency": [2, 1, 1]})
    assert host_note(one)[0].startswith("Times were measured on a (X), up to 2 measurements")
    two = one.assign(time_ratio=[2.0, 3.0, 4.0])
    assert "2 hosts (a (X); b (Y))" in host_note(two)[0]
    assert host_note(one.assign(time_ratio=None)) == []
