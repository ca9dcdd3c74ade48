"""``python -m adbench.worker``: run the tasks of a spread run and answer each.

Reads one JSON task per line from stdin and writes one JSON answer per line
to stdout, until stdin ends (see :mod:`adbench.measure.interpreter`). The
kinds of task:

* ``measure``: one problem instance with its methods
  (:func:`adbench.measure.task.execute`): ``{"rows": [...]}``;
* ``fuzz``: a range of programs of a fuzzing campaign
  (:func:`adbench.studies.fuzz.driver.execute_range`).

Before anything else the worker asks to die with the process that started it
(``ADBENCH_WORKER_PARENT``; ``PR_SET_PDEATHSIG`` on Linux), pins itself to the
task's ``core`` if it has one, else to every CPU it started with (its
measurements, forked from it, inherit the pinning). What the measured code
prints goes to stderr, so that stdout carries the answers alone. An answer
also says which CPUs its task ran on (``cpus``).
"""

from __future__ import annotations

import json
import os
import sys


def _pin(core, everywhere: set) -> str:
    """Pin to ``core`` (None: to ``everywhere``); the CPUs now allowed, '' if unpinned."""
    os.sched_setaffinity(0, everywhere if core is None else {int(core)})
    if core is None:
        return ""
    return ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))


def answer(task: dict) -> dict:
    """The answer to one task (an exception of the worker's own is an error answer)."""
    from adbench.measure.isolation import one_line

    try:
        if task["kind"] == "measure":
            from adbench.measure.task import execute
            return execute(task)
        if task["kind"] == "fuzz":
            from adbench.studies.fuzz.driver import execute_range
            return execute_range(task)
        return {"error": f"adbench.worker: unknown task kind {task['kind']!r}"}
    except Exception as exc:  # noqa: BLE001 - a row saying so, not a lost worker
        return {"error": f"adbench.worker failed: {one_line(exc)}"}


def main() -> None:
    answer_stream = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # a print in a problem or a library goes to stderr, not into the answer
    sys.stdout = sys.stderr
    from adbench.measure.isolation import _die_with_parent

    _die_with_parent()
    parent = os.environ.get("ADBENCH_WORKER_PARENT")
    if parent is not None and os.getppid() != int(parent):  # it died before prctl took effect
        os._exit(1)
    from adbench.measure.interpreter import encode

    everywhere = set(os.sched_getaffinity(0))
    for line in sys.stdin:
        if not line.strip():
            continue
        task = json.loads(line)
        cpus = _pin(task.get("core"), everywhere)
        reply = answer(task)
        if cpus:
            reply["cpus"] = cpus
        answer_stream.write(encode(reply) + "\n")
        answer_stream.flush()


if __name__ == "__main__":
    main()
