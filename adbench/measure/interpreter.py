"""Tasks in an interpreter of their own: ``python -m adbench.worker``.

A spread run (``adbench run --jobs``/``--cluster``, ``adbench fuzz --jobs``)
calls this from threads: a pool thread here, a Dask worker's task thread on a
cluster. A thread must not fork (the child would inherit locks held by the
other threads, and a measurement forks again inside), so tasks run in a
separate interpreter, started with ``subprocess`` (fork and exec at once),
that is single-threaded and forks each measurement as a serial run does
(:func:`adbench.measure.isolation.run_isolated`, with its hard timeout and
memory limit): every measurement is still a fresh process.

Each thread keeps its interpreter for its next tasks: starting one costs
1-3 s of imports (numpy, SymPy, mpmath, pandas), more than most instances
take to measure (the quick suite with --jobs 2 took 78 s with an interpreter
per task against 31 s serially). The interpreter reloads the problems for
every task and keeps no other state between tasks; one that failed or timed
out is thrown away.

The protocol: one JSON task per line on the interpreter's stdin, one JSON
answer per line on its stdout (the worker sends anything the measured code
prints to stderr instead, here a file). The interpreter dies with the thread
that started it (``PR_SET_PDEATHSIG``), and is killed when a task's time is up.

Failure modes: an interpreter that ends without an answer (killed, out of
memory, ``os._exit`` in a problem, a lost machine) raises :class:`WorkerLost`,
which the caller retries once; one that outlives ``deadline`` seconds is
killed and raises :class:`TaskTimeout`.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading

__all__ = ["WorkerLost", "TaskTimeout", "Interpreter", "run_in_interpreter", "kill_all",
           "reap", "encode", "STARTUP_S"]

#: Seconds allowed on top of a task's own time for an interpreter to start
#: (imports on a loaded machine take several seconds).
STARTUP_S = 60.0

#: The interpreters running now, for :func:`kill_all`.
_live: set = set()
_live_lock = threading.Lock()
_mine = threading.local()  # each thread's interpreter


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
    """``obj`` as one line of the protocol (NaN allowed, numpy scalars as numbers)."""
    return json.dumps(obj, default=_json_default)


def _death(returncode: int | None) -> str:
    if returncode is None:
        return "no answer"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exit code {returncode}"


class Interpreter:
    """One ``python -m adbench.worker`` answering the tasks sent to it in turn."""

    def __init__(self):
        env = dict(os.environ)
        env["ADBENCH_WORKER_PARENT"] = str(os.getpid())
        self.thread = threading.current_thread()  # it dies with this thread
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "adbench.worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env)
        with _live_lock:
            _live.add(self)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Kill the interpreter (if it still runs) and forget it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            try:
                stream.close()
            except OSError:
                pass
        with _live_lock:
            _live.discard(self)

    def _last_error_line(self) -> str:
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - 4000))
            lines = self.stderr.read().decode(errors="replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return lines[-1][:300] if lines else ""

    def request(self, task: dict, deadline: float | None) -> dict:
        """Send ``task``, wait for its answer at most ``deadline`` seconds."""
        try:
            self.proc.stdin.write((encode(task) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died: reading says how
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            ready = sel.select(None if deadline is None else max(deadline, 0.0))
        if not ready:
            self.close()
            raise TaskTimeout(f"the task's interpreter was killed after {deadline:g} s")
        line = self.proc.stdout.readline()
        try:
            answer = json.loads(line) if line else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            why, last = _death(self.proc.poll()), self._last_error_line()
            self.close()
            raise WorkerLost(f"the worker interpreter died ({why})"
                             + (f": {last}" if last else ""))
        return answer


def run_in_interpreter(task: dict, deadline: float | None = None) -> dict:
    """``task``'s answer from this thread's interpreter (started if it has none).

    WorkerLost if the interpreter ends without a readable answer (its stderr's
    last line is in the message); TaskTimeout after ``deadline`` seconds. Either
    way the interpreter is gone, and the thread's next task starts a new one.
    """
    interp = getattr(_mine, "interpreter", None)
    if interp is None or not interp.alive():
        interp = _mine.interpreter = Interpreter()
    try:
        return interp.request(task, deadline)
    except BaseException:
        interp.close()  # a KeyboardInterrupt too: never leave one half-way through a task
        _mine.interpreter = None
        raise


def reap() -> None:
    """Close the interpreters of threads that have ended (a finished pool), so
    that none is left as a zombie of this process."""
    with _live_lock:
        orphans = [i for i in _live if not i.thread.is_alive()]
    for interp in orphans:
        interp.close()


def kill_all() -> None:
    """Kill every task interpreter this process runs (an interrupted run)."""
    with _live_lock:
        interpreters = list(_live)
    for interp in interpreters:
        if interp.proc.poll() is None:
            interp.proc.kill()
