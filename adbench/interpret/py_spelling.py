"""The partial derivatives of unary primitives, written out as Python float code.

Reverse mode records a unary operation on a Python float with its partial
derivative d out / d x (:attr:`~adbench.interpret.core.Primitive.scalar_partial`),
so that the backward sweep multiplies instead of interpreting the rule. That
partial is the table's rule ``lin[0](1.0, x, out)``; this module derives it from
the rule, once, when the table is complete: the rule runs on :class:`FloatExpr`
boxes and writes itself as one Python expression over the primitives' float
implementations, ``math.cos(x)`` for sin, ``(0.5 / out)`` for sqrt. The
expression is compiled into ``partial(x, out)``. Nothing is written twice: a
changed rule changes its partial.

Constants are folded by the table itself (a rule's arithmetic on plain floats
is done in Python, as the engine does it), and ``1.0 * e`` is written ``e``
(exact in IEEE 754). A rule with no such expression has no partial (the sweep
calls the rule, as before): one that reads a value (a comparison, ``pow``'s
``primal(y) == 0``), uses a primitive with parameters or without a float
implementation, or a constant that is not a finite number.
"""

from __future__ import annotations

import math
import operator

from adbench.interpret.core import INFIX_OPERATORS, BoxBase, Primitive, Trace, UnknownValue
from adbench.interpret.primitives import Box
from adbench.interpret.primitives.rules import LinMarker

__all__ = ["FloatExpr", "FloatTrace", "NoPythonSpelling", "derive_scalar_partial"]



class NoPythonSpelling(Exception):
    """A rule that cannot be written as one expression on floats."""


#: The value under a :class:`FloatExpr`: unknown when the code is written.
_UNKNOWN = UnknownValue(NoPythonSpelling, "the rule reads the value of its argument")


class FloatExpr(Box):
    """A float-valued Python expression (``text``) under a :class:`FloatTrace`."""

    __slots__ = ("text",)

    def __init__(self, text: str, trace: FloatTrace):
        super().__init__(_UNKNOWN, trace)
        self.text = text

    def __repr__(self) -> str:
        return f"FloatExpr({self.text})"


class FloatTrace(Trace):
    """The interpretation that writes Python: a primitive applied to
    :class:`FloatExpr` boxes (and plain numbers) gives the box of its expression,
    calling the primitive's float implementation (``namespace`` holds the
    functions the expressions name)."""

    __slots__ = ("namespace",)

    def __init__(self):
        super().__init__()
        self.namespace: dict = {"math": math}

    def operand(self, v) -> str:
        if isinstance(v, BoxBase):
            if type(v) is not FloatExpr or v.trace is not self:
                raise NoPythonSpelling("a value of another interpretation")
            return v.text
        if (type(v) is float and math.isfinite(v)) or type(v) is int:
            return repr(float(v))
        raise NoPythonSpelling(f"a constant {v!r}")

    def spell(self, prim: Primitive, operands: list) -> str:
        scalar = prim.scalar
        if scalar is None:
            raise NoPythonSpelling(f"{prim.name} has no float implementation")
        infix = INFIX_OPERATORS.get(scalar)
        if infix is not None:
            a, b = operands
            if infix == "*" and "1.0" in (a, b):  # 1.0 * e is e, exactly
                return b if a == "1.0" else a
            return f"({a} {infix} {b})"
        if scalar is operator.neg:
            return f"(-{operands[0]})"
        name = getattr(scalar, "__name__", "")
        if getattr(scalar, "__module__", None) == "math" and getattr(math, name, None) is scalar:
            fn = f"math.{name}"
        else:
            fn = f"scalar_{prim.name}"
            self.namespace[fn] = scalar
        return f"{fn}({', '.join(operands)})"

    def process(self, prim, args, params):
        if params:
            raise NoPythonSpelling(f"{prim.name} with parameters {sorted(params)}")
        return FloatExpr(self.spell(prim, [self.operand(a) for a in args]), self)

    def compare(self, op, a, b):
        raise NoPythonSpelling("the rule compares values")


def derive_scalar_partial(prim: Primitive):
    """``partial(x, out)``: ``prim.lin[0](1.0, x, out)`` on Python floats, as one
    compiled expression (its text in ``partial.expression``), or None when the
    rule has none (see the module docstring)."""
    if (prim.scalar is None or prim.lin is None or len(prim.lin) != 1
            or isinstance(prim.lin[0], LinMarker) or not callable(prim.lin[0])):
        return None
    trace = FloatTrace()
    try:
        result = prim.lin[0](1.0, FloatExpr("x", trace), FloatExpr("out", trace))
        text = trace.operand(result)
    except NoPythonSpelling:
        return None
    except Exception:  # noqa: BLE001 - a rule that fails on boxes has no expression
        return None
    namespace = trace.namespace
    exec(compile(f"def partial(x, out):\n    return {text}\n",
                 f"<{prim.name}.scalar_partial>", "exec"), namespace)
    partial = namespace["partial"]
    partial.__qualname__ = f"{prim.name}.scalar_partial"
    partial.expression = text
    return partial
