"""results.csv: the columns of a row and how each is read back, writing rows as
they finish, reading a file back, and salvaging an interrupted one for
``--resume`` (run.json, the run's selection: :mod:`.runinfo`).

Rows are appended one line at a time and flushed, so an interruption can only
tear the last line; reading drops it. Every OSError while writing is a
:class:`ResultsWriteError` naming the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from adbench.measure.isolation import one_line
from adbench.measure.metrics import METRICS  # the metrics run after the Jacobian, in order
from adbench.measure.placement import HOST_COLUMNS, HOST_INTEGER_COLUMNS

STATUSES = ("ok", "inaccurate", "unsupported", "nonfinite", "timeout", "error")
#: Statuses of rows whose Jacobian was computed and scored: ``inaccurate`` is a
#: Jacobian with an entry whose error exceeds its method's tolerance.
MEASURED_STATUSES = ("ok", "inaccurate")

BASE_COLUMNS = [
    "problem", "sizes", "n", "m", "method", "status",
    "max_rel_error", "mean_rel_error", "n_over_tol", "tolerance", "reference_digits",
    "setup_s", "message", "version",
]

#: The base columns that hold whole numbers: the sizes of x and f(x), and the
#: Jacobian entries over the tolerance (a metric declares its own: ``Metric.integers``).
BASE_INTEGER_COLUMNS = ("n", "m", "n_over_tol")

KEY = ("problem", "sizes", "method")


class ResultsCSVError(ValueError):
    """A results.csv that cannot be read back (corrupt, or not adbench's)."""


class ResultsWriteError(Exception):
    """An output file of a run could not be written: ``cannot write PATH: REASON``.

    ``measured`` is the number of rows the run had written to results.csv when
    it happened (0: it failed before measuring anything); those rows are kept.
    """

    def __init__(self, path: str | Path, error: OSError, measured: int = 0):
        self.path = Path(path)
        self.reason = error.strerror or one_line(error)
        self.measured = measured
        super().__init__(f"cannot write {self.path}: {self.reason}")


@contextmanager
def _writing(path: str | Path, measured: int = 0):
    """Turn an OSError of the block into a ResultsWriteError naming ``path``, or
    the file the error names (the destination of a failed rename)."""
    try:
        yield
    except OSError as exc:
        raise ResultsWriteError(exc.filename2 or exc.filename or path, exc, measured) from exc


def columns() -> list[str]:
    """Every column of results.csv, in order."""
    cols = list(BASE_COLUMNS)
    for metric in METRICS:
        cols.extend(c for c in metric.columns if c not in cols)
    cols.extend(c for c in HOST_COLUMNS if c not in cols)  # where it ran (measure.placement)
    return cols


def integer_columns() -> list[str]:
    """The columns of :func:`columns` that hold whole numbers (counts, sizes,
    bytes), in order: read back as integers, not floats."""
    whole = {*BASE_INTEGER_COLUMNS, *HOST_INTEGER_COLUMNS}
    whole.update(c for metric in METRICS for c in metric.integers)
    return [c for c in columns() if c in whole]


def _flat(text: str) -> str:
    """A message on one line (rows are one CSV line each; see _salvage)."""
    return " ".join(str(text).split())


class ResultsWriter:
    """Appends rows to results.csv, one flushed line per finished measurement.

    Every OSError (a full disk, a file made read-only) is a ResultsWriteError
    naming the file, with the number of rows written before it. A row whose
    write failed may be left as a torn last line, which reading drops.
    """

    def __init__(self, path: Path, cols: list[str]):
        self.path = path
        self.cols = cols
        self.written = 0  # rows written by this writer
        self.failed = False
        with self._writing():
            new = not path.exists() or path.stat().st_size == 0
            self.file = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=cols, extrasaction="ignore")
        if new:
            try:
                with self._writing():
                    self.writer.writeheader()
                    self.file.flush()
            except ResultsWriteError:
                self.close()
                raise

    def write(self, row: dict) -> None:
        with self._writing():
            self.writer.writerow(_cells(row, self.cols))
            self.file.flush()
        self.written += 1

    def close(self) -> None:
        """Close the file. After a failed write the error of closing (the same
        unwritable data, flushed again) is not raised a second time."""
        try:
            self.file.close()
        except OSError as exc:
            if not self.failed:
                raise ResultsWriteError(self.path, exc, self.written) from exc

    @contextmanager
    def _writing(self):
        try:
            with _writing(self.path, self.written):
                yield
        except ResultsWriteError:
            self.failed = True
            raise


