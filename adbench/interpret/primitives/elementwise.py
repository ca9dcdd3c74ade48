"""Elementwise primitives: arithmetic, exp and log, trigonometric, and the
piecewise ones (sign, abs, maximum, minimum, where).

Each entry gives its implementations and its ``lin`` rules (see :mod:`.rules`);
the user-facing function of each follows the table.
"""

from __future__ import annotations

import builtins
import math
import operator

import mpmath
import numpy as np
import sympy

from adbench.interpret.core import apply, primal
from adbench.interpret.primitives.rules import (
    IDENTITY,
    NEGATE,
    TimesArg,
    _count_nothing,
    _elementwise_function,
    _vec,
    elementwise,
)


def _sym_where(c, a, b):
    return sympy.Piecewise((a, c), (b, True))


def _mp_sign(x):
    return mpmath.sign(x)


def _pow_is_transcendental(args, out=None, **params) -> bool:
    y = primal(args[1])
    return not (np.ndim(y) == 0 and float(np.real(y)).is_integer())


add_p = elementwise("add", np.add, scalar=operator.add, lin=(IDENTITY, IDENTITY))
sub_p = elementwise("sub", np.subtract, scalar=operator.sub, lin=(IDENTITY, NEGATE))
mul_p = elementwise("mul", np.multiply, scalar=operator.mul, lin=(TimesArg(1), TimesArg(0)))
div_p = elementwise("div", np.true_divide, scalar=operator.truediv,
                    uses=(1, "out"),
                    lin=(lambda g, x, y, out: divide(g, y),
                         lambda g, x, y, out: negative(divide(multiply(g, out), y))))
neg_p = elementwise("neg", np.negative, scalar=operator.neg, lin=(NEGATE,))
def _pow_base(g, x, y, out):
    """g * y x^(y - 1), and 0 where y == 0: there x^(y - 1) = 1/x is inf at x = 0,
    but d/dx x^0 = 0 everywhere (the third derivative of x**2 at 0 was nan)."""
    zero = primal(y) == 0
    if not np.any(zero):
        return multiply(g, multiply(y, power(x, subtract(y, 1))))
    with np.errstate(divide="ignore", invalid="ignore"):  # 1/0 in the branch masked out
        return multiply(g, where(zero, 0.0, multiply(y, power(x, subtract(y, 1)))))


pow_p = elementwise("pow", np.power, scalar=math.pow,
                    uses=(0, 1, "out"),
                    lin=(_pow_base,
                         lambda g, x, y, out: multiply(g, multiply(out, log(x)))))
exp_p = elementwise("exp", np.exp, scalar=math.exp, mp=_vec(mpmath.exp), sym=_vec(sympy.exp),
                    transcendental=True, uses=("out",), lin=(lambda g, x, out: multiply(g, out),))
log_p = elementwise("log", np.log, scalar=math.log, mp=_vec(mpmath.log), sym=_vec(sympy.log),
                    transcendental=True, uses=(0,), lin=(lambda g, x, out: divide(g, x),))
log1p_p = elementwise("log1p", np.log1p, uses=(0,), scalar=math.log1p, mp=_vec(mpmath.log1p),
                      sym=_vec(lambda x: sympy.log(1 + x)), transcendental=True,
                      lin=(lambda g, x, out: divide(g, add(1.0, x)),))
expm1_p = elementwise("expm1", np.expm1, uses=("out",), scalar=math.expm1, mp=_vec(mpmath.expm1),
                      sym=_vec(lambda x: sympy.exp(x) - 1), transcendental=True,
                      lin=(lambda g, x, out: multiply(g, add(out, 1.0)),))
sin_p = elementwise("sin", np.sin, scalar=math.sin, mp=_vec(mpmath.sin), sym=_vec(sympy.sin),
                    transcendental=True, uses=(0,), lin=(lambda g, x, out: multiply(g, cos(x)),))
cos_p = elementwise("cos", np.cos, scalar=math.cos, mp=_vec(mpmath.cos), sym=_vec(sympy.cos),
                    transcendental=True, uses=(0,),
                    lin=(lambda g, x, out: negative(multiply(g, sin(x))),))
