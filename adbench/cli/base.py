"""The ``adbench`` command group, its entry point and shared options.

Each command is a small function over the library, in its own module of this
package, registered with ``@cli.command``. Errors the user can fix (an unknown name, a
malformed option, a broken problem file) print one line, ``adbench: error: ...``, and
exit with code 2. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import math
import os
import sys
from contextlib import suppress
from pathlib import Path

import click

from adbench import __version__
from adbench.measure.harness import (DEFAULT_TIMEOUT, FolderInUseError, ResultsCSVError,
                                     ResultsWriteError, SizesError, load_bounded)
from adbench.problem import ProblemDefinitionError
from adbench.registry import ProblemFileError, UnknownNameError

__all__ = ["main", "cli", "UserError", "problems_dir_option", "load_problems", "USER_ERRORS",
           "Limit", "SECONDS", "GIB", "NumberRange", "dated_folder", "check_writable",
           "parse_point", "jobs_option", "spread_options"]


class UserError(click.ClickException):
    """A problem with the command's input: one line, exit code 2."""

    exit_code = 2


#: Exceptions that mean "the input is wrong", reported in one line with exit code 2.
def dated_folder(kind: str) -> Path:
    """The default output folder of a command: ``results/KIND-YYYYMMDD-HHMMSS``, new at
    each call and ignored by git (``.gitignore``), so that no command overwrites a
    committed report unless its ``--out`` names it."""
    from datetime import datetime

    return Path("results") / datetime.now().strftime(f"{kind}-%Y%m%d-%H%M%S")


def check_writable(folder: Path, option: str = "--out") -> None:
    """Create ``folder``, write a probe file there and take both away again, or
    fail in one line naming ``option``: before a command's work, not after it.

    Trying is the only reliable test: ``os.access`` says yes to root on a
    read-only file system and knows nothing of quotas. The folders made for the
    test are removed, so that a command refused afterwards (an unknown problem,
    say) leaves nothing behind; the command makes them again when it writes.
    """
    probe, missing = folder, []
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"{option} {folder}: {probe} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        test = folder / f".adbench-probe-{os.getpid()}"
        test.write_text("")
        test.unlink()
    except OSError as exc:
        raise UserError(f"{option} {folder}: cannot write there ({exc.strerror or exc})") from None
    finally:
        for made in missing:  # deepest first
            with suppress(OSError):
                made.rmdir()


def parse_point(text: str, n: int) -> list[float]:
    """``--at X1,X2,...``: n finite numbers, or a one-line UserError saying what is wrong."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UserError(f"--at {text!r}: expected {n} comma-separated numbers") from None
    if len(values) != n:
        raise UserError(f"--at {text!r}: the problem has {n} input{'s' * (n != 1)}, got "
                        f"{len(values)} value{'s' * (len(values) != 1)}")
    if not all(math.isfinite(v) for v in values):
        raise UserError(f"--at {text!r}: the values must be finite")
    return values


def spread_options(what: str, note: str = ""):
    """The options ``--jobs N|auto`` and ``--cluster ADDRESS`` of a command that spreads
    ``what`` (its units of work) over workers; read them with :func:`jobs_option`."""
    def decorate(f):
        f = click.option("--cluster", default=None, metavar="ADDRESS",
                         help=f"Send the {what} to the Dask cluster whose scheduler is at "
                              "ADDRESS (tcp://host:8786); its workers need adbench "
                              "installed.")(f)
        return click.option("--jobs", default="1", show_default=True, metavar="N|auto",
                            help=f"Up to N {what} at once on this machine (auto: one per "
                                 f"CPU){note}.")(f)
    return decorate


def jobs_option(jobs: str, cluster: str | None) -> int:
    """The worker count of ``--jobs`` (``auto``: the CPUs), checked against ``--cluster``
    and, with a cluster, its scheduler reached once now: one line and exit 2 before
    anything is written, rather than a traceback later."""
    from adbench.measure.spread import resolve_jobs

    try:
        count = resolve_jobs(jobs)
    except ValueError:
        raise UserError(f"--jobs {jobs}: expected a positive number or auto") from None
    if cluster:
        if count != 1:
            raise UserError("--jobs and --cluster exclude each other (the cluster's workers "
                            "set the parallelism)")
        from adbench.measure.executors import ClusterUnavailable, DaskExecutor

        try:
            with DaskExecutor(cluster):
                pass
        except ClusterUnavailable as exc:
            raise UserError(str(exc)) from None
    return count


USER_ERRORS = (UnknownNameError, ProblemFileError, ProblemDefinitionError, ResultsCSVError,
               ResultsWriteError, FileExistsError, NotADirectoryError, PermissionError,
               SizesError, FolderInUseError)


class Limit(click.ParamType):
    """A limit given as a number: ``inf`` means no limit (converted to
    ``unlimited``), ``nan`` and negative numbers are refused, and so is 0
    unless ``zero_ok`` (where 0 also means no limit)."""

    name = "number"

    def __init__(self, unlimited, zero_ok: bool):
        self.unlimited, self.zero_ok = unlimited, zero_ok

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number", param, ctx)
        if math.isnan(number):
            self.fail("nan is not a limit (inf means none)", param, ctx)
        if number < 0 or (number == 0 and not self.zero_ok):
            self.fail(f"{value} is not a limit (it must be {'>=' if self.zero_ok else '>'} 0; "
                      "inf means none)", param, ctx)
        return self.unlimited if math.isinf(number) else number


class NumberRange(click.FloatRange):
    """``click.FloatRange`` that also refuses nan, which compares false with
    every bound and so passes FloatRange's check."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


#: A time limit in seconds (inf: none, given as None).
SECONDS = Limit(None, zero_ok=False)
#: A memory limit in GiB (0 or inf: none, given as 0).
GIB = Limit(0.0, zero_ok=True)


def problems_dir_option(f):
    return click.option(
        "--problems-dir", "problems_dirs", multiple=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Also load the problem files (and suites.toml) of this folder; repeatable.")(f)


#: How long, in seconds, the problem files of ``--problems-dir`` may take to import in a
#: command without a ``--timeout`` of its own (a file that loops at import is refused).
PROBLEM_FILES_TIMEOUT = DEFAULT_TIMEOUT


def load_problems(problems_dirs, timeout=...):
    """The registry with the files of ``--problems-dir``, their import bounded by
    ``timeout`` in seconds (None: no bound; not given: :data:`PROBLEM_FILES_TIMEOUT`,
    read at the call), as ``run`` loads them."""
    return load_bounded(problems_dirs, PROBLEM_FILES_TIMEOUT if timeout is ... else timeout)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="adbench")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug):
    """Compare manual, finite-difference, symbolic and automatic differentiation
    on the same problems."""


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------

def main(argv=None) -> None:
    """Console entry point: one-line errors with exit code 2 unless --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="adbench", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("adbench: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("adbench: interrupted; finished rows are in results.csv "
                   "(complete them with --resume DIR)", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        if debug:
            raise
        click.echo(f"adbench: error: {exc.format_message()}", err=True)
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except USER_ERRORS as exc:
        if debug:
            raise
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        click.echo(f"adbench: error: {msg}", err=True)
        sys.exit(2)
    sys.exit(0)
