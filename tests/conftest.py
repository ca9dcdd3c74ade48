import pytest

from adbench.registry import load_registry


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(autouse=True)
def timing_settings_restored():
    """An in-process ``adbench run`` (``invoke``) sets the process's timing budget, and
    ``--resume`` sets the budget its run was made with (``--time-budget 0`` in several
    tests): each test leaves the budget as it found it."""
    from adbench.measure.metrics import timing
    saved = timing.settings()["budget_s"]
    yield
    timing.configure(budget_s=saved)
