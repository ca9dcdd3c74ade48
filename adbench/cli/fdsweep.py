"""``adbench fd-sweep``: finite-difference error against step (the survey's Figure 3)."""

from __future__ import annotations

import math
from pathlib import Path

import click
import pandas as pd

from adbench.cli.base import (UserError, check_writable, cli, dated_folder, load_problems,
                              parse_point, problems_dir_option)
from adbench.measure.harness import parse_sizes


def single_instance(problem, sizes_specs, command: str):
    """The one instance named by ``--sizes NAME=V`` options (defaults: the
    problem's first size); UserError for several values or a wrong name."""
    sizes = parse_sizes(sizes_specs)
    chosen = {}
    for name, values in sizes.items():
        if name not in problem.sizes:
            known = ", ".join(problem.sizes) or "none"
            raise UserError(f"--sizes {name}: {problem.name} has no size parameter {name} "
                            f"(its size parameters: {known})")
        if len(values) != 1:
            raise UserError(f"--sizes {name}={','.join(map(str, values))}: {command} takes "
                            f"one value per size parameter, such as {name}={values[0]}")
        chosen[name] = values[0]
    return problem.instance(**chosen)


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


@cli.command("fd-sweep")
@click.argument("problem_name", metavar="PROBLEM")
@click.option("--sizes", "sizes", multiple=True, metavar="NAME=V",
              help="The size of a family (one value per parameter, e.g. depth=4) "
                   "[default: each parameter's first default value].")
@click.option("--at", "at", default=None, metavar="X1,X2,...",
              help="The point x0 (n numbers) [default: the problem's x0].")
@click.option("--h-range", "h_range", default="1e-16:1", show_default=True, metavar="LO:HI",
              help="Smallest and largest step.")
@click.option("--per-decade", type=click.IntRange(1, 50), default=4, show_default=True,
              help="Steps per decade of h.")
@click.option("--exact-steps", is_flag=True,
              help="Make each step exactly representable at x0, as the fd methods do "
                   "[default: h as written, as in the survey].")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for fd-sweep.csv and fd-sweep.png [default: results/fd-sweep-DATE].")
@problems_dir_option
def fd_sweep_command(problem_name, sizes, at, h_range, per_decade, exact_steps, out,
                     problems_dirs):
    """Sweep the finite-difference step over decades for PROBLEM.

    Prints the error against the reference for each step h (forward, central
    and, where f is analytic, complex step), the best step and error of each
    scheme and the fitted slope of its truncation error; writes the table as
    CSV and a log-log plot. The survey's Figure 3:

        adbench fd-sweep logistic-map --sizes depth=4 --at 0.2
    """
    from adbench.studies.fdsweep import (
        HRangeError,
        parse_h_range,
        plot_sweep,
        step_grid,
        summarise,
        sweep,
    )

    problem = load_problems(problems_dirs).get(problem_name)
    inst = single_instance(problem, sizes, "fd-sweep")
    x0 = None if at is None else parse_point(at, inst.n)
    try:
        lo, hi = parse_h_range(h_range)
    except HRangeError as exc:
        raise UserError(str(exc)) from None
    out = out or dated_folder("fd-sweep")
    check_writable(out)
    out.mkdir(parents=True, exist_ok=True)

    table, notes = sweep(inst, x0, step_grid(lo, hi, per_decade), exact_steps=exact_steps)
    at_label = table["at"].iloc[0] if len(table) else ""
    wide = table.pivot(index="h", columns="scheme", values="error")
    wide = wide[[s for s in ("forward", "central", "complex") if s in wide.columns]]
    click.echo(f"{inst.label} at x0 = {at_label}: error max |J(h) - J| against the "
               f"reference ({'exact' if exact_steps else 'nominal'} steps)")
    shown = wide.reset_index()
    click.echo(shown.to_string(index=False, formatters={c: _fmt for c in shown.columns}))
    for scheme, reason in notes.items():
        click.echo(f"{scheme}: {reason}")
    results = summarise(table, x0 if x0 is not None else inst.x0)
    summary = pd.DataFrame([{
        "scheme": r.scheme, "best h": _fmt(r.best_h), "best error": _fmt(r.best_error),
        "fitted slope": "-" if math.isnan(r.slope) else f"{r.slope:.2f}",
        "expected": r.expected_slope,
        "C in C h^p": _fmt(r.coefficient),
        "fit over h": "-" if r.fit_points < 3 else f"{r.fit_lo:.2g}..{r.fit_hi:.2g}",
    } for r in results])
    click.echo("")
    click.echo(summary.to_string(index=False))
    csv_path = out / "fd-sweep.csv"
    table.to_csv(csv_path, index=False)
    png = plot_sweep(table, results, out / "fd-sweep.png")
    click.echo(f"wrote {csv_path}")
    click.echo(f"wrote {png}" if png else "no plot: no step gave a finite error")
