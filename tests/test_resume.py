"""Nothing lost: a run killed (SIGKILL) or interrupted (Ctrl-C, SIGTERM) in the middle keeps
every finished row, and --resume completes it to exactly the rows of an
uninterrupted run. Same command, same rows (timings aside).

The interruption is real: ``python -m adbench run`` in a subprocess, held at a
known measurement by a problem that waits while a file exists, then signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_cli import invoke

from adbench.measure import harness
from adbench.measure.harness import read_results
from adbench.methods import DEFAULT_METHODS

ROOT = Path(__file__).resolve().parent.parent

#: k = 1..3; at k = 2 the symbolic method waits while the file `hold` exists,
#: after the rows of k = 1 and of the first three methods of k = 2 are written.
HELD = '''
import os, time
from pathlib import Path
from adbench import problem

HERE = Path(__file__).parent

@problem(name="held", sizes={"k": [1, 2, 3]}, n=lambda k: k, m=2,
         x0=lambda k: [0.5 + 0.25 * i for i in range(k)])
def held(x, xp, k):
    if k == 2 and xp.name == "sympy" and (HERE / "hold").exists():
        (HERE / "worker.pid.tmp").write_text(str(os.getpid()))
        os.replace(HERE / "worker.pid.tmp", HERE / "worker.pid")  # never seen empty
        while (HERE / "hold").exists():
            time.sleep(0.01)
    return [xp.sum(xp.sin(x) * x), xp.exp(x[0]) * x[-1]]
'''

#: rows before the hold: k = 1 (every method) and, at k = 2, the methods before symbolic
ROWS_BEFORE_HOLD = len(DEFAULT_METHODS) + DEFAULT_METHODS.index("symbolic")


def timing_columns(df: pd.DataFrame) -> list[str]:
    """Columns that may differ between identical runs: times, what a time budget cut,
    and peak memory."""
    from adbench.measure.metrics.memory import PEAK_COLUMNS
    from adbench.studies.swell import TIME_BUDGETED_COLUMNS
    return [c for c in df.columns if c.endswith("_s") or "time" in c or "setup" in c
            or c in TIME_BUDGETED_COLUMNS or c in PEAK_COLUMNS]


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """The rows without their timings, in a canonical order."""
    df = df.drop(columns=timing_columns(df))
    return df.sort_values(list(harness.KEY)).reset_index(drop=True)


@pytest.fixture
def held_dir(tmp_path):
    folder = tmp_path / "problems"
    folder.mkdir()
    (folder / "held.py").write_text(HELD)
    return folder


#: The held runs: untimed (the rows are compared without their times), and a timeout
#: long enough that a loaded machine does not make the peak-memory measurement skip
#: itself in one run and not in the other (it skips where tracing could take over a
#: quarter of the timeout).
TIMEOUT = 120
UNTIMED = ["--time-budget", "0"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from adbench.measure.metrics import timing
    folder = tmp_path_factory.mktemp("problems")
    (folder / "held.py").write_text(HELD)
    out = tmp_path_factory.mktemp("full") / "run"
    before = timing.settings()["budget_s"]
    timing.configure(budget_s=0)
    try:
        return harness.run(problems=["held"], problems_dirs=[folder], out=out, timeout=TIMEOUT)
    finally:
        timing.configure(budget_s=before)


def _start_held_run(held_dir: Path, out: Path, new_session: bool = False) -> subprocess.Popen:
    """``adbench run`` of the held problem, returned once it waits in the held
    measurement; with ``new_session`` it leads a process group of its own."""
    (held_dir / "hold").write_text("")
    proc = subprocess.Popen(
        [sys.executable, "-m", "adbench", "run", "--problems-dir", str(held_dir),
         "--problem", "held", "--out", str(out), "--timeout", str(TIMEOUT), *UNTIMED,
         "--quiet"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a shell may start background jobs with Ctrl-C ignored; a user's run has it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        start_new_session=new_session)
    deadline = time.monotonic() + 60
    while not (held_dir / "worker.pid").exists():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early: {proc.communicate()}")
        assert time.monotonic() < deadline, "the run never reached the held measurement"
        time.sleep(0.02)
    return proc


def _gone(pid: int, wait: float = 10.0) -> bool:
    """True once process ``pid`` has exited (a zombie counts as exited)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


