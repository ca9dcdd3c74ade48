"""The float implementations of the special functions erf, gammaln and polygamma,
on :mod:`math`, numpy and mpmath, one per function, whatever else is installed (no
scipy); the primitives that use them are in :mod:`adbench.interpret.primitives.special`.

* :func:`float_erf` and :func:`float_gammaln` are ``math.erf`` and ``math.lgamma``
  elementwise (gammaln is +inf at the poles 0, -1, -2, ... and beyond the float range);
  on complex values (the complex step) mpmath's.
* :func:`float_polygamma` is numpy's arithmetic in long double over whole arrays (the
  recurrence up to x >= 8..12, the asymptotic expansion with the Bernoulli numbers
  B_2..B_36, the reflection formula below 0, a Taylor polynomial next to digamma's
  positive root), with a guard that sends the points where the terms cancel (next to
  the roots of digamma on the negative axis) to mpmath.

mpmath's values are evaluated until they are right to double precision
(:func:`_mp_double`).
"""

from __future__ import annotations

import cmath
import functools
import math
from fractions import Fraction
from functools import partial

import mpmath
import numpy as np

__all__ = ["float_erf", "float_gammaln", "float_polygamma"]


#: Working precisions (bits) of :func:`_mp_double`, in turn: 63 and 73 (two nearby
#: precisions, as mpmath.autoprec starts), then three times the last. 1971 bits resolve
#: any part of a double-precision value down to 2^-1074 of a modulus up to 2^840.
_MP_PRECISIONS = (63, 73, 219, 657, 1971)


def _parts_agree(a, b) -> bool:
    """Whether two mpmath values (mpf or mpc) agree to double precision in each of their
    real and imaginary parts: the same double, or a difference below 2^-53 of the part."""
    for u, v in ((a.real, b.real), (a.imag, b.imag)):
        fu, fv = float(u), float(v)
        if fu == fv or (fu != fu and fv != fv):
            continue
        if not (mpmath.isfinite(u) and mpmath.isfinite(v)) or v == 0 \
                or mpmath.mag(u - v) >= mpmath.mag(v) - 53:
            return False
    return True


def _mp_double(f, *args):
    """``f(*args)``, an mpmath function of Python floats or complex numbers, right to
    double precision in each of its real and imaginary parts: evaluated at the working
    precisions of ``_MP_PRECISIONS`` in turn until two successive values agree to double
    precision (:func:`_parts_agree`), the last evaluated then returned.

    One evaluation at 53 bits is not enough: digamma next to a root (x = 1.4616...)
    comes out with a relative error of 4e-3, the imaginary part of erf(5 + 1e-20 i)
    (1.6e-31, the complex step's derivative) 12% wrong. mpmath.autoprec judges a complex
    value by its modulus only, and would accept that imaginary part. The precision is
    local (``mpmath.workprec``): the global one (the reference raises it) is untouched.
    """
    previous = None
    for prec in _MP_PRECISIONS:
        with mpmath.workprec(prec):
            value = f(*args)
        if previous is not None and _parts_agree(previous, value):
            break
        previous = value
    return value


def _float_dtype(x):
    """The result dtype of a real function of ``x``, as scipy.special's: float32 for
    float16 and float32 input, else float64."""
    return np.float32 if x.dtype in (np.float16, np.float32) else np.float64


def _elementwise_float(real, complex_):
    """A function of one array-like applying the Python function ``real`` to each
    real entry and ``complex_`` to each complex one (np.frompyfunc); the result has
    the input's shape, dtype float64 (float32 from float16/float32, complex64 from
    complex64, complex128 from other complex), and is a numpy scalar when 0-d. No
    warning, as from scipy.special: the floating-point flags that the C library raises
    on the way (math.lgamma's overflow) are not numpy's to report."""
    real_u, complex_u = np.frompyfunc(real, 1, 1), np.frompyfunc(complex_, 1, 1)

    def function(x):
        x = np.asarray(x)
        with np.errstate(all="ignore"):
            if x.dtype.kind == "c":
                dtype = np.complex64 if x.dtype == np.complex64 else np.complex128
                return np.asarray(complex_u(x), dtype=dtype)[()]
            return np.asarray(real_u(x), dtype=_float_dtype(x))[()]
    function.__name__ = real.__name__
    return function


def _real_symmetric(f):
    """``f(z)`` of a Python complex z for f real on the real axis (f(conj z) =
    conj f(z)): computed in the upper half plane, so that a branch cut on the real
    axis is met from the side the sign of Im z (also of a zero) says."""
    @functools.wraps(f)
    def function(z: complex) -> complex:
        if math.copysign(1.0, z.imag) < 0:
            return f(z.conjugate()).conjugate()
        return f(z)
    return function


