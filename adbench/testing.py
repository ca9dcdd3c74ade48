"""Assertions for your own tests: is a method's Jacobian right on a problem?

::

    from adbench.testing import assert_jacobian_close

    def test_reverse_mode_on_rosenbrock():
        assert_jacobian_close("rosenbrock", "ad-reverse", rtol=1e-12)

The Jacobian of the method at the problem's point is compared entry by entry
with the 80-digit mpmath reference (:mod:`adbench.measure.reference`) using the
project's error rho(a, b) = |a - b| / max(1, |a| + |b|): relative for large
entries, absolute for small ones. When entries are off, the AssertionError
lists the worst of them with their indices, values, reference values and
errors.

This module is also a pytest plugin (entry point ``adbench``, loaded
automatically once adbench is installed) providing the fixtures
``adbench_registry`` (the built-in problems plus those of
``--adbench-problems-dir DIR``) and ``assert_jacobian_close``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:  # numpy is imported when a check runs, not when pytest loads the plugin
    import numpy as np


__all__ = ["assert_jacobian_close", "jacobian_errors", "JacobianCheck"]

_REGISTRIES: dict = {}


@dataclass
class JacobianCheck:
    """The comparison of one Jacobian with the reference.

    jacobian, reference : (m, n) arrays; errors : rho per entry (inf where
    the method's entry is not finite); rtol : the accepted error.
    """

    label: str
    method: str
    x: np.ndarray
    jacobian: np.ndarray
    reference: np.ndarray
    errors: np.ndarray
    rtol: float

    @property
    def max_error(self) -> float:
        return float(self.errors.max()) if self.errors.size else 0.0

    @property
    def bad(self) -> np.ndarray:
        """Indices (row, column) of the entries over ``rtol``, worst first."""
        import numpy as np
        idx = np.argwhere(~(self.errors <= self.rtol))
        order = np.argsort(-np.nan_to_num(self.errors[tuple(idx.T)], nan=np.inf),
                           kind="stable")
        return idx[order]

    @property
    def ok(self) -> bool:
        return len(self.bad) == 0

    def describe(self, show: int = 5) -> str:
        """The failure message: counts, then the worst ``show`` entries."""
        import numpy as np
        bad = self.bad
        m, n = self.jacobian.shape
        head = (f"{self.method} Jacobian of {self.label} is off at {len(bad)} of {m * n} "
                f"entries: error rho(J, ref) = |J - ref| / max(1, |J| + |ref|) above "
                f"rtol={self.rtol:g} (worst {self.max_error:.3g})")
        rows = [("entry", "J", "reference", "error")]
        for i, j in bad[:show]:
            rows.append((f"[{i}, {j}]", repr(float(self.jacobian[i, j])),
                         repr(float(self.reference[i, j])), f"{self.errors[i, j]:.3g}"))
        widths = [max(len(r[k]) for r in rows) for k in range(4)]
        lines = [head] + ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                          .rstrip() for r in rows]
        if len(bad) > show:
            lines.append(f"  ... and {len(bad) - show} more")
        if self.x.size <= 8:
            lines.append(f"  at x = {np.array2string(self.x, separator=', ')}")
        return "\n".join(lines)


def _registry(problems_dirs: Sequence[str | Path]):
    from adbench.registry import load_registry

    key = tuple(str(Path(d).resolve()) for d in problems_dirs)
    if key not in _REGISTRIES:
        _REGISTRIES[key] = load_registry(problems_dirs)
    return _REGISTRIES[key]


def _instances(problem, sizes, problems_dirs):
    from adbench.problem import Instance, Problem

    if isinstance(problem, Instance):
        if sizes:
            raise ValueError("sizes= cannot be combined with an Instance (it has its sizes)")
        return [problem]
    if isinstance(problem, str):
        problem = _registry(problems_dirs).get(problem)
    elif not isinstance(problem, Problem):
        raise TypeError(f"problem must be a name, a Problem or an Instance, not "
                        f"{type(problem).__name__}")
    if sizes is None:
        return problem.instances()
    grid = {k: (list(v) if isinstance(v, (list, tuple, range)) else [v])
            for k, v in dict(sizes).items()}
    keys = list(grid)
    return [problem.instance(**dict(zip(keys, combo, strict=True)))
            for combo in itertools.product(*(grid[k] for k in keys))]


def jacobian_errors(problem, method, *, sizes: Mapping | None = None,
                    problems_dirs: Sequence[str | Path] = (), x=None,
                    rtol: float | None = None) -> list[JacobianCheck]:
    """Compare ``method``'s Jacobian with the reference on each instance of
    ``problem``; return one :class:`JacobianCheck` per instance (no assertion).

    problem : a registered name (looked up with ``problems_dirs`` added), a
        :class:`~adbench.problem.Problem` or an :class:`~adbench.problem.Instance`.
    method : a method name or a :class:`~adbench.methods.Method`.
    sizes : ``{size parameter: value or [values]}``; default: the problem's
        default sizes (every combination).
    x : the point (length n); default: the problem's x0.
    rtol : the accepted rho per entry; default: the method's tolerance.

    Raises :class:`~adbench.methods.Unsupported` if the method cannot handle
    the problem, and whatever the method or the reference raise.
    """
    import numpy as np
    from adbench.measure.accuracy import rho
    from adbench.measure.reference import reference_jacobian
    from adbench.methods import Method, get_method

    meth = method if isinstance(method, Method) else get_method(method)
    tol = meth.tolerance if rtol is None else float(rtol)
    if not tol >= 0 or tol == float("inf"):
        raise ValueError(f"rtol={rtol!r} is not allowed: the accepted error is a finite "
                         "number >= 0 (such as 1e-12)")
    checks = []
    for inst in _instances(problem, sizes, problems_dirs):
        point = inst.x0.copy() if x is None else np.asarray(x, dtype=float).reshape(-1)
        if point.shape != (inst.n,):
            raise ValueError(f"x has {point.size} entries; {inst.label} takes n = {inst.n}")
        with np.errstate(all="ignore"):
            J = np.asarray(meth.prepare(inst).jacobian(point.copy()), dtype=float)
        ref = reference_jacobian(inst, point).jacobian
        if J.shape != ref.shape:
            raise AssertionError(f"{meth.name} Jacobian of {inst.label} has shape {J.shape}, "
                                 f"expected {ref.shape}")
        with np.errstate(all="ignore"):
            err = np.where(np.isfinite(J), rho(J, ref), np.inf)
        checks.append(JacobianCheck(inst.label, meth.name, point, J, ref, err, tol))
    return checks


def assert_jacobian_close(problem, method, rtol: float | None = None, *,
                          sizes: Mapping | None = None,
                          problems_dirs: Sequence[str | Path] = (), x=None,
                          show: int = 5) -> list[JacobianCheck]:
    """Assert that ``method`` differentiates ``problem`` to within ``rtol``.

    Every entry of the m x n Jacobian must satisfy
    rho(J, ref) = |J - ref| / max(1, |J| + |ref|) <= rtol against the
    80-digit reference (``rtol`` defaults to the method's tolerance: 1e-12
    for AD, symbolic and manual). Arguments as :func:`jacobian_errors`.

    On failure, raises AssertionError listing, per failing instance, how many
    entries are off and the ``show`` worst with index, value, reference and
    error. A method that cannot handle the problem fails with its reason.
    Returns the checks on success.
    """
    __tracebackhide__ = True  # pytest: show the caller's line, not this one
    from adbench.methods import Unsupported

    try:
        checks = jacobian_errors(problem, method, sizes=sizes, problems_dirs=problems_dirs,
                                 x=x, rtol=rtol)
    except Unsupported as exc:
        name = method if isinstance(method, str) else method.name
        raise AssertionError(f"{name} cannot differentiate {getattr(problem, 'name', problem)}:"
                             f" {exc}") from None
    failed = [c for c in checks if not c.ok]
    if failed:
        raise AssertionError("\n".join(c.describe(show) for c in failed))
    return checks


# --------------------------------------------------------------------------
# pytest plugin (entry point "adbench")
# --------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - plain use without pytest
    pytest = None

if pytest is not None:

    def pytest_addoption(parser):
        parser.addoption("--adbench-problems-dir", action="append", default=[],
                         metavar="DIR", help="adbench: also load the problem files of DIR "
                         "for the adbench_registry fixture (repeatable).")

    @pytest.fixture(scope="session")
    def adbench_registry(request):
        """The built-in problems plus those of ``--adbench-problems-dir``."""
        return _registry(request.config.getoption("--adbench-problems-dir") or ())

    @pytest.fixture(name="assert_jacobian_close")
    def _assert_jacobian_close_fixture(request):
        """:func:`assert_jacobian_close`, looking problems up with the
        ``--adbench-problems-dir`` folders as well."""
        dirs = tuple(request.config.getoption("--adbench-problems-dir") or ())

        def check(problem, method, rtol=None, **kwargs):
            __tracebackhide__ = True
            kwargs.setdefault("problems_dirs", dirs)
            return assert_jacobian_close(problem, method, rtol, **kwargs)

        return check