def test_kill_9_keeps_every_finished_row_and_resume_completes_the_run(
        held_dir, tmp_path, uninterrupted):
    out = tmp_path / "run"
    proc = _start_held_run(held_dir, out)
    worker = int((held_dir / "worker.pid").read_text())
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    # the worker stuck in the held measurement dies with its parent
    assert _gone(worker), "the worker outlived its killed parent"

    partial = read_results(out / "results.csv")
    assert len(partial) == ROWS_BEFORE_HOLD
    assert set(partial.status) <= {"ok", "unsupported"}
    # the finished rows are exactly those of an uninterrupted run
    expected = comparable(uninterrupted)
    got = comparable(partial)
    assert got.merge(expected, how="left", indicator=True)["_merge"].eq("both").all()

    # a torn last line, as a write cut short by the kill would leave
    with open(out / "results.csv", "a") as fh:
        fh.write("held,k=2,2,2,symbolic,o")
    (held_dir / "hold").unlink()
    first_setup = partial.set_index(list(harness.KEY))["setup_s"]

    result = invoke(["run", "--resume", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    final = read_results(out / "results.csv")
    assert len(final) == len(uninterrupted) == 3 * len(DEFAULT_METHODS)
    pd.testing.assert_frame_equal(comparable(final), comparable(uninterrupted))
    # the finished rows were kept, not measured again
    kept = final.set_index(list(harness.KEY))["setup_s"].loc[first_setup.index]
    pd.testing.assert_series_equal(kept, first_setup)
    assert "## held" in (out / "report.md").read_text()


def test_ctrl_c_exits_130_with_a_message_and_a_valid_csv(held_dir, tmp_path):
    out = tmp_path / "run"
    proc = _start_held_run(held_dir, out)
    worker = int((held_dir / "worker.pid").read_text())
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"adbench: interrupted; the finished rows are in {out / 'results.csv'}" in stderr
    assert f"adbench run --resume {out}" in stderr
    assert _gone(worker)
    assert len(read_results(out / "results.csv")) == ROWS_BEFORE_HOLD
    (held_dir / "hold").unlink()


def test_sigterm_to_the_process_group_stops_the_run_as_ctrl_c_does(
        held_dir, tmp_path, uninterrupted):
    # A service manager stops a job by sending SIGTERM to all of its processes:
    # the run and its worker. The worker must not turn it into an error row.
    out = tmp_path / "run"
    proc = _start_held_run(held_dir, out, new_session=True)
    worker = int((held_dir / "worker.pid").read_text())
    os.killpg(proc.pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM == 143, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == [f"adbench: interrupted by SIGTERM; the finished rows are in "
                     f"{out / 'results.csv'}; complete the run with: adbench run --resume {out}"]
    assert _gone(worker)
    partial = read_results(out / "results.csv")
    assert len(partial) == ROWS_BEFORE_HOLD
    assert set(partial.status) <= {"ok", "unsupported"}
    assert not (out / "report.md").exists()

    (held_dir / "hold").unlink()
    result = invoke(["run", "--resume", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(comparable(read_results(out / "results.csv")),
                                  comparable(uninterrupted))


def test_sigterm_raises_terminated_only_inside_the_run():
    from adbench.measure.interrupts import Terminated, raising_interrupts

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated) as caught, raising_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises as soon as the signal arrives
    assert isinstance(caught.value, KeyboardInterrupt) and caught.value.signum == 15
    assert signal.getsignal(signal.SIGTERM) == before


def test_resume_of_a_finished_run_measures_nothing_again(tmp_path):
    out = tmp_path / "run"
    assert invoke(["run", "--problem", "survey-example", "--method", "ad-reverse",
                   *UNTIMED, "--out", str(out), "--quiet"]).exit_code == 0
    before = (out / "results.csv").read_text()
    result = invoke(["run", "--resume", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert (out / "results.csv").read_text() == before


# --------------------------------------------------------------------------
# A problem edited between the interrupted run and --resume
# --------------------------------------------------------------------------

#: Two problems in one file: "edited" is changed between the runs, "steady" is not.
TWO = '''
from adbench import problem

SCALE = 2.0


def _inner(x, xp):
    return xp.sin(x[0]) * x[1]


@problem(name="edited", n=2, m=1, x0=[0.5, 1.5])
def edited(x, xp):
    return SCALE * _inner(x, xp)


@problem(name="steady", n=1, m=1, x0=[0.25])
def steady(x, xp):
    return xp.exp(x[0])
'''

#: Edits of "edited": its body, a helper it calls, a constant it reads, its x0.
EDITS = {
    "body": ("return SCALE * _inner(x, xp)", "return SCALE * _inner(x, xp) + x[0]"),
    "helper": ("xp.sin(x[0]) * x[1]", "xp.cos(x[0]) * x[1]"),
    "constant": ("SCALE = 2.0", "SCALE = 3.0"),
    "x0": ("x0=[0.5, 1.5]", "x0=[0.75, 1.5]"),
}

PAIR = ["--problem", "edited", "--problem", "steady", "--method", "ad-reverse",
        "--method", "fd-central", *UNTIMED]


@pytest.mark.parametrize("edit", list(EDITS))
def test_each_edit_changes_the_version_of_the_edited_problem_only(tmp_path, edit):
    from adbench.registry import load_problem_file
    old, new = EDITS[edit]
    assert TWO.count(old) == 1
    versions = []
    for name, text in (("before", TWO), ("after", TWO.replace(old, new))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "two.py").write_text(text)
        versions.append({p.name: p.version for p in load_problem_file(tmp_path / name / "two.py")})
    before, after = versions
    assert after["edited"] != before["edited"]
    assert after["steady"] == before["steady"]


#: Every edit changes the version (the test above); the run measuring the edited rows
#: again is the same code for each: the default run resumes after one edit (a helper
#: the problem calls), ``pytest -m study`` after each.
RESUMED_EDITS = [e if e == "helper" else pytest.param(e, marks=pytest.mark.study) for e in EDITS]


@pytest.mark.parametrize("edit", RESUMED_EDITS)
def test_resume_measures_the_rows_of_an_edited_problem_again(tmp_path, edit):
    folder = tmp_path / "problems"
    folder.mkdir()
    source = folder / "two.py"
    source.write_text(TWO)
    out = tmp_path / "run"
    result = invoke(["run", "--problems-dir", str(folder), *PAIR, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    first = read_results(out / "results.csv")
    # interrupted after three rows: both of "edited", the first of "steady"
    lines = (out / "results.csv").read_text().splitlines(keepends=True)
    (out / "results.csv").write_text("".join(lines[:4]))

    old, new = EDITS[edit]
    assert TWO.count(old) == 1
    source.write_text(TWO.replace(old, new))
    result = invoke(["run", "--resume", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "warning" in line]
    assert warnings == ["adbench: warning: the definition of problem 'edited' changed since "
                        "its rows were measured: its 2 rows are measured again"]

    final = read_results(out / "results.csv").set_index(["problem", "method"])
    before = first.set_index(["problem", "method"])
    assert len(final) == 4
    versions = final["version"]
    assert versions["edited"].nunique() == 1
    assert versions["edited"].iloc[0] != before["version"]["edited"].iloc[0]
    assert (versions["steady"] == before["version"]["steady"]).all()
    # the row of the unchanged problem was kept, those of the edited one measured again
    assert final.loc[("steady", "ad-reverse"), "setup_s"] == \
        before.loc[("steady", "ad-reverse"), "setup_s"]
    assert (final.loc["edited", "status"] == "ok").all()


def test_a_second_resume_after_the_edit_measures_nothing_again(tmp_path):
    folder = tmp_path / "problems"
    folder.mkdir()
    (folder / "two.py").write_text(TWO)
    out = tmp_path / "run"
    assert invoke(["run", "--problems-dir", str(folder), *PAIR, "--out", str(out),
                   "--quiet"]).exit_code == 0
    (folder / "two.py").write_text(TWO.replace(*EDITS["helper"]))
    assert "warning" in invoke(["run", "--resume", str(out), "--quiet"]).output
    after = (out / "results.csv").read_text()
    result = invoke(["run", "--resume", str(out), "--quiet"])
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    assert (out / "results.csv").read_text() == after


def test_the_version_is_the_same_in_every_process(tmp_path):
    # Sets iterate in an order that depends on the process's string hashing, and
    # repr elides long arrays: neither may change a version between runs.
    (tmp_path / "consts.py").write_text('''
import numpy as np
from adbench import problem

NAMES = {"alpha", "beta", "gamma", "delta", "epsilon"}
WEIGHTS = np.linspace(0.0, 1.0, 5000)


@problem(name="consts", n=1, m=1, x0=[1.0])
def consts(x, xp):
    return x[0] * float(WEIGHTS[len(NAMES)])
''')
    code = ("import sys; from adbench.registry import load_registry; "
            "print(load_registry([sys.argv[1]]).get('consts').version)")
    seen = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, text=True,
                              capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed},
                              check=True)
        seen.add(done.stdout.strip())
    assert len(seen) == 1 and len(seen.pop()) == 12


def test_a_second_run_into_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    args = ["run", "--problem", "survey-example", "--method", "ad-reverse", "--out", str(out),
            "--quiet"]
    assert invoke(args).exit_code == 0
    result = invoke(args)
    assert result.exit_code == 2
    assert "exists; use --resume to complete it" in result.output


def test_the_same_command_gives_the_same_rows(tmp_path):
    csvs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = invoke(["run", "--problem", "survey-example", "--problem", "piecewise",
                         "--problem", "tanh-layer", "--sizes", "n=3", "--sizes", "m=2",
                         "--method", "fd-central", "--method", "symbolic",
                         "--method", "ad-reverse", "--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        csvs.append(read_results(out / "results.csv"))
    a, b = csvs
    assert "setup_s" in timing_columns(a)
    assert len(a) == 9 and set(a.status) == {"ok", "unsupported"}
    pd.testing.assert_frame_equal(a.drop(columns=timing_columns(a)),
                                  b.drop(columns=timing_columns(b)))


def test_a_report_cut_short_leaves_the_old_one_whole(tmp_path, monkeypatch):
    from adbench import report
    target = tmp_path / "report.md"
    target.write_text("old report")

    def crash(src, dst):
        raise KeyboardInterrupt  # interrupted between writing and renaming

    monkeypatch.setattr(report.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        report.atomic_write(target, "new report")
    assert target.read_text() == "old report"


def _scaled(k: float):
    """A problem made by a factory: its definition includes the value it closes over."""
    from adbench import problem

    @problem(name=f"scaled-{k}", n=1, m=1, x0=[1.0])
    def scaled(x, xp):
        return k * xp.sin(x[0])
    return scaled


def test_the_version_covers_the_values_a_definition_closes_over():
    assert _scaled(2.0).version == _scaled(2.0).version
    assert _scaled(2.0).version != _scaled(3.0).version


def test_a_run_after_a_resumed_untimed_run_in_the_same_process_is_timed(tmp_path):
    # --resume restores its run's budget (0 here); the next run without --time-budget
    # gets the default again, not what the resumed run left in the process
    from adbench.measure.metrics import timing
    first = tmp_path / "untimed"
    args = ["run", "--problem", "rosenbrock", "--sizes", "n=2", "--method", "manual"]
    assert invoke([*args, "--out", str(first), *UNTIMED]).exit_code == 0
    assert invoke(["run", "--resume", str(first)]).exit_code == 0
    assert timing.settings()["budget_s"] == 0.0
    second = tmp_path / "timed"
    assert invoke([*args, "--out", str(second)]).exit_code == 0
    assert timing.settings()["budget_s"] == timing.DEFAULT_BUDGET_S
    assert read_results(second / "results.csv")["time_derivative_s"].notna().all()
