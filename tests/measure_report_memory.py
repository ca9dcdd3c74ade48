"""Peak memory and wall time of ``adbench report`` on a large results.csv.

    python tests/measure_report_memory.py FOLDER [--size-mb 200] [--rounds 3]
        [--tree PATH ...] [--step report|read]

Writes ``FOLDER/results.csv`` (about ``--size-mb`` MiB, every column a run
writes: :func:`synthetic_results.write_large_results`) unless it is there
already, then runs, in a fresh process each, ``adbench report FOLDER`` (step
``report``) or only the reading of the file (step ``read``:
``read_results``), once per round for each ``--tree`` (a checkout of adbench,
put first on PYTHONPATH; default: the one this script belongs to), the trees
interleaved. Prints per tree and step the median peak resident memory (the
process's ``ru_maxrss``, from ``os.wait4``), that peak over the file's size,
and the median wall time. Linux (``ru_maxrss`` in KiB).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

READ = "import sys; from adbench.measure.harness import read_results; read_results(sys.argv[1])"


def command(step: str, folder: Path, out: Path) -> list[str]:
    if step == "read":
        return [sys.executable, "-c", READ, str(folder / "results.csv")]
    return [sys.executable, "-m", "adbench", "report", str(folder), "--out", str(out)]


def measure(cmd: list[str], tree: Path) -> tuple[float, float]:
    """(peak resident MiB, wall seconds) of ``cmd`` run with ``tree`` first on
    PYTHONPATH; SystemExit if it fails."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=tree, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} (tree {tree}) failed:\n{err.decode()}")
    return usage.ru_maxrss / 1024, wall


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--size-mb", type=float, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", type=Path, action="append")
    parser.add_argument("--step", choices=["report", "read"], action="append")
    args = parser.parse_args(argv)
    trees = [t.resolve() for t in args.tree or [HERE.parent]]
    steps = args.step or ["report"]
    folder = args.folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.csv"
    if not path.exists():
        from synthetic_results import write_large_results
        rows = write_large_results(path, int(args.size_mb * 2**20))
        print(f"wrote {path}: {rows} rows")
    size = path.stat().st_size / 2**20
    seen: dict[tuple, list] = {}
    for _ in range(args.rounds):
        for step in steps:
            for i, tree in enumerate(trees):
                cmd = command(step, folder, folder / f"report-{i}-{tree.name}")
                seen.setdefault((step, str(tree)), []).append(measure(cmd, tree))
    print(f"{path}: {size:.0f} MiB; {args.rounds} rounds, medians")
    print("| step | tree | peak RSS (MiB) | peak / file size | wall (s) |")
    print("|---|---|---:|---:|---:|")
    for (step, tree), runs in seen.items():
        peak = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        print(f"| {step} | {tree} | {peak:.0f} | {peak / size:.2f} | {wall:.1f} |")


if __name__ == "__main__":
    main()
