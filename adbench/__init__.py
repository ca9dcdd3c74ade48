"""adbench: a workbench comparing ways of computing derivatives.

Manual, numerical (finite differences), symbolic (SymPy) and automatic
differentiation (forward and reverse mode) run on the same problem
definitions and are measured side by side.
"""

import os as _os
import sys as _sys

# Timings compare methods single-threaded: pin the BLAS/OpenMP pools to one
# thread before numpy is first imported (a value the user set is kept).
if "numpy" not in _sys.modules:
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        _os.environ.setdefault(_var, "1")

from adbench.problem import Instance, Problem, problem  # noqa: E402

__version__ = "0.1.0"

__all__ = ["problem", "Problem", "Instance", "run", "__version__"]


def run(*args, **kwargs):
    """Run a comparison and return its rows as a pandas DataFrame; see
    :func:`adbench.harness.run`."""
    from adbench.harness import run as _run
    return _run(*args, **kwargs)
