"""One task of a spread run: a problem instance with the methods it still needs.

A task is the unit of ``adbench run --jobs`` and ``--cluster``: the check of f
at x0, the 80-digit reference and every pending method of one instance, run
one after the other by :func:`adbench.measure.harness.measure_instance`, as a
serial run does. Keeping an instance whole shares its reference between its
methods' rows and puts all the methods of an instance on one host, so that
their times are comparable.

A task travels as JSON (:func:`describe`), so that it can reach a machine that
has adbench installed and nothing else of the client: the problem by name,
its sizes and definition version, the methods by name, the limits, the time
budget, the sizes at which a method already timed out, and, for a problem of
a ``--problems-dir``, that folder's files (:func:`ship_folder`).

:func:`run_measure_task` is what a thread calls (a pool thread, or a Dask
worker's): it takes a place on the host (:mod:`adbench.measure.placement`:
a physical core when the task times), runs the task in a fresh interpreter
(:mod:`adbench.measure.interpreter`, which calls :func:`execute`) and returns
the answer with the placement columns for its rows.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

from adbench.measure.interpreter import STARTUP_S, TaskTimeout, run_in_interpreter
from adbench.measure.placement import host_label, placed, running_count

__all__ = ["describe", "ship_folder", "execute", "run_measure_task", "deadline_of",
           "SHIP_LIMIT_BYTES"]

#: A --problems-dir up to this size travels with each task; a larger one must
#: exist at the same path on every worker.
SHIP_LIMIT_BYTES = 4 * 2**20


def ship_folder(folder: str | Path) -> dict:
    """A problems folder as a task carries it: its path, and the contents of its
    files when they total at most :data:`SHIP_LIMIT_BYTES` (else None)."""
    folder = Path(folder).resolve()
    if not folder.is_dir():  # gone since it was loaded: the worker says so
        return {"path": str(folder), "files": None}
    files = {p.name: p.read_text() for p in sorted(folder.iterdir())
             if p.is_file() and not p.name.startswith(".")}
    if sum(len(text) for text in files.values()) > SHIP_LIMIT_BYTES:
        files = None
    return {"path": str(folder), "files": files}


def describe(inst, methods: Sequence, *, timeout: float | None, memory_limit: int | None,
             isolate: bool, time_budget: float, timed_out: Mapping[str, list],
             folder: dict | None) -> dict:
    """The JSON task of ``inst`` with ``methods`` (see the module docstring).

    ``timed_out``: ``{method: [sizes at which it timed out]}`` of this problem,
    so that the worker skips what a serial run would skip; ``folder``: the
    :func:`ship_folder` of the problem's folder, None for a built-in problem.
    """
    return {"kind": "measure", "problem": inst.name, "sizes": dict(inst.sizes),
            "version": inst.problem.version, "methods": [m.name for m in methods],
            "timeout": timeout, "memory_limit": memory_limit, "isolate": isolate,
            "time_budget": time_budget, "timed_out": {k: list(v) for k, v in timed_out.items()},
            "folder": folder}


def deadline_of(task: dict) -> float | None:
    """The whole time a task may take: a timeout per step (the check, the
    reference and each method) plus :data:`STARTUP_S`; None without a timeout."""
    if not task.get("timeout"):
        return None
    return task["timeout"] * (len(task["methods"]) + 2) + STARTUP_S


# --------------------------------------------------------------------------
# In the worker interpreter
# --------------------------------------------------------------------------

def _unpacked(folder: dict) -> Path:
    """The folder of a task on this host: its shipped files written once under
    $TMPDIR (by content), or its own path, which must then exist here."""
    if folder["files"] is None:
        path = Path(folder["path"])
        if not path.is_dir():
            raise FileNotFoundError(
                f"problems folder {path} does not exist on host {host_label()} (a folder "
                f"over {SHIP_LIMIT_BYTES // 2**20} MiB is not shipped with the task: give "
                "every worker the same path)")
        return path
    digest = hashlib.sha256(repr(sorted(folder["files"].items())).encode()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"adbench-problems-{os.getuid()}-{digest}"
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        for name, text in folder["files"].items():
            (staging / name).write_text(text)
        try:
            os.rename(staging, target)
        except OSError:  # another worker unpacked it first: theirs is the same
            for child in staging.iterdir():
                child.unlink()
            staging.rmdir()
    return target


def execute(task: dict) -> dict:
    """Run a measure task here (in the worker interpreter): ``{"rows": [...]}``,
    or ``{"error": message}`` for every row when the problem cannot be had
    (a missing folder, an unknown name, another definition than the client's)."""
    from adbench.measure.harness import _Skipper, measure_instance
    from adbench.measure.metrics import timing
    from adbench.methods import get_method
    from adbench.registry import load_registry

    timing.configure(budget_s=task["time_budget"])
    name = task["problem"]
    try:
        dirs = [_unpacked(task["folder"])] if task["folder"] else []
        problem = load_registry(dirs).get(name)
    except Exception as exc:  # noqa: BLE001 - every failure becomes the rows' message
        return {"error": f"problem {name!r} is not available on host {host_label()}: "
                         f"{' '.join(str(exc).split())}"}
    if problem.version != task["version"]:
        return {"error": f"problem {name!r} on host {host_label()} is another definition "
                         f"(version {problem.version}) than the client's ({task['version']}): "
                         "install the same adbench and problems on every worker"}
    inst = problem.instance(**task["sizes"])
    methods = [get_method(m) for m in task["methods"]]
    skipper = _Skipper({(name, m): sizes for m, sizes in task["timed_out"].items()})
    rows = list(measure_instance(inst, methods, task["timeout"], task["isolate"],
                                 task["memory_limit"], skipper))
    return {"rows": rows}


# --------------------------------------------------------------------------
# In the thread that runs the task
# --------------------------------------------------------------------------

def run_measure_task(task: dict) -> dict:
    """Run ``task`` in a fresh interpreter on this host, placed by the timing
    policy; the answer of :func:`execute` plus ``"placement"``, the
    :data:`~adbench.measure.placement.HOST_COLUMNS` of its rows.

    WorkerLost if the interpreter died (the caller retries once); a task
    that outlives :func:`deadline_of` gives timeout rows' message as
    ``{"timeout": message}``.
    """
    with placed(timing=task["time_budget"] > 0) as place:
        task = dict(task, core=place.core)
        try:
            answer = run_in_interpreter(task, deadline_of(task))
        except TaskTimeout as exc:
            answer = {"timeout": str(exc)}
        answer["placement"] = place.columns(running_count())
    if "cpus" in answer:  # what the worker itself reported after pinning
        answer["placement"]["cpus"] = answer.pop("cpus")
    return answer
