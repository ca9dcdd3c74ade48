"""The table's scalar primitives spelled in C: an interpretation that writes C.

A primitive's C spelling is derived from its float implementation
(:attr:`~adbench.interpret.core.Primitive.scalar`), not written a second time:

* Python's arithmetic operators (``operator.add``, ``sub``, ``mul``,
  ``truediv``, ``neg``) are C's ``+ - * /`` and unary ``-`` on doubles, with
  the same IEEE 754 rounding;
* a function of Python's :mod:`math` module that is the C math library's
  function of the same name (``math.sin`` calls C's ``sin``; the names are
  :data:`C_MATH`) is spelled by that name;
* a few other float implementations (builtins ``abs``, ``max``, ``min``,
  ``math.hypot``, floor's ``_floor``...) and two primitives that have none
  (``sign``, ``where``: numpy's function on a double) are spelled by
  :data:`C_FUNCTIONS` and :data:`C_WITHOUT_FLOAT`, each as the C expression that
  gives the same double (nan and the sign of zero included; ``hypot`` is C's,
  which may differ from CPython's own in the last bit).

Any other float implementation (Python code such as exp2's ``_exp2``, the
``%`` of mod) has no C spelling: :class:`NoCSpelling`, with the primitive's name.

:class:`CTrace` runs the table's functions on :class:`CExpr` boxes: applying a
primitive to them gives a box holding the C expression of its result. The
derivative rules (``lin``) are written with the table's functions, so running a
rule on boxes gives the C text of that very rule: ``sin``'s
``multiply(g, cos(x))`` becomes ``(g7 * cos(v3))``. Constants are folded by
the table itself (a rule's arithmetic on plain floats is done in Python, as the
engine does it).

A rule may read the value of a tape entry (``primal(y) == 0`` in ``pow``'s, the
selection of ``maximum``'s): that value is a :class:`CNumber`, the entry's C
variable with its value where the tape was recorded. Comparing it gives a
:class:`CBool`, a C condition: used as a ``where``'s condition it stays one
(``maximum``'s derivative becomes ``((v3 > v4) ? g7 : 0.0)``), and a Python
decision on it (``if``, ``not``, ``np.any``) takes the recorded outcome and adds
a guard to :attr:`CTrace.guards`, which the C code tests as it tests the tape's
own guards. Any other use of a value (arithmetic on it) raises
:class:`NoCSpelling`.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from adbench.interpret.core import (
    COMPARISON_OPERATORS,
    INFIX_OPERATORS,
    BoxBase,
    Primitive,
    Trace,
    UnknownValue,
    primal,
)
from adbench.interpret.primitives import Box
from adbench.interpret.primitives.piecewise import _ceil, _floor, _round

__all__ = ["C_MATH", "C_FUNCTIONS", "C_WITHOUT_FLOAT", "CBool", "CExpr", "CNumber", "CTrace",
           "NoCSpelling", "c_literal", "c_spelling"]

#: The functions of Python's math module that wrap the C99 <math.h> function of the same
#: name and signature (CPython's mathmodule.c calls libm for each of these).
C_MATH = frozenset({
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt",
    "pow", "erf", "erfc", "lgamma", "fabs", "cbrt", "exp2", "copysign", "fmod"})


#: Float implementations that are not a C math function of the same name, each with the C
#: expression (operands {0}, {1}) of the same function of doubles. ``+ 0.0`` turns -0.0
#: into 0.0 (and leaves every other double alone), as ``float(math.floor(-0.0))`` does.
C_FUNCTIONS = {
    builtins.abs: "fabs({0})",
    builtins.max: "(({1}) > ({0}) ? ({1}) : ({0}))",  # max(a, b) is b only where b > a
    builtins.min: "(({1}) < ({0}) ? ({1}) : ({0}))",
    math.hypot: "hypot({0}, {1})",  # C's; CPython computes its own (within an ulp)
    _floor: "(floor({0}) + 0.0)",
    _ceil: "(ceil({0}) + 0.0)",
    _round: "(nearbyint({0}) + 0.0)",  # half to even in C's default rounding, as round
}
#: Primitives without a float implementation, by name, each with the C expression of
#: numpy's function on a double (``np.sign(-0.0)`` is 0.0, ``np.sign(nan)`` nan).
C_WITHOUT_FLOAT = {
    "sign": "(({0}) > 0.0 ? 1.0 : ({0}) < 0.0 ? -1.0 : ({0}) + 0.0)",
    "where": "(({0}) ? ({1}) : ({2}))",
}


class NoCSpelling(Exception):
    """Something that cannot be written as a C expression on doubles."""


def c_spelling(prim: Primitive):
    """``spell(*operands) -> str``: the C expression of ``prim`` applied to the
    C expressions ``operands``; :class:`NoCSpelling` if it has none."""
    scalar = prim.scalar
    infix = INFIX_OPERATORS.get(scalar)  # the same symbols in C, on doubles
    if infix is not None:
        return lambda a, b: f"({a} {infix} {b})"
    if scalar is operator.neg:
        return lambda a: f"(-{a})"
    name = getattr(scalar, "__name__", None)
    if getattr(scalar, "__module__", None) == "math" and name in C_MATH:
        return lambda *operands: f"{name}({', '.join(operands)})"
    template = C_WITHOUT_FLOAT.get(prim.name) if scalar is None else _template(scalar)
    if template is not None:
        return lambda *operands: template.format(*operands)
    how = ("no float implementation" if scalar is None
           else f"its float implementation {getattr(scalar, '__qualname__', scalar)!s} "
                "is not a C math function")
    raise NoCSpelling(f"{prim.name} has no C spelling ({how})")


def _template(scalar):
    try:
        return C_FUNCTIONS.get(scalar)
    except TypeError:  # an unhashable implementation
        return None


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


#: The value under a :class:`CExpr` that is not a tape entry's: unknown until the C code runs.
_UNKNOWN = UnknownValue(NoCSpelling, "a derivative rule reads the value of an argument")

#: numpy's comparison functions, as C spells them.
_UFUNC_COMPARISONS = {np.greater: ">", np.less: "<", np.greater_equal: ">=",
                      np.less_equal: "<=", np.equal: "==", np.not_equal: "!="}
_OPERATOR_COMPARISONS = COMPARISON_OPERATORS


def _text(v) -> str:
    """C text of a comparison's operand: a CNumber's variable, else a constant."""
    return v.text if type(v) is CNumber else c_literal(v)


def _known(v):
    return v.value if type(v) is CNumber else v


class CBool:
    """A condition the C code evaluates (``text``), and its ``outcome`` where the tape was
    recorded. ``&``, ``|`` and ``~`` combine conditions; a Python decision on it
    (``bool``) returns the outcome and adds ``(text, outcome)`` to the trace's guards."""

    __slots__ = ("text", "outcome", "trace")

    def __init__(self, text: str, outcome, trace: "CTrace"):
        self.text = text
        self.outcome = bool(outcome)
        self.trace = trace

    def __bool__(self) -> bool:
        self.trace.guards.append((self.text, self.outcome))
        return self.outcome

    def _combine(self, other, op: str, both: bool) -> "CBool":
        if type(other) is CBool:
            return CBool(f"({self.text} {op} {other.text})", both, self.trace)
        if isinstance(other, (bool, np.bool_)):
            return CBool(f"({self.text} {op} {int(bool(other))})", both, self.trace)
        raise NoCSpelling(f"a condition combined with a {type(other).__name__}")

    def __and__(self, other):
        return self._combine(other, "&&", self.outcome and bool(_known_outcome(other)))

    def __or__(self, other):
        return self._combine(other, "||", self.outcome or bool(_known_outcome(other)))

    __rand__, __ror__ = __and__, __or__

    def __invert__(self) -> "CBool":
        return CBool(f"(!{self.text})", not self.outcome, self.trace)

    def any(self, *args, **kwargs) -> "CBool":  # numpy.any and numpy.all of one condition
        return self

    all = any

    def __repr__(self) -> str:
        return f"CBool({self.text}, {self.outcome})"


