"""Piecewise elementwise primitives: sign, abs, the extrema (maximum, minimum,
fmax, fmin and clip made of them), where, and the rounding functions (floor,
ceil, round, mod).

The derivative at a kink follows one convention, :data:`TIE_CONVENTION`.

Rounding (floor, ceil, round) has derivative 0 almost everywhere; at a jump no
derivative exists and the rules still say 0, while a central difference there
grows as 1/h. ``mod(x, y) = x - floor(x / y) y`` has d/dx = 1 and
d/dy = -floor(x / y) away from its jumps.
"""

from __future__ import annotations

import builtins
import math
import operator

import mpmath
import numpy as np
import sympy

from adbench.interpret.core import apply, primal
from adbench.interpret.primitives.elementwise import divide, multiply, negative
from adbench.interpret.primitives.rules import (
    IDENTITY,
    _count_nothing,
    _elementwise_function,
    _vec,
    elementwise,
)


#: The derivative at a kink (also written into the problem catalogue, docs/problems.md).
TIE_CONVENTION = """\
Where a piecewise function has a kink, its derivative is taken to be the
midpoint of the one-sided ones, i.e. a tie is split evenly:

* ``maximum(x, y)``, ``minimum``, ``fmax``, ``fmin`` at ``x == y``: 1/2 to each
  argument (and the ``max`` reduction splits 1/k among k tied entries);
* ``abs`` at 0: ``sign(0) = 0``;
* ``clip(x, lo, hi)`` at ``x == lo`` (or ``hi``): 1/2 to x and 1/2 to the bound;
* ``hypot`` at the origin: 0 (in adbench.interpret.primitives.elementwise).

The midpoint is a subgradient of every convex kink (abs, max) and symmetric in
the arguments, and for a two-way tie it is the value the other oracles give:
SymPy differentiates Max into a Heaviside function, which the symbolic method
evaluates as 1/2 at 0, and the reference's central difference
(f(x + h) - f(x - h)) / 2h averages the two sides. Where they cannot follow:
a k-way tie of the ``max`` reduction for k > 2, where the central difference
gives 1/2 to each tied entry and SymPy's nested two-argument maxima give
1/2, 1/4, ... (their sums are not 1); and ``sort``, whose ties would need the
same even split (the sort of equal entries is not differentiable either way).
"""


def _sym_where(c, a, b):
    return sympy.Piecewise((a, c), (b, True))


def _mp_sign(x):
    return mpmath.sign(x)


sign_p = elementwise("sign", np.sign, mp=_vec(_mp_sign), sym=_vec(sympy.sign),
                     analytic=False, lin=(None,), nondiff=(0,))
abs_p = elementwise("abs", np.abs, scalar=builtins.abs, mp=_vec(mpmath.fabs),
                    sym=_vec(sympy.Abs), analytic=False, uses=(0,),
                    lin=(lambda g, x, out: multiply(g, sign(x)),))


def _shared(g, wins, tie):
    """g where this argument is taken, g / 2 where it ties, 0 elsewhere."""
    if not np.any(tie):
        return where(wins, g, 0.0)
    return where(wins, g, where(tie, multiply(g, 0.5), 0.0))


def _extremum_rules(name: str, taken):
    """The ``lin`` rules of a two-argument extremum; ``taken(a, b)`` (plain values)
    says where a is taken over b strictly. The selection is piecewise constant, so
    it is computed on plain values: the next derivative of it is 0."""
    def first(g, x, y, out):
        xv, yv = primal(x), primal(y)
        return _shared(g, taken(xv, yv), xv == yv)

    def second(g, x, y, out):
        xv, yv = primal(x), primal(y)
        return _shared(g, taken(yv, xv), xv == yv)
    first.__qualname__ = f"{name}.lin[0]"
    second.__qualname__ = f"{name}.lin[1]"
    return first, second


def _fmax_taken(a, b):
    """a over b in fmax: a is larger, or b alone is nan."""
    return np.greater(a, b) | (np.isnan(b) & ~np.isnan(a))


def _fmin_taken(a, b):
    return np.less(a, b) | (np.isnan(b) & ~np.isnan(a))


def _fmax_scalar(x, y):
    """fmax of two floats or mpmath numbers: the larger, ignoring one nan."""
    if y != y:
        return x
    if x != x:
        return y
    return x if x >= y else y


def _fmin_scalar(x, y):
    if y != y:
        return x
    if x != x:
        return y
    return x if x <= y else y


maximum_p = elementwise(
    "maximum", np.maximum, scalar=builtins.max, sym=np.frompyfunc(sympy.Max, 2, 1),
    analytic=False, uses=(0, 1), lin=_extremum_rules("maximum", np.greater))
minimum_p = elementwise(
    "minimum", np.minimum, scalar=builtins.min, sym=np.frompyfunc(sympy.Min, 2, 1),
    analytic=False, uses=(0, 1), lin=_extremum_rules("minimum", np.less))
where_p = elementwise(
    "where", np.where, sym=np.frompyfunc(_sym_where, 3, 1), analytic=False, nondiff=(0,),
    cost=_count_nothing, uses=(0,),
    lin=(None,
         lambda g, c, x, y, out: where(c, g, 0.0),
         lambda g, c, x, y, out: where(c, 0.0, g)))
