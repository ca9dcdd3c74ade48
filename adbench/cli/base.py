"""The ``adbench`` command group, its entry point and shared options.

Each command is a small function over the library, in its own module of this
package, registered with ``@cli.command``. Errors the user can fix (an unknown name, a
malformed option, a broken problem file) print one line, ``adbench: error: ...``, and
exit with code 2. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from adbench import __version__
from adbench.measure.harness import (FolderInUseError, ResultsCSVError, ResultsWriteError,
                                     SizesError)
from adbench.problem import ProblemDefinitionError
from adbench.registry import ProblemFileError, UnknownNameError

__all__ = ["main", "cli", "UserError", "problems_dir_option", "USER_ERRORS", "Limit", "SECONDS",
           "GIB", "dated_folder", "jobs_option", "spread_options"]


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


#: A time limit in seconds (inf: none, given as None).
SECONDS = Limit(None, zero_ok=False)
#: A memory limit in GiB (0 or inf: none, given as 0).
GIB = Limit(0.0, zero_ok=True)


def problems_dir_option(f):
    return click.option(
        "--problems-dir", "problems_dirs", multiple=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Also load the problem files (and suites.toml) of this folder; repeatable.")(f)


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
