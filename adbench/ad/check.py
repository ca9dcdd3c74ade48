"""A gradient checker: every derivative rule against two independent oracles.

:func:`check_grads` tests a function ``f(x, xp)`` at a point, in the spirit of
HIPS autograd's checker:

* forward mode against central differences: ``J v`` from one JVP against
  ``(f(x + h v) - f(x - h v)) / 2h`` along a random direction ``v``;
* reverse mode against forward mode, the dot-product test: for a random
  cotangent ``u``, ``u . (J v)`` (forward) equals ``(u^T J) . v`` (reverse) up
  to rounding, whatever J is. With one mode only, the other side of the test
  is the central difference;
* to order ``k``: the same checks, recursively, on the derivative functions
  ``x -> J(x) v`` and ``x -> u^T J(x)`` themselves, so that second derivatives
  (rules differentiated by the engine) are checked too.

A wrong rule shows up as a failed check, named in a :class:`GradCheckError`.
Finite differences need ``f`` smooth around ``x``: keep points away from kinks
(``abs``, ``maximum``, ``max``) and domain edges.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from adbench.ad import jvp, vjp
from adbench.interpret.xp import numpy_xp

__all__ = ["check_grads", "GradCheckError"]


class GradCheckError(AssertionError):
    """A derivative disagrees with its oracle; the message says which and by how much."""


def _plain(y) -> np.ndarray:
    return np.asarray(y, dtype=float)


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def check_grads(f: Callable[..., Any], x, *, order: int = 2,
                modes: Sequence[str] = ("fwd", "rev"), step: float = 1e-6,
                rtol: float = 1e-5, atol: float = 1e-6, dot_rtol: float = 1e-9,
                seed: int = 0, name: str = "f", _level: int = 1) -> None:
    """Check the derivatives of ``f(x, xp)`` at ``x`` up to ``order``.

    Parameters
    ----------
    f : a function written like a problem, ``f(x, xp)``, of an array ``x`` of
        any shape, returning a float or an array of any shape.
    x : the point.
    order : 1 checks J; 2 also the derivatives of ``x -> J v`` and
        ``x -> u^T J`` (second derivatives), and so on.
    modes : ``"fwd"``, ``"rev"`` or both.
    step : the central-difference step along the unit-scaled direction.
    rtol, atol : tolerance of a comparison with a central difference (whose
        error is about ``step^2 |f'''| + eps |f| / step``).
    dot_rtol : tolerance of the dot-product test (rounding only).
    seed : of the random directions (reproducible).

    Raises
    ------
    GradCheckError
        naming the failing check (``d(f)/dx . v`` against the central
        difference, or the dot-product test), the order, both values.
    ValueError
        for an unknown mode or an order below 1.
    """
    modes = tuple(modes)
    unknown = set(modes) - {"fwd", "rev"}
    if unknown or not modes:
        raise ValueError(f"modes must be among 'fwd', 'rev'; got {modes!r}")
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    x = np.array(x, dtype=float)
    rng = np.random.default_rng(seed)
    y = _plain(f(x, numpy_xp))
    v = rng.standard_normal(x.shape)
    u = rng.standard_normal(y.shape)

    def directional_fd() -> float:
        """u . (central difference of f along v)."""
        fp = _plain(f(x + step * v, numpy_xp))
        fm = _plain(f(x - step * v, numpy_xp))
        return float(np.sum(u * (fp - fm))) / (2 * step)

    fd = directional_fd()
    where = f"{name}, derivative order {_level}"
    if "fwd" in modes:
        _, jv = jvp(f)(x, v)
        u_jv = float(np.sum(u * _plain(jv)))
        if not _close(u_jv, fd, rtol, atol):
            raise GradCheckError(
                f"{where}: forward mode u.(J v) = {u_jv!r} but the central difference "
                f"gives {fd!r}")
    if "rev" in modes:
        _, uj = vjp(f)(x, u)
        uj_v = float(np.sum(_plain(uj) * v))
        if "fwd" in modes:
            if not _close(uj_v, u_jv, dot_rtol, dot_rtol * atol):
                raise GradCheckError(
                    f"{where}: dot-product test failed, reverse (u^T J).v = {uj_v!r} but "
                    f"forward u.(J v) = {u_jv!r}")
        elif not _close(uj_v, fd, rtol, atol):
            raise GradCheckError(
                f"{where}: reverse mode (u^T J).v = {uj_v!r} but the central difference "
                f"gives {fd!r}")
    if order > 1:
        if "fwd" in modes:
            def tangent_map(z, xp):
                return jvp(f)(z, v)[1]
            check_grads(tangent_map, x, order=order - 1, modes=modes, step=step, rtol=rtol,
                        atol=atol, dot_rtol=dot_rtol, seed=seed + 1,
                        name=f"x -> J(x) v of {name}", _level=_level + 1)
        if "rev" in modes:
            def cotangent_map(z, xp):
                return vjp(f)(z, u)[1]
            check_grads(cotangent_map, x, order=order - 1, modes=modes, step=step,
                        rtol=rtol, atol=atol, dot_rtol=dot_rtol, seed=seed + 2,
                        name=f"x -> u^T J(x) of {name}", _level=_level + 1)