tan_p = elementwise("tan", np.tan, scalar=math.tan, mp=_vec(mpmath.tan), sym=_vec(sympy.tan),
                    transcendental=True, uses=("out",),
                    lin=(lambda g, x, out: multiply(g, add(1.0, multiply(out, out))),))
tanh_p = elementwise("tanh", np.tanh, uses=("out",), scalar=math.tanh, mp=_vec(mpmath.tanh),
                     sym=_vec(sympy.tanh), transcendental=True,
                     lin=(lambda g, x, out: multiply(g, subtract(1.0, multiply(out, out))),))
sqrt_p = elementwise("sqrt", np.sqrt, uses=("out",), scalar=math.sqrt, mp=_vec(mpmath.sqrt),
                     sym=_vec(sympy.sqrt), transcendental=True,
                     lin=(lambda g, x, out: divide(multiply(g, 0.5), out),))
sign_p = elementwise("sign", np.sign, mp=_vec(_mp_sign), sym=_vec(sympy.sign),
                     analytic=False, lin=(None,), nondiff=(0,))
abs_p = elementwise("abs", np.abs, scalar=builtins.abs, mp=_vec(mpmath.fabs),
                    sym=_vec(sympy.Abs), analytic=False, uses=(0,),
                    lin=(lambda g, x, out: multiply(g, sign(x)),))
maximum_p = elementwise(
    "maximum", np.maximum, scalar=builtins.max, sym=np.frompyfunc(sympy.Max, 2, 1),
    analytic=False, uses=(0, 1),
    lin=(lambda g, x, y, out: where(primal(x) >= primal(y), g, 0.0),
         lambda g, x, y, out: where(primal(x) >= primal(y), 0.0, g)))
minimum_p = elementwise(
    "minimum", np.minimum, scalar=builtins.min, sym=np.frompyfunc(sympy.Min, 2, 1),
    analytic=False, uses=(0, 1),
    lin=(lambda g, x, y, out: where(primal(x) <= primal(y), g, 0.0),
         lambda g, x, y, out: where(primal(x) <= primal(y), 0.0, g)))
where_p = elementwise(
    "where", np.where, sym=np.frompyfunc(_sym_where, 3, 1), analytic=False, nondiff=(0,),
    cost=_count_nothing, uses=(0,),
    lin=(None,
         lambda g, c, x, y, out: where(c, g, 0.0),
         lambda g, c, x, y, out: where(c, 0.0, g)))


add = _elementwise_function(add_p, "add", "x + y, elementwise with broadcasting.")
subtract = _elementwise_function(sub_p, "subtract", "x - y, elementwise with broadcasting.")
multiply = _elementwise_function(mul_p, "multiply", "x * y, elementwise with broadcasting.")
divide = _elementwise_function(div_p, "divide", "x / y, elementwise with broadcasting.")
negative = _elementwise_function(neg_p, "negative", "-x.")
power = _elementwise_function(pow_p, "power", "x ** y, elementwise with broadcasting.")
exp = _elementwise_function(exp_p, "exp", "e ** x.")
log = _elementwise_function(log_p, "log", "The natural logarithm (nan below 0).")
log1p = _elementwise_function(log1p_p, "log1p", "log(1 + x), accurate near 0.")
expm1 = _elementwise_function(expm1_p, "expm1", "exp(x) - 1, accurate near 0.")
sin = _elementwise_function(sin_p, "sin", "sin x.")
cos = _elementwise_function(cos_p, "cos", "cos x.")
tan = _elementwise_function(tan_p, "tan", "tan x.")
tanh = _elementwise_function(tanh_p, "tanh", "tanh x.")
sqrt = _elementwise_function(sqrt_p, "sqrt", "The square root (nan below 0; infinite slope at 0).")
sign = _elementwise_function(sign_p, "sign", "-1, 0 or 1; its derivative is zero.")
absolute = _elementwise_function(abs_p, "absolute", "|x|; derivative sign(x) (0 at 0).")
maximum = _elementwise_function(
    maximum_p, "maximum", "The larger of x and y; at a tie the derivative follows x.")
minimum = _elementwise_function(
    minimum_p, "minimum", "The smaller of x and y; at a tie the derivative follows x.")


def where(condition, x, y):
    return apply(where_p, primal(condition), x, y)


def square(x):
    return multiply(x, x)

