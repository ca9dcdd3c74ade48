"""Synthetic results with every measurement column, for the report tests.

The values follow the shapes the measurements should have (forward mode
costs n passes, reverse m; finite differences n or 2n evaluations; the
logistic map's symbolic derivative swells) so that plots and the crossover
can be checked against known answers. Deterministic (fixed seed).
"""

import numpy as np
import pandas as pd

from adbench.measure.harness import BASE_COLUMNS

MEASUREMENT_COLUMNS = [
    "ops_f", "ops_derivative", "ops_ratio", "ops_f_transcendental",
    "ops_derivative_transcendental", "passes", "time_f_s", "time_derivative_s", "time_ratio",
    "time_spread", "setup_s", "expr_ops", "expr_nodes", "expr_ops_cse", "expr_ops_simplified",
    "f_ops_tree", "tape_length", "tape_bytes", "compiled_bytes", "error_estimate",
    "mem_f_bytes", "mem_derivative_bytes", "mem_ratio",
]

METHODS = ["manual", "fd-forward", "fd-central", "fd-complex", "fd-richardson", "symbolic",
           "ad-forward", "ad-reverse"]

#: (method -> (derivative ops as a multiple of ops_f given n, m; passes; error))
COST = {
    "manual": (lambda n, m: 1.5, lambda n, m: 1, 1e-16),
    "fd-forward": (lambda n, m: n + 1, lambda n, m: n + 1, 3e-8),
    "fd-central": (lambda n, m: 2 * n, lambda n, m: 2 * n, 4e-11),
    "fd-complex": (lambda n, m: 4 * n, lambda n, m: n, 1e-16),
    "fd-richardson": (lambda n, m: 8 * n, lambda n, m: 8 * n, 2e-13),
    "symbolic": (lambda n, m: 2.0, lambda n, m: 1, 0.0),
    "ad-forward": (lambda n, m: 3 * n, lambda n, m: n, 1e-16),
    "ad-reverse": (lambda n, m: 2 + 3 * m, lambda n, m: m, 2e-16),
}

# count_ops of the unsimplified logistic-map derivative (82, 768, 2096 at 4, 6, 7: issue 4)
LOGISTIC_EXPR_OPS = {1: 0, 2: 4, 3: 19, 4: 82, 5: 271, 6: 768, 7: 2096}


def _row(problem, sizes, n, m, method, ops_f, rng, version="v1"):
    scale, passes, err = COST[method]
    ops_d = round(ops_f * scale(n, m))  # an operation count is whole
    t_f = 2e-7 * ops_f ** 0.9
    t_d = t_f * scale(n, m) * (1.0 + 0.1 * rng.random())
    row = {"problem": problem, "sizes": sizes, "n": n, "m": m, "method": method, "status": "ok",
           "max_rel_error": err * (1 + rng.random()) if err else 0.0,
           "mean_rel_error": err / 2 if err else 0.0, "n_over_tol": 0,
           "tolerance": 1e-4 if method == "fd-forward" else (
               1e-6 if method.startswith("fd-c") else 1e-12),
           "reference_digits": 40.0, "setup_s": 1e-5 * (1 + rng.random()), "message": "",
           "version": version, "ops_f": ops_f, "ops_derivative": ops_d,
           "ops_ratio": ops_d / ops_f, "ops_f_transcendental": ops_f // 4,
           "ops_derivative_transcendental": ops_d // 4, "passes": passes(n, m),
           "time_f_s": t_f, "time_derivative_s": t_d, "time_ratio": t_d / t_f,
           "time_spread": 0.05, "mem_f_bytes": 64 * ops_f,
           "mem_derivative_bytes": 64 * ops_d, "mem_ratio": ops_d / ops_f}
    if method == "symbolic":
        row["setup_s"] = 0.05
    if method == "fd-richardson":
        row["error_estimate"] = err * 3
    return row