def _one_minus_erfc(z):
    return 1 - mpmath.erfc(z)


@_real_symmetric
def _erf_complex(z: complex) -> complex:
    """erf on a complex number (the complex step): math.erf on the real axis, else
    mpmath's, right to double precision; nan + nan i where a part is not finite.

    Where |Re z| > 4 it is 1 - erfc(z) (odd: -(1 - erfc(-z)) on the left): the
    imaginary part of erf(x + ih), about h exp(-x^2), is then the one of erfc, which
    mpmath computes relative to erfc's own size, not erf's (at x = 20, 10^-193 of it:
    0.5 ms instead of 100 ms of raised precision)."""
    if z.imag == 0:
        return complex(math.erf(z.real), z.imag)
    if not cmath.isfinite(z):
        return complex(math.nan, math.nan)
    if abs(z.real) > 4:
        if z.real > 0:
            return complex(_mp_double(_one_minus_erfc, z))
        return -complex(_mp_double(_one_minus_erfc, -z))
    return complex(_mp_double(mpmath.erf, z))


#: The error function 2/sqrt(pi) int_0^x exp(-t^2) dt: math.erf elementwise (nan at
#: nan, +-1 at +-inf); on complex values (the complex step) :func:`_erf_complex`.
float_erf = _elementwise_float(math.erf, _erf_complex)


def _lgamma(x: float) -> float:
    """log |Gamma(x)| of a float: math.lgamma, and +inf where it raises: at the poles
    0, -1, -2, ... (the limit of |Gamma|) and beyond x = 2.5e305 (an overflow). At
    -inf, where it has no limit, +inf as math.lgamma and C's lgamma say (the float
    path and the C spelling: scipy.special.gammaln says -inf)."""
    try:
        return math.lgamma(x)
    except (ValueError, OverflowError):
        return math.inf


@_real_symmetric
def _loggamma_complex(z: complex) -> complex:
    """The principal log Gamma of a complex number (the complex step), which agrees
    with gammaln for x > 0: math.lgamma on the positive real axis, else mpmath's
    loggamma, right to double precision; nan + nan i at the poles and where a part is
    not finite."""
    if z.imag == 0 and z.real > 0:
        return complex(_lgamma(z.real), z.imag)
    if not cmath.isfinite(z) or (z.imag == 0 and z.real.is_integer()):
        return complex(math.nan, math.nan)
    return complex(_mp_double(mpmath.loggamma, z))


#: log |Gamma(x)|: :func:`_lgamma` elementwise (+inf at the poles, at +-inf and past
#: the float range, nan at nan); on complex values (the complex step) the principal
#: log Gamma, :func:`_loggamma_complex`.
float_gammaln = _elementwise_float(_lgamma, _loggamma_complex)


def _polygamma_edge(n: float, x: float) -> float | None:
    """polygamma(n, x) where it is not a value of the series: nan for nan and for an
    order that is not an integer >= 0; at the poles x = 0, -1, -2, ... and at x = -inf
    the values scipy.special.polygamma gives: for n = 0 (digamma) -inf at +0, +inf at
    -0, nan at the negative integers and -inf; for n >= 1 the sign of the limit from
    the right, +inf for odd n, -inf for even n. At +inf the limit: +inf for n = 0,
    else 0 (with the sign of the approach). None at any other point."""
    if not n.is_integer() or n < 0 or x != x:
        return math.nan
    if x == math.inf:
        return math.inf if n == 0 else math.copysign(0.0, (-1.0) ** (n + 1))
    if x == -math.inf or (x <= 0 and x.is_integer()):
        if n > 0:
            return math.inf if n % 2 else -math.inf
        if x == 0:
            return -math.copysign(math.inf, x)
        return math.nan
    return None


def _polygamma_one(n: float, x: float) -> float:
    """polygamma(n, x) of one point the numpy evaluation leaves: its edge value
    (:func:`_polygamma_edge`), else mpmath's psi right to double precision."""
    edge = _polygamma_edge(n, x)
    if edge is not None:
        return edge
    return float(_mp_double(_mp_psi, int(n), x))


