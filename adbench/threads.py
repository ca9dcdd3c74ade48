"""Single-threaded BLAS and OpenMP for adbench's own processes.

Timings compare methods single-threaded, so the command line (and a worker,
for the processes it starts) pins the BLAS/OpenMP pools to one thread. The
pools read the variables when numpy is first imported, so this must run
before that; a value the user set is kept. Importing adbench as a library
(or its pytest plugin) leaves the environment alone.
"""

from __future__ import annotations

import os
import sys

__all__ = ["THREAD_VARIABLES", "pin_blas_threads"]

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_blas_threads() -> bool:
    """Set each of :data:`THREAD_VARIABLES` to 1 unless set; False (nothing
    done) if numpy is already imported, when it would no longer take effect."""
    if "numpy" in sys.modules:
        return False
    for var in THREAD_VARIABLES:
        os.environ.setdefault(var, "1")
    return True
