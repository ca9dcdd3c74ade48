"""``adbench gradbench-tool --method M``: adbench as a GradBench tool on stdin and stdout."""

from __future__ import annotations

import sys

import click

from adbench.cli.base import cli


@cli.command("gradbench-tool")
@click.option("--method", "method_name", default="ad-reverse", show_default=True,
              metavar="NAME", help="The adbench method that computes every derivative.")
@click.option("--quiet", is_flag=True,
              help="No summary of the eval's verdicts on standard error at the end.")
def gradbench_tool_command(method_name, quiet):
    """Speak GradBench's protocol: read the eval's JSON messages, one per line,
    from standard input and answer each on standard output.

    Modules served: hello, lse, llsq, det, gmm, lstm and ba (onto the problems
    logsumexp, llsq, det-minors, gmm, lstm and ba); ode, kmeans, ht, particle and
    saddle are declined at define with the reason. Primal functions are f in
    float64, derivatives the Jacobian of --method. With GradBench's CLI:

        gradbench run --eval 'gradbench eval llsq' --tool 'adbench gradbench-tool'
    """
    from adbench.methods import get_method
    from adbench.studies.gradbench import Tool, serve, summary

    tool = Tool(get_method(method_name))
    try:
        serve(tool, sys.stdin, sys.stdout)
    except BrokenPipeError:  # the eval stopped listening: the session is over
        return
    if not quiet:
        click.echo(summary(tool), err=True)
