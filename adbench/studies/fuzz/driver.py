"""The driver of ``adbench fuzz``: programs from a seed, checked in workers,
failures shrunk, a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

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
