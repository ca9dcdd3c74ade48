"""Plain-text tables and paragraphs that fit the terminal.

The width is :func:`terminal_width` (``shutil.get_terminal_size``, which reads
``COLUMNS`` first; 80 when there is no terminal). :func:`fit_table` makes a
table fit in three steps, each taken only when the one before is not enough:

1. headers wrap at their spaces (a column is then as wide as its longest
   header word or cell);
2. the widest text columns (descriptions, lists of names) wrap to the room
   left, down to ``min_text`` characters each;
3. the columns after the ``keys`` leading ones are dealt into blocks that fit,
   printed one under the other, each with the key columns again.

Nothing is cut: every character of every cell is printed. A cell wider than
its column with no space to wrap at is broken inside the word. Callers offer
the unwrapped table too (``--wide``, ``--format md``).
"""

from __future__ import annotations

import shutil
import textwrap

import pandas as pd

__all__ = ["terminal_width", "fit_table", "fit_text"]

_GAP = 2  # spaces between columns


def terminal_width(default: int = 80) -> int:
    """Columns of the terminal: ``COLUMNS`` if set, else the terminal's, else ``default``."""
    return max(20, shutil.get_terminal_size((default, 24)).columns)


def fit_text(text: str, width: int | None = None, indent: str = "") -> str:
    """A paragraph wrapped to ``width`` (default: the terminal's), later lines
    indented by ``indent``."""
    width = terminal_width() if width is None else width
    return textwrap.fill(text, width=width, subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False)


def _numeric(cells: list[str]) -> bool:
    def number(s: str) -> bool:
        try:
            float(s.replace(",", "").lstrip("<= "))
            return True
        except ValueError:
            return s in ("", "-")
    return all(number(s) for s in cells)


def _wrap(cell: str, width: int) -> list[str]:
    if len(cell) <= width:
        return [cell]
    return textwrap.wrap(cell, width=width, break_long_words=True,
                         break_on_hyphens=False) or [""]


def _render(headers: list[str], columns: list[list[str]], widths: list[int]) -> list[str]:
    right = [_numeric(col) for col in columns]

    def line(parts: list[list[str]]) -> list[str]:
        height = max(len(p) for p in parts)
        out = []
        for k in range(height):
            cells = [(p[k] if k < len(p) else "") for p in parts]
            text = (" " * _GAP).join(c.rjust(w) if r else c.ljust(w)
                                     for c, w, r in zip(cells, widths, right, strict=True))
            out.append(text.rstrip())
        return out

    lines = line([_wrap(h, w) for h, w in zip(headers, widths, strict=True)])
    lines.append((" " * _GAP).join("-" * w for w in widths))
    for i in range(len(columns[0]) if columns else 0):
        lines += line([_wrap(col[i], w) for col, w in zip(columns, widths, strict=True)])
    return lines


def _total(widths: list[int]) -> int:
    return sum(widths) + _GAP * (len(widths) - 1)


def fit_table(df: pd.DataFrame, width: int | None = None, keys: int = 1,
              min_text: int = 24) -> str:
    """``df`` as a plain-text table no wider than ``width`` (default: the
    terminal's) where it can be; see the module docstring for how."""
    width = terminal_width() if width is None else width
    headers = [str(c) for c in df.columns]
    columns = [["" if pd.isna(v) else str(v) for v in df[c]] for c in df.columns]
    if not headers:
        return ""
    full = [max([len(h)] + [len(s) for s in col]) for h, col in zip(headers, columns,
                                                                  strict=True)]
    if _total(full) <= width:
        return "\n".join(_render(headers, columns, full))
    # 1. headers wrap at their spaces
    widths = [max([max(map(len, h.split() or [""]))] + [len(s) for s in col])
              for h, col in zip(headers, columns, strict=True)]
    # 2. the widest text columns wrap to the room left
    text = [i for i, col in enumerate(columns)
            if not _numeric(col) and widths[i] > min_text and any(" " in s for s in col)]
    fitted = _shrink(widths, text, width, min_text)
    if _total(fitted) <= width:
        return "\n".join(_render(headers, columns, fitted))
    # 3. deal the other columns into blocks that fit, each with the keys again
    keys = min(keys, len(headers) - 1)
    least = [min(w, min_text) if i in text else w for i, w in enumerate(widths)]
    blocks: list[list[int]] = []
    for i in range(keys, len(headers)):
        if blocks and _total([least[k] for k in [*range(keys), *blocks[-1], i]]) <= width:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    parts = []
    for block in blocks:
        chosen = [*range(keys), *block]
        mine = _shrink([widths[k] for k in chosen],
                       [j for j, k in enumerate(chosen) if k in text], width, min_text)
        parts.append("\n".join(_render([headers[k] for k in chosen], [columns[k] for k in chosen],
                                       mine)))
    return "\n\n".join(parts)


def _shrink(widths: list[int], text: list[int], width: int, min_text: int) -> list[int]:
    """Narrow the widest of the ``text`` columns a character at a time (so that
    they share the room) until the table fits or each is ``min_text`` wide."""
    widths = list(widths)
    while _total(widths) > width:
        candidates = [i for i in text if widths[i] > min_text]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths
