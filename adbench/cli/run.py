"""``adbench list`` and ``adbench run``."""

from __future__ import annotations

import shutil
import signal
import sys
import time
from pathlib import Path

import click
import pandas as pd

from adbench.cli.base import (GIB, SECONDS, NumberRange, UserError, check_writable, cli,
                              dated_folder, jobs_option, load_problems, problems_dir_option,
                              spread_options)
from adbench.measure.harness import DEFAULT_TIMEOUT, STATUSES, ResultsWriteError, parse_sizes
from adbench.measure.interrupts import Terminated, raising_interrupts
from adbench.methods import METHODS

# --------------------------------------------------------------------------
# list
# --------------------------------------------------------------------------

@cli.command("list")
@problems_dir_option
@click.option("--format", "fmt", type=click.Choice(["text", "md"]), default="text",
              show_default=True, help="Plain text, or a markdown catalogue.")
@click.option("--support", is_flag=True,
              help="With --format md: measure which methods differentiate each problem "
                   "(on its smallest size, each method within 60 s of CPU time; slow: every "
                   "method on every problem).")
@click.option("--wide", is_flag=True,
              help="Plain text with every row on one line, however wide (by default the "
                   "tables fit the terminal, COLUMNS: long descriptions wrap).")
def list_command(problems_dirs, fmt, support, wide):
    """List problems (name, n, m, tags, description), methods and suites."""
    from adbench.report.catalogue import catalogue_markdown, problem_table
    from adbench.report.terminal import fit_table

    reg = load_problems(problems_dirs)
    problems = problem_table(reg)
    methods = pd.DataFrame([{"method": m.name, "tolerance": m.tolerance,
                             "description": m.description} for m in METHODS.values()])
    suites = pd.DataFrame([{"suite": s.name, "problems": ", ".join(s.problems),
                            "description": s.description} for s in reg.suites.values()])
    if support and fmt != "md":
        raise UserError("--support needs --format md")
    if wide and fmt != "text":
        raise UserError("--wide is for --format text (a markdown table is never wrapped)")
    if fmt == "md":
        parts = [catalogue_markdown(reg, with_support=support), "", "# Methods", "",
                 methods.to_markdown(index=False), "", "# Suites", "",
                 suites.to_markdown(index=False)]
    else:
        def show(table):
            return table.to_string(index=False) if wide else fit_table(table)

        parts = ["Problems", show(problems), "", "Methods", show(methods), "", "Suites",
                 show(suites)]
    click.echo("\n".join(parts))


# --------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------

def _default_out() -> Path:
    return dated_folder("run")


