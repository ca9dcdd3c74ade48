"""``adbench bench engine``: the AD engine's speed against plain evaluation and the peers'."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

import adbench
from adbench.cli.base import NumberRange, UserError, cli


@cli.group("bench")
def bench_group():
    """Speed benchmarks (timings are printed, never asserted)."""


def _gmm_size(text: str) -> str:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise UserError(f"--gmm-size {text!r}: expected D,K such as 10,25")
    return ",".join(p.strip() for p in parts)


@bench_group.command("engine")
@click.option("--workload", "workloads", multiple=True,
              type=click.Choice(["gmm", "helmholtz", "helmholtz-x[i]"]),
              help="Measure only this workload (repeatable) [default: all three; "
                   "helmholtz-x[i] reads x[i] from the array inside the loops].")
@click.option("--collector", type=click.Choice(["on", "paused"]), default="on",
              show_default=True,
              help="The garbage collector during the samples: in its normal state, as a "
                   "user's loop runs, or paused (as timeit times).")
@click.option("--gmm-size", "gmm_sizes", multiple=True, metavar="D,K",
              help="GMM sizes (repeatable) [default: 2,5 10,25 20,50 64,100; N = 1000].")
@click.option("--repeats", type=click.IntRange(min=1), default=7, show_default=True,
              help="Samples per measurement; the median is reported.")
@click.option("--min-sample", type=NumberRange(min=0, max=float("inf"), min_open=True,
                                                max_open=True), default=0.05,
              show_default=True, help="Seconds each sample lasts at least (calls are repeated).")
@click.option("--peers/--no-peers", default=True, show_default=True,
              help="Time the other libraries' gradients (JAX eager and jit, torch eager and "
                   "torch.func, autograd) in the same rounds: those installed.")
@click.option("--no-autograd", is_flag=True, help="Skip HIPS autograd even if installed.")
@click.option("--clock", type=click.Choice(["wall", "cpu"]), default="wall", show_default=True,
              help="Wall-clock time, or the process's CPU time (steadier on a busy machine).")
@click.option("--retain-memory", is_flag=True,
              help="Have glibc malloc keep freed memory (MALLOC_TRIM_THRESHOLD_, "
                   "MALLOC_MMAP_THRESHOLD_) so that large arrays reuse warm pages: "
                   "timings then reflect computation rather than page faults.")
@click.option("--format", "fmt", type=click.Choice(["text", "md"]), default="text",
              show_default=True, help="A plain table, or markdown.")
@click.option("--wide", is_flag=True,
              help="Plain text with every row on one line, however wide (by default the table "
                   "fits the terminal, COLUMNS: its columns are printed in blocks).")
def engine_command(workloads, collector, gmm_sizes, repeats, min_sample, peers, no_autograd,
                   clock, retain_memory, fmt, wide):
    """Reverse-mode gradient time / plain evaluation time on the GMM objective
    (array code; target <= 2.5 and no slower than autograd) and on the
    Helmholtz energy written with scalar loops (target <= 30), for grad (a
    tape recorded at every call) and compile_grad (the tape compiled to Python
    at the first call; on Helmholtz also to C, backend="c"), beside the
    hand-written gradient and the peers' gradients (JAX, torch, autograd) of
    the same functions.

    Runs in a fresh Python process with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
    MKL_NUM_THREADS set to 1, so that BLAS is single-threaded.
    """
    from adbench.report.terminal import terminal_width
    from adbench.studies.bench import BLAS_ENV, RETAIN_MEMORY_ENV

    if wide and fmt != "text":
        raise UserError("--wide is for --format text (a markdown table is never wrapped)")

    args = [sys.executable, "-m", "adbench.studies.bench", "--repeats", str(repeats),
            "--min-sample", str(min_sample), "--clock", clock, "--format", fmt,
            "--collector", collector]
    for w in workloads:
        args += ["--workload", w]
    if gmm_sizes:
        args += ["--gmm-sizes", ";".join(_gmm_size(s) for s in gmm_sizes)]
    if not peers:
        args.append("--no-peers")
    if no_autograd:
        args.append("--no-autograd")
    if wide:
        args.append("--wide")
    env = dict(os.environ, **BLAS_ENV)
    # the benchmark prints into a pipe: tell it the width of this terminal
    env["COLUMNS"] = str(terminal_width())
    if retain_memory:
        env.update(RETAIN_MEMORY_ENV)
    package_root = str(Path(adbench.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            click.echo(line, nl=False)
    if proc.returncode != 0:
        last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "no output")
        raise UserError(f"the benchmark process failed (exit {proc.returncode}): {last}")