@functools.lru_cache(maxsize=None)
def _cot_derivative_polynomial(n: int) -> tuple:
    """Coefficients (constant first) of the polynomial P_n with
    d^n/du^n cot u = P_n(cot u): P_0(c) = c, P_{k+1}(c) = -(1 + c^2) P_k'(c)."""
    p = [0, 1]
    for _ in range(n):
        d = [k * a for k, a in enumerate(p)][1:]  # P_k'
        q = [0] * (len(d) + 2)
        for k, a in enumerate(d):  # -(1 + c^2) P_k'
            q[k] -= a
            q[k + 2] -= a
        p = q
    return tuple(p)


def _mp_psi(n: int, x: float):
    """mpmath's psi(n, x) at the working precision, through the reflection formula
    psi_n(x) = (-1)^n psi_n(1 - x) - pi^(n+1) P_n(cot(pi x)) for n >= 1 and x < 0:
    mpmath's psi of order n >= 1 steps x up to a positive value one unit at a time,
    seconds at x = -10^6 and no end further out (its digamma reflects by itself)."""
    if n == 0 or x >= 0:
        return mpmath.psi(n, x)
    c = mpmath.cot(mpmath.pi * x)
    cot_term = mpmath.polyval(_cot_derivative_polynomial(n)[::-1], c)
    return (-1) ** n * mpmath.psi(n, 1 - mpmath.mpf(x)) - mpmath.pi ** (n + 1) * cot_term


#: The working type of :func:`float_polygamma`'s series: numpy's long double, on x86 the x87
#: extended format (64-bit significand, eps 2^-63), 11 bits beyond a double's. Where it
#: is no wider than a double (MSVC, Apple silicon) the guard finds no spare bits and sends
#: every point of finite nonzero value to mpmath: right, as slow as mpmath (70 to 600 us a
#: point); where it is IEEE quad (Linux on ARM), software arithmetic, slower than x87.
_WORK = np.longdouble
_WORK_EPS = float(np.finfo(_WORK).eps)
#: pi to the working precision: the double nearest pi plus its remainder.
_PI_WORK = _WORK(math.pi) + _WORK(1.2246467991473532e-16)

#: B_2, B_4, ..., B_36, the Bernoulli numbers of the asymptotic expansion of polygamma.
_BERNOULLI = (Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30),
              Fraction(5, 66), Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510),
              Fraction(43867, 798), Fraction(-174611, 330), Fraction(854513, 138),
              Fraction(-236364091, 2730), Fraction(8553103, 6), Fraction(-23749461029, 870),
              Fraction(8615841276005, 14322), Fraction(-7709321041217, 510),
              Fraction(2577687858367, 6), Fraction(-26315271553053477373, 1919190))

#: The highest order the series evaluate; higher orders go to mpmath.
_ORDER_MAX = 100

#: The guard: a value of the series is kept where its estimated error
#: (2n + 3) * eps * size is at most TOLERANCE * |value|, size being the sum of the
#: magnitudes of the parts summed (the recurrence's terms, the asymptotic value, the
#: reflection's two terms, the Taylor polynomial's value at the root and the rest) and eps
#: the working type's; elsewhere (cancellation: next to digamma's roots on the negative
#: axis, one in each (-k - 1, -k), and those of the even orders) mpmath's value is taken.
#: The error of the series measured on 2000 points for each of the orders 0, 1, 2, 3, 4,
#: 7, 12, 25, 50, 100 (python tests/measure_special_functions.py --guard) is at most 0.61
#: of that estimate; TOLERANCE = 2^-53 then leaves an error below 0.61 * 2^-53 of the value
#: before the rounding to a double: below 1.8e-16 relative in all (1.1e-16 measured).
_TOLERANCE = 2.0 ** -53


@functools.lru_cache(maxsize=None)
def _asymptotic_series(n: int) -> tuple:
    """(m, c) for the order n: the coefficients c_k (k = 1 .. K) of the asymptotic
    expansion psi_n(y) ~ lead_n(y) + sum_k c_k / y^(2k + n), c_k = -B_2k / 2k for n = 0
    and (-1)^(n+1) B_2k (2k + n - 1)! / (2k)! for n >= 1 (c_1 in the working type, the
    others floats), and the number m of unit steps the recurrence takes an argument below
    m up: the smallest integer where the terms decrease and the last is
    below 2^-66 of the first (1 for n = 0, (n - 1)! / y^n for n >= 1), and so is the
    truncation error."""
    exact = [Fraction(-b, 2 * k) if n == 0 else
             (-1) ** (n + 1) * b * Fraction(math.factorial(2 * k + n - 1), math.factorial(2 * k))
             for k, b in enumerate(_BERNOULLI, start=1)]
    first = 1 if n == 0 else math.factorial(n - 1)
    m = 1
    while abs(exact[-1]) / m ** (2 * len(exact)) > Fraction(first, 2 ** 66) or any(
            abs(b) > abs(a) * m * m for a, b in zip(exact, exact[1:])):
        m += 1
    c1 = _WORK(exact[0].numerator) / _WORK(exact[0].denominator)
    return m, (c1, *(float(c) for c in exact[1:]))