def _duration(seconds: float) -> str:
    """``under 1 s``, ``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    if seconds < 0.5:
        return "under 1 s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class _Progress:
    """A one-line progress display: a bar, the count, an estimate of the time
    left and the current problem and method.

    Written to ``stream`` (default stderr) only when it is a terminal and not
    ``quiet``: redirected output and logs stay clean. The estimate is the mean
    time of the measurements done so far in this session times those left
    (rows skipped by ``--resume`` do not count as fast measurements).
    """

    def __init__(self, quiet: bool = False, stream=None, clock=time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = not quiet and bool(isatty and isatty())
        self.clock = clock
        self.start = clock()
        self.first: int | None = None

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        if self.first is None:
            self.first, self.start = done, self.clock()
        finished = done - self.first
        eta = ""
        if 0 < finished and done < total:
            left = (self.clock() - self.start) / finished * (total - done)
            eta = f"  {'' if left < 0.5 else 'about '}{_duration(left)} left"
        width = max(40, shutil.get_terminal_size((100, 20)).columns - 1)
        filled = int(24 * done / max(total, 1))
        line = f"[{'#' * filled}{'.' * (24 - filled)}] {done}/{total}{eta}  {label}"
        self.stream.write("\r" + line[:width].ljust(width))
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


@cli.command("run")
@click.argument("suite", required=False)
@click.option("--problem", "problems", multiple=True, metavar="NAME",
              help="Run this problem (repeatable) instead of a suite.")
@click.option("--method", "methods", multiple=True, metavar="NAME",
              help="Run this method (repeatable); default: the suite's methods, else "
                   "adbench's own.")
@click.option("--sizes", "sizes", multiple=True, metavar="NAME=V1,V2,...",
              help="Size values for a size parameter (repeatable, e.g. --sizes n=1,2,4).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for results.csv and report.md [default: results/run-DATE].")
@click.option("--timeout", type=SECONDS,
              default=DEFAULT_TIMEOUT, show_default=True,
              help="Hard time limit of each measurement, in seconds (inf: none).")
@click.option("--resume", type=click.Path(path_type=Path, file_okay=False), default=None,
              metavar="DIR", help="Complete an interrupted run in DIR, with the selection "
                                  "and limits it was started with.")
@click.option("--memory-limit", type=GIB, default=None, metavar="GIB",
              help="Address-space limit of each measurement's worker, in GiB (0 or inf: none) "
                   "[default: 16, or 3/4 of the memory if less].")
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.option("--strict", is_flag=True,
              help="Exit 1 when any row is inaccurate (an entry over its method's "
                   "tolerance), error or nonfinite.")
@click.option("--time-budget", type=NumberRange(min=0), default=None, metavar="SECONDS",
              help="Time spent timing f and the derivative per measurement "
                   "[default: 0.1]; 0 skips timing.")
@spread_options("problem instances", "; timing measurements run one per physical core, pinned")
@problems_dir_option
def run_command(suite, problems, methods, sizes, out, timeout, resume, memory_limit, quiet,
                strict, time_budget, jobs, cluster, problems_dirs):
    """Run SUITE (default: quick), or the given problems instead, with the
    suite's methods (else adbench's own) or the given ones.

    Writes results.csv (one row per problem x size x method) and report.md.
    An output file that cannot be written is a one-line error: exit code 2 if
    nothing was measured yet, else 1 (the finished rows are kept for --resume).
    A run whose every row is an error exits 1; with --strict, so does a run
    with any inaccurate, error or nonfinite row.
    """
    from adbench.measure.harness import read_run_info, run
    from adbench.measure.metrics import timing

    # every run sets the budget (None: the default), so that an earlier run in the same
    # process (a --resume restoring its own) leaves nothing behind
    timing.configure(budget_s=timing.DEFAULT_BUDGET_S if time_budget is None else time_budget)
    limit = None if memory_limit is None else int(memory_limit * 2**30)

    if resume is not None:
        if not (resume / "results.csv").exists():
            raise UserError(f"--resume {resume}: no results.csv there to complete")
        info = read_run_info(resume)
        if not info:
            raise UserError(f"--resume {resume}: no run.json there (not an adbench run folder)")
        if suite or problems or methods or sizes or out:
            raise UserError("--resume takes the run's own selection; give no other selection")
        suite, problems, methods = info["suite"], info["problems"], info["methods"]
        parsed, out = info["sizes"], resume
        problems_dirs = tuple(problems_dirs) + tuple(info.get("problems_dirs", ()))
        timeout, limit, budget = (
            _restored(info, key, given, resume)
            for key, given in (("timeout", timeout), ("memory_limit", limit),
                               ("time_budget", time_budget)))
        timing.configure(budget_s=budget)
    else:
        if suite and problems:
            raise UserError(f"give a SUITE or --problem, not both (SUITE {suite} with "
                            f"--problem {problems[0]})")
        parsed = parse_sizes(sizes)
        out = out or _default_out()
    check_writable(out)
    spread = _spread(jobs, cluster)
    try:
        with raising_interrupts():
            df = run(problems=problems, methods=methods, sizes=parsed, suite=suite, out=out,
                     timeout=timeout, problems_dirs=problems_dirs, resume=resume is not None,
                     progress=_Progress(quiet), memory_limit=limit, warn=_warn, spread=spread)
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        how = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
        if (out / "results.csv").exists():
            click.echo(f"\nadbench: interrupted{how}; the finished rows are in "
                       f"{out / 'results.csv'}; complete the run with: adbench run --resume "
                       f"{out}", err=True)
        else:
            click.echo(f"\nadbench: interrupted{how} before any row was measured; nothing "
                       "was written", err=True)
        sys.exit(128 + signum)  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
    except ResultsWriteError as exc:
        if not exc.measured:
            raise UserError(str(exc)) from None
        raise RunCutShort(f"{exc}; the finished rows are kept; complete the run with: "
                          f"adbench run --resume {out}") from None
    counts = df["status"].value_counts()
    summary = ", ".join(f"{counts[k]} {k}" for k in STATUSES if k in counts)
    click.echo(f"{len(df)} measurements ({summary})")
    click.echo(f"wrote {out / 'results.csv'}")
    click.echo(f"wrote {out / 'report.md'}")
    click.echo("")
    click.echo(result_table(df))
    _verdict(df, strict)


#: The columns of the table printed at the end of a run (from the report's summary).
RESULT_COLUMNS = ["method", "ok", "inaccurate", "failed", "median error", "time ratio (median)"]


def result_table(df: pd.DataFrame) -> str:
    """Per method: rows ok, inaccurate and failed, the median error and the median
    time ratio, as plain text (the summary table of report.md, cut down)."""
    from adbench.report.tables import summary_table

    table = summary_table(df)
    table = table[[c for c in RESULT_COLUMNS if c in table.columns]]
    return table.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.3g}")


#: The statuses that ``--strict`` fails on: a Jacobian that is wrong or missing.
STRICT_FAILURES = ("inaccurate", "error", "nonfinite")


def _verdict(df: pd.DataFrame, strict: bool) -> None:
    """Exit 1 when nothing worked (every row an error) or, with ``strict``, when
    any row is one of :data:`STRICT_FAILURES`; say why on stderr."""
    status = df["status"]
    if len(df) and (status == "error").all():
        click.echo(f"adbench: every one of the {len(df)} measurements failed with an error "
                   "(see the message column of results.csv)", err=True)
        raise SystemExit(1)
    bad = status[status.isin(STRICT_FAILURES)].value_counts()
    if strict and len(bad):
        click.echo("adbench: --strict: " + ", ".join(f"{v} {k}" for k, v in bad.items())
                   + " rows", err=True)
        raise SystemExit(1)


#: The option of each setting that run.json stores, and its unit there.
_SETTINGS = {"timeout": ("--timeout", 1), "memory_limit": ("--memory-limit", 2**30),
             "time_budget": ("--time-budget", 1)}


def _restored(info: dict, key: str, given, folder: Path):
    """The value of a setting for ``--resume``: the one the run was started with
    (rows measured under other limits would not be comparable); a value given
    on the command line must be that one. A run.json older than the setting has
    no entry: then the given value (or default) holds."""
    if key not in info:
        return given
    option, unit = _SETTINGS[key]
    source = click.get_current_context().get_parameter_source(key)
    if source is click.core.ParameterSource.COMMANDLINE and given != info[key]:
        stored = "the default" if info[key] is None else f"{option} {info[key] / unit:g}"
        raise UserError(f"--resume {folder}: the run was started with {stored}; give that "
                        f"or no {option}")
    return info[key]


def _spread(jobs: str, cluster: str | None):
    """The Spread of ``--jobs``/``--cluster`` (None for a serial run)."""
    from adbench.measure.spread import Spread

    count = jobs_option(jobs, cluster)
    if cluster:
        return Spread(cluster=cluster)
    return Spread(jobs=count) if count > 1 else None


class RunCutShort(click.ClickException):
    """A run that stopped after measuring some rows (an output file could not be
    written): one line, exit code 1."""

    exit_code = 1


def _warn(message: str) -> None:
    """A warning of the run, on one line of stderr."""
    click.echo(f"adbench: warning: {message}", err=True)
