"""The table's scalar primitives spelled in C: an interpretation that writes C.

A primitive's C spelling is derived from its float implementation
(:attr:`~adbench.interpret.core.Primitive.scalar`), not written a second time:

* Python's arithmetic operators (``operator.add``, ``sub``, ``mul``,
  ``truediv``, ``neg``) are C's ``+ - * /`` and unary ``-`` on doubles, with
  the same IEEE 754 rounding;
* a function of Python's :mod:`math` module that is the C math library's
  function of the same name (``math.sin`` calls C's ``sin``; the names are
  :data:`C_MATH`) is spelled by that name.

Any other float implementation (Python code such as floor's ``_floor`` or
exp2's ``_exp2``, a builtin such as ``abs``, or none, as for ``sign``) has no C
spelling: :class:`NoCSpelling`, with the primitive's name.

:class:`CTrace` runs the table's functions on :class:`CExpr` boxes: applying a
primitive to them gives a box holding the C expression of its result. The
derivative rules (``lin``) are written with the table's functions, so running a
rule on boxes gives the C text of that very rule: ``sin``'s
``multiply(g, cos(x))`` becomes ``(g7 * cos(v3))``. Constants are folded by
the table itself (a rule's arithmetic on plain floats is done in Python, as the
engine does it). A rule that decides by a value (``primal(y) == 0`` in
``pow``'s) cannot be one expression, and reading the value of a box raises
:class:`NoCSpelling`.
"""

from __future__ import annotations

import math
import operator

from adbench.interpret.core import BoxBase, Primitive, Trace
from adbench.interpret.primitives import Box

__all__ = ["C_MATH", "CExpr", "CTrace", "NoCSpelling", "c_literal", "c_spelling"]

#: The functions of Python's math module that wrap the C99 <math.h> function of the same
#: name and signature (CPython's mathmodule.c calls libm for each of these).
C_MATH = frozenset({
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt",
    "pow", "erf", "erfc", "lgamma", "fabs", "cbrt", "exp2", "copysign", "fmod"})

_C_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/"}


class NoCSpelling(Exception):
    """Something that cannot be written as a C expression on doubles."""


def c_spelling(prim: Primitive):
    """``spell(*operands) -> str``: the C expression of ``prim`` applied to the
    C expressions ``operands``; :class:`NoCSpelling` if it has none."""
    scalar = prim.scalar
    infix = _C_INFIX.get(scalar)
    if infix is not None:
        return lambda a, b: f"({a} {infix} {b})"
    if scalar is operator.neg:
        return lambda a: f"(-{a})"
    name = getattr(scalar, "__name__", None)
    if getattr(scalar, "__module__", None) == "math" and name in C_MATH:
        return lambda *operands: f"{name}({', '.join(operands)})"
    how = ("no float implementation" if scalar is None
           else f"its float implementation {getattr(scalar, '__qualname__', scalar)!s} "
                "is not a C math function")
    raise NoCSpelling(f"{prim.name} has no C spelling ({how})")


def c_literal(value) -> str:
    """A double literal equal to ``value`` (a float, int, bool or numpy float):
    Python's shortest repr, which C reads back to the same double."""
    if isinstance(value, BoxBase) or not isinstance(value, (float, int)) \
            and not (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0
                     and value.dtype.kind in "fib"):
        raise NoCSpelling(f"a constant of type {type(value).__name__}")
    v = float(value)
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    text = repr(v)
    return f"({text})" if v < 0 or text.startswith("-") else text


class _Unknown:
    """The value under a :class:`CExpr`: unknown until the C code runs. Any use of
    it (a comparison, a truth value, a conversion) raises :class:`NoCSpelling`."""

    __slots__ = ()

    def _refuse(self, *args):
        raise NoCSpelling("a derivative rule reads the value of an argument")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __bool__ = __float__ = __int__ = __index__ = __array__ = _refuse
    __hash__ = None


_UNKNOWN = _Unknown()


class CExpr(Box):
    """A double-valued C expression (``text``) under a :class:`CTrace`."""

    __slots__ = ("text",)

    def __init__(self, text: str, trace: CTrace):
        super().__init__(_UNKNOWN, trace)
        self.text = text

    def __repr__(self) -> str:
        return f"CExpr({self.text})"


class CTrace(Trace):
    """The interpretation that writes C: a primitive applied to :class:`CExpr`
    boxes (and plain numbers) gives the box of its C expression."""

    __slots__ = ()

    def expr(self, text: str) -> CExpr:
        return CExpr(text, self)

    def operand(self, v) -> str:
        if type(v) is CExpr:
            if v.trace is not self:
                raise NoCSpelling("a value of another C trace")
            return v.text
        return c_literal(v)

    def process(self, prim, args, params):
        if params:
            raise NoCSpelling(f"{prim.name} with parameters {sorted(params)}")
        spell = c_spelling(prim)
        return CExpr(spell(*(self.operand(a) for a in args)), self)

    def compare(self, op, a, b):
        raise NoCSpelling("a derivative rule compares values")
