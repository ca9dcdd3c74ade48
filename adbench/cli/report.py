"""``adbench report``: report.md and plots from a results.csv, or the
differences between two runs, without rerunning anything."""

from __future__ import annotations

from pathlib import Path

import click

from adbench.cli.base import NumberRange, UserError, check_writable, cli


def _results_path(path: Path) -> Path:
    """A results.csv, or a run folder holding one."""
    if path.is_dir():
        if (path / "results.csv").is_file():
            return path / "results.csv"
        raise UserError(f"{path}: a folder without results.csv")
    if not path.exists():
        raise UserError(f"{path}: no such file")
    return path


@cli.command("report")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path),
                metavar="RESULTS.csv [NEW.csv]")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for report.md and plots/ [default: the folder of RESULTS.csv]; "
                   "with two CSVs, where diff.md is written (default: printed only).")
@click.option("--title", default="adbench report", show_default=True,
              help="Title of report.md.")
@click.option("--no-plots", is_flag=True, help="Tables only in report.md, no PNG plots.")
@click.option("--check", type=click.Choice(["all", "accuracy"]), is_flag=False,
              flag_value="all", default=None,
              help="With two CSVs: exit with code 1 if a value got worse, a row stopped "
                   "being ok, or a row disappeared; `--check accuracy` judges everything "
                   "but times.")
@click.option("--time-threshold", type=NumberRange(min=1, min_open=True), default=None,
              metavar="FACTOR",
              help="With two CSVs: a time ratio moved when it changed by this factor "
                   "[default: beyond the timing noise both runs measured].")
def report_command(results, out, title, no_plots, check, time_threshold):
    """Regenerate report.md (and plots) from RESULTS.csv, or, given two CSVs,
    show what changed from the first run to the second: errors and ratios
    that moved, status changes, rows added and removed.

    RESULTS may also be a run folder holding results.csv. fd-sweep tables
    (CSV files with columns h, scheme, error) in the same folder are plotted.
    """
    from adbench.measure.harness import read_results
    from adbench.report import (
        atomic_write,
        compare_runs,
        diff_summary,
        find_fd_sweeps,
        render_diff,
        write_report,
    )

    if len(results) > 2:
        raise UserError("give one results.csv (its report) or two (their differences), "
                        f"not {len(results)}")
    paths = [_results_path(p) for p in results]
    source = click.get_current_context().get_parameter_source
    for option in (["check", "time_threshold"] if len(paths) == 1 else ["title", "no_plots"]):
        if source(option) is click.core.ParameterSource.COMMANDLINE:
            name = "--" + option.replace("_", "-")
            raise UserError(f"{name} compares two runs: give two results.csv" if len(paths) == 1
                            else f"{name} is for the report of one run, not for the "
                                 "differences of two")
    if out is not None:
        check_writable(out)
    frames = [read_results(p) for p in paths]
    if len(frames) == 1:
        folder = out if out is not None else paths[0].parent
        report = write_report(frames[0], folder, title=title, plots=not no_plots,
                              fd_sweeps=find_fd_sweeps(paths[0].parent))
        plots = sorted((folder / "plots").glob("*.png")) if not no_plots else []
        click.echo(f"wrote {report}" + (f" and {len(plots)} plots in {folder / 'plots'}"
                                         if plots else ""))
        return
    diff = compare_runs(*frames, time_threshold=time_threshold, times=check != "accuracy")
    text = render_diff(diff, str(paths[0]), str(paths[1]))
    click.echo(text, nl=False)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "diff.md", text)
        click.echo(f"wrote {out / 'diff.md'}")
    if check:
        regressed = (diff.worse or len(diff.removed)
                     or (len(diff.status) and (diff.status["old status"] == "ok").any()))
        if regressed:
            click.echo(f"adbench: regression: {diff_summary(diff)}", err=True)
            raise SystemExit(1)
