"""Running one measurement where it can be stopped.

Symbolic differentiation can swell without bound and a user's problem can hang
inside a C extension, where no Python-level flag is ever checked. Each
measurement therefore runs in a forked worker process that is killed (SIGKILL)
when its time is up; an exception, a crash or a memory blow-up in the worker
becomes an :class:`Outcome` with a status and a one-line message, never a lost
run.

Guarantees of :func:`run_isolated` (with ``isolate=True``):

* time: the caller gets an answer at most ``timeout`` seconds (plus the cost
  of a fork) after the call, whatever the worker does;
* memory: the worker's address space is limited (``RLIMIT_AS``) to
  ``memory_limit`` bytes, so a blow-up raises ``MemoryError`` inside the
  worker (status ``error``) instead of swapping or waking the OOM killer;
* crashes: a worker that dies (segfault, abort, killed from outside) gives
  status ``error`` naming the signal;
* no orphans: a worker is killed when the caller leaves (Ctrl-C, SIGTERM
  turned into an exception, any other exception) and, on Linux, when the
  calling process itself dies, even by SIGKILL (``PR_SET_PDEATHSIG``);
* no descendants left: each worker leads a process group of its own, killed
  when the measurement ends; a descendant that left that group (``setsid``)
  is reparented to the calling process, a child subreaper on Linux
  (``PR_SET_CHILD_SUBREAPER``), which kills and reaps it then too;
* a worker's exit is its answer: the caller waits for the worker's result or
  its death, never for a pipe that a descendant still holds open;
* signals are never lost at the fork: SIGINT and SIGTERM are blocked while the
  worker is forked, so that the caller's handler runs after the fork, in plain
  code, rather than inside an at-fork hook that would discard its exception;
  and an interruption whose exception Python discarded elsewhere (in a
  ``__del__``, say) is raised again when the measurement ends
  (:func:`adbench.measure.interrupts.raise_pending`);
* the caller decides about interruptions: a worker ignores SIGINT and SIGTERM,
  which a terminal (Ctrl-C) or a service manager (stop) sends to the whole
  process group, so that an interrupted run is not left with a row saying its
  last worker died of that signal;
* no fork of a multithreaded runtime for a call that uses it: a worker is a fork
  of the caller (it inherits the caller's state: problems loaded, settings, test
  patches) unless the call runs a library (``runtimes``) whose threads a fork
  would copy without their owners and that library is running here
  (:data:`THREADED_RUNTIMES`: JAX once its backend has started, torch with an
  intra-op pool of several threads), as such a child deadlocks on a lock one of
  those threads held (a jax-rev measurement forked after JAX had run here hung
  until its time limit). Such a worker is forked from multiprocessing's fork
  server instead (:func:`start_method`), a fresh
  single-threaded interpreter that has imported :data:`FORKSERVER_PRELOAD`
  (started once, about 1 s; then a worker starts in about as long as a fork),
  and is given the call pickled (a problem of a problem file travels as its
  file: :func:`adbench.registry.problem_from_file`) and the timing budget. A
  call that cannot be pickled (a lambda) is forked all the same, and so is one
  that does not run the library (adbench's own methods, the reference), which
  never takes those locks: the cheaper start (JAX still warns of that fork).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import multiprocessing as mp
import multiprocessing.connection as mpc
import multiprocessing.spawn as mps
import os
import pickle
import resource
import signal
import sys
import time
import traceback
import types
from dataclasses import dataclass
from typing import Any, Callable

from adbench.measure.interrupts import raise_pending

__all__ = ["Outcome", "run_isolated", "one_line", "MEMORY_LIMIT_BYTES", "default_memory_limit",
           "start_method", "THREADED_RUNTIMES"]


def default_memory_limit() -> int:
    """16 GiB, or three quarters of the physical memory if that is less.

    The limit is on address space, which is larger than resident memory (the
    parent's own mappings are inherited by the forked worker), so it must not
    be tight: a normal measurement never comes near it.
    """
    limit = 16 * 2**30
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        if physical > 0:
            limit = min(limit, physical * 3 // 4)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        pass
    return limit


#: Address-space limit of a worker: beyond it allocation fails with MemoryError
#: (a row with status "error") instead of the machine swapping.
MEMORY_LIMIT_BYTES = default_memory_limit()

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
#: Signals held back while a worker is forked (see the module docstring).
_DEFERRED = {signal.SIGINT, signal.SIGTERM}


@dataclass
class Outcome:
    status: str          # "ok", "timeout" or "error"
    value: Any = None
    message: str = ""


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, at most 300 characters."""
    text = " ".join(str(exc).split()) or repr(exc)
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 300 else text[:297] + "..."


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (else: no-op).

    Without it a worker stuck in a C loop outlives a parent killed by SIGKILL.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        pass


_LIBC: list = []


def _libc():
    """The C library, once per process (forked workers inherit it).

    The symbols of the running program, libc's among them: not
    ``ctypes.util.find_library``, which runs ``ldconfig`` in a subprocess whose
    ``Popen.__del__`` was one of the places where a signal handler's exception
    was discarded.
    """
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


_SUBREAPER: dict[int, bool] = {}  # by pid: a forked worker is not a subreaper


def _become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux >= 3.4).

    A problem may fork a daemon that calls setsid: it leaves the worker's process
    group, so killing the group misses it, and when the worker dies it would be
    adopted by init and outlive the run. As a subreaper this process adopts it
    instead, and :func:`_kill_adopted` finds it among its own children.
    """
    pid = os.getpid()
    if pid not in _SUBREAPER:
        ok = False
        if sys.platform.startswith("linux"):
            try:
                ok = _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
            except (OSError, AttributeError):  # pragma: no cover - exotic libc
                pass
        _SUBREAPER[pid] = ok
    return _SUBREAPER[pid]


def _children() -> set[int]:
    """The pids whose parent is this process (from /proc; empty elsewhere)."""
    me, found = os.getpid(), set()
    try:
        entries = os.listdir("/proc")
    except OSError:  # pragma: no cover - no procfs
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == me:
            found.add(int(entry))
    return found


def _kill_adopted(before: set[int]) -> None:
    """SIGKILL and reap the children this process adopted during a measurement
    (not in ``before``, the children it had when the worker was forked).

    Killing an adopted process orphans its own children, which are adopted in
    turn: repeat until no new child is left (a few rounds at most). A child that
    another thread of this process started during the measurement would be taken
    for one too: the harness measures from one thread, and so must a caller that
    isolates while it starts processes of its own.
    """
    for _ in range(50):
        adopted = _children() - before
        if not adopted:
            return
        for pid in adopted:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in adopted:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, 0)
        time.sleep(0.001)


def _wait_answer_or_exit(conn, proc, timeout) -> list:
    """Wait until ``conn`` has data or ``proc`` has exited (or ``timeout``);
    the ready ones, empty on timeout.

    Neither the pipe's end of file nor multiprocessing's sentinel says that the
    worker exited: both are pipes, and a descendant of the worker holds their
    write ends. A pidfd (Linux >= 5.3) does; elsewhere the worker is polled.
    """
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is not None:
        try:
            return mpc.wait([conn, pidfd], timeout)
        finally:
            os.close(pidfd)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if conn.poll(0.02):
            return [conn]
        if proc.exitcode is not None:
            return [proc.sentinel]
        if deadline is not None and time.monotonic() >= deadline:
            return []


def _child(conn, parent_pid, fn, args, memory_limit):
    try:
        # The parent decides about Ctrl-C and SIGTERM (see the module docstring);
        # the worker was forked with them blocked, and ignores them from now on.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _DEFERRED)
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)  # leads its own group: killed whole (see run_isolated)
        _die_with_parent()
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)
        if memory_limit:
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        result = Outcome("ok", fn(*args))
    except MemoryError:
        result = Outcome("error", message="MemoryError: the measurement ran out of memory "
                                          f"(limit {_gib(memory_limit)})")
    except BaseException as exc:  # noqa: BLE001 - everything becomes a row
        result = Outcome("error", message=one_line(exc))
        result.value = traceback.format_exc()
    try:
        conn.send(result)
    except Exception as exc:  # the value could not be pickled
        conn.send(Outcome("error", message=f"result could not be returned: {one_line(exc)}"))
    finally:
        conn.close()
        os._exit(0)


def _gib(nbytes) -> str:
    return f"{nbytes / 2**30:.3g} GiB" if nbytes else "none"


def _death_message(exitcode) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if -exitcode == signal.SIGKILL else ""
        return f"worker died: killed by {name}{hint}"
    return f"worker died without an answer (exit code {exitcode})"


def run_isolated(fn: Callable, args: tuple = (), timeout: float | None = None,
                 memory_limit: int | None = None, isolate: bool = True,
                 runtimes: tuple = ()) -> Outcome:
    """``fn(*args)`` in a forked worker killed after ``timeout`` seconds; from the
    fork server if the call runs one of ``runtimes`` and it is running here
    (:func:`start_method`; a peer method's ``library``).

    ``memory_limit`` (bytes; default :data:`MEMORY_LIMIT_BYTES`, 0 for none)
    caps the worker's address space. With ``isolate=False`` it runs in this
    process with neither limit: used by the tests of the measurements
    themselves and by ``--no-isolation``.

    A Ctrl-C or SIGTERM that came during the call and whose exception Python
    discarded is raised when it returns (:mod:`adbench.measure.interrupts`).
    """
    if isolate:
        outcome = _in_worker(fn, args, timeout, memory_limit, runtimes)
    else:
        try:
            outcome = Outcome("ok", fn(*args))
        except Exception as exc:  # noqa: BLE001
            outcome = Outcome("error", traceback.format_exc(), one_line(exc))
    raise_pending()
    return outcome


def _jax_started() -> bool:
    """JAX's backend has started (and its thread pools with it): when JAX itself
    begins to warn of a fork (``jax._src.xla_bridge._backends``, a private name:
    if a later JAX drops it, this says False and JAX's warning shows again)."""
    bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(getattr(bridge, "_backends", None))


def _torch_pool() -> bool:
    """torch is imported with an intra-op pool of more than one thread
    (``adbench`` sets OMP_NUM_THREADS to 1, unless it was set otherwise)."""
    threads = getattr(sys.modules.get("torch"), "get_num_threads", None)  # None: not (yet) in
    return threads is not None and threads() > 1


#: The libraries whose threads make a fork of this process unsafe, and how to
#: tell that they are running.
THREADED_RUNTIMES: dict[str, Callable[[], bool]] = {"jax": _jax_started, "torch": _torch_pool}


def start_method(runtimes: tuple = ()) -> str:
    """How the worker of a call that runs ``runtimes`` starts now: ``"fork"``, or
    ``"forkserver"`` (a fork of a fresh, single-threaded interpreter that has
    imported adbench's harness) while one of them (:data:`THREADED_RUNTIMES`) is
    running in this process."""
    running = any(THREADED_RUNTIMES[name]() for name in runtimes if name in THREADED_RUNTIMES)
    return "forkserver" if running else "fork"


#: What the fork server imports once, so that its workers start with it.
FORKSERVER_PRELOAD = ["adbench.measure.harness"]


class _Pickler(pickle.Pickler):
    """A pickle for another interpreter: a problem of a problem file as its file;
    a function or class of ``__main__`` (a script's, a notebook's) refused, as
    the worker does not import the caller's main module (see :func:`_main_left_out`)."""

    def reducer_override(self, obj):
        from adbench.problem import Problem
        from adbench.registry import from_file, problem_from_file

        if isinstance(obj, Problem) and from_file(obj):
            return problem_from_file, (obj.source, obj.name, obj.version)
        if isinstance(obj, (type, types.FunctionType)) and obj.__module__ == "__main__":
            raise pickle.PicklingError(f"{obj.__qualname__} is defined in __main__")
        return NotImplemented


@contextlib.contextmanager
def _main_left_out():
    """Start a worker of the fork server without importing the caller's main
    module in it, which multiprocessing would do (as ``__mp_main__``), running
    a script's unguarded top-level code (an ``adbench.run`` call) again there."""
    prepare = mps.get_preparation_data

    def without_main(name):
        data = prepare(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    mps.get_preparation_data = without_main
    try:
        yield
    finally:
        mps.get_preparation_data = prepare


def _portable(fn: Callable, args: tuple) -> bytes | None:
    """``(fn, args)`` pickled for a worker of the fork server, or None if they
    cannot be (a lambda, a function of a module only this process has)."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer).dump((fn, args))
    except Exception:  # noqa: BLE001 - pickle raises many kinds: then fork
        return None
    return buffer.getvalue()


def _inherited() -> dict:
    """What a forked worker inherits and one of the fork server is given: the timing
    budget (``adbench run --time-budget``), the one setting of this process
    that a measurement reads."""
    from adbench.measure.metrics import timing

    return {"timing": timing.settings()}


#: Seconds a worker from the fork server may take to start, before its time limit starts.
STARTUP_S = 60.0
_STARTED = "started"


def _served_child(conn, payload: bytes, inherited: dict, memory_limit):
    """A worker from the fork server: it says it has started (the time limit
    counts from then), restores the settings, then unpickles and makes the
    call (within the memory limit, so that its failures are its Outcome)."""
    conn.send(_STARTED)

    def call():
        from adbench.measure.metrics import timing

        timing.configure(**inherited["timing"])
        fn, args = pickle.loads(payload)
        return fn(*args)

    _child(conn, os.getppid(), call, (), memory_limit)  # its parent: the fork server


_SERVER_OWNER: list = []  # the pid of the process that started the fork server


def _own_fork_server() -> None:
    """Start multiprocessing's fork server for this process if it has none. A
    process forked (os.fork) from one that had started it inherits that
    server's address, but it is not that server's client: forget it first."""
    from multiprocessing import forkserver

    server = forkserver._forkserver  # the module's one server (its state: private names)
    if _SERVER_OWNER and _SERVER_OWNER[0] != os.getpid():
        with contextlib.suppress(OSError, TypeError):
            os.close(server._forkserver_alive_fd)  # our copy of the owner's end
        server._forkserver_address = server._forkserver_alive_fd = None
        server._forkserver_pid = None
    forkserver.set_forkserver_preload(FORKSERVER_PRELOAD)
    forkserver.ensure_running()
    _SERVER_OWNER[:] = [os.getpid()]


def _started(conn, proc) -> bool:
    """Whether a worker from the fork server said it started."""
    ready = _wait_answer_or_exit(conn, proc, STARTUP_S)
    try:
        return conn in ready and conn.recv() == _STARTED
    except EOFError:
        return False


def _in_worker(fn: Callable, args: tuple, timeout: float | None,
               memory_limit: int | None, runtimes: tuple = ()) -> Outcome:
    """:func:`run_isolated` with ``isolate=True``."""
    if memory_limit is None:
        memory_limit = MEMORY_LIMIT_BYTES
    method = start_method(runtimes)
    payload = _portable(fn, args) if method != "fork" else None
    ctx = mp.get_context("fork" if payload is None else method)
    parent, child = ctx.Pipe(duplex=False)
    target, target_args = (
        (_child, (child, os.getpid(), fn, args, memory_limit)) if payload is None else
        (_served_child, (child, payload, _inherited(), memory_limit)))
    # Not a daemon: a worker may isolate work of its own (adbench fuzz runs the
    # symbolic method in a worker of the checking worker), which multiprocessing
    # forbids daemons. Nothing is left behind: the finally clause below kills and
    # joins the worker, and PR_SET_PDEATHSIG covers a parent killed outright.
    proc = ctx.Process(target=target, args=target_args, daemon=False)
    subreaper = _become_subreaper()
    if payload is not None:  # the fork server, a child of ours: started, not one to kill
        _own_fork_server()
    before = _children() if subreaper else set()
    # Blocked while forking: a handler that raises (Ctrl-C, SIGTERM) would do so
    # inside an at-fork hook, which discards the exception; unblocked in the try
    # below, the signal is delivered there, and the worker is killed on the way out.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        with _main_left_out() if payload is not None else contextlib.nullcontext():
            proc.start()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    child.close()
    try:
        with contextlib.suppress(OSError):
            os.setpgid(proc.pid, proc.pid)  # also here: no race with the first kill
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if payload is not None and not _started(parent, proc):
            proc.join(0.1)
            return Outcome("error", message=_death_message(proc.exitcode)
                           if proc.exitcode is not None
                           else f"worker did not start within {STARTUP_S:g} s")
        # The worker's result or its death, whichever comes first: a descendant
        # that inherited the pipe may hold it open long after the worker exited.
        ready = _wait_answer_or_exit(parent, proc, timeout)
        if parent in ready or (ready and parent.poll(0)):
            try:
                return parent.recv()
            except EOFError:
                pass
        if ready:
            proc.join()
            return Outcome("error", message=_death_message(proc.exitcode))
        return Outcome("timeout", message=f"killed after the time limit of {timeout:g} s")
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)  # the worker and its group
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
        if subreaper:
            _kill_adopted(before)