# SymPy has no nan: its Max is fmax away from nan
fmax_p = elementwise(
    "fmax", np.fmax, scalar=_fmax_scalar, mp=_vec(_fmax_scalar, 2),
    sym=np.frompyfunc(sympy.Max, 2, 1), analytic=False, uses=(0, 1),
    lin=_extremum_rules("fmax", _fmax_taken))
fmin_p = elementwise(
    "fmin", np.fmin, scalar=_fmin_scalar, mp=_vec(_fmin_scalar, 2),
    sym=np.frompyfunc(sympy.Min, 2, 1), analytic=False, uses=(0, 1),
    lin=_extremum_rules("fmin", _fmin_taken))


def _floor(x):
    return float(math.floor(x))  # an int otherwise; inf and nan raise, and numpy decides


def _ceil(x):
    return float(math.ceil(x))


def _round(x):
    return float(builtins.round(x))  # half to even, as numpy


def _no_sympy_round(x):
    raise NotImplementedError("SymPy has no round-half-to-even function (its floor and "
                              "ceiling are exact; round is not one of them)")


def _mp_mod(x, y):
    return x - mpmath.floor(x / y) * y


def _sym_mod(x, y):
    # not sympy.Mod, whose derivative SymPy leaves as an unevaluated Subs
    return x - y * sympy.floor(x / y)


floor_p = elementwise("floor", np.floor, scalar=_floor, mp=_vec(mpmath.floor),
                      sym=_vec(sympy.floor), analytic=False, lin=(None,), nondiff=(0,))
ceil_p = elementwise("ceil", np.ceil, scalar=_ceil, mp=_vec(mpmath.ceil),
                     sym=_vec(sympy.ceiling), analytic=False, lin=(None,), nondiff=(0,))
# mpmath.nint rounds half to even, as numpy
round_p = elementwise("round", np.round, scalar=_round, mp=_vec(mpmath.nint),
                      sym=_vec(_no_sympy_round), analytic=False, lin=(None,), nondiff=(0,))
#: numpy.mod (= numpy.remainder): x - floor(x / y) y, with the sign of y.
mod_p = elementwise("mod", np.mod, scalar=operator.mod, mp=_vec(_mp_mod, 2),
                    sym=_vec(_sym_mod, 2), analytic=False, uses=(0, 1),
                    lin=(IDENTITY,
                         lambda g, x, y, out: negative(multiply(g, floor(divide(x, y))))))


sign = _elementwise_function(sign_p, "sign", "-1, 0 or 1; its derivative is zero.")
absolute = _elementwise_function(abs_p, "absolute", "|x|; derivative sign(x) (0 at 0).")
maximum = _elementwise_function(
    maximum_p, "maximum", "The larger of x and y (nan if either is); a tie splits the "
    "derivative evenly.")
minimum = _elementwise_function(
    minimum_p, "minimum", "The smaller of x and y (nan if either is); a tie splits the "
    "derivative evenly.")
fmax = _elementwise_function(
    fmax_p, "fmax", "The larger of x and y, ignoring a nan; a tie splits the derivative evenly.")
fmin = _elementwise_function(
    fmin_p, "fmin", "The smaller of x and y, ignoring a nan; a tie splits the derivative "
    "evenly.")
floor = _elementwise_function(floor_p, "floor", "The largest integer <= x; derivative 0.")
ceil = _elementwise_function(ceil_p, "ceil", "The smallest integer >= x; derivative 0.")
mod = _elementwise_function(
    mod_p, "mod", "x - floor(x / y) y (numpy.mod, the sign of y); d/dx 1, d/dy -floor(x / y).")
remainder = mod
_round_function = _elementwise_function(round_p, "round", "x rounded half to even.")


def where(condition, x, y):
    return apply(where_p, primal(condition), x, y)


def round_with(round_one):
    """numpy.round written with ``round_one`` (rounding to an integer): one definition
    for the float, mpmath and SymPy namespaces."""
    def round(x, decimals: int = 0):  # noqa: A001 - mirrors numpy
        """numpy.round: x rounded to ``decimals`` digits, half to even; derivative 0.

        As numpy does, a nonzero ``decimals`` scales by 10^decimals, rounds and
        scales back (so it is exact only up to those two roundings).
        """
        if decimals == 0:
            return round_one(x)
        scale = 10.0 ** decimals
        return round_one(x * scale) / scale
    return round


def clip_with(maximum_, minimum_):
    """numpy.clip written with ``maximum_`` and ``minimum_``: one definition for the
    float, mpmath and SymPy namespaces."""
    def clip(x, a_min, a_max):
        """numpy.clip: minimum(maximum(x, a_min), a_max), ``None`` for no bound.

        At a bound the derivative is split evenly between x and the bound (the tie
        convention of maximum and minimum); where a_min > a_max every entry is
        a_max, as in numpy. Made of maximum and minimum, so it counts as two
        comparisons per entry.
        """
        if a_min is None and a_max is None:
            raise ValueError("clip needs a_min or a_max")
        if a_min is not None:
            x = maximum_(x, a_min)
        if a_max is not None:
            x = minimum_(x, a_max)
        return x
    return clip


round = around = round_with(_round_function)  # noqa: A001 - mirrors numpy
clip = clip_with(maximum, minimum)
