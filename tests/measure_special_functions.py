"""The float implementations of erf, gammaln and polygamma: their worst relative
errors against mpmath at 50 digits, the same for scipy.special where it is
installed (and the largest difference between the two), and the time per element.

    python tests/measure_special_functions.py [--rounds 5] [--size 10000]

Points: magnitudes 10^-300 .. 10^300 of both signs, uniform draws on [-30, 30],
points 10^-k next to the poles 0, -1, ..., -5 and next to the roots of gammaln
(1, 2, -2.457..., -2.747...) and of digamma (1.4616..., -0.5040...), subnormals;
for the complex step, x + ih with h = 1e-20 max(1, |x|) (the fd-complex method's
step) and h = 1e-8, real and imaginary parts judged each on its own. A relative error
is |value - exact| / |exact| with the exact value rounded to a double, where that is a
nonzero finite double; elsewhere the two must be the same double (inf, 0).
Non-finite inputs and poles are checked for equality with scipy instead (edge table).

Times: arrays of --size uniform draws (erf on [-5, 5], gammaln on [0.1, 20]; polygamma
of orders 0 to 3 on [0.1, 20], on [-20, -0.1], and at 10^u, u uniform on [-3, 3], of
either sign), adbench's and scipy's function in interleaved rounds, medians: ns per
element and the ratio; for polygamma also the share of the points its guard sent to
mpmath.

    python tests/measure_special_functions.py --guard [--size 2000]

The guard of polygamma's series: on --size points for each of the orders 0, 1, 2, 3, 4,
7, 12, 25, 50, 100 (uniform on [-30, 30], next to the roots and poles, 10^u for u
uniform on [-3, 3]), the largest error of the series' working-precision value against
mpmath's to 30 digits, in units of the guard's estimate (2n + 3) eps size.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import mpmath
import numpy as np

from adbench.interpret.primitives import special_float as S

try:
    import scipy.special as sc
except ImportError:  # the errors of adbench's implementations are still measured
    sc = None

DPS = 50
#: Digits of the exact complex values: the imaginary part of erf(x + 1e-20 i) at x = 30
#: is 10^-411 of the real part, and 50 digits of the modulus would not resolve it.
DPS_COMPLEX = 500


def real_points(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mags = 10.0 ** np.arange(-300, 301, 10)
    near = []
    for c in (0.0, -1.0, -2.0, -3.0, -4.0, -5.0, 1.0, 2.0, 1.4616321449683623,
              -2.457024738220800, -2.747682646727412, -0.5040830082644554):
        for k in (1, 4, 8, 12, 15):
            near += [c + 10.0 ** -k, c - 10.0 ** -k]
        near += [np.nextafter(c, 10.0), np.nextafter(c, -10.0)]
    return np.concatenate([mags, -mags, rng.uniform(-30, 30, 300), near,
                           [5e-324, 1e-310, -1e-310, 171.5, 1e6 + 0.5, -1e6 - 0.5]])


def _exact(fn, *args, dps=DPS):
    with mpmath.workdps(dps):
        return fn(*args)


def _rel(value: float, exact) -> float:
    """Relative error of a double against an mpmath number: inf when the exact value
    rounds to a nonzero finite double and ``value`` is another kind (inf, nan). Where the
    exact value is subnormal (its last bit is worth more than 2^-53 of it), 0 for a value
    within one subnormal step of it, else inf."""
    t = float(exact)
    if t == 0 or not math.isfinite(t):
        return 0.0 if value == t else math.inf
    if abs(t) < 2.2250738585072014e-308:
        return 0.0 if abs(value - t) <= 5e-324 else math.inf
    if not math.isfinite(value):
        return math.inf
    with mpmath.workdps(DPS):
        return float(abs((mpmath.mpf(value) - exact) / exact))


def _abs_err(value: float, exact) -> float:
    """|value - exact| / max(1, |exact|): the error judged against the scale 1 near a root."""
    if not math.isfinite(value) or not mpmath.isfinite(exact):
        return 0.0 if value == float(exact) else math.inf
    with mpmath.workdps(DPS):
        return float(abs(mpmath.mpf(value) - exact) / max(1, abs(exact)))


def _worst(pairs):
    """(worst relative error, its point, worst error relative to max(1, |exact|)) over
    (point, value, exact) triples."""
    worst, where, scaled = 0.0, None, 0.0
    for point, value, exact in pairs:
        r = _rel(value, exact)
        if r > worst:
            worst, where = r, point
        scaled = max(scaled, _abs_err(value, exact))
    return worst, where, scaled


def _exact_gammaln(x):
    return mpmath.loggamma(x).real  # log |Gamma(x)|: the real part of the principal branch


def accuracy(points: np.ndarray) -> list:
    rows = []
    finite = points[np.isfinite(points)]
    poles = (finite <= 0) & (finite == np.floor(finite))
    x = finite[~poles]
    cases = [("erf", x, S.float_erf, getattr(sc, "erf", None), mpmath.erf),
             ("gammaln", x, S.float_gammaln, getattr(sc, "gammaln", None), _exact_gammaln)]
    for n in range(4):
        # mpmath's psi of order >= 1 steps a negative x up one unit at a time (seconds at
        # -10^6), and scipy's polygamma does not return at -1e15 - 0.5
        small = x[np.abs(x) < 1e5]
        cases.append((f"polygamma({n}, .)", small,
                      lambda v, n=n: S.float_polygamma(n, v),
                      (lambda v, n=n: sc.polygamma(n, v)) if sc else None,
                      lambda v, n=n: mpmath.psi(n, v)))
    for name, xs, ours, theirs, exact_fn in cases:
        exact = [_exact(exact_fn, float(v)) for v in xs]
        a = ours(xs)
        row = [name, len(xs), *_worst(zip(xs, a, exact))]
        if theirs is not None:
            b = theirs(xs)
            row += [*_worst(zip(xs, b, exact)), _max_rel_diff(a, b)]
        if name == "gammaln":  # away from its roots (1, 2 and the negative ones), and
            # from the subnormal x, where scipy's is inf
            away = np.array([abs(float(e)) >= 1e-2 and abs(v) >= 2.2250738585072014e-308
                             for v, e in zip(xs, exact)])
            worst = [_worst(zip(xs[away], v[away], np.array(exact, dtype=object)[away]))[0]
                     for v in ([a, b] if theirs is not None else [a])]
            row[0] = "gammaln (where |value| >= 0.01 and x is normal: " + ", ".join(
                f"{who} {w:.2e}" for who, w in zip(("adbench", "scipy"), worst)) + ")"
        rows.append(row)
    for h_name, h_of in (("1e-20 max(1,|x|)", lambda v: 1e-20 * max(1.0, abs(v))),
                         ("1e-8", lambda v: 1e-8)):
        moderate = x[(np.abs(x) < 30) & (np.abs(x) > 1e-8)]
        z = moderate + 1j * np.array([h_of(float(v)) for v in moderate])
        for name, ours, theirs, exact_fn in (
                ("erf", S.float_erf, getattr(sc, "erf", None), mpmath.erf),
                ("gammaln", S.float_gammaln, getattr(sc, "loggamma", None), mpmath.loggamma)):
            exact = [_exact(exact_fn, complex(v), dps=DPS_COMPLEX) for v in z]
            a = ours(z)
            for part in ("real", "imag"):
                pick = (lambda w: w.real) if part == "real" else (lambda w: w.imag)
                row = [f"{name}(x + {h_name} i).{part}", len(z),
                       *_worst((v, pick(u), pick(e)) for v, u, e in zip(z, a, exact))]
                if theirs is not None:
                    b = theirs(z)
                    row += [*_worst((v, pick(u), pick(e)) for v, u, e in zip(z, b, exact)),
                            _max_rel_diff(pick(a), pick(b))]
                rows.append(row)
    return rows


def _max_rel_diff(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(all="ignore"):
        d = np.where(same, 0.0, np.abs(a - b) / scale)
    return float(np.nanmax(np.where(np.isfinite(d), d, np.inf)))


def edges() -> list:
    """Non-finite inputs and poles: adbench's value and scipy's where they differ."""
    x = np.array([0.0, -0.0, -1.0, -2.0, -3.0, -1e300, np.inf, -np.inf, np.nan,
                  5e-324, -5e-324, 2.6e305])
    funcs = [("erf", S.float_erf, getattr(sc, "erf", None)),
             ("gammaln", S.float_gammaln, getattr(sc, "gammaln", None))]
    funcs += [(f"polygamma({n}, .)", lambda v, n=n: S.float_polygamma(n, v),
               (lambda v, n=n: sc.polygamma(n, v)) if sc else None) for n in range(4)]
    out = []
    for name, ours, theirs in funcs:
        a = ours(x)
        if theirs is None:
            out.append((name, "scipy not installed", list(zip(x.tolist(), a.tolist()))))
            continue
        b = theirs(x)
        differ = [(float(v), float(p), float(q)) for v, p, q in zip(x, a, b)
                  if not (p == q or (math.isnan(p) and math.isnan(q)))]
        out.append((name, "differs from scipy at", differ))
    return out


def _fallback_share(n: int, xs: np.ndarray) -> float:
    """The share of the points of ``xs`` that polygamma(n, .) evaluates one by one
    (:func:`S._polygamma_one`: mpmath, or an edge value) rather than by its series."""
    calls = []
    one = S._polygamma_one

    def counted(order, x):
        calls.append(x)
        return one(order, x)
    S._polygamma_one = counted
    try:
        S.float_polygamma(float(n), xs)
    finally:
        S._polygamma_one = one
    return len(calls) / len(xs)


def timings(size: int, rounds: int) -> list:
    rng = np.random.default_rng(1)
    x_erf = rng.uniform(-5, 5, size)
    x_pos = rng.uniform(0.1, 20, size)
    magnitudes = 10.0 ** rng.uniform(-3, 3, size)
    cases = [("erf", x_erf, S.float_erf, getattr(sc, "erf", None)),
             ("gammaln", x_pos, S.float_gammaln, getattr(sc, "gammaln", None))]
    for where, xs in (("[0.1, 20]", x_pos), ("[-20, -0.1]", -rng.uniform(0.1, 20, size)),
                      ("10^[-3, 3]", magnitudes),
                      ("+-10^[-3, 3]", magnitudes * rng.choice([-1.0, 1.0], size))):
        cases += [(f"polygamma({n}, {where})", xs, lambda v, n=n: S.float_polygamma(n, v),
                   (lambda v, n=n: sc.polygamma(n, v)) if sc else None) for n in range(4)]
    rows = []
    for name, xs, ours, theirs in cases:
        t_ours, t_theirs = [], []
        for _ in range(rounds):  # interleaved: both see the same machine load
            t = time.perf_counter()
            ours(xs)
            t_ours.append(time.perf_counter() - t)
            if theirs is not None:
                t = time.perf_counter()
                theirs(xs)
                t_theirs.append(time.perf_counter() - t)
        a = statistics.median(t_ours) / len(xs) * 1e9
        b = statistics.median(t_theirs) / len(xs) * 1e9 if t_theirs else math.nan
        share = (_fallback_share(int(name[10]), xs) if name.startswith("polygamma")
                 else math.nan)
        rows.append((name, len(xs), a, b, a / b, share))
    return rows


#: The orders of the guard's calibration.
GUARD_ORDERS = (0, 1, 2, 3, 4, 7, 12, 25, 50, 100)


def _exact_psi(n: int, x: float):
    """psi_n(x) (:func:`S._mp_psi`) at 40, 100 and 300 digits in turn until two agree to
    10^-30: at x = -2.5 the reflection's two terms of order 100 cancel to 10^-36 of each
    (mpmath's own psi at 50 digits is then off by 10^27 of the value)."""
    previous = None
    for dps in (40, 100, 300):
        with mpmath.workdps(dps):
            value = S._mp_psi(n, x)
            if previous is not None and abs(value - previous) <= abs(value) * mpmath.mpf(10) ** -30:
                return value
        previous = value
    raise ArithmeticError(f"psi({n}, {x!r}) does not settle at 300 digits")


def guard_calibration(size: int) -> list:
    """(n, points, largest |series value - exact| / ((2n + 3) eps size), its point) for
    each order of GUARD_ORDERS: the error of polygamma's series in the working type
    (:func:`S._psi_series`) in units of the guard's estimate, exact values mpmath's to
    30 digits (:func:`_exact_psi`)."""
    rng = np.random.default_rng(2)
    roots = [1.4616321449683623, -0.5040830082644554, -1.5734984731623905,
             -2.6107208684441, -3.6352933664369]
    rows = []
    for n in GUARD_ORDERS:
        k = size // 4
        xs = np.concatenate([rng.uniform(-30, 30, k),
                             rng.choice(roots, k) + rng.uniform(-0.05, 0.05, k),
                             -rng.integers(0, 30, k) + rng.uniform(-1e-3, 1e-3, k),
                             10.0 ** rng.uniform(-3, 3, size - 3 * k)
                             * rng.choice([-1.0, 1.0], size - 3 * k)])
        xs = xs[~(xs == np.round(xs))]
        with np.errstate(all="ignore"):
            value, magnitude = S._psi_series(n, xs)
        worst, where = 0.0, None
        for x, v, m in zip(xs, value, magnitude):
            hi = float(v)
            if not math.isfinite(hi) or not math.isfinite(float(m)):
                continue
            lo = float(v - np.longdouble(hi))  # the working value, exactly, as two doubles
            with mpmath.workdps(40):
                err = abs(mpmath.mpf(hi) + lo - _exact_psi(n, float(x)))
                ratio = float(err / ((2 * n + 3) * S._WORK_EPS * mpmath.mpf(float(m))))
            if ratio > worst:
                worst, where = ratio, float(x)
        rows.append((n, len(xs), worst, where))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--guard", action="store_true",
                        help="measure the error of polygamma's series against its guard")
    args = parser.parse_args()
    if args.guard:
        size = args.size or 2000
        print(f"polygamma's series: largest error in units of the guard's estimate "
              f"(2n + 3) eps size, eps = {S._WORK_EPS:.3g}, {size} points per order")
        for n, count, worst, where in guard_calibration(size):
            print(f"  order {n:3d}  {count:5d} points  {worst:6.3f} at {where!r}")
        return
    args.size = args.size or 10_000
    print(f"scipy: {getattr(sc, '__name__', None) and __import__('scipy').__version__}, "
          f"mpmath {mpmath.__version__}, exact values at {DPS} digits")
    print("\nworst relative error against mpmath (at the point); scaled: the worst "
          "|error| / max(1, |exact|)")
    for row in accuracy(real_points()):
        name, count, err, where, scaled, *rest = row
        line = (f"  {name} {count:4d} points\n      adbench {err:9.2e} at {where!r}, "
                f"scaled {scaled:9.2e}")
        if rest:
            line += (f"\n      scipy   {rest[0]:9.2e} at {rest[1]!r}, scaled {rest[2]:9.2e};"
                     f" largest relative difference {rest[3]:9.2e}")
        print(line)
    print("\nnon-finite inputs and poles")
    for name, what, items in edges():
        print(f"  {name:20} {what}: {items}")
    print(f"\nns per element, medians of {args.rounds} interleaved rounds")
    for name, count, a, b, ratio, share in timings(args.size, args.rounds):
        line = (f"  {name:28} {count:6d} elements  adbench {a:8.0f}  scipy {b:6.0f}  "
                f"ratio {ratio:6.1f}")
        if share == share:
            line += f"  to mpmath {share:.2%}"
        print(line)


if __name__ == "__main__":
    main()
