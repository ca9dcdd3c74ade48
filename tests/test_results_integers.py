"""Columns of whole numbers (n, m, op counts, tape lengths, expression sizes,
bytes) come back from results.csv as integers (``Int64``, a missing cell
``<NA>``), and everything that reads the frame treats them as before."""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pytest
from synthetic_results import synthetic_results

import adbench
from adbench.measure import harness
from adbench.measure.context import Metric
from adbench.measure.harness import (ResultsCSVError, ResultsWriter, columns, integer_columns,
                                     read_dtypes, read_results)
from adbench.measure.harness import results as R
from adbench.report import compare_runs, render_diff, render_report
from adbench.report.hosts import host_note

#: A row as a run writes it for ad-reverse (every count of that method), and one
#: of a method whose counts were not measured (their cells empty).
FULL = {"problem": "p", "sizes": "k=3", "n": 18, "m": 1, "method": "ad-reverse",
        "status": "ok", "max_rel_error": 1.5e-16, "mean_rel_error": 2e-17, "n_over_tol": 0,
        "tolerance": 1e-12, "reference_digits": 40.0, "setup_s": 0.25, "message": "",
        "version": "abc", "ops_f": 35, "ops_f_transcendental": 4, "ops_derivative": 107,
        "ops_derivative_transcendental": 8, "ops_ratio": 107 / 35, "passes": 1,
        "time_samples": 5, "time_ratio": 3.25, "tape_length": 35, "tape_values": 72,
        "tape_bytes": 2_304, "mem_f_bytes": 1_136, "mem_derivative_bytes": 9_010_337,
        "host": "here", "concurrency": 1, "cpus": 3}
EMPTY = {**{k: FULL[k] for k in ("problem", "sizes", "n", "m", "status", "message", "version",
                                 "max_rel_error", "mean_rel_error", "n_over_tol",
                                 "tolerance")},
         "method": "fd-forward", "ops_f": None, "passes": None, "tape_length": None,
         "mem_f_bytes": None, "concurrency": None, "cpus": ""}


def _write(path, rows):
    writer = ResultsWriter(path, columns())
    for row in rows:
        writer.write(row)
    writer.close()
    return path


def test_the_integer_columns_are_read_as_int64_and_the_others_as_float64():
    dtypes = read_dtypes()
    whole = integer_columns()
    assert {"n", "m", "n_over_tol", "ops_f", "passes", "tape_length", "expr_ops",
            "compiled_bytes", "mem_f_bytes", "time_samples", "concurrency"} <= set(whole)
    assert [c for c in columns() if dtypes[c] == "Int64"] == whole
    assert dtypes["ops_ratio"] == dtypes["reference_digits"] == dtypes["setup_s"] == "float64"


def test_counts_round_trip_as_integers_with_missing_cells_missing(tmp_path):
    df = read_results(_write(tmp_path / "results.csv", [FULL, EMPTY]))
    for c in integer_columns():
        assert str(df[c].dtype) == "Int64", c
    for c, t in read_dtypes().items():
        if t == "float64":
            assert df[c].dtype == np.float64, c
    full, empty = df.iloc[0], df.iloc[1]
    for c in integer_columns():
        if FULL.get(c) is not None:
            assert full[c] == FULL[c] and isinstance(full[c], np.integer), c
        else:
            assert full[c] is pd.NA, c
        if EMPTY.get(c) not in (None, ""):
            assert empty[c] == EMPTY[c] and isinstance(empty[c], np.integer), c
        else:
            assert empty[c] is pd.NA, c
    assert full["ops_ratio"] == FULL["ops_ratio"] and full["reference_digits"] == 40.0


def test_a_frame_read_back_is_written_out_with_integers_and_reads_the_same(tmp_path):
    df = read_results(_write(tmp_path / "results.csv", [FULL, EMPTY]))
    again = tmp_path / "again.csv"
    df.to_csv(again, index=False)
    with open(again, newline="") as fh:
        for record in csv.DictReader(fh):
            for c in integer_columns():
                assert re.fullmatch(r"-?[0-9]*", record[c]), (c, record[c])  # never 18.0
    pd.testing.assert_frame_equal(read_results(again), df)


def test_integer_columns_are_parsed_a_chunk_at_a_time(tmp_path, monkeypatch):
    rows = [{**(FULL if i % 3 else EMPTY), "sizes": f"k={i}", "n": i,
             "tape_length": i * 7 if i % 2 else None} for i in range(11)]
    path = _write(tmp_path / "results.csv", rows)
    monkeypatch.setattr(R, "_CHUNK_ROWS", 4)  # chunks of 4, 4 and 3 rows
    df = read_results(path)
    assert df["n"].tolist() == list(range(11))
    assert [None if v is pd.NA else v for v in df["tape_length"]] == [
        i * 7 if i % 2 else None for i in range(11)]
    assert str(df["tape_length"].dtype) == "Int64"


def _edited(path, line, column, text):
    """results.csv at ``path`` with the cell of ``column`` on ``line`` (1: the header) set."""
    with open(path, newline="") as fh:
        records = list(csv.reader(fh))
    records[line - 1][records[0].index(column)] = text
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(records)
    return path


@pytest.mark.parametrize("cell", ["4.5", "inf", "1e30", "many"])
def test_a_count_that_is_not_a_whole_number_is_named_in_one_line(tmp_path, cell):
    path = _edited(_write(tmp_path / "results.csv", [FULL, EMPTY, FULL | {"sizes": "k=4"}]),
                   4, "tape_length", cell)
    with pytest.raises(ResultsCSVError) as info:
        read_results(path)
    assert str(info.value) == (f"{path}: line 4: column tape_length holds {cell!r}, "
                               "not a whole number")


