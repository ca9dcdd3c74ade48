"""adbench: a workbench comparing ways of computing derivatives.

Manual, numerical (finite differences), symbolic (SymPy) and automatic
differentiation (forward and reverse mode) run on the same problem
definitions and are measured side by side.
"""

import importlib as _importlib
import importlib.abc as _abc
import importlib.util as _util
import sys as _sys
import types as _types

# Nothing here imports numpy or touches the environment: ``import adbench`` (and
# the pytest plugin adbench.testing) must not change an unrelated program. The
# command line pins the BLAS threads itself (adbench.threads).

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

#: The problem API, loaded (with numpy) when first used.
_LAZY = {"Problem": "adbench.problem", "Instance": "adbench.problem"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(_importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'adbench' has no attribute {name!r}")


class _Package(_types.ModuleType):
    """``adbench.problem`` is the decorator, as ``from adbench import problem``
    expects, although a submodule of that name exists: importing the submodule
    binds it on the package, which this property ignores."""

    @property
    def problem(self):
        return _importlib.import_module("adbench.problem").problem

    @problem.setter
    def problem(self, value):
        pass  # the import system binding the submodule adbench.problem


_sys.modules[__name__].__class__ = _Package

__all__ = ["problem", "Problem", "Instance", "run", "__version__"]


def run(*args, **kwargs):
    """Run a comparison and return its rows as a pandas DataFrame; see
    :func:`adbench.measure.harness.run`. Like the command line, it pins the
    BLAS/OpenMP pools to one thread (:func:`adbench.threads.pin_blas_threads`)
    if numpy is not imported yet; set ``OMP_NUM_THREADS`` etc. to choose otherwise."""
    from adbench.threads import pin_blas_threads
    pin_blas_threads()
    from adbench.measure.harness import run as _run
    return _run(*args, **kwargs)
