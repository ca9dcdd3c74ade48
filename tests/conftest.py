import zlib

import numpy as np
import pytest

from adbench.registry import load_registry


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(autouse=True)
def module_rng_reseeded(request):
    """A test module's generator (``RNG``) is reseeded before each of its tests from
    the test's own id, so that a test draws the same values whichever tests ran
    before it (the whole run, a ``-k`` selection, ``-m study``)."""
    module = request.module
    if isinstance(getattr(module, "RNG", None), np.random.Generator):
        module.RNG = np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
    yield
