"""run.json: what a run was asked for (its selection and the settings that
affect a row), written when it starts and read back by ``--resume``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from adbench.measure.harness.results import ResultsCSVError, _writing
from adbench.measure.isolation import one_line


def _write_run_info(out: Path, problems, methods, sizes, suite, timeout,
                    problems_dirs, memory_limit=None, time_budget=None) -> None:
    """What was asked for, so that ``--resume`` can finish the same run: the
    selection and every setting that affects a row (the time limit, the memory
    limit in bytes, None for the default, and the timing budget in seconds)."""
    info = {"problems": list(problems), "methods": list(methods), "sizes": dict(sizes or {}),
            "suite": suite, "timeout": timeout,
            "problems_dirs": [str(Path(d).resolve()) for d in problems_dirs],
            "memory_limit": memory_limit, "time_budget": time_budget}
    tmp = out / "run.json.tmp"
    with _writing(tmp):
        tmp.write_text(json.dumps(info, indent=2))
        os.replace(tmp, out / "run.json")


#: What run.json must hold (see _write_run_info), with the accepted types.
RUN_INFO_KEYS = {"problems": list, "methods": list, "sizes": dict,
                 "suite": (str, type(None)), "timeout": (int, float, type(None))}


def read_run_info(out: str | Path) -> dict:
    """The selection of the run in ``out`` (``{}`` if it has no run.json);
    ResultsCSVError if run.json is not one written by adbench."""
    path = Path(out) / "run.json"
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsCSVError(f"{path}: unreadable ({one_line(exc)})") from None
    if not isinstance(info, dict):
        raise ResultsCSVError(f"{path}: not an adbench run description")
    for key, kind in RUN_INFO_KEYS.items():
        if key not in info or not isinstance(info[key], kind):
            raise ResultsCSVError(f"{path}: not an adbench run description "
                                  f"({key!r} missing or of the wrong type)")
    return info