def _known_outcome(v):
    return v.outcome if type(v) is CBool else v


def _comparison(op):
    """The CNumber method of the comparison ``op``."""
    def method(self, other):
        return self._compare(op, other)
    method.__name__ = f"__{op.__name__}__"
    return method


class CNumber:
    """The value of a tape entry under a :class:`CTrace`: its C variable (``text``) and
    its ``value`` where the tape was recorded. Comparisons (Python's and numpy's, and
    ``isnan``) give a :class:`CBool`; anything else refuses (:class:`NoCSpelling`)."""

    __slots__ = ("text", "value", "trace")

    def __init__(self, text: str, value: float, trace: "CTrace"):
        self.text = text
        self.value = value
        self.trace = trace

    def _compare(self, op, other) -> CBool:
        try:
            outcome = op(self.value, _known(other))
        except TypeError:
            raise NoCSpelling("a comparison of a value with a non-number") from None
        return CBool(f"({self.text} {_OPERATOR_COMPARISONS[op]} {_text(other)})", outcome,
                     self.trace)

    # <, <=, >, >=, ==, != : each a condition (see _compare)
    __lt__, __le__, __gt__, __ge__, __eq__, __ne__ = (
        _comparison(op) for op in (operator.lt, operator.le, operator.gt, operator.ge,
                                   operator.eq, operator.ne))

    __hash__ = None

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs:
            c_op = _UFUNC_COMPARISONS.get(ufunc)
            if c_op is not None and len(inputs) == 2:
                a, b = inputs
                return CBool(f"({_text(a)} {c_op} {_text(b)})",
                             ufunc(_known(a), _known(b)), self.trace)
            if ufunc is np.isnan and len(inputs) == 1:
                return CBool(f"isnan({self.text})", math.isnan(self.value), self.trace)
        raise NoCSpelling("a derivative rule computes with the value of an argument "
                          f"(numpy.{ufunc.__name__})")

    def _refuse(self, *args):
        raise NoCSpelling("a derivative rule computes with the value of an argument")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = __abs__ = _refuse
    __bool__ = __float__ = __int__ = __index__ = __array__ = _refuse

    def __repr__(self) -> str:
        return f"CNumber({self.text}, {self.value!r})"