def _reciprocal_power(s, p: int):
    """1 / s^p of a working-type array, by squaring."""
    r = 1 / s
    out = None
    while p:
        if p & 1:
            out = r if out is None else out * r
        p >>= 1
        if p:
            r = r * r
    return out


def _psi_asymptotic(n: int, y, coefficients):
    """(value, size) of the asymptotic expansion of psi_n at y (a working-type array,
    y >= the order's shift target): log y - 1/(2y) + sum_k c_k / y^2k for n = 0,
    (-1)^(n+1) ((n - 1)! / y^n + n! / (2 y^(n+1))) + sum_k c_k / y^(2k+n) for n >= 1.
    The terms of the sum past the first are small (below 10^-4 of the value up to the
    order 3, 7 10^-3 at the order 100): summed in double precision. size (float64): the
    sum of the magnitudes of the leading terms."""
    w = 1 / y
    wd = w.astype(np.float64)
    w2d = wd * wd
    tail = np.zeros_like(w2d)
    for c in coefficients[:0:-1]:
        tail = (tail + c) * w2d
    series = w * (coefficients[0] + tail.astype(_WORK))  # sum_k c_k / y^(2k - 1)
    if n == 0:
        log_y = np.log(y)
        return log_y + w * (series - 0.5), log_y.astype(np.float64) + wd
    sign = 1 if n % 2 else -1
    wn = _reciprocal_power(y, n)
    value = wn * (sign * math.factorial(n - 1) * (1 + n / 2 * w) + w * series)
    return value, np.abs(value.astype(np.float64))


def _psi_positive(n: int, x):
    """(value, size) of psi_n at x > 0 (a working-type array): below the order's shift
    target m, psi_n(x) = psi_n(x + m) + (-1)^(n+1) n! sum_{k<m} 1/(x + k)^(n+1), the
    terms summed smallest first; then the asymptotic expansion. size: the sum of the
    magnitudes of the parts summed (float64)."""
    m, coefficients = _asymptotic_series(n)
    shift = x < m
    y = np.where(shift, x + m, x)
    value, size = _psi_asymptotic(n, y, coefficients)
    every = shift.all()
    if every or shift.any():
        xs = x if every else x[shift]
        total = _reciprocal_power(xs + (m - 1), n + 1)
        for k in range(m - 2, -1, -1):
            total += _reciprocal_power(xs + k, n + 1)
        recurrence = (1 if n % 2 else -1) * math.factorial(n) * total
        magnitude = np.abs(recurrence.astype(np.float64))
        if every:
            return value + recurrence, size + magnitude
        value[shift] += recurrence
        size[shift] += magnitude
    return value, size


def _cot_pi(x):
    """cot(pi x) of a working-type array of doubles off the integers, to a few units of
    the working precision relative to its own size: of r = x - round(x) (exact, |r| <=
    1/2) as 1 / tan(pi r) for |r| <= 1/4, else as tan(pi (1/2 - |r|)) with the sign of r,
    where tan near pi/2 would lose the small value to the rounding of pi r."""
    r = x - np.round(x)
    near = np.abs(r) <= 0.25
    t = np.tan(_PI_WORK * np.where(near, r, 0.5 - np.abs(r)))
    return np.where(near, 1 / t, np.copysign(t, r))


def _psi_negative(n: int, x):
    """(value, size) of psi_n at x < 0, not an integer (a working-type array), by the
    reflection formula psi_n(x) = (-1)^n psi_n(1 - x) - pi^(n+1) P_n(cot(pi x)), the
    polynomial of :func:`_cot_derivative_polynomial` evaluated in c^2 (its terms have one
    sign). size: the sum of the magnitudes of the parts."""
    value, size = _psi_positive(n, 1 - x)
    c = _cot_pi(x)
    parity = (n + 1) % 2
    coefficients = _cot_derivative_polynomial(n)[parity::2]
    c2 = c * c
    poly = np.full_like(c, coefficients[-1])
    for a in coefficients[-2::-1]:
        poly = poly * c2 + _WORK(a)
    if parity:
        poly = poly * c
    cot_term = -(_PI_WORK ** (n + 1)) * poly
    return (value if n % 2 == 0 else -value) + cot_term, size + np.abs(cot_term.astype(np.float64))