def test_a_whole_number_written_as_a_float_is_read_as_that_integer(tmp_path):
    path = _edited(_write(tmp_path / "results.csv", [FULL]), 2, "ops_f", "35.0")
    assert read_results(path)["ops_f"].tolist() == [35]


def test_a_bad_float_cell_is_still_named(tmp_path):
    path = _edited(_write(tmp_path / "results.csv", [FULL]), 2, "ops_ratio", "lots")
    with pytest.raises(ResultsCSVError, match=r"line 2: column ops_ratio holds 'lots', "
                                              r"not a number$"):
        read_results(path)


def test_a_metric_declares_only_its_own_columns_integer():
    with pytest.raises(ValueError, match="integer columns \\['n'\\] are not among"):
        Metric("sizes", ["size_bytes"], lambda ctx: {}, integers=("n",))


def test_a_run_writes_the_integer_columns_as_integers_and_no_other_column_so(tmp_path):
    """What the writers produce decides the schema: in a run filling every metric
    (ad-reverse: the tape; symbolic: the expression sizes and compiled bytes),
    the declared integer columns hold integers, and every other number column
    holds floats as ``repr(float)`` writes them."""
    adbench.run(problems=["logistic-map"], sizes={"depth": [3]},
                methods=["fd-forward", "symbolic", "ad-reverse"], out=tmp_path, isolate=False)
    with open(tmp_path / "results.csv", newline="") as fh:
        records = list(csv.DictReader(fh))
    dtypes = read_dtypes()
    filled = set()
    for record in records:
        for c, t in dtypes.items():
            if t == "category" or not record[c]:
                continue
            filled.add(c)
            if t == "Int64":
                assert re.fullmatch(r"-?[0-9]+", record[c]), (c, record[c])
            else:
                assert re.search(r"[.e]|inf|nan", record[c]), (c, record[c])
    assert {"ops_f", "tape_length", "expr_ops", "compiled_bytes", "mem_f_bytes",
            "time_samples", "n_over_tol"} <= filled


def test_rows_in_memory_are_the_frame_their_results_csv_reads_back(tmp_path):
    rows = [FULL, EMPTY, {**FULL, "method": "ad-forward", "message": "two\nlines"}]
    pd.testing.assert_frame_equal(R.results_frame(rows, columns()),
                                  read_results(_write(tmp_path / "results.csv", rows)))
    pd.testing.assert_frame_equal(R.results_frame([], columns()),
                                  read_results(_write(tmp_path / "empty.csv", [])))


def test_a_run_returns_the_same_types_with_or_without_a_results_file(tmp_path):
    """adbench.run(out=None) types its rows as a results.csv is read back: the
    same dtypes, and the same values wherever they do not depend on the clock."""
    selection = dict(problems=["rosenbrock"], sizes={"n": [2]}, isolate=False,
                     methods=["fd-forward", "symbolic", "ad-reverse"])
    in_memory = adbench.run(**selection)
    written = adbench.run(**selection, out=tmp_path)
    pd.testing.assert_series_equal(in_memory.dtypes, written.dtypes)
    assert (in_memory.dtypes == "Int64").sum() == len(integer_columns())
    # the clock's columns, and memory, which moves by some bytes from run to run
    steady = [c for c in columns() if not c.startswith(("time_", "setup_", "mem_"))
              and c not in ("error_estimate", "simplify_status")]
    pd.testing.assert_frame_equal(in_memory[steady], written[steady])


def _as_floats(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its integer columns as float64: how they were read before."""
    return df.astype({c: "float64" for c in integer_columns() if c in df.columns})


def test_the_report_and_the_diff_are_the_same_with_integer_or_float_counts(tmp_path):
    frame = synthetic_results()
    frame.loc[frame["method"] == "ad-forward", ["passes", "mem_f_bytes"]] = np.nan
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    frame.to_csv(old, index=False)
    frame.loc[frame["method"] == "ad-reverse", "ops_derivative"] += 3
    frame.loc[frame["method"] == "fd-central", "tape_length"] = 11  # newly measured
    frame.to_csv(new, index=False)
    a, b = read_results(old), read_results(new)
    assert str(a["passes"].dtype) == "Int64" and a["passes"].isna().any()
    text = render_report(a)
    assert text == render_report(_as_floats(a))
    assert "<NA>" not in text and "nan" not in text
    diff = render_diff(compare_runs(a, b))
    assert diff == render_diff(compare_runs(_as_floats(a), _as_floats(b)))
    assert "ops_derivative" in diff and "tape_length" in diff and "<NA>" not in diff


def test_the_hosts_note_reads_a_missing_concurrency_as_one_at_a_time():
    df = pd.DataFrame({"time_ratio": [2.0, 3.0], "host": ["here", "here"],
                       "concurrency": pd.array([None, None], dtype="Int64")})
    assert host_note(df)[0].startswith("Times were measured on here, one measurement at a time")
    df["concurrency"] = pd.array([2, None], dtype="Int64")
    assert "up to 2 measurements at once" in host_note(df)[0]


def test_numbers_gives_float64_with_nan_for_missing_cells():
    df = pd.DataFrame({"k": pd.array([3, None], dtype="Int64")})
    got = harness.numbers(df, "k")
    assert got.dtype == np.float64 and got[0] == 3.0 and np.isnan(got[1])
    assert harness.numbers(df, "absent").isna().all()