def synthetic_results(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for method in METHODS:
        rows.append(_row("survey-example", "", 2, 1, method, 6, rng))
    for depth in range(1, 8):
        ops_f = max(1, 3 * (depth - 1))
        for method in METHODS:
            row = _row("logistic-map", f"depth={depth}", 1, 1, method, ops_f, rng)
            if method == "fd-forward":
                row["max_rel_error"] = 1e-9 * 4 ** depth
            if method == "symbolic":
                row.update(expr_ops=LOGISTIC_EXPR_OPS[depth],
                           expr_nodes=2 * LOGISTIC_EXPR_OPS[depth] + 1,
                           expr_ops_cse=6 * depth, expr_ops_simplified=3 * depth * depth,
                           compiled_bytes=300 + 50 * LOGISTIC_EXPR_OPS[depth])
            if method == "ad-reverse":
                row.update(tape_length=ops_f, tape_bytes=8 * ops_f)
            row["f_ops_tree"] = ops_f
            rows.append(row)
    for n in (1, 4, 16, 64):
        for m in (1, 4, 16, 64):
            for method in ("fd-forward", "fd-central", "ad-forward", "ad-reverse"):
                rows.append(_row("tanh-layer", f"n={n},m={m}", n, m, method, 2 * n * m + 2 * m,
                                 rng))
    rows.append({**_row("piecewise", "", 2, 1, "symbolic", 8, rng), "status": "unsupported",
                 "message": "control flow depends on the input: a Python `if` on a symbol",
                 "max_rel_error": np.nan, "mean_rel_error": np.nan})
    for method in METHODS:
        if method != "symbolic":
            rows.append(_row("piecewise", "", 2, 1, method, 8, rng))
    df = pd.DataFrame(rows)
    return df[BASE_COLUMNS + [c for c in MEASUREMENT_COLUMNS if c not in BASE_COLUMNS]]


def synthetic_fd_sweep() -> pd.DataFrame:
    """Error against h for the logistic map at depth 4, x = 0.2: truncation
    c h^p above the optimum, round-off eps / h below it."""
    eps = np.finfo(float).eps
    hs = 10.0 ** np.arange(-16, 0.5, 0.5)
    rows = []
    for scheme, order, c in (("fd-forward", 1, 400.0), ("fd-central", 2, 2000.0),
                             ("fd-complex", 2, 300.0)):
        for h in hs:
            trunc = c * h ** order
            roundoff = 0.0 if scheme == "fd-complex" else 10 * eps / h
            rows.append({"problem": "logistic-map", "h": h, "scheme": scheme,
                         "error": min(trunc + roundoff, 1.0) if scheme != "fd-complex"
                         else max(min(trunc, 1.0), 0.0 if h < 1e-6 else 1e-17)})
    return pd.DataFrame(rows)


def write_large_results(path, size_bytes: int, seed: int = 0) -> int:
    """Write a results.csv of about ``size_bytes`` with every column adbench
    writes (``harness.columns()``, empty where a row has no value, as a run
    writes them): copies of :func:`synthetic_results`, the sizes of copy ``i``
    marked ``copy=i`` so that every row keeps its own (problem, sizes, method).
    Returns the number of rows. Deterministic for a given seed."""
    import csv
    import io

    from adbench.measure.harness import columns

    cols = columns()
    block = synthetic_results(seed).assign(host="localhost", concurrency=1).reindex(columns=cols)
    records = [[("" if pd.isna(v) else repr(float(v)) if isinstance(v, float) else str(v))
                for v in row] for row in block.itertuples(index=False)]
    sizes = cols.index("sizes")
    written, rows = 0, 0
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(cols)
        copy = 0
        while written < size_bytes:
            buffer = io.StringIO()
            w = csv.writer(buffer)
            for record in records:
                record = list(record)
                record[sizes] = f"{record[sizes]},copy={copy}".lstrip(",")
                w.writerow(record)
            text = buffer.getvalue()
            fh.write(text)
            written += len(text)
            rows += len(records)
            copy += 1
    return rows
