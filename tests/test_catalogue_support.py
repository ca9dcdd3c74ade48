"""The catalogue's support check: a limit on the worker's CPU time, and a
wall-clock backstop for a worker that does not compute."""

from __future__ import annotations

import sys
import time

import pytest

from adbench.measure.isolation import run_isolated
from adbench.methods import METHODS, Method, Prepared
from adbench.report.catalogue import support


class _Burns(Method):
    """Computes without end, in Python (where SIGXCPU's handler runs)."""

    name = "burns"
    swallow = False

    def prepare(self, inst):
        while True:
            try:
                while True:
                    pass
            except Exception:  # noqa: BLE001 - a method that swallows errors
                if not self.swallow:
                    raise


class _Swallows(_Burns):
    name = "swallows"
    swallow = True


class _BurnsInDel(_Burns):
    """Reaches the limit inside a ``__del__``, where Python discards the exception."""

    name = "burns-in-del"

    def prepare(self, inst):
        class Spins:
            def __del__(self):
                while True:
                    pass

        Spins()  # dropped at once: its __del__ runs here, until SIGXCPU
        return super().prepare(inst)


class _Sleeps(Method):
    """Spends no CPU time: only the wall-clock backstop ends it."""

    name = "sleeps"

    def prepare(self, inst):
        time.sleep(3600)


class _Quick(Method):
    name = "quick"

    def prepare(self, inst):
        import numpy as np

        return Prepared(lambda x: np.zeros((inst.m, inst.n)))


@pytest.fixture
def fake_methods(monkeypatch):
    for method in (_Burns(), _Swallows(), _BurnsInDel(), _Sleeps(), _Quick()):
        monkeypatch.setitem(METHODS, method.name, method)  # the forked worker inherits it


def _label(registry) -> str:
    return min(registry.get("rosenbrock").instances(), key=lambda i: (i.n * i.m, i.n)).size_label


def test_a_method_over_its_cpu_time_is_said_to_be(registry, fake_methods):
    # A wall backstop far beyond the CPU limit: a loaded machine cannot turn the verdict.
    sup = support(registry.get("rosenbrock"), timeout=1, wall=120,
                  methods=["burns", "swallows", "quick", "ad-reverse"])
    over = f"no: over 1 s of CPU at {_label(registry)}"
    assert sup == {"burns": over, "swallows": over, "quick": "yes", "ad-reverse": "yes"}


def _limited_in_del() -> tuple[str, list]:
    """The verdict on _BurnsInDel, and what reached ``sys.unraisablehook`` meanwhile."""
    from adbench.report.catalogue import _within_cpu

    seen = []
    sys.unraisablehook = lambda unraisable: seen.append(type(unraisable.exc_value).__name__)
    return _within_cpu(1, "here", _BurnsInDel().prepare, None), seen


def test_a_limit_met_in_a_del_is_met_again_and_not_reported():
    outcome = run_isolated(_limited_in_del, (), 120)
    assert outcome.status == "ok", outcome.message
    assert outcome.value == ("no: over 1 s of CPU at here", [])


def test_a_worker_that_does_not_compute_meets_the_wall_backstop(registry, fake_methods):
    sup = support(registry.get("rosenbrock"), timeout=60, wall=2, methods=["sleeps"])
    assert sup == {"sleeps": f"no: over 2 s of wall-clock time at {_label(registry)}"}


def test_the_wall_backstop_defaults_to_a_multiple_of_the_cpu_limit(registry, fake_methods):
    from adbench.report.catalogue import SUPPORT_WALL_FACTOR

    sup = support(registry.get("rosenbrock"), timeout=0.5, methods=["sleeps"])
    wall = 0.5 * SUPPORT_WALL_FACTOR
    assert sup == {"sleeps": f"no: over {wall:g} s of wall-clock time at {_label(registry)}"}


def test_the_help_of_list_support_states_the_cpu_limit():
    from click.testing import CliRunner

    from adbench.cli import cli
    from adbench.report.catalogue import SUPPORT_TIMEOUT_S

    result = CliRunner().invoke(cli, ["list", "--help"], terminal_width=400)
    assert result.exit_code == 0
    assert f"within {SUPPORT_TIMEOUT_S:g} s of CPU time" in " ".join(result.output.split())
