"""Running one measurement where it can be stopped.

Symbolic differentiation can swell without bound and a user's problem can hang
inside a C extension, where no Python-level flag is ever checked. Each
measurement therefore runs in a forked worker process that is killed when its
time is up; an exception, a crash or a memory blow-up in the worker becomes an
:class:`Outcome` with a status and a one-line message, never a lost run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import signal
import traceback
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["Outcome", "run_isolated", "one_line", "MEMORY_LIMIT_BYTES"]

#: Address-space limit of a worker: beyond it allocation fails with MemoryError
#: (a row with status "error") instead of the machine swapping.
MEMORY_LIMIT_BYTES = 16 * 2**30


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


def _child(conn, fn, args, memory_limit):
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides about Ctrl-C
        if memory_limit:
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        result = Outcome("ok", fn(*args))
    except MemoryError:
        result = Outcome("error", message="MemoryError: the measurement ran out of memory")
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


def run_isolated(fn: Callable, args: tuple = (), timeout: float | None = None,
                 memory_limit: int | None = MEMORY_LIMIT_BYTES,
                 isolate: bool = True) -> Outcome:
    """``fn(*args)`` in a forked worker killed after ``timeout`` seconds.

    With ``isolate=False`` it runs in this process (no time limit): used by the
    tests of the measurements themselves and by ``--no-isolation``.
    """
    if not isolate:
        try:
            return Outcome("ok", fn(*args))
        except Exception as exc:  # noqa: BLE001
            return Outcome("error", traceback.format_exc(), one_line(exc))
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, memory_limit), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(timeout):
            try:
                return parent.recv()
            except EOFError:
                proc.join()
                return Outcome("error", message=f"worker died (exit code {proc.exitcode})")
        return Outcome("timeout", message=f"killed after the time limit of {timeout:g} s")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
