"""Where spread tasks run: a pool of threads on this machine, or a Dask cluster.

Both executors have one shape, so that :mod:`adbench.measure.spread` and the
fuzzing driver have one loop: ``submit(fn, task, key)`` gives a future,
``wait_any(futures)`` the futures finished so far (at least one; on Dask,
``as_completed``), and
``answer(future)`` the task's answer, a worker loss turned into
``{"error": "worker lost: ..."}``. ``fn`` runs a task in a fresh interpreter
(:mod:`adbench.measure.interpreter`) from the executor's thread; no thread ever
forks.

Retries: a task whose interpreter died (:class:`WorkerLost`) is run once more,
by the thread pool itself here, by Dask's ``retries=1`` on a cluster. A Dask
worker process that dies mid-task is Dask's to recover: the scheduler runs the
task elsewhere, up to its ``distributed.scheduler.allowed-failures``, then the
future fails with ``KilledWorker``, which is a worker loss too.

Why Dask rather than Ray: Dask distributed is a pure-Python package whose
scheduler and workers are two commands (``dask scheduler``, ``dask worker``),
needs no cluster-wide object store or raylet daemons, runs plain functions
without wrapping them in actors, reconnects a client to a running cluster by
address, and has ``dask-jobqueue`` for Slurm, PBS and SGE; each task here
runs seconds to minutes and ships kilobytes, where Ray's strengths (shared
memory for large arrays, sub-millisecond tasks, GPUs) do not apply.
"""

from __future__ import annotations

import concurrent.futures as cf
import uuid
from typing import Callable

from adbench.measure.interpreter import WorkerLost, kill_all, reap
from adbench.measure.isolation import one_line

__all__ = ["LocalExecutor", "DaskExecutor", "ClusterUnavailable"]


class ClusterUnavailable(RuntimeError):
    """``--cluster``: distributed is not installed, or no scheduler answers there."""


def _lost(exc: BaseException) -> dict:
    return {"error": f"worker lost: {one_line(exc)} (retried once)"}


class LocalExecutor:
    """``slots`` threads of this process, each running one task at a time."""

    def __init__(self, slots: int):
        self.slots = slots
        self.pool = cf.ThreadPoolExecutor(max_workers=slots, thread_name_prefix="adbench-task")
        self.stopping = False

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is not None:  # interrupted: no new interpreter, kill the running ones
            self.stopping = True
            kill_all()
        self.pool.shutdown(wait=True, cancel_futures=True)
        reap()

    def _retried(self, fn: Callable[[dict], dict], task: dict) -> dict:
        try:
            return fn(task)
        except WorkerLost:
            if self.stopping:
                raise
            return fn(task)

    def submit(self, fn: Callable[[dict], dict], task: dict, key: str = ""):
        return self.pool.submit(self._retried, fn, task)

    def wait_any(self, futures: list) -> list:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return [f for f in futures if f in done]

    def answer(self, future) -> dict:
        try:
            return future.result()
        except WorkerLost as exc:
            return _lost(exc)


def _check_address(address: str) -> None:
    """ClusterUnavailable, at once, for an address that names no host and port
    (``nonsense``, ``tcp://host``): given one, distributed's Client would wait out
    its timeout, then raise ValueError and leave a client whose cleanup waits again."""
    from distributed.comm.addressing import get_address_host_port, parse_address

    try:
        if parse_address(address)[0] in ("tcp", "tls"):
            get_address_host_port(address)
    except ValueError as exc:
        raise ClusterUnavailable(f"--cluster {address}: not a scheduler address ({exc}); "
                                 "expected tcp://HOST:PORT such as tcp://host:8786") from None


class DaskExecutor:
    """The Dask cluster whose scheduler is at ``address``; the tasks run
    :mod:`adbench.worker` on its workers, which need adbench installed."""

    def __init__(self, address: str):
        try:
            import distributed
        except ImportError:
            raise ClusterUnavailable("--cluster needs Dask distributed: pip install "
                                     "'adbench[cluster]'") from None
        self.distributed = distributed
        _check_address(address)
        try:
            self.client = distributed.Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterUnavailable(f"--cluster {address}: no Dask scheduler answers there "
                                     f"({one_line(exc)})") from None
        self.finished = distributed.as_completed(loop=self.client.loop)  # each once, when done
        self.counter = 0
        self.run_id = uuid.uuid4().hex[:12]

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        self.client.close()

    def submit(self, fn: Callable[[dict], dict], task: dict, key: str = ""):
        self.counter += 1
        # a key of its own per submission: a resumed run never meets the futures of
        # the run it resumes
        key = f"adbench-{key or 'task'}-{self.counter}-{self.run_id}"
        future = self.client.submit(fn, task, key=key, retries=1, pure=False)
        self.finished.add(future)
        return future

    def wait_any(self, futures: list) -> list:
        return self.finished.next_batch(block=True)

    def answer(self, future) -> dict:
        try:
            return future.result()
        except (WorkerLost, self.distributed.KilledWorker) as exc:
            return _lost(exc)
        except Exception as exc:  # noqa: BLE001 - a task that failed on the cluster
            return {"error": f"the task failed on the cluster: {one_line(exc)}"}
