"""``adbench fuzz``: differential fuzzing of the differentiators (adbench.studies.fuzz)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from adbench.cli.base import SECONDS, UserError, cli, jobs_option, spread_options
from adbench.studies.fuzz import CHECKS


def _isolated_check(timeout, skip):
    """check_program in a killable worker: a hang or crash is a finding too."""
    from adbench.measure.isolation import run_isolated
    from adbench.studies.fuzz import Finding, _checked

    def check(program):
        outcome = run_isolated(_checked, (program, tuple(skip)), timeout)
        if outcome.status == "ok":
            return outcome.value
        return [Finding(f"checker {outcome.status}", outcome.message)]
    return check


def _executor(jobs: str, cluster: str | None):
    """The executor of ``--jobs``/``--cluster`` (None: a serial campaign)."""
    from adbench.measure.executors import DaskExecutor, LocalExecutor

    count = jobs_option(jobs, cluster)
    if cluster:
        return DaskExecutor(cluster)
    return LocalExecutor(count) if count > 1 else None


@cli.command("fuzz")
@click.option("--examples", type=click.IntRange(min=1), default=200, show_default=True,
              help="Number of random programs to check.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Session seed; program I of seed S is the same on every machine.")
@click.option("--first", type=click.IntRange(min=0), default=0, show_default=True,
              help="Index of the first program (with --examples 1: re-check one program).")
@click.option("--max-nodes", type=click.IntRange(1, 40), default=8, show_default=True,
              help="Largest number of operations in a program.")
@click.option("--timeout", type=SECONDS, default=60.0, show_default=True,
              help="Hard time limit of the checks of one program, in seconds (inf: none).")
@click.option("--skip", multiple=True, metavar="CHECK",
              type=click.Choice([c for c in CHECKS if c != "methods"]),
              help="Leave out a group of checks (repeatable).")
@click.option("--no-shrink", is_flag=True, help="Print the first failing programs as found.")
@click.option("--save", type=click.Path(path_type=Path, file_okay=False), default=None,
              metavar="DIR", help="Also write each reproducer as a problem file into DIR.")
@click.option("--quiet", is_flag=True, help="No progress display.")
@spread_options("ranges of programs", "; the findings are those of a serial campaign")
def fuzz_command(examples, seed, first, max_nodes, timeout, skip, no_shrink, save, quiet, jobs,
                 cluster):
    """Check the differentiators against each other on random programs.

    Each program is a random DAG of operations from the primitive table, with
    inputs kept inside every operation's domain. ad-forward, ad-reverse and
    symbolic must agree to 1e-10 (rho) with each other and with the 80-digit
    reference, fd-central must stay within its error bound, and the four
    nestings of forward and reverse mode must give the same second
    derivatives. Each kind of disagreement is shrunk to a smallest program and
    printed as a problem file (usable with --problems-dir). Exit code 1 if
    anything disagrees.
    """
    from adbench.studies.fuzz import fuzz

    if save is not None:
        try:
            save.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--save {save}: cannot create it ({exc.strerror or exc})") from None
    tty = sys.stderr.isatty()
    start = time.monotonic()

    def progress(done, report):
        if quiet or not (tty or done % 100 == 0 or done == examples):
            return  # a terminal sees every program, a log file every hundredth
        click.echo(f"{chr(13) if tty else ''}{done}/{examples} programs, {report.failing} "
                   f"with disagreements ({time.monotonic() - start:.0f} s)", err=True,
                   nl=not tty or done == examples)

    executor = _executor(jobs, cluster)
    if executor is None:
        report = fuzz(examples, seed, first=first, timeout=timeout, skip=skip,
                      max_nodes=max_nodes, progress=progress)
    else:
        from adbench.studies.fuzz.driver import fuzz_spread
        report = fuzz_spread(examples, seed, executor, first=first, timeout=timeout, skip=skip,
                             max_nodes=max_nodes, progress=progress)
    elapsed = time.monotonic() - start
    click.echo(f"checked {report.examples} programs ({report.nodes} operations; seed {seed}, "
               f"programs {first}..{first + examples - 1}) in {elapsed:.0f} s: "
               f"{report.failing} with disagreements")
    covered = sorted(report.by_primitive.items(), key=lambda kv: (-kv[1], kv[0]))
    click.echo("operations per primitive: " + ", ".join(f"{k} {v}" for k, v in covered))
    from adbench.studies.fuzz import KNOWN_LIMITATIONS, shrink
    for kind, why in KNOWN_LIMITATIONS.items():
        if kind in report.counts:
            click.echo(f"known limitation, {kind}: {report.counts[kind]} programs ({why})")
    if not report.failing:
        click.echo("no disagreement")
        return
    check = _isolated_check(timeout, skip)
    for kind, count in sorted(report.counts.items(), key=lambda kv: -kv[1]):
        if kind in KNOWN_LIMITATIONS:
            continue
        index, program, finding = report.first[kind]
        if not no_shrink:
            # a hang costs a whole --timeout per attempt: try fewer edits
            program = shrink(program, kind, check,
                             budget=10 if kind.startswith("checker") else 200)
            finding = next((f for f in check(program) if f.check == kind), finding)
        name = f"fuzz-{seed}-{index}"
        comment = (f"{kind}: {count} of {report.examples} programs.\n"
                   f"{finding}\n"
                   f"Found by: adbench fuzz --seed {seed} --first {index} --examples 1"
                   + ("" if no_shrink else
                      f"\n(shrunk from {report.first[kind][1].size()} to {program.size()} "
                      "operations)"))
        source = program.source(name, comment)
        click.echo("")
        click.echo(f"== {kind} ({count} programs)")
        click.echo(source)
        if save is not None:
            path = save / f"{name.replace('-', '_')}.py"
            path.write_text(source)
            click.echo(f"wrote {path}")
    sys.exit(1)
