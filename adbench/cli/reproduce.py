"""``adbench reproduce survey``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from adbench.cli.base import UserError, check_writable, cli, dated_folder


@cli.command("reproduce")
@click.argument("paper", type=click.Choice(["survey"]), metavar="PAPER")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=None,
              help="Folder for REPORT.md and its plots [default: results/survey-DATE; the "
                   "committed report is made with --out results/survey].")
@click.option("--claim", "claims", multiple=True, metavar="KEY",
              help="Check only this claim (repeatable); default: all.")
def reproduce_command(paper, out, claims):
    """Measure each checkable claim of PAPER and write REPORT.md. PAPER: survey
    (Baydin et al. 2018, Automatic differentiation in machine learning: a survey).

    Exits with code 1 if any claim fails.
    """
    from adbench.studies.reproduce import CLAIMS, reproduce

    known = {c.key for c in CLAIMS}
    for key in claims:
        if key not in known:
            raise UserError(f"unknown claim {key!r}; known: {', '.join(sorted(known))}")
    out = out or dated_folder("survey")
    check_writable(out)
    path, results = reproduce(out, only=list(claims) or None)
    for claim, ev in results:
        click.echo(f"{ev.verdict:7s} {claim.key:24s} {claim.title}")
    failed = sum(ev.failed for _, ev in results)
    skipped = sum(bool(ev.skipped) for _, ev in results)
    click.echo(f"{len(results) - failed - skipped} of {len(results)} claims pass"
               + (f", {skipped} skipped (a peer library is not installed)" if skipped else "")
               + f"; wrote {path}")
    if failed:
        sys.exit(1)
