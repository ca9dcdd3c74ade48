"""``python -m adbench.worker``: run one task of a spread run and answer.

Reads one JSON task from stdin and writes one JSON answer to stdout (see
:mod:`adbench.measure.interpreter`). The kinds of task:

* ``measure``: one problem instance with its methods
  (:func:`adbench.measure.task.execute`): ``{"rows": [...]}``;
* ``fuzz``: a range of programs of a fuzzing campaign
  (:func:`adbench.studies.fuzz.driver.execute_range`).

Before anything else the worker asks to die with the process that started it
(``ADBENCH_WORKER_PARENT``; ``PR_SET_PDEATHSIG`` on Linux), pins itself to the
task's ``core`` if it has one (its measurements, forked from it, inherit the
pinning) and sends what the measured code prints to stderr, so that stdout
carries the answer alone. The answer also says which CPUs it ran on
(``cpus``).
"""

from __future__ import annotations

import json
import os
import sys


def _pin(core) -> str:
    if core is not None:
        os.sched_setaffinity(0, {int(core)})
        return ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    return ""


def main() -> None:
    answer_stream = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # a print in a problem or a library goes to stderr, not into the answer
    sys.stdout = sys.stderr
    from adbench.measure.isolation import _die_with_parent

    _die_with_parent()
    parent = os.environ.get("ADBENCH_WORKER_PARENT")
    if parent is not None and os.getppid() != int(parent):  # it died before prctl took effect
        os._exit(1)
    task = json.load(sys.stdin)
    cpus = _pin(task.get("core"))
    if task["kind"] == "measure":
        from adbench.measure.task import execute
        answer = execute(task)
    elif task["kind"] == "fuzz":
        from adbench.studies.fuzz.driver import execute_range
        answer = execute_range(task)
    else:
        raise SystemExit(f"adbench.worker: unknown task kind {task['kind']!r}")
    if cpus:
        answer["cpus"] = cpus
    from adbench.measure.interpreter import encode

    answer_stream.write(encode(answer))
    answer_stream.flush()


if __name__ == "__main__":
    main()
