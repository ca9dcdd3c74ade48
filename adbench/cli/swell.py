"""``adbench swell``: expression swell of the symbolic derivative across sizes."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from adbench.cli.base import (SECONDS, NumberRange, check_writable, cli, dated_folder,
                              load_problems, problems_dir_option)
from adbench.measure.harness import parse_sizes
from adbench.problem import ProblemDefinitionError

SHOWN = ["expr_ops", "expr_nodes", "expr_ops_cse", "expr_nodes_cse", "expr_ops_simplified",
         "f_ops_tree", "ops_f", "ops_reverse", "tape_length"]


@cli.command("swell")
@click.argument("problem_name", metavar="PROBLEM")
@click.option("--sizes", "sizes", multiple=True, metavar="NAME=V1,V2,...",
              help="Sizes to run (repeatable) [default: the problem's default sizes].")
@click.option("--timeout", type=SECONDS, default=60.0,
              show_default=True, help="Hard time limit per size, in seconds (inf: none); "
                                      "larger sizes are skipped after a timeout.")
@click.option("--simplify-budget", type=NumberRange(min=0), default=10.0,
              show_default=True, help="Seconds simplify may take per size (0: skip it).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for swell.csv and swell.png [default: results/swell-DATE].")
@problems_dir_option
def swell_command(problem_name, sizes, timeout, simplify_budget, out, problems_dirs):
    """Expression swell of PROBLEM's symbolic derivative across sizes.

    For each size: count_ops and tree nodes of the derivative as differentiated,
    after cse and after simplify (under a time budget), the size of f as a tree,
    the scalar operations f and its reverse-mode Jacobian execute, the length
    of the AD tape, and SymEngine's and CasADi's own sizes of the same
    derivative (empty, with the pip command, when the library is not
    installed). Prints the table, writes swell.csv and a log-scale plot
    swell.png.
    """
    from adbench.studies.swell import plot_swell, symbolic_peers, swell_table

    problem = load_problems(problems_dirs, timeout).get(problem_name)
    parsed = parse_sizes(sizes)
    unknown = set(parsed) - set(problem.sizes)
    if unknown:
        raise ProblemDefinitionError(
            f"--sizes {', '.join(sorted(unknown))}: {problem.name} has no such size parameter "
            f"(its size parameters: {', '.join(problem.sizes) or 'none'})")
    out = out or dated_folder("swell")
    check_writable(out)
    out.mkdir(parents=True, exist_ok=True)

    def progress(inst):
        click.echo(f"  {inst.label} ...", err=True)

    df = swell_table(problem, parsed, timeout=timeout, simplify_budget=simplify_budget,
                     progress=progress)
    peers = {m.name: [f"{m.name}_{c}" for c in m.size_columns] for m in symbolic_peers()}
    counts = SHOWN + [c for columns in peers.values() for c in columns]
    cols = list(problem.sizes) + [c for c in counts if c in df.columns]
    shown = df[cols].copy()
    for c in counts:
        if c in shown.columns:
            shown[c] = shown[c].map(lambda v: "-" if pd.isna(v) else f"{int(v)}")
    notes = df.get("simplify_status", pd.Series([], dtype=object))
    click.echo(shown.to_string(index=False))
    for tool in peers:  # a missing library: one line, not one a size
        said = df.get(f"{tool}_status", pd.Series([], dtype=object)).dropna().unique()
        if len(said) == 1 and said[0].startswith("unavailable"):
            click.echo(f"{tool}: {said[0]}")
    for i, row in df.iterrows():
        status = row.get("status", "ok")
        label = ",".join(f"{k}={row[k]}" for k in problem.sizes) or problem.name
        if status != "ok":
            click.echo(f"{label}: {status}: {row.get('message', '')}")
        elif isinstance(notes.get(i), str) and notes[i] != "ok" and simplify_budget > 0:
            click.echo(f"{label}: simplify {notes[i]}")
        for tool in peers:
            said = row.get(f"{tool}_status")
            if isinstance(said, str) and said.startswith("unsupported"):
                click.echo(f"{label}: {said}")
    csv_path = out / "swell.csv"
    df.to_csv(csv_path, index=False)
    click.echo(f"wrote {csv_path}")
    if (df.get("status") == "ok").any() and problem.sizes:
        png = plot_swell(df, out / "swell.png")
        click.echo(f"wrote {png}")
