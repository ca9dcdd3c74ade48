"""adbench: a workbench comparing ways of computing derivatives.

Manual, numerical (finite differences), symbolic (SymPy) and automatic
differentiation (forward and reverse mode) run on the same problem
definitions and are measured side by side.
"""

from adbench.problem import Instance, Problem, problem

__version__ = "0.1.0"

__all__ = ["problem", "Problem", "Instance", "run", "__version__"]


def run(*args, **kwargs):
    """Run a comparison and return its rows as a pandas DataFrame; see
    :func:`adbench.harness.run`."""
    from adbench.harness import run as _run
    return _run(*args, **kwargs)
