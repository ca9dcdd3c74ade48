"""The driver of ``adbench fuzz``: programs from a seed, checked in workers,
failures shrunk, a report; a campaign spread over workers (:func:`fuzz_spread`).
"""

from __future__ import annotations

import base64
import pickle
from dataclasses import dataclass, field
from typing import Callable, Sequence

from adbench.measure.interpreter import STARTUP_S, TaskTimeout, run_in_interpreter
from adbench.measure.isolation import run_isolated
from adbench.studies.fuzz.checks import Finding, check_program, unexpected, warm_up
from adbench.studies.fuzz.generate import generate
from adbench.studies.fuzz.program import Program, RandomChoices


@dataclass
class FuzzReport:
    """What a fuzzing session found: per kind, the count and the first program."""

    examples: int = 0
    failing: int = 0
    counts: dict = field(default_factory=dict)          # kind -> programs with it
    first: dict = field(default_factory=dict)           # kind -> (index, program, finding)
    nodes: int = 0                                      # total nodes checked
    by_primitive: dict = field(default_factory=dict)    # primitive -> nodes generated


def program_seed(seed: int, index: int) -> str:
    """The seed of program ``index`` of a session: each program is reproducible alone."""
    return f"adbench-fuzz:{seed}:{index}"


def _checked(program: Program, skip) -> list:
    return check_program(program, skip)


def fuzz(examples: int, seed: int, *, first: int = 0, timeout: float | None = 60.0,
         isolate: bool = True, skip: Sequence[str] = (), max_nodes: int = 8, max_n: int = 4,
         max_m: int = 4, progress: Callable[[int, FuzzReport], None] | None = None
         ) -> FuzzReport:
    """Generate and check programs ``first .. first + examples - 1`` of session
    ``seed``; each check runs in a worker killed after ``timeout`` s (a hang or
    a crash is a finding too)."""
    report = FuzzReport()
    if isolate:
        warm_up()
    for index in range(first, first + examples):
        program = generate(RandomChoices(program_seed(seed, index)), max_nodes=max_nodes,
                           max_n=max_n, max_m=max_m)
        outcome = run_isolated(_checked, (program, tuple(skip)), timeout, isolate=isolate)
        if outcome.status == "ok":
            findings = outcome.value
        else:
            findings = [Finding(f"checker {outcome.status}", outcome.message)]
        report.examples += 1
        report.nodes += program.size()
        for node in program.nodes:
            report.by_primitive[node.primitive] = report.by_primitive.get(node.primitive, 0) + 1
        if unexpected(findings):
            report.failing += 1
        if findings:
            for kind in dict.fromkeys(f.check for f in findings):
                report.counts[kind] = report.counts.get(kind, 0) + 1
                if kind not in report.first:
                    finding = next(f for f in findings if f.check == kind)
                    report.first[kind] = (index, program, finding)
        if progress is not None:
            progress(report.examples, report)
    return report


# --------------------------------------------------------------------------
# A campaign spread over workers (adbench fuzz --jobs / --cluster)
# --------------------------------------------------------------------------

#: Programs per task of a spread campaign. The partition depends on nothing
#: else (not on the number of workers), and each program depends on its
#: index alone (program_seed), so every partition finds the same.
CHUNK = 50


def partition(first: int, examples: int, chunk: int = CHUNK) -> list[tuple[int, int]]:
    """Programs ``first .. first + examples - 1`` as consecutive ``(start, count)``
    ranges of at most ``chunk`` programs."""
    return [(start, min(chunk, first + examples - start))
            for start in range(first, first + examples, chunk)]


def merge(reports: Sequence[FuzzReport]) -> FuzzReport:
    """One report of the ranges' reports, as if one session had checked them
    all: counts add up, and the first program of a kind is the lowest index."""
    total = FuzzReport()
    for part in reports:
        total.examples += part.examples
        total.failing += part.failing
        total.nodes += part.nodes
        for table, other in ((total.counts, part.counts),
                             (total.by_primitive, part.by_primitive)):
            for key, value in other.items():
                table[key] = table.get(key, 0) + value
        for kind, found in part.first.items():
            if kind not in total.first or found[0] < total.first[kind][0]:
                total.first[kind] = found
    total.counts = dict(sorted(total.counts.items(), key=lambda kv: total.first[kv[0]][0]))
    return total


def _range_task(seed, start, count, timeout, skip, max_nodes) -> dict:
    return {"kind": "fuzz", "seed": seed, "first": start, "examples": count,
            "timeout": timeout, "skip": list(skip), "max_nodes": max_nodes}


def execute_range(task: dict) -> dict:
    """In the worker interpreter: check a range of programs; the FuzzReport,
    pickled (it holds Programs), as ``{"report": base64}``."""
    report = fuzz(task["examples"], task["seed"], first=task["first"], timeout=task["timeout"],
                  skip=task["skip"], max_nodes=task["max_nodes"])
    return {"report": base64.b64encode(pickle.dumps(report)).decode("ascii")}


def run_range(task: dict) -> dict:
    """In an executor's thread: :func:`execute_range` in a fresh interpreter,
    killed when a --timeout per program (and the start-up) is over."""
    deadline = None if not task["timeout"] else task["timeout"] * task["examples"] + STARTUP_S
    try:
        return run_in_interpreter(task, deadline)
    except TaskTimeout as exc:
        return {"error": str(exc)}


def _lost_range(task: dict, message: str, max_n: int = 4, max_m: int = 4) -> FuzzReport:
    """The report of a range whose worker was lost: every program of it counts,
    under the kind ``checker lost``, the first of them as its example."""
    start = task["first"]
    program = generate(RandomChoices(program_seed(task["seed"], start)),
                       max_nodes=task["max_nodes"], max_n=max_n, max_m=max_m)
    return FuzzReport(examples=task["examples"], failing=task["examples"],
                      counts={"checker lost": task["examples"]},
                      first={"checker lost": (start, program, Finding("checker lost", message))})


def fuzz_spread(examples: int, seed: int, executor, *, first: int = 0,
                timeout: float | None = 60.0, skip: Sequence[str] = (), max_nodes: int = 8,
                progress: Callable[[int, FuzzReport], None] | None = None) -> FuzzReport:
    """:func:`fuzz` with the programs' ranges (:func:`partition`) checked by
    ``executor`` (:mod:`adbench.measure.executors`); the report is the serial
    one's. ``progress(done, report so far)`` after each range."""
    tasks = [_range_task(seed, start, count, timeout, skip, max_nodes)
             for start, count in partition(first, examples)]
    parts: dict[int, FuzzReport] = {}
    with executor as pool:
        running = {pool.submit(run_range, task, key=f"fuzz-{seed}-{task['first']}"): task
                   for task in tasks}
        while running:
            for future in pool.wait_any(list(running)):
                task = running.pop(future)
                answer = pool.answer(future)
                if "report" in answer:
                    parts[task["first"]] = pickle.loads(base64.b64decode(answer["report"]))
                else:
                    parts[task["first"]] = _lost_range(task, answer.get("error", "no answer"))
                if progress is not None:
                    done = merge([parts[k] for k in sorted(parts)])
                    progress(done.examples, done)
    return merge([parts[k] for k in sorted(parts)])
