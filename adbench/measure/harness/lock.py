"""One process at a time in a run folder.

Two processes writing one results.csv lose rows: a ``--resume`` rewrites the
file (a new file renamed over the old one) while the first run goes on
appending to the old, unlinked one, and both end with exit code 0. A run
therefore holds an exclusive ``flock`` on ``DIR/run.lock`` for as long as it
reads or writes the folder; the file holds the holder's pid, so that a second
process is told who has the folder. The lock belongs to the open file, so it
goes when the holder exits, however it exits (kill -9 included): a stale lock
file never blocks a later run. The file itself is left in place, since removing
it would let a third process lock a new file while a second still waits on the
old one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["FolderInUseError", "FolderLock", "LOCK_NAME"]

LOCK_NAME = "run.lock"


class FolderInUseError(Exception):
    """The run folder is held by another process: ``DIR is in use by ... (pid N)``."""


class FolderLock:
    """The exclusive lock of a run folder, taken at once or FolderInUseError."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / LOCK_NAME
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise FolderInUseError(
                f"{Path(folder)} is in use by another adbench run (pid {holder}); wait for "
                "it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor drops the flock
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