def _cells(row: Mapping, cols: list[str]) -> dict:
    """A row's cells as results.csv holds them."""
    return {c: _csv_value(row.get(c)) for c in cols}


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return _flat(v)  # one row, one line: what makes a torn write detectable
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return v


#: Text columns whose empty cell is the empty string (a key, a status, a
#: message), not a missing value.
TEXT_COLUMNS = ("problem", "sizes", "method", "status", "message", "version")
#: Other text columns (an empty cell: no value, NaN).
LABEL_COLUMNS = ("simplify_status", "host")


def read_dtypes() -> dict[str, str]:
    """How each column of results.csv is read back, in one place: the text
    columns parsed as ``category`` (a repeated value is stored once while
    parsing), the columns of whole numbers (:func:`integer_columns`) as
    pandas' nullable ``Int64`` (an empty cell is ``<NA>``), every other column
    of :func:`columns` as ``float64``. A column of a file that is not named
    here (written by another tool or another version) is never parsed."""
    whole = set(integer_columns())
    return {c: "category" if c in TEXT_COLUMNS or c in LABEL_COLUMNS
            else "Int64" if c in whole else "float64" for c in columns()}


def numbers(df: pd.DataFrame, column: str) -> pd.Series:
    """Column ``column`` of a results frame as ``float64``, NaN where a cell is
    missing or not a number (NaN throughout when there is no such column): what
    the report and the crossover compute with. A ratio or a comparison of the
    ``Int64`` columns themselves would be a nullable ``Float64`` or hold
    ``<NA>``, which neither a markdown cell nor a mask takes."""
    if column not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype="float64")
    return pd.to_numeric(df[column], errors="coerce").astype("float64")


#: Bytes read at a time when checking a results.csv.
_BLOCK = 1 << 20


def _complete_length(path: Path) -> int:
    """The length of the complete lines of a results.csv, read a block at a time.

    Rows are appended one line at a time, so an interruption (kill -9, power
    loss) can only tear the *last* line; a line is complete when its newline
    was written, and an unterminated last line is not read. Anything else that
    is wrong is corruption: ResultsCSVError naming the file.
    """
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise ResultsCSVError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ResultsCSVError(f"{path}: is a folder, not a results.csv") from None
    except OSError as exc:
        raise ResultsCSVError(f"{path}: cannot be read ({exc.strerror})") from None
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = complete = 0
    with fh:
        while block := fh.read(_BLOCK):
            if b"\x00" in block:
                raise ResultsCSVError(f"{path}: not a results.csv (it contains NUL bytes: a "
                                      "binary or corrupt file)")
            try:
                decoder.decode(block)  # only checked
            except UnicodeDecodeError as exc:
                raise ResultsCSVError(f"{path}: not a results.csv (not UTF-8 text at byte "
                                      f"{offset + exc.start})") from None
            if (last := block.rfind(b"\n")) >= 0:
                complete = offset + last + 1
            offset += len(block)
    return complete


class _Prefix(io.RawIOBase):
    """The first ``length`` bytes of a binary file (its complete lines)."""

    def __init__(self, fh, length: int):
        self.fh, self.left = fh, length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.fh.readinto(memoryview(buffer)[:max(0, min(len(buffer), self.left))])
        self.left -= n
        return n


@contextmanager
def _complete_lines(path: Path, length: int, text: bool = False):
    """The first ``length`` bytes of ``path`` as a file (binary, or text)."""
    with open(path, "rb", buffering=0) as raw:
        stream = io.BufferedReader(_Prefix(raw, length), _BLOCK)
        yield io.TextIOWrapper(stream, encoding="utf-8", newline="") if text else stream


