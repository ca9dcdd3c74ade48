"""Smooth elementwise primitives: arithmetic, powers, exponentials and
logarithms, circular and hyperbolic functions and their inverses.

Each entry gives its implementations and its ``lin`` rules (see :mod:`.rules`);
the user-facing function of each follows the table. The piecewise ones (sign,
abs, maximum, where, floor...) are in :mod:`.piecewise`, the special functions
(erf, gammaln, logaddexp) in :mod:`.special`.
"""

from __future__ import annotations

import math
import operator

import mpmath
import numpy as np
import sympy

from adbench.interpret import primitives as P  # later families, looked up when a rule runs
from adbench.interpret.core import primal
from adbench.interpret.primitives.rules import (
    IDENTITY,
    NEGATE,
    TimesArg,
    _elementwise_function,
    _vec,
    elementwise,
)


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
        return multiply(g, P.where(zero, 0.0, multiply(y, power(x, subtract(y, 1)))))


def _pow_exponent(g, x, y, out):
    """g * x^y log x, and 0 where x == 0 < y: there x^y = 0 for every exponent near y,
    while x^y log x would be 0 * -inf = nan. log reads 1 in place of those zeros (not
    log 0 masked afterwards), so that no inf reaches the next derivative either."""
    zero = (primal(x) == 0) & (primal(y) > 0)
    if not np.any(zero):
        return multiply(g, multiply(out, log(x)))
    return multiply(g, multiply(out, log(P.where(zero, 1.0, x))))


pow_p = elementwise("pow", np.power, scalar=math.pow, uses=(0, 1, "out"),
                    lin=(_pow_base, _pow_exponent))
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

# Inverse circular and hyperbolic functions: the derivatives are algebraic in x.

def _one_minus_square(x):
    return subtract(1.0, multiply(x, x))


arcsin_p = elementwise("arcsin", np.arcsin, scalar=math.asin, mp=_vec(mpmath.asin),
                       sym=_vec(sympy.asin), transcendental=True, uses=(0,),
                       lin=(lambda g, x, out: divide(g, sqrt(_one_minus_square(x))),))
arccos_p = elementwise("arccos", np.arccos, scalar=math.acos, mp=_vec(mpmath.acos),
                       sym=_vec(sympy.acos), transcendental=True, uses=(0,),
                       lin=(lambda g, x, out: negative(divide(g, sqrt(_one_minus_square(x)))),))
arctan_p = elementwise("arctan", np.arctan, scalar=math.atan, mp=_vec(mpmath.atan),
                       sym=_vec(sympy.atan), transcendental=True, uses=(0,),
                       lin=(lambda g, x, out: divide(g, add(1.0, multiply(x, x))),))


def _radius_squared(y, x):
    return add(multiply(x, x), multiply(y, y))


#: arctan2(y, x), the angle of the point (x, y): d/dy = x / r^2, d/dx = -y / r^2.
arctan2_p = elementwise("arctan2", np.arctan2, scalar=math.atan2, mp=_vec(mpmath.atan2, 2),
                        sym=_vec(sympy.atan2, 2), transcendental=True, uses=(0, 1),
                        lin=(lambda g, y, x, out: divide(multiply(g, x), _radius_squared(y, x)),
                             lambda g, y, x, out: negative(divide(multiply(g, y),
                                                                  _radius_squared(y, x)))))
sinh_p = elementwise("sinh", np.sinh, scalar=math.sinh, mp=_vec(mpmath.sinh),
                     sym=_vec(sympy.sinh), transcendental=True, uses=(0,),
                     lin=(lambda g, x, out: multiply(g, cosh(x)),))
cosh_p = elementwise("cosh", np.cosh, scalar=math.cosh, mp=_vec(mpmath.cosh),
                     sym=_vec(sympy.cosh), transcendental=True, uses=(0,),
                     lin=(lambda g, x, out: multiply(g, sinh(x)),))
arcsinh_p = elementwise("arcsinh", np.arcsinh, scalar=math.asinh, mp=_vec(mpmath.asinh),
                        sym=_vec(sympy.asinh), transcendental=True, uses=(0,),
                        lin=(lambda g, x, out: divide(g, sqrt(add(multiply(x, x), 1.0))),))
# 1 / sqrt(x^2 - 1) as 1 / (sqrt(x - 1) sqrt(x + 1)): no cancellation in x^2 - 1 near 1
arccosh_p = elementwise("arccosh", np.arccosh, scalar=math.acosh, mp=_vec(mpmath.acosh),
                        sym=_vec(sympy.acosh), transcendental=True, uses=(0,),
                        lin=(lambda g, x, out: divide(g, multiply(sqrt(subtract(x, 1.0)),
                                                                  sqrt(add(x, 1.0)))),))
