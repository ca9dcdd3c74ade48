"""``adbench list`` and ``adbench run``."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path

import click
import pandas as pd

from adbench.cli.base import UserError, cli, problems_dir_option
from adbench.harness import DEFAULT_TIMEOUT, parse_sizes
from adbench.methods import METHODS
from adbench.registry import load_registry


# --------------------------------------------------------------------------
# list
# --------------------------------------------------------------------------

def _span(values) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}-{hi}"


@cli.command("list")
@problems_dir_option
@click.option("--format", "fmt", type=click.Choice(["text", "md"]), default="text",
              show_default=True, help="Plain text, or a markdown catalogue.")
def list_command(problems_dirs, fmt):
    """List problems (name, n, m, tags, description), methods and suites."""
    reg = load_registry(problems_dirs)
    rows = []
    for p in reg.problems.values():
        sizes = "; ".join(f"{k}={','.join(map(str, v))}" for k, v in p.sizes.items())
        insts = p.instances()
        rows.append({"problem": p.name, "n": _span([i.n for i in insts]),
                     "m": _span([i.m for i in insts]),
                     "sizes": sizes or "-", "manual": "yes" if p.manual_fn else "no",
                     "tags": ",".join(p.tags), "description": p.description})
    problems = pd.DataFrame(rows)
    methods = pd.DataFrame([{"method": m.name, "tolerance": m.tolerance,
                             "description": m.description} for m in METHODS.values()])
    suites = pd.DataFrame([{"suite": s.name, "problems": ", ".join(s.problems),
                            "description": s.description} for s in reg.suites.values()])
    if fmt == "md":
        parts = ["# Problems", "", problems.to_markdown(index=False), "", "# Methods", "",
                 methods.to_markdown(index=False), "", "# Suites", "",
                 suites.to_markdown(index=False)]
    else:
        parts = ["Problems", problems.to_string(index=False), "", "Methods",
                 methods.to_string(index=False), "", "Suites", suites.to_string(index=False)]
    click.echo("\n".join(parts))


# --------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------

def _default_out() -> Path:
    return Path("results") / datetime.now().strftime("run-%Y%m%d-%H%M%S")


class _Progress:
    """A one-line progress display on stderr, only when stderr is a terminal."""

    def __init__(self, quiet: bool):
        self.enabled = not quiet and sys.stderr.isatty()
        self.start = time.monotonic()

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        eta = "" if done == 0 else f", about {elapsed / done * (total - done):.0f} s left"
        width = 24
        filled = int(width * done / max(total, 1))
        bar = "#" * filled + "." * (width - filled)
        line = f"[{bar}] {done}/{total} {label}{eta}"
        end = "\n" if done == total else ""
        click.echo("\r" + line[:120].ljust(120), err=True, nl=False)
        if end:
            click.echo("", err=True)


@cli.command("run")
@click.argument("suite", required=False)
@click.option("--problem", "problems", multiple=True, metavar="NAME",
              help="Run this problem (repeatable); default: the suite.")
@click.option("--method", "methods", multiple=True, metavar="NAME",
              help="Run this method (repeatable); default: all.")
@click.option("--sizes", "sizes", multiple=True, metavar="NAME=V1,V2,...",
              help="Size values for a size parameter (repeatable, e.g. --sizes n=1,2,4).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for results.csv and report.md [default: results/run-DATE].")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_TIMEOUT, show_default=True,
              help="Hard time limit of each measurement, in seconds.")
@click.option("--resume", type=click.Path(path_type=Path, file_okay=False), default=None,
              metavar="DIR", help="Complete an interrupted run in DIR.")
@click.option("--memory-limit", type=click.FloatRange(min=0), default=None, metavar="GIB",
              help="Address-space limit of each measurement's worker, in GiB (0: none) "
                   "[default: 16, or 3/4 of the memory if less].")
@click.option("--quiet", is_flag=True, help="No progress display.")
@problems_dir_option
def run_command(suite, problems, methods, sizes, out, timeout, resume, memory_limit, quiet,
                problems_dirs):
    """Run SUITE (default: quick), or the given problems, with every method.

    Writes results.csv (one row per problem x size x method) and report.md.
    """
    from adbench.harness import read_run_info, run

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
        timeout = info.get("timeout", timeout)
    else:
        parsed = parse_sizes(sizes)
        out = out or _default_out()
    _check_writable(out)
    limit = None if memory_limit is None else int(memory_limit * 2**30)
    try:
        df = run(problems=problems, methods=methods, sizes=parsed, suite=suite, out=out,
                 timeout=timeout, problems_dirs=problems_dirs, resume=resume is not None,
                 progress=_Progress(quiet), memory_limit=limit)
    except KeyboardInterrupt:
        click.echo(f"\nadbench: interrupted; the finished rows are in {out / 'results.csv'}; "
                   f"complete the run with: adbench run --resume {out}", err=True)
        sys.exit(130)
    counts = df["status"].value_counts().to_dict()
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    click.echo(f"{len(df)} measurements ({summary})")
    click.echo(f"wrote {out / 'results.csv'}")
    click.echo(f"wrote {out / 'report.md'}")


def _check_writable(out: Path) -> None:
    """Create ``out`` and write a probe file there, or fail in one line.

    Trying is the only reliable test: ``os.access`` says yes to root on a
    read-only file system and knows nothing of quotas.
    """
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"--out {out}: {probe} is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        test = out / f".adbench-probe-{os.getpid()}"
        test.write_text("")
        test.unlink()
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