def _read_text(path: Path) -> str:
    """The complete lines of a results.csv (see :func:`_complete_length`)."""
    length = _complete_length(path)
    with _complete_lines(path, length, text=True) as fh:
        return fh.read()


def _check_header(path: Path, header: list[str]) -> None:
    missing = [c for c in BASE_COLUMNS if c not in header]
    if missing:
        raise ResultsCSVError(f"{path}: not an adbench results file (missing columns "
                              f"{', '.join(missing)})")


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results.csv written by adbench; ResultsCSVError if it is not one.

    Only the columns of :func:`read_dtypes` are parsed, with those types, and
    the file is never held whole in memory: it is checked a line at a time,
    then parsed by pandas' C reader. A torn last line (an interrupted write) is
    dropped; every other defect (a row with the wrong number of fields, an
    unknown status, a cell of a number column that is not a number, or of an
    integer column that is not a whole number) is an error naming the file and
    the line.
    """
    path = Path(path)
    length = _complete_length(path)
    with _complete_lines(path, length, text=True) as fh:
        rows = _rows(path, fh)
        header = next(rows)
        if not "".join(header).strip():
            raise ResultsCSVError(f"{path}: empty (no header line)")
        _check_header(path, header)
        count = sum(1 for _ in rows)  # every row checked, none kept
    known = read_dtypes()
    dtypes = {c: known[c] for c in header if c in known}
    try:
        df = _parse_columns(_complete_lines(path, length), path, dtypes, count)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ResultsCSVError(f"{path}: not a readable CSV ({one_line(exc)})") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a number column holding
        # something else: text (ValueError), a fraction (TypeError) or inf or a number
        # beyond int64 (OverflowError) in an Int64 column
        _name_bad_number(path, length, [c for c, t in dtypes.items() if t != "category"],
                         [c for c, t in dtypes.items() if t == "Int64"])
        raise ResultsCSVError(f"{path}: not a readable CSV ({one_line(exc)})") from None
    bad = ~df["status"].isin(STATUSES)
    if bad.any():
        raise ResultsCSVError(f"{path}: line {int(bad.to_numpy().argmax()) + 2} has an unknown "
                              f"status {df['status'][bad].iloc[0]!r}")
    keys = df[list(KEY)]
    suspect = keys.duplicated(keep=False).to_numpy() | (
        keys[["problem", "method"]].apply(lambda c: c.str.strip() == "").any(axis=1).to_numpy())
    if suspect.any():
        checked = _KeyCheck(path)
        for lineno, key in zip((suspect.nonzero()[0] + 2).tolist(),
                               zip(*(keys[k][suspect] for k in KEY))):
            checked.add(lineno, key)
    return df


#: Rows parsed at a time by :func:`_parse_columns`.
_CHUNK_ROWS = 50_000


def _parse_columns(lines, path: Path | str, dtypes: dict[str, str],
                   count: int) -> pd.DataFrame:
    """The columns ``dtypes`` (in that order) of the ``count`` rows of CSV text
    (``lines``: a context manager that opens it; ``path`` names it in errors),
    parsed a chunk of rows at a time straight into arrays of their final size
    (pandas alone would hold every chunk and their concatenation at once).

    A text column is parsed as category (one object per distinct value in a
    chunk) and kept as codes into one table of the file's values; it becomes
    plain text at the end, each distinct value one object shared by its cells
    (not categorical: the report compares, fills and merges these columns as
    strings). An empty text cell is "" in TEXT_COLUMNS, missing (NaN) in the others.
    An ``Int64`` column is kept as int64 values and a mask of its empty cells,
    the two arrays of pandas' nullable integers (9 bytes a row).
    """
    floats = {c: np.empty(count) for c, t in dtypes.items() if t == "float64"}
    integers = {c: (np.empty(count, dtype=np.int64), np.empty(count, dtype=bool))
                for c, t in dtypes.items() if t == "Int64"}
    codes = {c: np.empty(count, dtype=np.int64) for c, t in dtypes.items() if t == "category"}
    values: dict[str, dict] = {c: {} for c in codes}
    start = 0
    # np.errstate: a cell beyond int64 (1e30) in an Int64 column is an error, named by
    # _name_bad_number, not also a RuntimeWarning of numpy's cast
    with lines as fh, np.errstate(invalid="ignore"):
        for chunk in pd.read_csv(fh, usecols=list(dtypes), dtype=dtypes, chunksize=_CHUNK_ROWS):
            end = start + len(chunk)
            if end > count:
                break
            for c, array in floats.items():
                array[start:end] = chunk[c].to_numpy()
            for c, (values_, missing) in integers.items():
                cells = chunk[c].array
                values_[start:end] = cells.to_numpy(dtype=np.int64, na_value=0)
                missing[start:end] = cells.isna()
            for c, array in codes.items():
                cat = chunk[c].array
                table = values[c]
                lookup = np.array([table.setdefault(v, len(table)) for v in cat.categories]
                                  + [-1], dtype=np.int64)
                array[start:end] = lookup[cat.codes]  # code -1 (empty) stays -1
            start = end
    if start != count:
        raise ResultsCSVError(f"{path}: not a readable CSV (its rows could not be "
                              "counted the same way twice)")
    out: dict[str, pd.Series] = {c: pd.Series(a, copy=False) for c, a in floats.items()}
    for c in list(integers):
        out[c] = pd.Series(pd.arrays.IntegerArray(*integers.pop(c)), copy=False)
    for c in list(codes):
        text = pd.Series(pd.Categorical.from_codes(codes.pop(c), pd.Index(list(values.pop(c)))))
        if c in TEXT_COLUMNS:
            if "" not in text.cat.categories:
                text = text.cat.add_categories([""])
            text = text.fillna("")
        out[c] = text.astype(text.cat.categories.dtype)
    return pd.DataFrame({c: out.pop(c) for c in dtypes}, copy=False)


def results_frame(rows: Iterable[Mapping], cols: list[str]) -> pd.DataFrame:
    """``rows`` (a run's dicts) as :func:`read_results` reads back the results.csv
    of columns ``cols`` they make: written as :class:`ResultsWriter` writes them,
    parsed by the same code with the same types (:func:`read_dtypes`)."""
    text, cells = io.StringIO(newline=""), [_cells(row, cols) for row in rows]
    writer = csv.DictWriter(text, fieldnames=cols, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(cells)
    text.seek(0)
    known = read_dtypes()
    return _parse_columns(nullcontext(text), "the rows of a run",
                          {c: known[c] for c in cols if c in known}, len(cells))


def _name_bad_number(path: Path, length: int, numeric: list[str],
                     integers: Iterable[str] = ()) -> None:
    """ResultsCSVError naming the first cell of a ``numeric`` column that is not
    a number, or of one of its ``integers`` columns that is not a whole number
    within int64 (the columns read again as text: only on that error)."""
    integers = set(integers)
    with _complete_lines(path, length) as fh:
        df = pd.read_csv(fh, usecols=numeric, dtype=str)
    for col in numeric:
        value = pd.to_numeric(df[col], errors="coerce").astype("float64").to_numpy()
        wrong = np.isnan(value) & df[col].notna().to_numpy()
        what = "a number"
        if col in integers:
            with np.errstate(invalid="ignore"):
                whole = np.isfinite(value) & (np.floor(value) == value) & (
                    np.abs(value) < 2.0 ** 63)
            wrong |= ~whole & df[col].notna().to_numpy()
            what = "a whole number"
        if wrong.any():
            line = int(wrong.argmax()) + 2
            raise ResultsCSVError(f"{path}: line {line}: column {col} holds "
                                  f"{df[col].iloc[line - 2]!r}, not {what}")


class _KeyCheck:
    """Each row, by its ``(problem, sizes, method)``, names a problem and a
    method, and no two rows have the same key (a row counted twice would weigh
    twice in every summary); else ResultsCSVError naming the file and the line."""

    def __init__(self, path: Path):
        self.path = path
        self.first: dict[tuple, int] = {}

    def add(self, lineno: int, key: tuple) -> None:
        for col, value in zip(KEY, key):
            if col != "sizes" and not str(value).strip():
                raise ResultsCSVError(f"{self.path}: line {lineno}: the {col} cell is empty")
        if key in self.first:
            raise ResultsCSVError(f"{self.path}: line {lineno} repeats the row of line "
                                  f"{self.first[key]} (problem {key[0]!r}, sizes {key[1]!r}, "
                                  f"method {key[2]!r}); remove one of them")
        self.first[key] = lineno


def _rows(path: Path, lines: Iterable[str]) -> Iterator[list[str]]:
    """The CSV rows of ``lines``, header first, one at a time; each data row
    must have the header's number of fields (else ResultsCSVError)."""
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ResultsCSVError(f"{path}: empty (no header line)")
        yield header
        for lineno, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise ResultsCSVError(f"{path}: line {lineno} has {len(row)} fields, the "
                                      f"header {len(header)} (a corrupt or hand-edited file)")
            yield row
    except csv.Error as exc:
        raise ResultsCSVError(f"{path}: not a readable CSV ({exc})") from None


def _parse_rows(path: Path, text: str) -> list[list[str]]:
    """Every CSV row of ``text`` (header first), checked as by :func:`_rows`."""
    return list(_rows(path, io.StringIO(text, newline="")))


def _salvage(path: Path, cols: list[str],
             versions: Mapping[str, str] | None = None) -> tuple[dict, dict]:
    """Prepare an interrupted results.csv for ``--resume``.

    Keeps its complete rows measured with the current definition of their
    problem: a torn last line is dropped, and so are the rows of a problem
    whose ``version`` differs from ``versions[problem]`` (its definition was
    edited since), so that no problem mixes rows of two definitions. The file
    is rewritten atomically without them. Returns ``({(problem, sizes,
    method): status}`` of the rows kept, ``{problem: rows dropped}`` of the
    changed problems). ResultsCSVError if the file is corrupt or written with
    other columns.
    """
    length = _complete_length(path)
    tmp = path.with_name(path.name + ".tmp")
    kept: dict[tuple, str] = {}
    stale: dict[str, int] = {}
    try:
        with _complete_lines(path, length, text=True) as fh, _writing(tmp), \
                open(tmp, "w", newline="") as out:
            rows, w = _rows(path, fh), csv.writer(out)
            header = next(rows, None) if length else None
            if header is None or not "".join(header).strip():
                if fh.read().strip():  # a blank first line before text
                    _check_header(path, header or [])
                header, rows = list(cols), iter(())  # blank or a torn header: a new file
            _check_header(path, header)
            if header != cols:
                raise ResultsCSVError(f"{path}: written with other columns than this "
                                      "version of adbench writes; start a new run")
            w.writerow(header)
            status, version = header.index("status"), header.index("version")
            idx = [header.index(k) for k in KEY]
            checked = _KeyCheck(path)
            for lineno, r in enumerate(rows, start=2):  # one row at a time, none kept
                if r[status] not in STATUSES:
                    raise ResultsCSVError(f"{path}: line {lineno} has an unknown status "
                                          f"{r[status]!r}")
                key = tuple(r[i] for i in idx)
                checked.add(lineno, key)
                current = (versions or {}).get(key[0])
                if current is not None and r[version] != current:
                    stale[key[0]] = stale.get(key[0], 0) + 1
                else:
                    w.writerow(r)
                    kept[key] = r[status]
        with _writing(tmp):
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return kept, stale


def _stale_message(stale: Mapping[str, int]) -> str:
    """The warning of a resume that measures the rows of edited problems again."""
    names = ", ".join(repr(name) for name in stale)
    rows = sum(stale.values())
    rows_text = f"{rows} row" + ("s" if rows != 1 else "")
    if len(stale) == 1:
        return (f"the definition of problem {names} changed since its rows were measured: "
                f"its {rows_text} are measured again")
    return (f"the definitions of problems {names} changed since their rows were measured: "
            f"their {rows_text} are measured again")
