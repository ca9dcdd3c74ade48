"""The one interface every differentiator implements.

A :class:`Method` turns a problem :class:`~adbench.problem.Instance` into a
:class:`Prepared` differentiator in :meth:`Method.prepare` (symbolic
derivation, compilation, tracing: the work timed as setup), whose
:attr:`Prepared.jacobian` then maps a point x (length n) to the m x n Jacobian.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from adbench.problem import Instance

__all__ = ["Method", "Prepared", "Unsupported", "as_jacobian", "check_jacobian_shape",
           "jacobian_shape_error"]


class Unsupported(Exception):
    """This method cannot differentiate this problem; the message says why."""


@dataclass
class Prepared:
    """A differentiator ready to evaluate.

    jacobian : x -> (m, n) array of float64.
    traceable : the same computation written with the primitive table's
        functions, so that it also runs on boxed values (op counting); None
        when ``jacobian`` itself is traceable.
    info : extra result columns produced while preparing (expression sizes...).
    """

    jacobian: Callable[[np.ndarray], np.ndarray]
    traceable: Callable | None = None
    info: dict = field(default_factory=dict)


class Method:
    """Base class: subclasses set ``name``, ``description``, ``tolerance`` and
    implement :meth:`prepare`."""

    name: str = ""
    description: str = ""
    #: Largest accepted relative error (rho, see adbench.measure.accuracy) in the tests.
    tolerance: float = 1e-12
    #: Whether the method's error comes from approximation (finite differences).
    approximate: bool = False
    #: The libraries of adbench.measure.isolation.THREADED_RUNTIMES its measurement
    #: runs (a peer's own library); adbench's methods run none.
    runtimes: tuple = ()

    def prepare(self, inst: Instance) -> Prepared:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<method {self.name}>"


def jacobian_shape_error(shape: tuple, m: int, n: int) -> str | None:
    """Why an array of ``shape`` is not an m x n Jacobian, or None if it is one.

    Accepted: ``(m, n)``; for a scalar function (m == 1) also ``(n,)``, the
    gradient; for a function of one variable (n == 1) also ``(m,)``; a scalar
    for 1 x 1. Only the shape is looked at, never the size alone: a transposed
    (n, m) Jacobian has the right size and would be silently scrambled by a reshape.
    """
    shape = tuple(shape)
    accepted = [(m, n)]
    if m == 1:
        accepted.append((n,))
    if n == 1:
        accepted.append((m,))
    if m == n == 1:
        accepted.append(())
    if shape in accepted:
        return None
    hint = " (transposed?)" if m != n and shape == (n, m) else ""
    return (f"Jacobian has shape {shape}{hint}, expected ({m}, {n}): "
            f"m = {m} rows (outputs) by n = {n} columns (inputs)")


def check_jacobian_shape(shape: tuple, m: int, n: int) -> None:
    """ValueError naming the given and the expected shape unless
    :func:`jacobian_shape_error` accepts ``shape``."""
    error = jacobian_shape_error(shape, m, n)
    if error is not None:
        raise ValueError(error)


def as_jacobian(J, m: int, n: int) -> np.ndarray:
    """``J`` as an (m, n) float64 array; ValueError naming the shapes if it is
    not one (see :func:`jacobian_shape_error` for the shapes accepted)."""
    arr = np.asarray(J)
    if arr.dtype == object:
        arr = arr.astype(float)
    check_jacobian_shape(arr.shape, m, n)
    return arr.reshape(m, n).astype(float, copy=False)
