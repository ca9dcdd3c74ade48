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
* the caller decides about interruptions: a worker ignores SIGINT and SIGTERM,
  which a terminal (Ctrl-C) or a service manager (stop) sends to the whole
  process group, so that an interrupted run is not left with a row saying its
  last worker died of that signal.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
import os
import resource
import signal
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["Outcome", "run_isolated", "one_line", "MEMORY_LIMIT_BYTES", "default_memory_limit"]


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
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        pass


def _child(conn, parent_pid, fn, args, memory_limit):
    try:
        # The parent decides about Ctrl-C and SIGTERM (see the module docstring).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
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
                 memory_limit: int | None = None, isolate: bool = True) -> Outcome:
    """``fn(*args)`` in a forked worker killed after ``timeout`` seconds.

    ``memory_limit`` (bytes; default :data:`MEMORY_LIMIT_BYTES`, 0 for none)
    caps the worker's address space. With ``isolate=False`` it runs in this
    process with neither limit: used by the tests of the measurements
    themselves and by ``--no-isolation``.
    """
    if not isolate:
        try:
            return Outcome("ok", fn(*args))
        except Exception as exc:  # noqa: BLE001
            return Outcome("error", traceback.format_exc(), one_line(exc))
    if memory_limit is None:
        memory_limit = MEMORY_LIMIT_BYTES
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    # Not a daemon: a worker may isolate work of its own (adbench fuzz runs the
    # symbolic method in a worker of the checking worker), which multiprocessing
    # forbids daemons. Nothing is left behind: the finally clause below kills and
    # joins the worker, and PR_SET_PDEATHSIG covers a parent killed outright.
    proc = ctx.Process(target=_child, args=(child, os.getpid(), fn, args, memory_limit),
                       daemon=False)
    proc.start()
    child.close()
    try:
        if parent.poll(timeout):
            try:
                return parent.recv()
            except EOFError:
                proc.join()
                return Outcome("error", message=_death_message(proc.exitcode))
        return Outcome("timeout", message=f"killed after the time limit of {timeout:g} s")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
