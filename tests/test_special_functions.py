"""The float implementations of erf, gammaln and polygamma (math and mpmath, no
scipy): values against mpmath at 50 digits, the complex step's values part by
part, poles and non-finite values, shapes and dtypes, and that neither adbench
nor its symbolic method needs scipy. scipy.special, where installed, is one more
oracle (``pytest.importorskip``).
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy

from adbench.interpret import primitives as P
from adbench.interpret.primitives import special_float
from adbench.interpret.xp import numpy_xp
from adbench.methods import METHODS
from adbench.methods.symbolic import LAMBDIFY_FUNCTIONS, _sympy_to_primitive
from adbench.problem import problem

ROOT = Path(__file__).parent.parent
RNG = np.random.default_rng(20261207)

erf, gammaln, polygamma = P.erf_p.impl, P.gammaln_p.impl, P.polygamma_p.impl

#: Finite points away from the poles: magnitudes 10^-300 .. 10^300 of both signs, uniform
#: draws, and points next to the poles, to the roots of gammaln (1, 2, -2.457...) and of
#: digamma (1.4616..., -0.5040...).
NEAR = [c + s * 10.0 ** -k for c in (0.0, -1.0, -3.0, 1.0, 2.0, 1.4616321449683623,
                                     -2.457024738220800, -0.5040830082644554)
        for k in (2, 8, 14) for s in (1, -1)]
POINTS = np.array([*(10.0 ** np.arange(-300, 301, 60)), *(-(10.0 ** np.arange(-300, 1, 60))),
                   *RNG.uniform(-30, 30, 24), *NEAR, 1e6 + 0.5, -1e6 - 0.5])
POINTS = POINTS[~((POINTS <= 0) & (POINTS == np.floor(POINTS)))]  # not at a pole
MODERATE = POINTS[np.abs(POINTS) < 1e5]  # mpmath's psi(n >= 1) at 50 digits steps x up by 1


def _mp(fn, *args, dps=50) -> float:
    with mpmath.workdps(dps):
        return fn(*args)


def _rel_errors(values, exact):
    """|value - exact| / |exact| with the exact values rounded to doubles; where one is
    past the float range (inf) the value must be that same inf (error 0, else inf)."""
    exact, values = np.array([float(e) for e in exact]), np.asarray(values)
    finite = np.isfinite(exact)
    with np.errstate(all="ignore"):
        rel = np.abs(values - exact) / np.abs(exact)
    return np.where(finite, rel, np.where(values == exact, 0.0, np.inf))


def test_erf_is_right_to_an_ulp():
    exact = [_mp(mpmath.erf, float(x)) for x in POINTS]
    assert _rel_errors(erf(POINTS), exact).max() < 2.3e-16


def test_gammaln_is_right_to_1e_13_and_to_4e_15_of_one_near_its_roots():
    exact = [_mp(lambda v: mpmath.loggamma(v).real, float(x)) for x in POINTS]
    got = gammaln(POINTS)
    e = np.array([float(v) for v in exact])
    away = np.abs(e) >= 0.01
    assert _rel_errors(got[away], exact=e[away]).max() < 1e-13  # 4.9e-14 at -1e6 - 0.5
    # math.lgamma near its roots: an absolute error, as scipy's near the negative ones
    assert (np.abs(got - e) / np.maximum(1.0, np.abs(e))).max() < 4e-15


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_polygamma_is_right_to_half_an_ulp(n):
    exact = [_mp(mpmath.psi, n, float(x)) for x in MODERATE]
    assert _rel_errors(polygamma(float(n), MODERATE), exact).max() < 1.2e-16


def test_the_bernoulli_numbers_of_the_asymptotic_expansion_are_sympys():
    assert [sympy.Rational(b.numerator, b.denominator) for b in special_float._BERNOULLI] == \
        [sympy.bernoulli(2 * k) for k in range(1, len(special_float._BERNOULLI) + 1)]


@pytest.mark.parametrize("n", [4, 7, 12, 30, 100, special_float._ORDER_MAX + 1])
def test_polygamma_of_higher_orders_is_right_to_an_ulp(n):
    # exact values at 300 digits: at x = -2.5 the reflection's terms of order 100 cancel
    # to 10^-36 of each (they are equal and opposite about the poles -2 and -3)
    x = np.array([0.3, 1.4616321449683623, 2.5, 7.9, 13.7, 95.0, 1e4 + 0.3, -0.3, -2.5,
                  -7.25, -1e6 - 0.25])
    exact = [_mp(special_float._mp_psi, n, float(v), dps=300) for v in x]
    assert _rel_errors(polygamma(float(n), x), exact).max() < 2.3e-16


def test_the_guard_sends_the_cancellations_and_only_them_to_mpmath(monkeypatch):
    """Next to digamma's roots on the negative axis psi(1 - x) and pi cot(pi x) cancel:
    those points, and no others, are evaluated one by one (mpmath); next to the positive
    root the Taylor polynomial at the root has no cancellation."""
    calls = []
    one = special_float._polygamma_one
    monkeypatch.setattr(special_float, "_polygamma_one", lambda n, x: calls.append(x) or one(n, x))
    roots = np.array([float(mpmath.findroot(mpmath.digamma, -k - 0.5)) for k in range(20)])
    near = np.array([r + d for r in roots[:3] for d in (1e-12, -1e-9, 1e-6)])
    typical = np.concatenate([RNG.uniform(0.1, 20, 100), RNG.uniform(-20, -0.1, 100)])
    typical = typical[np.abs(typical[:, None] - roots).min(axis=1) > 0.01]
    x = np.concatenate([typical, near, 1.4616321449683623 + np.array([1e-15, -1e-9, 0.1])])
    got = polygamma(0.0, x)
    assert sorted(calls) == sorted(near)
    assert _rel_errors(got, [_mp(mpmath.psi, 0, float(v)) for v in x]).max() < 1.2e-16


def test_polygamma_gives_the_same_bits_on_floats_and_on_arrays():
    """A float is a 0-d array of the same evaluation, the guard deciding point by point:
    the same bits, whether the point took the series or mpmath, alone or broadcast."""
    x = np.array([1e-310, 0.3, 1.4616321449683623, 1.5, 7.9, 8.0, 30.0, 1e300,
                  -0.5040830082644554, -2.5, -7.25, -1e15 - 0.5])
    orders = np.array([0.0, 1.0, 2.0, 3.0])
    table = polygamma(orders, x[:, None])
    for n in orders:
        np.testing.assert_array_equal([polygamma(n, v) for v in x], polygamma(n, x))
        np.testing.assert_array_equal(polygamma(n, x), table[:, int(n)])
        np.testing.assert_array_equal([numpy_xp.polygamma(float(n), float(v)) for v in x],
                                      table[:, int(n)])


@pytest.mark.parametrize("x", [-12345.7, -1e7 - 0.25, -1e15 - 0.5])
def test_polygamma_far_on_the_left_by_the_sine_identities(x):
    # psi_1(x) = pi^2 / sin^2(pi x) - psi_1(1 - x), and its derivative
    # psi_2(x) = psi_2(1 - x) - 2 pi^3 cos(pi x) / sin^3(pi x): 1 - x > 0, where mpmath's
    # psi is quick (not the reflection through the derivatives of cot the code uses)
    with mpmath.workdps(50):
        y = 1 - mpmath.mpf(x)
        one = mpmath.pi ** 2 / mpmath.sinpi(x) ** 2 - mpmath.psi(1, y)
        two = mpmath.psi(2, y) - 2 * mpmath.pi ** 3 * mpmath.cospi(x) / mpmath.sinpi(x) ** 3
    assert polygamma(1.0, x) == pytest.approx(float(one), rel=2.3e-16)
    assert polygamma(2.0, x) == pytest.approx(float(two), rel=2.3e-16)


@pytest.mark.parametrize("name, exact_fn", [("erf", mpmath.erf), ("gammaln", mpmath.loggamma)])
def test_the_complex_step_values_are_right_in_each_part(name, exact_fn):
    """erf and the principal log Gamma at x + ih, h = 1e-20 max(1, |x|) as fd-complex
    takes it: the imaginary part (h f'(x), down to 10^-66 of the real part at x = 10.4)
    to double precision on its own, against mpmath at 500 digits."""
    xs = np.array([0.3, 1.0, 1.4616321449683623, 2.0, 5.0, 10.4, -0.3, -2.457024738220800,
                   -2.5, -7.25, 25.0])
    z = xs + 1j * 1e-20 * np.maximum(1.0, np.abs(xs))
    got = getattr(P, f"{name}_p").impl(z)
    for w, v in zip(got, z):
        e = _mp(exact_fn, complex(v), dps=500)
        for part, exact in (("real", e.real), ("imag", e.imag)):
            assert getattr(w, part) == pytest.approx(float(exact), rel=2.3e-16), (v, part)
    # the complex step's derivative: Im f(x + ih) / h = f'(x)
    h = 1e-20
    derivative = getattr(P, f"{name}_p").impl(np.array([0.7 + 1j * h])).imag[0] / h
    slope = (2 / math.sqrt(math.pi) * math.exp(-0.49) if name == "erf"
             else float(_mp(mpmath.psi, 0, 0.7)))
    assert derivative == pytest.approx(slope, rel=1e-15)


def test_the_complex_values_are_conjugate_below_the_real_axis():
    # on the cut of log Gamma (x < 0), the sign of a zero imaginary part picks the side
    for z in (-2.5 + 1e-20j, complex(-2.5, 0.0), 1.5 + 2j, 0.3 + 1e-20j):
        for f in (erf, gammaln):
            assert f(np.array([z.conjugate()]))[0] == f(np.array([z]))[0].conjugate()
    assert gammaln(np.array([complex(-2.5, 0.0)]))[0].imag == pytest.approx(-3 * math.pi)


def test_poles_and_non_finite_values_take_the_limits():
    inf, nan = math.inf, math.nan
    poles = np.array([0.0, -0.0, -1.0, -2.0, -1e300])
    np.testing.assert_array_equal(gammaln(poles), inf)  # |Gamma| -> inf
    np.testing.assert_array_equal(gammaln(np.array([inf, -inf, nan, 2.6e305])),
                                  [inf, inf, nan, inf])
    np.testing.assert_array_equal(erf(np.array([inf, -inf, nan])), [1.0, -1.0, nan])
    # digamma ~ -1/x at 0, no limit at the negative poles; psi_n ~ (-1)^(n+1) n! / x^(n+1)
    np.testing.assert_array_equal(polygamma(0.0, poles), [-inf, inf, nan, nan, nan])
    np.testing.assert_array_equal(polygamma(1.0, poles), inf)
    np.testing.assert_array_equal(polygamma(2.0, poles), -inf)
    np.testing.assert_array_equal(polygamma(np.array([0.0, 1.0, 2.0]), inf), [inf, 0.0, -0.0])
    np.testing.assert_array_equal(polygamma(np.array([0.0, 1.0, 2.0]), nan), nan)
    np.testing.assert_array_equal(polygamma(np.array([1.5, -1.0]), 2.0), nan)  # no such order
    assert polygamma(0.0, 1e-320) == -inf  # -1/x past the float range


def test_the_edge_values_are_scipys():
    special = pytest.importorskip("scipy.special")
    x = np.array([0.0, -0.0, -1.0, -2.0, -1e300, math.inf, math.nan, 1e-310, 2.6e305])
    edges = np.array([0.0, -0.0, math.inf, -math.inf, math.nan, 1e-310])
    np.testing.assert_array_equal(erf(edges), special.erf(edges))
    np.testing.assert_array_equal(gammaln(x[x != 1e-310]), special.gammaln(x[x != 1e-310]))
    for n in range(4):
        np.testing.assert_array_equal(polygamma(float(n), np.append(x, -math.inf)),
                                      special.polygamma(n, np.append(x, -math.inf)))
    # where the two differ, gammaln is math.lgamma's: at -inf and at a subnormal x
    assert gammaln(-math.inf) == math.inf and special.gammaln(-math.inf) == -math.inf
    assert gammaln(1e-310) == pytest.approx(-math.log(1e-310)) and special.gammaln(1e-310) == \
        math.inf


def test_the_values_are_scipys_within_a_few_ulp():
    special = pytest.importorskip("scipy.special")
    x = RNG.uniform(-20, 20, 200)
    np.testing.assert_allclose(erf(x), special.erf(x), rtol=4e-16, atol=0)
    np.testing.assert_allclose(gammaln(x), special.gammaln(x), rtol=2e-13, atol=1e-14)
    for n in range(3):
        np.testing.assert_allclose(polygamma(float(n), x), special.polygamma(n, x),
                                   rtol=1e-12)
    z = x[:50] / 4 + 1e-20j  # past |x| = 6 the imaginary part of erf is below 10^-35
    np.testing.assert_allclose(erf(z).imag, special.erf(z).imag, rtol=1e-13, atol=0)
    np.testing.assert_allclose(gammaln(z[z.real > 0]), special.loggamma(z[z.real > 0]),
                               rtol=1e-13)


def test_no_warning_at_the_poles_or_past_the_float_range():
    x = np.array([0.0, -1.0, 2.6e305, math.inf, -math.inf, math.nan, 1e-320])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        erf(x), gammaln(x), polygamma(1.0, x), polygamma(0.0, x)
        gammaln(x + 0j), erf(x + 1e-20j)


def test_shapes_dtypes_and_scalars_are_those_of_a_ufunc():
    for f in (erf, gammaln):
        assert type(f(0.5)) is np.float64 and type(f(np.float64(0.5))) is np.float64
        assert type(f(np.array(0.5))) is np.float64
        assert f(np.ones((2, 3))).shape == (2, 3) and f(np.ones((2, 3))).dtype == np.float64
        assert f(np.ones(3, dtype=np.float32)).dtype == np.float32
        assert f(np.arange(1, 4)).dtype == np.float64
        assert f(np.ones(3, dtype=np.complex64)).dtype == np.complex64
        assert f(np.ones(3, dtype=complex)).dtype == np.complex128
        assert f(np.zeros((0, 2))).shape == (0, 2)
    assert type(polygamma(1, 0.5)) is np.float64
    out = polygamma(np.array([0.0, 1.0, 2.0]), np.array([[1.0], [2.0]]))
    assert out.shape == (2, 3) and out.dtype == np.float64
    assert out[1, 1] == pytest.approx(math.pi ** 2 / 6 - 1, rel=1e-15)  # psi_1(2)
    with pytest.raises(TypeError, match="complex"):
        polygamma(1.0, np.array([1 + 1j]))


def test_the_working_precision_is_local():
    x = np.array([1.4616321449683623, 0.3])
    plain = polygamma(0.0, x)
    with mpmath.workdps(80):  # as the reference raises it
        assert np.array_equal(polygamma(0.0, x), plain)
        assert mpmath.mp.dps == 80
    assert mpmath.mp.prec == 53
    # next to digamma's root one evaluation at 53 bits is 4e-3 off; this is right
    assert plain[0] == pytest.approx(float(_mp(mpmath.psi, 0, x[0], dps=60)), rel=1.2e-16)


def test_the_symbolic_method_compiles_with_the_tables_functions():
    def f(x, xp):
        return xp.array([xp.erf(x[0]) * x[1], xp.gammaln(x[1]) * x[0],
                         xp.polygamma(1, x[0] + x[1])])
    inst = problem(name="special-symbolic", n=2, m=3, x0=[0.7, 1.3])(f).instance()
    prepared = METHODS["symbolic"].prepare(inst)
    for name, impl in LAMBDIFY_FUNCTIONS.items():
        assert prepared.compiled.__globals__.get(name, impl) is impl
    assert "scipy" not in prepared.compiled.__globals__
    x0, x1 = 0.7, 1.3
    with mpmath.workdps(50):
        d = mpmath.diff
        exact = [[d(lambda a: mpmath.erf(a) * x1, x0), mpmath.erf(x0)],
                 [mpmath.loggamma(x1), d(lambda b: mpmath.loggamma(b) * x0, x1)],
                 [mpmath.psi(2, x0 + x1)] * 2]
    np.testing.assert_allclose(prepared.jacobian(inst.x0),
                               [[float(v) for v in row] for row in exact], rtol=1e-14)


def test_every_function_of_the_table_lambdify_prints_has_a_float_implementation():
    """Each SymPy function of the table compiles, with the symbolic method's modules,
    to a numpy function or a LAMBDIFY_FUNCTIONS entry, and gives the table's value."""
    t = sympy.Symbol("t", real=True)
    for cls, fn in _sympy_to_primitive().items():
        two = fn.__name__ in ("arctan2", "polygamma")
        at = 1.45 if fn.__name__ == "arccosh" else 0.45
        args = (1, t) if fn.__name__ == "polygamma" else (t, 0.3) if two else (t,)
        compiled = sympy.lambdify([t], cls(*args), modules=[LAMBDIFY_FUNCTIONS, "numpy"])
        values = [at if a is t else a for a in args]
        assert compiled(np.float64(at)) == pytest.approx(float(fn(*values)), rel=1e-15), cls


def test_importing_adbench_does_not_import_scipy():
    code = ("import sys, adbench, adbench.cli, adbench.methods, adbench.measure.harness; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_scipy_is_no_core_dependency():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [d.split(">")[0].split(";")[0].strip() for d in project["dependencies"]]
    assert "scipy" not in names
    assert {"numpy", "sympy", "pandas", "click", "mpmath", "tabulate", "matplotlib"} <= set(names)


def test_numpy_xp_exposes_the_same_implementations():
    x = np.array([0.4, 2.5])
    np.testing.assert_array_equal(numpy_xp.erf(x), erf(x))
    np.testing.assert_array_equal(numpy_xp.gammaln(x), gammaln(x))
    np.testing.assert_array_equal(numpy_xp.polygamma(2.0, x), polygamma(2.0, x))
