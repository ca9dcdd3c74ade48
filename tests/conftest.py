import pytest

from adbench.registry import load_registry


@pytest.fixture(scope="session")
def registry():
    return load_registry()