arctanh_p = elementwise("arctanh", np.arctanh, scalar=math.atanh, mp=_vec(mpmath.atanh),
                        sym=_vec(sympy.atanh), transcendental=True, uses=(0,),
                        lin=(lambda g, x, out: divide(g, _one_minus_square(x)),))

# Logarithms and powers of base 2 and 10, reciprocal and hypot.

LN2 = math.log(2.0)
LN10 = math.log(10.0)


def _exp2(x):
    return math.pow(2.0, x)


def _mp_log2(x):
    return mpmath.log(x, 2)


def _mp_log10(x):
    return mpmath.log10(x)


def _sym_log2(x):
    return sympy.log(x, 2)


def _sym_log10(x):
    return sympy.log(x, 10)


def _power_of_two(x):
    return 2 ** x


log2_p = elementwise("log2", np.log2, scalar=math.log2, mp=_vec(_mp_log2), sym=_vec(_sym_log2),
                     transcendental=True, uses=(0,),
                     lin=(lambda g, x, out: divide(g, multiply(x, LN2)),))
log10_p = elementwise("log10", np.log10, scalar=math.log10, mp=_vec(_mp_log10),
                      sym=_vec(_sym_log10), transcendental=True, uses=(0,),
                      lin=(lambda g, x, out: divide(g, multiply(x, LN10)),))
exp2_p = elementwise("exp2", np.exp2, scalar=_exp2, mp=_vec(_power_of_two),
                     sym=_vec(_power_of_two), transcendental=True, uses=("out",),
                     lin=(lambda g, x, out: multiply(g, multiply(out, LN2)),))


def _reciprocal(x):
    # np.reciprocal of an integer is an integer (1 // x); this is 1.0 / x, as numpy's
    # reciprocal of a float
    return np.true_divide(1.0, x)


def _scalar_reciprocal(x):
    return 1 / x  # 1 / x exactly for floats, mpmath and SymPy numbers


reciprocal_p = elementwise("reciprocal", _reciprocal, scalar=_scalar_reciprocal,
                           mp=_vec(_scalar_reciprocal), sym=_vec(_scalar_reciprocal),
                           uses=("out",),
                           lin=(lambda g, x, out: negative(multiply(g, multiply(out, out))),))


def _hypot_partial(g, a, out):
    """g a / hypot, and 0 where hypot is 0: at the origin every direction gives slope
    at most 1, and 0 is the midpoint of those subgradients (as sign(0) = 0 for abs)."""
    origin = primal(out) == 0
    if not np.any(origin):
        return divide(multiply(g, a), out)
    return multiply(g, P.where(origin, 0.0, divide(a, P.where(origin, 1.0, out))))


def _sym_hypot(x, y):
    return sympy.sqrt(x * x + y * y)


hypot_p = elementwise("hypot", np.hypot, scalar=math.hypot, mp=_vec(mpmath.hypot, 2),
                      sym=_vec(_sym_hypot, 2), transcendental=True, uses=(0, 1, "out"),
                      lin=(lambda g, x, y, out: _hypot_partial(g, x, out),
                           lambda g, x, y, out: _hypot_partial(g, y, out)))


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
arcsin = _elementwise_function(arcsin_p, "arcsin",
                              "asin x, in [-pi/2, pi/2] (nan outside [-1, 1]).")
arccos = _elementwise_function(arccos_p, "arccos", "acos x, in [0, pi] (nan outside [-1, 1]).")
arctan = _elementwise_function(arctan_p, "arctan", "atan x, in (-pi/2, pi/2).")
arctan2 = _elementwise_function(arctan2_p, "arctan2",
                                "The angle of the point (x, y): arctan2(y, x), in [-pi, pi].")
sinh = _elementwise_function(sinh_p, "sinh", "sinh x.")
cosh = _elementwise_function(cosh_p, "cosh", "cosh x.")
arcsinh = _elementwise_function(arcsinh_p, "arcsinh", "asinh x.")
arccosh = _elementwise_function(arccosh_p, "arccosh",
                               "acosh x (nan below 1; infinite slope at 1).")
arctanh = _elementwise_function(arctanh_p, "arctanh", "atanh x (nan outside [-1, 1]).")
log2 = _elementwise_function(log2_p, "log2", "The base-2 logarithm.")
log10 = _elementwise_function(log10_p, "log10", "The base-10 logarithm.")
exp2 = _elementwise_function(exp2_p, "exp2", "2 ** x.")
reciprocal = _elementwise_function(reciprocal_p, "reciprocal", "1 / x, as a float.")
hypot = _elementwise_function(hypot_p, "hypot",
                              "sqrt(x^2 + y^2) without overflow; slope 0 at the origin.")


def square(x):
    return multiply(x, x)

