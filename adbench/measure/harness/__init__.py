"""The harness: problems x sizes x methods -> rows of ``results.csv``.

Three parts, each a module of this package:

* :mod:`.selection`: which instances run (``--sizes``, suites, named problems);
* :mod:`.results`: results.csv (columns and their types, writing rows as they
  finish, reading back, salvaging an interrupted file for ``--resume``);
* :mod:`.runinfo`: run.json (what the run was asked for, for ``--resume``);
* :mod:`.loop`: the run itself (:func:`run`, one :func:`measure`, the check of
  f at x0 before any method, :func:`check_output`).

Every name is re-exported here, so ``from adbench.measure.harness import X``
is the import to use; a name is read by the part that defines or imports it
(``harness.results.open`` writes results.csv), so that is where to patch it.
"""

from __future__ import annotations

from adbench.measure.context import Context, Metric
from adbench.measure.harness import loop, results, runinfo, selection  # noqa: F401 - the parts
from adbench.measure.harness.lock import LOCK_NAME, FolderInUseError, FolderLock
from adbench.measure.harness.loop import (  # noqa: F401 - re-exported, privates too
    _base_row, _check_instance, _first_floating_point_error, _join, _measure_one,
    _nonfinite_reason, _reference_for, _short, _Skipper, _values_of, check_output,
    load_bounded, measure, measure_instance, pending_methods, run)
from adbench.measure.harness.results import (  # noqa: F401
    BASE_COLUMNS, KEY, MEASURED_STATUSES, METRICS, STATUSES,
    ResultsCSVError,
    ResultsWriter, ResultsWriteError, _check_header, _csv_value, _flat, _parse_rows,
    _read_text, _salvage, _stale_message, _writing, columns, integer_columns,
    numbers, read_dtypes, read_results, results_frame)
from adbench.measure.harness.runinfo import (  # noqa: F401
    RUN_INFO_KEYS, _write_run_info, read_run_info)
from adbench.measure.harness.selection import (  # noqa: F401
    _number, DEFAULT_SUITE, DEFAULT_TIMEOUT, SizesError, as_problem_list, parse_sizes,
    problem_names, select)

__all__ = ["run", "measure", "BASE_COLUMNS", "METRICS", "Metric", "Context", "columns",
           "integer_columns", "numbers", "read_dtypes", "results_frame",
           "select", "parse_sizes", "SizesError", "DEFAULT_TIMEOUT", "STATUSES", "ResultsCSVError",
           "ResultsWriteError", "check_output", "read_results", "read_run_info",
           "ResultsWriter", "KEY", "DEFAULT_SUITE", "RUN_INFO_KEYS",
           "FolderInUseError", "FolderLock", "LOCK_NAME", "MEASURED_STATUSES", "as_problem_list",
           "problem_names", "load_bounded"]

