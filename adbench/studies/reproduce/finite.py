"""Finite differences: their error against the step (Figure 3) and their O(n)
cost per gradient."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adbench import ad
from adbench.methods import METHODS
from adbench.registry import Registry
from adbench.studies.reproduce.claim import Claim, Evidence
from adbench.studies.reproduce.claim import markdown_table as _md


def _figure_3_fd_error(reg: Registry, out: Path) -> Evidence:
    from adbench.studies.fdsweep import plot_sweep, summarise, sweep

    inst = reg.get("logistic-map").instance(depth=4)
    table, notes = sweep(inst, [0.2])
    results = {r.scheme: r for r in summarise(table, [0.2])}
    table.to_csv(out / "fd-sweep-logistic-map.csv", index=False)
    plot = plot_sweep(table, list(results.values()), out / "fd-sweep-logistic-map.png",
                      title="logistic map l_4 at x = 0.2: error against step")
    rows = []
    for r in results.values():
        rows.append({"scheme": r.scheme, "fitted truncation slope": r.slope,
                     "expected slope": r.expected_slope, "error ~ C h^order, C": r.coefficient,
                     "best h": r.best_h, "best error": r.best_error})
    fwd, cen = results["forward"], results["central"]
    small = table[(table["h"] <= 1e-13) & table["scheme"].isin(["forward", "central"])]
    roundoff = small.groupby("scheme")["error"].min()
    passed = (abs(fwd.slope - 1) < 0.1 and abs(cen.slope - 2) < 0.1
              and all(roundoff[s] > 100 * results[s].best_error for s in ("forward", "central"))
              and "complex" in results and results["complex"].best_error < 1e-13)
    return Evidence(
        bool(passed),
        "the truncation error falls with slope 1 (forward) and 2 (central) in h, within 0.1; "
        "below the best step round-off takes over, the error at h <= 1e-13 exceeding 100 "
        "times the best; the complex step (no subtraction) reaches 1e-13",
        "`adbench fd-sweep logistic-map --sizes depth=4 --at 0.2` on "
        "l_4(x) = 64x(1-x)(1-2x)^2(1-8x+8x^2)^2, whose derivative at 0.2 is 9.0660864:\n\n"
        + _md(pd.DataFrame(rows), ".3g")
        + (f"\n\n{'; '.join(notes.values())}" if notes else "")
        + "\n\nThe survey's Figure 3 shows the same V: truncation error (slope 1 and 2) "
        "against round-off error (slope -1) as h shrinks. Its text gives no exact best steps, "
        "and the absolute errors here (forward about 34 h, central about 660 h^2) place the "
        "best forward step near 3e-9 and the best central step near 6e-7."
        + f"\n\n![fd sweep]({plot.name})",
        values={"slope_forward": fwd.slope, "slope_central": cen.slope})


def _fd_cost_is_linear_in_n(reg: Registry, out: Path) -> Evidence:
    rows = []
    prob = reg.get("rosenbrock")
    for n in (2, 5, 10, 20, 50):
        inst = prob.instance(n=n)
        for name in ("fd-forward", "fd-central"):
            prepared = METHODS[name].prepare(inst)
            prepared.jacobian(inst.x0.copy())
            rows.append({"n": n, "method": name, "f evaluations": prepared.info["f_evaluations"]})
        ad.PASSES.update(forward=0, reverse=0)
        METHODS["ad-reverse"].prepare(inst).jacobian(inst.x0.copy())
        rows.append({"n": n, "method": "ad-reverse",
                     "f evaluations": 1, "reverse passes": ad.PASSES["reverse"]})
    df = pd.DataFrame(rows)
    central = df[df.method == "fd-central"]
    forward = df[df.method == "fd-forward"]
    reverse = df[df.method == "ad-reverse"]
    passed = (all(central["f evaluations"] == 2 * central["n"])
              and all(forward["f evaluations"] == forward["n"] + 1)
              and all(reverse["reverse passes"] == 1))
    return Evidence(
        passed,
        "fd-central makes exactly 2n and fd-forward n + 1 evaluations of f for a gradient in "
        "n dimensions, while ad-reverse records f once and makes one reverse pass",
        "Gradient of `rosenbrock` at its default point:\n\n" + _md(df.astype(object).fillna("")))


#: This module's claims, in the order of the report.
CLAIMS: list[Claim] = [
    Claim("figure-3", "Finite differences trade truncation against round-off (Figure 3)", "2",
          "numerical differentiation is simple to implement but can be highly inaccurate due "
          "to round-off and truncation errors", _figure_3_fd_error),
    Claim("fd-cost", "Finite differences cost O(n) evaluations per gradient", "7",
          "The O(n) complexity of numerical differentiation for a gradient in n dimensions is "
          "the main obstacle to its usefulness in machine learning",
          _fd_cost_is_linear_in_n),
]
