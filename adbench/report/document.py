"""report.md: the rows of a run as markdown tables and plots, grouped by problem.

Everything here is computed from the results DataFrame alone (plus any
fd-sweep tables found beside it), so that ``adbench report results.csv``
regenerates the report without rerunning anything. The tables come from
:mod:`adbench.report.tables`; plots from :mod:`adbench.report.plots`, written
to ``plots/`` beside ``report.md``. Files are written atomically (write, then
rename), so an interrupted report never leaves half a file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import pandas as pd

from adbench.measure.harness import numbers
from adbench.methods import METHODS
from adbench.report.peers import has_peers, peer_table, time_ratio_vs_size
from adbench.report.hosts import host_note
from adbench.report.tables import (
    _sweep_problem,
    find_fd_sweeps,
    format_table,
    problem_tables,
    summary_table,
)

__all__ = ["render_report", "write_report", "command_line"]

def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "plot"


@dataclass
class _Plots:
    """Writes figures into ``folder/plots`` and returns their markdown links."""

    folder: Path | None
    notes: list = field(default_factory=list)

    def add(self, name: str, alt: str, make) -> list[str]:
        if self.folder is None:
            return []
        from adbench.report.plots import save_figure

        try:
            fig = make()
            if fig is None:
                return []
            save_figure(fig, self.folder / "plots" / f"{name}.png")
        except OSError:
            raise  # a folder we cannot write to is the user's to fix, not a note
        except Exception as exc:  # noqa: BLE001 - a broken plot must not lose the report
            self.notes.append(f"plot {name} could not be drawn: {type(exc).__name__}: {exc}")
            return []
        return [f"![{alt}](plots/{name}.png)", ""]


def _intro(df: pd.DataFrame) -> str:
    counts = df["status"].value_counts()
    tally = ", ".join(f"{counts[s]} {s}" for s in ("ok", "inaccurate") if s in counts) or "0 ok"
    return (f"{df['problem'].nunique()} problems, {len(df)} measurements ({tally}). Errors are "
            "rho(a, b) = |a - b| / max(1, |a| + |b|) against an 80-digit mpmath reference; "
            "a ratio is the cost of the whole Jacobian over the cost of one evaluation of f.")


def _problem_section(problem: str, sub: pd.DataFrame, plots: _Plots,
                     sweeps: list[tuple[str, pd.DataFrame]]) -> list[str]:
    from adbench.report import plots as P

    parts = [f"## {problem}", ""]
    facts = []
    if "version" in sub.columns and sub["version"].nunique() == 1:
        facts.append(f"definition version `{sub['version'].iloc[0]}`")
    digits = numbers(sub, "reference_digits")
    if digits.notna().any():
        facts.append(f"reference good to {digits.min():.0f} digits or more")
    if facts:
        sentence = "; ".join(facts)
        parts += [sentence[0].upper() + sentence[1:] + ".", ""]
    for title, frame in problem_tables(sub):
        parts += [f"### {title}", "", format_table(frame), ""]
    slug = _slug(problem)
    figures = []
    figures += plots.add(f"{slug}-error", f"{problem}: error against size",
                         lambda: P.error_vs_size(sub))
    crossings: list = []

    def sweep():
        fig, found = P.dimension_sweep(sub)
        crossings.extend(found)
        return fig

    nm = plots.add(f"{slug}-n-m", f"{problem}: cost against n and m", sweep)
    figures += nm
    if not nm:
        figures += plots.add(f"{slug}-cost", f"{problem}: cost against size",
                             lambda: P.cost_vs_size(sub))
    figures += plots.add(f"{slug}-swell", f"{problem}: expression swell",
                         lambda: P.swell_vs_size(sub))
    for name, frame in sweeps:
        figures += plots.add(_slug(name), f"{problem}: finite-difference error against step",
                             lambda frame=frame: P.fd_error_vs_step(frame))
    if crossings:
        parts += ["Forward against reverse mode, where their measured costs cross:", ""] + [
            f"- {c.note}" for c in crossings] + [""]
    if figures:
        parts += ["### Plots", "", *figures]
    return parts


def command_line(info: dict, out: Path) -> str:
    """The ``adbench run`` command that a run.json describes."""
    words = ["adbench", "run"]
    if info.get("suite"):
        words.append(str(info["suite"]))
    for name in info.get("problems") or []:
        words += ["--problem", name]
    for name, values in (info.get("sizes") or {}).items():
        words += ["--sizes", f"{name}={','.join(map(str, values))}"]
    if info.get("methods") and not (info.get("suite") is None and not info.get("problems")
                                    and len(info["methods"]) == len(METHODS)):
        for name in info["methods"]:
            words += ["--method", name]
    for folder in info.get("problems_dirs") or []:
        words += ["--problems-dir", folder]
    return " ".join(words + ["--out", str(out)])


def _provenance(out: Path) -> list[str]:
    """Where the figures come from: the command of the run, when run.json tells it."""
    try:
        info = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        return []
    return [f"Produced by `{command_line(info, out)}`; regenerate this report from the CSV "
            f"with `adbench report {out / 'results.csv'}`. Times depend on the machine.", ""]


def render_report(df: pd.DataFrame, title: str = "adbench report", out: str | Path | None = None,
                  fd_sweeps: Sequence[tuple[str, pd.DataFrame]] = ()) -> str:
    """The markdown of report.md. With ``out``, plots are written to
    ``out/plots/`` and linked; without, the report has tables only.

    ``fd_sweeps`` are (name, table) pairs of fd-sweep results (columns h,
    scheme, error); each is plotted in its problem's section (found from a
    ``problem`` column or the name), or in a section of its own.
    """
    return "\n".join(_report_parts(df, title, out, fd_sweeps)).rstrip() + "\n"


def _report_parts(df: pd.DataFrame, title: str, out: str | Path | None,
                  fd_sweeps: Sequence[tuple[str, pd.DataFrame]]) -> Iterator[str]:
    """The pieces of :func:`render_report`'s text, to be joined by newlines, as
    they are made (a section at a time: the text of a large run is never held
    whole by :func:`write_report`)."""
    from adbench.report import plots as P

    plots = _Plots(Path(out) if out is not None else None)
    problems = list(dict.fromkeys(df["problem"]))
    by_problem: dict = {}
    loose = []
    for name, frame in fd_sweeps:
        owner = _sweep_problem(name, frame, problems)
        if owner in problems:
            by_problem.setdefault(owner, []).append((name, frame))
        else:
            loose.append((name, frame))
    yield from [f"# {title}", "", _intro(df), ""]
    if out is not None:
        yield from _provenance(Path(out))
    yield from ["## Summary", "", format_table(summary_table(df)), ""]
    yield from host_note(df)  # where the times were measured (adbench.report.hosts)
    yield from plots.add("errors-by-method", "error per method", lambda: P.error_by_method(df))
    yield from plots.add("ratios-by-method", "derivative cost over f cost per method",
                       lambda: P.ratios_by_method(df))
    if has_peers(df):
        yield from _peers_section(df, problems, plots)
    if len(problems) > 1:
        yield from ["Problems: " + ", ".join(f"[{p}](#{_anchor(p)})" for p in problems), ""]
    for problem in problems:
        yield from _problem_section(problem, df[df["problem"] == problem], plots,
                                  by_problem.get(problem, []))
    if loose:
        yield from ["## Finite-difference step studies", ""]
        for name, frame in loose:
            yield from plots.add(_slug(name), f"{name}: finite-difference error against step",
                               lambda frame=frame, name=name: P.fd_error_vs_step(
                                   frame, title=f"{name}: finite-difference error against "
                                                "step (star: the best step)"))
    if plots.notes:
        yield from ["## Notes", ""] + [f"- {n}" for n in plots.notes] + [""]


def _write_parts(path: Path, parts: Iterable[str]) -> None:
    """Write ``"\\n".join(parts).rstrip() + "\\n"`` (the text of
    :func:`render_report`) at ``path`` a part at a time as they come,
    atomically: the report of a large run is hundreds of MB of text, never
    held, joined or encoded whole."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w") as fh:
            held = None  # the last part that is not blank, not written yet (rstripped if last)
            blanks: list[str] = []  # the blank parts after it
            for part in parts:
                if not part.strip():
                    blanks.append(part)
                    continue
                if held is not None:
                    fh.write(held)
                    fh.write("".join("\n" + b for b in blanks) + "\n")
                else:
                    fh.write("".join(b + "\n" for b in blanks))
                held, blanks = part, []
            if held is not None:
                fh.write(held.rstrip())
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:  # an interrupted report leaves no half file
        tmp.unlink(missing_ok=True)
        raise


