"""``adbench trace``: the evaluation trace of a problem, as in the survey's Tables 2 and 3."""

from __future__ import annotations

import click

from adbench.cli.base import UserError, cli, load_problems, parse_point, problems_dir_option


def _parse_input(text: str, n: int) -> int:
    """``x2`` or ``2`` -> 1 (0-based)."""
    digits = text[1:] if text[:1] in ("x", "X") else text
    if not digits.isdigit() or not 1 <= int(digits) <= n:
        raise UserError(f"--wrt {text!r}: expected an input x1..x{n} (or 1..{n})")
    return int(digits) - 1


@cli.command("trace")
@click.argument("problem")
@click.option("--mode", type=click.Choice(["forward", "reverse"]), default="forward",
              show_default=True, help="Forward (tangents, Table 2) or reverse (adjoints, Table 3).")
@click.option("--at", "at", metavar="X1,X2,...", default=None,
              help="The point [default: the problem's x0].")
@click.option("--wrt", metavar="INPUT", default=None,
              help="Forward mode: the input whose tangent is seeded, x1 or 1 [default: x1].")
@click.option("--output", "output", type=click.IntRange(min=1), default=None, metavar="J",
              help="Reverse mode: the output whose adjoint is seeded [default: 1].")
@click.option("--sizes", "sizes", multiple=True, metavar="NAME=V",
              help="Size parameter of a family, one value (repeatable, e.g. --sizes n=3).")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "csv"]), default="text",
              show_default=True, help="A plain table, markdown, or CSV.")
@click.option("--digits", type=click.IntRange(min=0, max=17), default=3, show_default=True,
              help="Decimals shown (the survey shows three).")
@problems_dir_option
def trace_command(problem, mode, at, wrt, output, sizes, fmt, digits, problems_dirs):
    """Print the evaluation trace of PROBLEM: primal variables v_i with their
    operations and values, and the tangents (forward) or adjoints (reverse)
    computed by the engine, in the layout of Baydin et al. (2018), Tables 2 and 3."""
    from adbench.measure.harness import parse_sizes
    from adbench.studies.evaltrace import forward_trace, render, reverse_trace

    prob = load_problems(problems_dirs).get(problem)
    chosen = parse_sizes(sizes)
    for name, values in chosen.items():
        if len(values) != 1:
            raise UserError(f"--sizes {name}: trace takes one value, got {len(values)}")
    inst = prob.instance(**{k: v[0] for k, v in chosen.items()})
    x = parse_point(at, inst.n) if at is not None else list(inst.x0)
    if mode == "forward":
        if output is not None:
            raise UserError("--output seeds an output in reverse mode; forward mode takes --wrt")
        k = _parse_input(wrt, inst.n) if wrt is not None else 0
        result = forward_trace(inst.f, x, wrt=k, digits=digits)
        seeded = f"tangent seeded on x{k + 1}"
    else:
        if wrt is not None:
            raise UserError("--wrt seeds an input in forward mode; reverse mode seeds an "
                            "output (--output)")
        j = (output or 1) - 1
        if j >= inst.m:
            plural = "output" if inst.m == 1 else "outputs"
            raise UserError(f"--output {j + 1}: the problem has {inst.m} {plural}")
        result = reverse_trace(inst.f, x, output=j, digits=digits)
        seeded = "adjoint seeded on " + ("y" if inst.m == 1 else f"y{j + 1}")
    point = ", ".join(f"{v:g}" for v in x)
    title = f"{inst.label} at x = ({point}), {mode} mode, {seeded}"
    if fmt == "md":
        title = f"### {title}"
    click.echo(render(result, fmt, digits=digits, title="" if fmt == "csv" else title))
