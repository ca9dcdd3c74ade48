"""The claim framework of ``adbench reproduce survey``: a :class:`Claim` (the
passage of the survey it checks, with its page, and the check that measures it),
the :class:`Evidence` a check returns, running the checks and writing REPORT.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from adbench.registry import Registry
from adbench.report import atomic_write

__all__ = ["SURVEY", "Claim", "Evidence", "markdown_table", "run_claims", "render"]

SURVEY = ("Baydin, Pearlmutter, Radul and Siskind (2018), \"Automatic Differentiation in "
          "Machine Learning: a Survey\", JMLR 18(153), arXiv:1502.05767")


@dataclass
class Evidence:
    """What a check measured: PASS or FAIL against ``criterion``, shown by ``body``."""

    passed: bool
    criterion: str
    body: str                      # markdown: numbers, tables, plot links
    values: dict = field(default_factory=dict)  # the key measured numbers, for tests
    #: Why the claim could not be measured here (a peer library not installed: the
    #: pip command); a skipped claim is neither PASS nor FAIL.
    skipped: str = ""

    @property
    def verdict(self) -> str:
        return "SKIPPED" if self.skipped else "PASS" if self.passed else "FAIL"

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skipped


@dataclass
class Claim:
    """One checkable passage of the survey (``quote``, on arXiv page ``page``) and
    the ``check`` that measures it with adbench: ``check(registry, out)`` may
    write files (plots, CSV) into ``out`` and link them from its evidence."""

    key: str
    title: str
    page: str
    quote: str
    check: Callable[[Registry, Path], Evidence]


def markdown_table(df: pd.DataFrame, floatfmt=".4g") -> str:
    """``df`` as a markdown table: integer columns as integers, others with ``floatfmt``."""
    fmts = tuple("g" if pd.api.types.is_integer_dtype(df[c]) else floatfmt for c in df.columns)
    return df.to_markdown(index=False, floatfmt=fmts)


def run_claims(claims: Sequence[Claim], out: Path, reg: Registry,
               only: list[str] | None = None) -> tuple[Path, list[tuple[Claim, Evidence]]]:
    """Run ``claims`` (all, or the keys in ``only``) in order and write ``out/REPORT.md``.
    A check that raises is a FAIL whose body says why."""
    results = []
    for claim in claims:
        if only and claim.key not in only:
            continue
        t0 = time.perf_counter()
        try:
            evidence = claim.check(reg, out)
        except Exception as exc:  # noqa: BLE001 - a failing check is a FAIL, with why
            evidence = Evidence(False, "the measurement ran to completion",
                                f"The measurement failed: `{type(exc).__name__}: {exc}`")
        evidence.body += f"\n\n<sub>measured in {time.perf_counter() - t0:.1f} s</sub>"
        results.append((claim, evidence))
    atomic_write(out / "REPORT.md", render(results))
    return out / "REPORT.md", results


def render(results) -> str:
    """REPORT.md: a table of the claims and PASS or FAIL, then a section per claim
    with its quote, criterion and evidence."""
    passed = sum(ev.passed for _, ev in results)
    skipped = sum(bool(ev.skipped) for _, ev in results)
    lines = ["# The survey, reproduced", "",
             f"Each checkable claim of {SURVEY}, measured by adbench. Regenerate with "
             "`adbench reproduce survey` (page numbers are those of the arXiv version).", "",
             f"**{passed} of {len(results)} claims pass.**"
             + (f" {skipped} skipped (a peer library is not installed)." if skipped else ""),
             "",
             "| claim | page | result |", "|---|---|---|"]
    for claim, ev in results:
        lines.append(f"| [{claim.title}](#{claim.key}) | {claim.page} | "
                     f"{ev.verdict} |")
    for claim, ev in results:
        lines += ["", f"## {claim.title}", f'<a id="{claim.key}"></a>', "",
                  f"> {claim.quote}", ">", f"> (p. {claim.page})", "",
                  f"**{ev.verdict}**. Criterion: {ev.criterion}.", "",
                  ev.body]
    return "\n".join(lines) + "\n"
