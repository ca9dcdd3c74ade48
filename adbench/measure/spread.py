"""Spreading a run's measurements over workers: ``--jobs N`` and ``--cluster ADDRESS``.

The unit is a *task*, one problem instance with the methods it still needs
(:mod:`adbench.measure.task`). Tasks go to an executor (:mod:`.executors`: a
pool of threads on this machine, or a Dask cluster); each runs in a fresh
interpreter of its own, so the rows are those of a serial run (timing,
placement and the memory columns' few hundred bytes of noise aside):

* what a serial run would skip is skipped: an instance waits until every
  earlier instance of its problem that it dominates (every size >= theirs) is
  done, and carries the sizes at which each method timed out; instances of
  other problems, and undominated ones, run meanwhile;
* rows are appended to results.csv as each task finishes (an interrupted run
  keeps them, and ``--resume`` completes it as after a serial run), and the
  file is rewritten in the serial order at the end (atomically: it is complete
  at every moment);
* a task whose interpreter died is retried once (by Dask's ``retries=1`` on
  a cluster); a second death gives ``error`` rows saying ``worker lost``.

The timing policy (at most one timing task per physical core, pinned) is
:mod:`adbench.measure.placement`'s: the host decides, not the client.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from adbench.measure.placement import physical_cores

__all__ = ["Spread", "resolve_jobs", "canonical_order"]


def resolve_jobs(jobs: str | int) -> int:
    """``--jobs``: a positive count, or ``auto`` for the CPUs this process may use."""
    if str(jobs).strip().lower() == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    count = int(jobs)
    if count < 1:
        raise ValueError(f"--jobs must be a positive number or auto, got {jobs}")
    return count


@dataclass
class _Job:
    index: int            # position of the instance in the selection
    inst: object
    methods: list
    waits_for: set        # indices of instances that must finish first


def _dominates(smaller: dict, larger: dict) -> bool:
    return all(larger.get(k, v) >= v for k, v in smaller.items())


def _jobs(instances, chosen, done, skipper) -> list[_Job]:
    from adbench.measure.harness import pending_methods

    jobs = []
    for index, inst in enumerate(instances):
        methods = pending_methods(inst, chosen, done, skipper)
        if not methods:
            continue
        before = {j.index for j in jobs if j.inst.name == inst.name and j.inst.sizes
                  and _dominates(j.inst.sizes, inst.sizes)}
        jobs.append(_Job(index, inst, methods, before))
    return jobs


@dataclass
class Spread:
    """Where the tasks of a run go: ``jobs`` threads here, or the Dask cluster
    at ``cluster`` (``tcp://host:8786``)."""

    jobs: int = 1
    cluster: str | None = None

    def executor(self, timing: bool):
        from adbench.measure import executors

        if self.cluster:
            return executors.DaskExecutor(self.cluster)
        # timing tasks run one per physical core: more threads would only wait
        slots = min(self.jobs, len(physical_cores())) if timing else self.jobs
        return executors.LocalExecutor(max(1, slots))

    def measure(self, instances, chosen, done, skipper, writer, progress, *, timeout,
                memory_limit, isolate, problems_dirs) -> list[dict]:
        """Measure ``instances`` x ``chosen`` (less ``done``) and return the rows;
        each finished task's rows go to ``writer`` at once. The hook of
        :func:`adbench.measure.harness.run`."""
        from adbench.measure.harness import _base_row
        from adbench.measure.interrupts import raise_pending
        from adbench.measure.metrics import timing
        from adbench.measure.task import describe, run_measure_task, ship_folder
        from adbench.registry import builtin_problems_dir

        budget = timing.settings()["budget_s"]
        jobs = _jobs(instances, chosen, done, skipper)
        total = len(instances) * len(chosen)
        count = total - sum(len(j.methods) for j in jobs)
        builtin = builtin_problems_dir().resolve()
        shipped: dict = {}

        def folder_of(inst):
            folder = Path(inst.problem.source).resolve().parent if inst.problem.source else None
            if folder is None or folder == builtin:
                return None
            if folder not in shipped:
                shipped[folder] = ship_folder(folder)
            return shipped[folder]

        def task_of(job):
            timed_out = {m.name: skipper.timed_out.get((job.inst.name, m.name), [])
                         for m in job.methods}
            return describe(job.inst, job.methods, timeout=timeout, memory_limit=memory_limit,
                            isolate=isolate, time_budget=budget,
                            timed_out={k: v for k, v in timed_out.items() if v},
                            folder=folder_of(job.inst))

        def rows_of(job, answer):
            if "rows" in answer:
                rows = answer["rows"]
            else:
                status = "timeout" if "timeout" in answer else "error"
                message = answer.get("timeout") or answer.get("error") or "no answer"
                rows = []
                for method in job.methods:
                    row = _base_row(job.inst, method)
                    row.update(status=status, message=message)
                    rows.append(row)
            for row in rows:
                row.update(answer.get("placement", {}))
            return rows

        rows_by_job: dict[int, list] = {}
        finished: set[int] = set()
        waiting = list(jobs)
        if progress is not None:
            progress(count, total, f"{len(jobs)} instances to measure")
        with self.executor(timing=budget > 0) as pool:
            running: dict = {}
            while waiting or running:
                for job in [j for j in waiting if j.waits_for <= finished]:
                    waiting.remove(job)
                    running[pool.submit(run_measure_task, task_of(job), key=job.inst.label)] = job
                for future in pool.wait_any(list(running)):
                    job = running.pop(future)
                    rows = rows_of(job, pool.answer(future))
                    for row in rows:
                        if row["status"] == "timeout":  # larger sizes are skipped, as serially
                            skipper.note(job.inst, row["method"])
                        if writer is not None:
                            writer.write(row)
                    rows_by_job[job.index] = rows
                    finished.add(job.index)
                    count += len(rows)
                    if progress is not None:
                        progress(count, total, f"{job.inst.label} done")
                raise_pending()  # an interruption whose exception Python discarded
        if writer is not None:
            canonical_order(writer.path, instances, chosen)
        return [row for index in sorted(rows_by_job) for row in rows_by_job[index]]


def canonical_order(path: Path, instances: Sequence, chosen: Sequence) -> None:
    """Rewrite results.csv with its rows in the order of a serial run (the
    instances in selection order, each with the methods in ``chosen``'s order;
    rows of neither keep their place after them), atomically."""
    from adbench.measure.harness.results import KEY, _parse_rows, _read_text, _writing

    rows = _parse_rows(path, _read_text(path))
    header, body = rows[0], rows[1:]
    rank = {(inst.name, inst.size_label, m.name): (i, j)
            for i, inst in enumerate(instances) for j, m in enumerate(chosen)}
    idx = [header.index(k) for k in KEY]
    far = (len(instances), 0)
    body = sorted(body, key=lambda r: rank.get(tuple(r[i] for i in idx), far))  # stable
    tmp = path.with_name(path.name + ".tmp")
    with _writing(tmp):
        with open(tmp, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            out.writerows(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
