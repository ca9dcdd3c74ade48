"""Where a measurement runs: the host, the core it is pinned to, and how many
measurements ran beside it.

Timing is only fair between measurements that did not share a core: two timed
loops on one physical core (or its hyperthread sibling) slow each other down
by a factor that depends on what the other one does. The policy of a spread
run (``--jobs``, ``--cluster``) is therefore:

* a task that times (time budget > 0) takes a *core slot*, one physical core of
  this host, and runs pinned to it (``os.sched_setaffinity``); a host never
  runs more timing tasks than it has physical cores available to this process,
  however many processes (Dask workers, other runs) ask at once;
* a task that does not time (accuracy, op counts, swell, memory) takes no core
  and runs at any concurrency.

Slots are ``fcntl.flock`` locks on files of one folder per host
(``$TMPDIR/adbench-slots-UID``): the kernel releases them when the process
holding them dies, even by SIGKILL, so a crashed worker never leaks a core.

Every row records :func:`host_label` (the host's name and CPU model) and
``concurrency``: the number of adbench tasks running on the host, counted
when the task started and when it ended, the larger of the two. A time ratio
is only compared with ratios of the same host.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = ["HOST_COLUMNS", "HOST_INTEGER_COLUMNS", "host_label", "cpu_model", "physical_cores",
           "Placement", "placed", "running_count", "serial_columns"]

#: The columns a row gets from its placement (see :func:`serial_columns`).
HOST_COLUMNS = ["host", "concurrency", "cpus"]
#: Those of them that hold whole numbers (the tasks running at once, the core pinned to).
HOST_INTEGER_COLUMNS = ("concurrency", "cpus")

#: How often a task waiting for a free core looks again, in seconds.
POLL_S = 0.02


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ('' where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Processor", "cpu model"):
                return " ".join(value.split())
    except OSError:
        pass
    return ""


def host_label() -> str:
    """``name (CPU model)``: what a time may be compared within."""
    model = cpu_model()
    name = socket.gethostname()
    return f"{name} ({model})" if model else name


def physical_cores(cpus: set[int] | None = None) -> list[int]:
    """One logical CPU per physical core among ``cpus`` (default: those this
    process may run on), the lowest-numbered of each core's siblings.

    Siblings come from ``/sys/devices/system/cpu/cpuN/topology/thread_siblings_list``;
    where that is missing each logical CPU counts as a core.
    """
    cpus = set(os.sched_getaffinity(0)) if cpus is None else set(cpus)
    seen: set[int] = set()
    cores = []
    for cpu in sorted(cpus):
        if cpu in seen:
            continue
        siblings = _siblings(cpu) & cpus or {cpu}
        seen |= siblings
        cores.append(min(siblings))
    return cores


def _siblings(cpu: int) -> set[int]:
    path = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
    try:
        text = path.read_text().strip()
    except OSError:
        return {cpu}
    out: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _slot_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / f"adbench-slots-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on ``path``, or None if another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


@contextmanager
def _guard(folder: Path) -> Iterator[None]:
    """Serialise the creation, counting and removal of task files on the host."""
    fd = os.open(folder / ".guard", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def running_count(folder: Path | None = None) -> int:
    """adbench tasks running on this host now: task files whose lock is held
    (a file left by a dead process is removed)."""
    folder = folder or _slot_dir()
    count = 0
    with _guard(folder):
        for path in folder.glob("task-*"):
            fd = _try_lock(path)
            if fd is None:
                count += 1
            else:
                path.unlink(missing_ok=True)
                os.close(fd)
    return count


@dataclass
class Placement:
    """What a task was given: the core it is pinned to (None: unpinned) and the
    concurrency counted when it started."""

    core: int | None
    started_beside: int
    host: str

    def columns(self, ended_beside: int) -> dict:
        """The row columns of :data:`HOST_COLUMNS` for a task that ends now."""
        return {"host": self.host, "concurrency": max(self.started_beside, ended_beside),
                "cpus": "" if self.core is None else str(self.core)}


@contextmanager
def placed(timing: bool, folder: Path | None = None) -> Iterator[Placement]:
    """Hold a place on this host for one task.

    With ``timing``, wait for a free physical core (a slot) and yield its
    number; the task pins itself to it. The task is counted as running for
    :func:`running_count` while the block lasts.
    """
    folder = folder or _slot_dir()
    core_fd = None
    core = None
    try:
        if timing:
            cores = physical_cores()
            while core_fd is None:
                for candidate in cores:
                    core_fd = _try_lock(folder / f"core-{candidate}")
                    if core_fd is not None:
                        core = candidate
                        break
                else:
                    time.sleep(POLL_S)
        with _guard(folder):
            task_path = folder / f"task-{os.getpid()}-{time.monotonic_ns()}"
            task_fd = _try_lock(task_path)
        try:
            yield Placement(core, running_count(folder), host_label())
        finally:
            with _guard(folder):
                task_path.unlink(missing_ok=True)
                if task_fd is not None:
                    os.close(task_fd)
    finally:
        if core_fd is not None:
            os.close(core_fd)


def serial_columns() -> dict:
    """The placement columns of a row measured by a serial run: this host, alone."""
    return {"host": host_label(), "concurrency": 1, "cpus": ""}