class CExpr(Box):
    """A double-valued C expression (``text``) under a :class:`CTrace`; its value is a
    :class:`CNumber` for a tape entry's variable, unknown for any other expression."""

    __slots__ = ("text",)

    def __init__(self, text: str, trace: CTrace, value=_UNKNOWN):
        super().__init__(value, trace)
        self.text = text

    def __repr__(self) -> str:
        return f"CExpr({self.text})"


class CTrace(Trace):
    """The interpretation that writes C: a primitive applied to :class:`CExpr`
    boxes (and plain numbers) gives the box of its C expression."""

    __slots__ = ("guards",)

    def __init__(self):
        super().__init__()
        #: ``(C condition, outcome)`` of each decision a rule took on a value (CBool)
        self.guards: list = []

    def expr(self, text: str, value=None) -> CExpr:
        """The box of C expression ``text``; ``value``: the value of the variable
        ``text`` where the tape was recorded, which rules may then compare."""
        if value is None:
            return CExpr(text, self)
        return CExpr(text, self, CNumber(text, float(value), self))

    def operand(self, v) -> str:
        t = type(v)
        if t is CExpr:
            if v.trace is not self:
                raise NoCSpelling("a value of another C trace")
            return v.text
        if (t is CBool or t is CNumber) and v.trace is self:
            return v.text
        return c_literal(v)

    def process(self, prim, args, params):
        if params:
            raise NoCSpelling(f"{prim.name} with parameters {sorted(params)}")
        spell = c_spelling(prim)
        return CExpr(spell(*(self.operand(a) for a in args)), self)

    def compare(self, op, a, b):
        """``a < b`` on boxes: a :class:`CBool` where the values are known."""
        c_op = _OPERATOR_COMPARISONS.get(op)
        a, b = primal(a), primal(b)
        if c_op is None or not (type(a) is CNumber or type(b) is CNumber):
            raise NoCSpelling("a derivative rule compares values")
        return CBool(f"({_text(a)} {c_op} {_text(b)})", op(_known(a), _known(b)), self)