#: A double next to digamma's positive root 1.4616..., around which digamma is its Taylor
#: polynomial of degree _ROOT_DEGREE (for |x - root| <= _ROOT_RADIUS): the recurrence would
#: sum terms of size 5 to a value near 0 there.
_DIGAMMA_ROOT = 1.4616321449683622
_ROOT_RADIUS = 0.125
_ROOT_DEGREE = 20


@functools.lru_cache(maxsize=None)
def _digamma_root_taylor() -> tuple:
    """psi_j(r) / j! for j = 0 .. _ROOT_DEGREE at r = _DIGAMMA_ROOT (psi_0(r) = -9.2e-17)
    as working-type numbers: mpmath's at 40 digits, computed at the first use."""
    coefficients = []
    with mpmath.workdps(40):
        for j in range(_ROOT_DEGREE + 1):
            c = mpmath.psi(j, _DIGAMMA_ROOT) / mpmath.factorial(j)
            coefficients.append(_WORK(float(c)) + _WORK(float(c - float(c))))
    return tuple(coefficients)


def _digamma_near_root(x):
    """(value, size) of digamma at |x - r| <= _ROOT_RADIUS (a working-type array): its
    Taylor polynomial at r = _DIGAMMA_ROOT in d = x - r (exact), whose terms past the
    first decrease by a factor |d| / r <= 0.086; the truncation is below 2^-66 of the
    value. size: |psi(r)| plus the magnitude of the rest."""
    c = _digamma_root_taylor()
    d = x - _DIGAMMA_ROOT
    rest = np.full_like(d, c[-1])
    for a in c[-2:0:-1]:
        rest = rest * d + a
    rest = rest * d
    return c[0] + rest, abs(float(c[0])) + np.abs(rest.astype(np.float64))


def _psi_series(n: int, x):
    """(value, size) of psi_n at finite float64 points x off the poles, in the working
    type: :func:`_digamma_near_root` next to digamma's positive root, elsewhere
    :func:`_psi_positive` for x > 0 and :func:`_psi_negative` for x < 0."""
    positive = x > 0
    near = np.abs(x - _DIGAMMA_ROOT) <= _ROOT_RADIUS if n == 0 else None
    x = x.astype(_WORK)
    if near is not None and near.any():
        parts = ((near, _digamma_near_root), (positive & ~near, partial(_psi_positive, n)),
                 (~positive, partial(_psi_negative, n)))
    else:
        parts = ((positive, partial(_psi_positive, n)), (~positive, partial(_psi_negative, n)))
    for where, part in parts:
        if where.all():
            return part(x)
    value, size = np.empty_like(x), np.empty(x.shape)
    for where, part in parts:
        if where.any():
            value[where], size[where] = part(x[where])
    return value, size


def float_polygamma(n, x):
    """polygamma(n, x) over n and x broadcast together, float64, a numpy scalar when
    0-d. Orders 0 .. _ORDER_MAX at finite points off the poles: the series of
    :func:`_psi_series` in the working type, rounded to a double where the guard
    (_TOLERANCE) says their error is below half an ulp; the other points
    (edges, cancellations, higher orders) one by one, :func:`_polygamma_one`. Complex
    arguments are refused (there is no complex polygamma in the table)."""
    n, x = np.asarray(n), np.asarray(x)
    if n.dtype.kind == "c" or x.dtype.kind == "c":
        raise TypeError("polygamma: complex arguments are not supported")
    n, x = np.broadcast_arrays(n.astype(np.float64), x.astype(np.float64))
    shape, n, x = n.shape, n.ravel(), x.ravel()
    out = np.empty(n.shape)
    with np.errstate(all="ignore"):
        left = ~((n == np.floor(n)) & (n >= 0) & (n <= _ORDER_MAX) & np.isfinite(x)
                 & ~((x <= 0) & (x == np.floor(x))))
        series = ~left
        orders = n[series]
        for order in orders[:1] if (orders == orders[:1]).all() else np.unique(orders):
            pick = series & (n == order)
            value, size = _psi_series(int(order), x[pick])
            value = out[pick] = value.astype(np.float64)
            # in double precision: a size that overflows (underflows) goes with a value
            # that does, and the guard keeps it; nan fails it
            estimate = size * ((2 * order + 3) * _WORK_EPS / _TOLERANCE)
            left[pick] = ~(estimate <= np.abs(value))
        for i in np.flatnonzero(left):
            out[i] = _polygamma_one(float(n[i]), float(x[i]))
    return out.reshape(shape)[()]