def _peers_section(df: pd.DataFrame, problems: list, plots: _Plots) -> list[str]:
    """"adbench against the peers": error / time ratio per method and size, per problem."""
    parts = ["## adbench against the peers", "",
             "Each cell: the largest error against the reference / the time ratio (the "
             "Jacobian's time over f's), or the row's status (its message is in the "
             "problem's section). Time ratios compare within one host only.", ""]
    for problem in problems:
        parts += [f"### {problem} (all tools)", "", format_table(peer_table(df, problem)), ""]
        parts += plots.add(f"{_slug(problem)}-tools-time", f"{problem}: time ratio per tool",
                           lambda problem=problem: time_ratio_vs_size(df, problem))
    return parts


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def write_report(df: pd.DataFrame, out: str | Path, title: str = "adbench report",
                 plots: bool = True,
                 fd_sweeps: Sequence[tuple[str, pd.DataFrame]] | None = None) -> Path:
    """Write ``out/report.md`` (and its plots under ``out/plots/``) atomically.

    ``fd_sweeps`` defaults to the fd-sweep tables found in ``out``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fd_sweeps is None:
        fd_sweeps = find_fd_sweeps(out)
    path = out / "report.md"
    _write_parts(path, _report_parts(df, title, out if plots else None, fd_sweeps))
    return path
