"""A task in a fresh Python interpreter: ``python -m adbench.worker``.

A spread run (``adbench run --jobs``/``--cluster``, ``adbench fuzz --jobs``)
calls this from threads: a pool thread here, a Dask worker's task thread on a
cluster. A thread must not fork (the child would inherit locks held by the
other threads, and a measurement forks again inside), so each task gets an
interpreter of its own, started with ``subprocess`` (fork and exec at once),
that is single-threaded and forks its measurements as a serial run does
(:func:`adbench.measure.isolation.run_isolated`, with its hard timeout and
memory limit).

The protocol: the task, one JSON object, on the interpreter's stdin; the
answer, one JSON object, on its stdout (the worker sends anything the
measured code prints to stderr instead). The interpreter dies with the thread
that started it (``PR_SET_PDEATHSIG``), and is killed when the task's whole
time is up.

Failure modes: an interpreter that ends without an answer (killed, out of
memory, ``os._exit`` in a problem, a lost machine) raises :class:`WorkerLost`,
which the caller retries once; one that outlives ``deadline`` seconds is
killed and raises :class:`TaskTimeout`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

__all__ = ["WorkerLost", "TaskTimeout", "run_in_interpreter", "kill_all", "STARTUP_S"]

#: Seconds allowed on top of a task's own time for an interpreter to start
#: (imports on a loaded machine take several seconds).
STARTUP_S = 60.0


#: The interpreters running now, for :func:`kill_all`.
_live: set = set()
_live_lock = threading.Lock()


def kill_all() -> None:
    """Kill every task interpreter this process is running (an interrupted run)."""
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()


class WorkerLost(RuntimeError):
    """The interpreter of a task ended without an answer."""


class TaskTimeout(RuntimeError):
    """The interpreter of a task outlived its deadline and was killed."""


def _json_default(value):
    """numpy scalars (np.int64, np.bool_) in a row are written as Python numbers."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(obj) -> str:
    """``obj`` as the JSON of the protocol (NaN allowed, numpy scalars as numbers)."""
    return json.dumps(obj, default=_json_default)


def _death(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exit code {returncode}"


def run_in_interpreter(task: dict, deadline: float | None = None) -> dict:
    """Send ``task`` to a fresh ``python -m adbench.worker`` and return its answer.

    WorkerLost if the interpreter ends without a readable answer (its stderr's
    last line is in the message); TaskTimeout after ``deadline`` seconds.
    """
    env = dict(os.environ)
    env["ADBENCH_WORKER_PARENT"] = str(os.getpid())
    proc = subprocess.Popen([sys.executable, "-m", "adbench.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)
    with _live_lock:
        _live.add(proc)
    try:
        out, err = proc.communicate(encode(task), timeout=deadline)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise TaskTimeout(f"the task's interpreter was killed after {deadline:g} s") from None
    finally:
        if proc.poll() is None:  # an exception in this thread (KeyboardInterrupt)
            proc.kill()
            proc.wait()
        with _live_lock:
            _live.discard(proc)
    try:
        answer = json.loads(out)
    except ValueError:
        answer = None
    if proc.returncode != 0 or not isinstance(answer, dict):
        last = (err.strip().splitlines() or [""])[-1][:300]
        raise WorkerLost(f"the worker interpreter died ({_death(proc.returncode)})"
                         + (f": {last}" if last else ""))
    return answer
