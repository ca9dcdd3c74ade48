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

import importlib as _importlib  # noqa: E402
import importlib.abc as _abc  # noqa: E402
import importlib.util as _util  # noqa: E402

from adbench.problem import Instance, Problem, problem  # noqa: E402

#: Modules that moved when the package was laid out by stage: the old path
#: (and every submodule under it) names the same module object as the new one.
MOVED = {
    "adbench.core": "adbench.interpret.core",
    "adbench.primitives": "adbench.interpret.primitives",
    "adbench.xp": "adbench.interpret.xp",
    "adbench.counting": "adbench.interpret.counting",
    "adbench.accuracy": "adbench.measure.accuracy",
    "adbench.reference": "adbench.measure.reference",
    "adbench.isolation": "adbench.measure.isolation",
    "adbench.harness": "adbench.measure.harness",
    "adbench.crossover": "adbench.measure.crossover",
    "adbench.metrics": "adbench.measure.metrics",
    "adbench.plots": "adbench.report.plots",
    "adbench.catalogue": "adbench.report.catalogue",
    "adbench.reproduce": "adbench.studies.reproduce",
    "adbench.swell": "adbench.studies.swell",
    "adbench.fdsweep": "adbench.studies.fdsweep",
    "adbench.evaltrace": "adbench.studies.evaltrace",
    "adbench.fuzz": "adbench.studies.fuzz",
    "adbench.bench": "adbench.studies.bench",
    "adbench.expr": "adbench.studies.expr",
}


class _MovedFinder(_abc.MetaPathFinder, _abc.Loader):
    """Imports an old module path as the module now at its new path."""

    @staticmethod
    def _target(name: str) -> str | None:
        for old, new in MOVED.items():
            if name == old or name.startswith(old + "."):
                return new + name[len(old):]
        return None

    def find_spec(self, name, path=None, target=None):
        new = self._target(name)
        return None if new is None else _util.spec_from_loader(name, self)

    def create_module(self, spec):
        return _importlib.import_module(self._target(spec.name))

    def exec_module(self, module):
        pass  # the module was executed under its new name


if not any(isinstance(f, _MovedFinder) for f in _sys.meta_path):
    _sys.meta_path.append(_MovedFinder())

__version__ = "0.1.0"

__all__ = ["problem", "Problem", "Instance", "run", "__version__"]


def run(*args, **kwargs):
    """Run a comparison and return its rows as a pandas DataFrame; see
    :func:`adbench.measure.harness.run`."""
    from adbench.measure.harness import run as _run
    return _run(*args, **kwargs)
