"""``adbench diff 'EXPR' --at x=2,y=5``: one expression, every method side by side."""

from __future__ import annotations

import math

import click

from adbench.cli.base import SECONDS, UserError, cli
from adbench.measure.harness import DEFAULT_TIMEOUT


def _value(v) -> str:
    """Floats at full precision (shortest round-trip repr), so digits can be compared."""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return "" if v is None else str(v)


def _error(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2g}"


@cli.command("diff")
@click.argument("expression")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE,...",
              help="The point: a value for every variable, such as x=2,y=5 (repeatable); "
                   "their order is the order of the gradient.")
@click.option("--method", "methods", multiple=True, metavar="NAME",
              help="Only this method (repeatable); default: all.")
@click.option("--timeout", type=SECONDS,
              default=DEFAULT_TIMEOUT, show_default=True,
              help="Time limit of each method, in seconds (inf: none).")
@click.option("--format", "fmt", type=click.Choice(["text", "md"]), default="text",
              show_default=True, help="A plain table, or markdown.")
def diff_command(expression, at, methods, timeout, fmt):
    """Differentiate EXPRESSION with every method: value, gradient, error
    against an 80-digit reference, and op counts where measured.

    EXPRESSION may use numbers, variables, + - * / **, unary minus,
    parentheses and the functions exp, log, log1p, expm1, sin, cos, tan,
    tanh, sqrt, abs, sign, power, maximum and minimum (pi and e are
    constants). Anything else is refused. Example:

        adbench diff 'log(x) + x*y - sin(y)' --at x=2,y=5
    """
    from adbench.studies.expr import ExpressionError, differentiate

    try:
        table, info = differentiate(expression, at, methods, timeout)
    except ExpressionError as exc:
        raise UserError(str(exc)) from None
    prob = info["problem"]
    point = ", ".join(f"{v} = {x:g}" for v, x in zip(prob.variables, prob.x0_spec,
                                                       strict=True))
    reference = info["reference"]
    ref_value = f" (reference {float(reference.value[0])!r})" if reference is not None else ""
    lines = [f"f({', '.join(prob.variables)}) = {prob.description}   at {point}",
             f"f = {info['value']!r}{ref_value}"]
    if info["note"]:
        lines.append(info["note"])
    shown = table.copy()
    for column in shown.columns:
        if column.startswith("d/d"):
            shown[column] = [_value(v) for v in shown[column]]
        elif column == "max_rel_error":
            shown[column] = [_error(v) for v in shown[column]]
        elif column.startswith("ops"):
            shown[column] = ["" if v != v else f"{v:,.0f}" if column == "ops_derivative"
                             else f"{v:.3g}" for v in shown[column]]
    shown = shown.rename(columns={"max_rel_error": "error", "ops_derivative": "ops",
                                  "ops_ratio": "ops / ops(f)"})
    if not shown["message"].fillna("").astype(str).str.strip().any():
        shown = shown.drop(columns="message")
    # partials left-aligned so that their leading digits line up; counts and errors right
    align = ["right" if c in ("error", "ops", "ops / ops(f)") else "left" for c in shown.columns]
    tablefmt = "github" if fmt == "md" else "simple"
    click.echo("\n".join(lines) + "\n")
    click.echo(shown.to_markdown(index=False, tablefmt=tablefmt, disable_numparse=True,
                                 colalign=align))
    click.echo("\nerror: max over the entries of |a - b| / max(1, |a| + |b|) against the "
               "reference")
