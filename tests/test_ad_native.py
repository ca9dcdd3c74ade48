"""compile_grad(f, backend="c"): a scalar tape compiled to C gives the engine's gradient,
records again where a guard fails, and leaves everything else to the Python route with
the reason."""

import math
import warnings

import numpy as np
import pytest

from adbench.ad import compile_grad, compile_jacrev, grad, jacrev
from adbench.ad import native
from adbench.measure.accuracy import rho
from adbench.registry import load_registry


def _compiler_or_none():
    try:
        return native.compiler()
    except native.NotNative as why:
        return why


_CC = _compiler_or_none()
pytestmark = pytest.mark.skipif(isinstance(_CC, native.NotNative), reason=str(_CC))


def chain(x, xp):
    """A loop of smooth scalar steps, every C-spelled primitive of the table in it."""
    s = 0.0
    for i in range(len(x) - 1):
        a, b = x[i], x[i + 1]
        s = s + xp.sin(a) * xp.exp(b / 3.0) - xp.log(1.0 + a * a) + xp.sqrt(b * b + 1.0)
        s = s + xp.tanh(a - b) + xp.arctan2(a, b) ** 2 + a ** 3 / (2.0 + xp.cos(b))
        s = s + xp.log1p(b * b) * xp.expm1(a / 5.0) + xp.arcsinh(a) * xp.erf(b)
    return s


def rosenbrock_loop(x, xp):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] * x[i]) ** 2 + (1.0 - x[i]) ** 2
    return s


def branches(x, xp):
    """A branch on every entry: each a guard."""
    s = 0.0
    for xi in x:
        if xi > 0.5:
            s = s + xp.sqrt(xi) * 3.0
        else:
            s = s - xi * xi * xi
    return s


def matrix_entries(x, xp):
    """x a 3 x 2 matrix, read as x[i, j] and x[i][j]."""
    return x[0, 0] * x[1][1] - xp.sin(x[2, 1]) * x[2][0] + x[1, 0] / (1.0 + x[0][1] ** 2)


def scalar_input(x, xp):
    y = x
    for _ in range(5):
        y = xp.cos(y) * x + 0.5 * y
    return y


_HELMHOLTZ = load_registry().get("helmholtz").instance(n=5)

PROGRAMS = [
    ("chain", chain, np.linspace(0.3, 1.7, 6)),
    ("rosenbrock", rosenbrock_loop, np.array([-1.2, 1.0, 0.8, 1.1])),
    ("branches", branches, np.array([0.2, 0.9, 0.7, 0.1])),
    ("matrix", matrix_entries, np.arange(1.0, 7.0).reshape(3, 2) / 4.0),
    ("scalar", scalar_input, 0.7),
    ("helmholtz", _HELMHOLTZ.f, _HELMHOLTZ.x0),
]


@pytest.mark.parametrize("name, f, x0", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_native_gradient_equals_the_engines(name, f, x0):
    g = compile_grad(f, backend="c")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the check against the engine passed
        g(x0)
        key = next(iter(g.programs))
        assert g.backends[key] == "c", g.reasons
        # a nearby point on the same path (no entry of branches crosses 0.5)
        x1 = x0 * 1.01
        got, expected = g(x1), grad(f)(x1)
    assert np.shape(got) == np.shape(expected)
    assert np.all(rho(got, expected) <= 1e-12)
    assert g.stats == {"calls": 2, "recorded": 1, "compiled": 1, "ordinary": 0}
    assert "#include <math.h>" in g.sources[key]


def test_a_guard_miss_records_the_new_path_and_the_old_one_is_not_compiled_again():
    g = compile_grad(branches, backend="c")
    x_low = np.array([0.2, 0.1, 0.3, 0.4])
    x_high = np.array([0.2, 0.9, 0.3, 0.4])     # x[1] takes the other branch
    g(x_low)
    loaded = len(native._LOADED)
    for x in (x_low * 1.1, x_high, x_high * 1.01, x_low):
        assert np.all(rho(g(x), grad(branches)(x)) <= 1e-12)
    # x_high missed the first path's guard and was recorded; x_low * 1.1 and x_high * 1.01
    # ran native code; x_low missed again and was recorded: its C source is the first one's
    assert g.stats == {"calls": 5, "recorded": 3, "compiled": 2, "ordinary": 0}
    assert len(native._LOADED) == loaded + 1
    # d/dx of -x^3 is -3 x^2, of 3 sqrt(x) is 1.5 / sqrt(x)
    np.testing.assert_allclose(g(x_high), [-0.12, 1.5 / math.sqrt(0.9), -0.27, -0.48])


def test_the_c_derivative_is_the_tables_rule():
    # sin's lin rule multiply(g, cos(x)), run on C expressions
    g = compile_grad(lambda x, xp: xp.sin(x[0]), backend="c")
    g(np.array([0.3]))
    source = next(iter(g.sources.values()))
    assert "sin(v1)" in source and "(g2 * cos(v1))" in source


@pytest.mark.parametrize("f, reason", [
    (lambda x, xp: xp.exp2(x[0]) * x[1], "exp2 has no C spelling"),
    (lambda x, xp: xp.sum(x * x), "mul gives a ndarray of shape (2,)"),
    (lambda x, xp: xp.mod(x[0], 0.3) * x[1], "mod has no C spelling"),
], ids=["no-spelling", "array", "no-spelling-binary"])
def test_what_has_no_c_keeps_the_python_route_with_the_reason(f, reason):
    g = compile_grad(f, backend="c")
    x0, x1 = np.array([0.5, 1.5]), np.array([0.7, 1.2])
    g(x0)
    key = next(iter(g.programs))
    assert g.backends[key] == "python"
    assert g.reasons[key].startswith("not native: ") and reason in g.reasons[key]
    np.testing.assert_allclose(g(x1), grad(f)(x1), rtol=1e-12)
    assert g.stats["compiled"] == 1


@pytest.mark.parametrize("cc, reason", [
    ("/nonexistent/cc", "the C compiler /nonexistent/cc was not found"),
    ("false", "failed"),  # a program that exits 1: a compile error
    ("true", "did not load"),  # exits 0 but makes no shared object
])
def test_no_working_compiler_keeps_the_python_route_with_the_reason(monkeypatch, cc, reason):
    monkeypatch.setattr(native, "CC", cc)
    g = compile_grad(rosenbrock_loop, backend="c")
    x0 = np.array([-1.2, 1.0, 0.8])
    g(x0)
    key = next(iter(g.programs))
    assert g.backends[key] == "python" and reason in g.reasons[key]
    np.testing.assert_allclose(g(x0 * 2), grad(rosenbrock_loop)(x0 * 2), rtol=1e-12)


def test_a_tape_too_long_to_compile_keeps_the_python_route(monkeypatch):
    monkeypatch.setattr(native, "MAX_ENTRIES", 10)
    g = compile_grad(rosenbrock_loop, backend="c")
    g(np.array([-1.2, 1.0, 0.8]))
    key = next(iter(g.programs))
    assert g.backends[key] == "python" and "more than MAX_ENTRIES = 10" in g.reasons[key]


def test_native_code_that_disagrees_with_the_engine_is_not_used(monkeypatch):
    # the one check of compiled code: a wrong contribution is caught at the recorded point
    monkeypatch.setattr(native.CWriter, "contribution", lambda self, i, k: "0.5")
    g = compile_grad(rosenbrock_loop, backend="c")
    x0 = np.array([-1.2, 1.0, 0.8])
    with pytest.warns(RuntimeWarning, match="native gradient .* differs from the engine's"):
        g(x0)
    key = next(iter(g.programs))
    assert g.backends[key] == "python" and "differs" in g.reasons[key]
    np.testing.assert_allclose(g(x0 * 2), grad(rosenbrock_loop)(x0 * 2), rtol=1e-12)


def test_a_floating_point_exception_gets_the_engines_answer():
    g = compile_grad(lambda x, xp: xp.log(x) * x, backend="c")
    assert g(2.0) == math.log(2.0) + 1.0
    assert g(4.0) == math.log(4.0) + 1.0               # native
    with pytest.warns(RuntimeWarning, match="invalid value"):
        assert math.isnan(g(-1.0))                      # log(-1): the engine's nan
    assert g.stats == {"calls": 3, "recorded": 1, "compiled": 1, "ordinary": 1}


def test_compile_jacrev_of_a_scalar_function_is_native():
    J = compile_jacrev(rosenbrock_loop, backend="c")
    x0 = np.array([-1.2, 1.0, 0.8])
    J(x0)
    assert next(iter(J.backends.values())) == "c"
    got, expected = J(x0 * 0.9), jacrev(rosenbrock_loop)(x0 * 0.9)
    assert got.shape == expected.shape == (3,)
    assert np.all(rho(got, expected) <= 1e-12)


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend must be one of python, c, not 'fortran'"):
        compile_grad(chain, backend="fortran")


def test_compile_jacrev_of_a_stack_of_scalars_is_native():
    # rows: (x1, x0), (cos x0, 0), (0, 0) for the constant
    def f(x, xp):
        return xp.stack([x[0] * x[1], xp.sin(x[0]), 3.0])
    J = compile_jacrev(f, backend="c")
    J(np.array([0.5, 2.0]))
    assert next(iter(J.backends.values())) == "c"
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(J(x), [[2.0, 1.0], [math.cos(1.0), 0.0], [0.0, 0.0]])
    assert J.stats == {"calls": 2, "recorded": 1, "compiled": 1, "ordinary": 0}


def test_the_ad_native_method_runs_native_code_or_says_why_not():
    from adbench.methods import DEFAULT_METHODS, METHODS, PEER_METHODS
    assert "ad-native" not in DEFAULT_METHODS and "ad-native" not in PEER_METHODS
    registry = load_registry()
    method = METHODS["ad-native"]
    inst = registry.get("ode-rk4").instance(s=2)
    prepared = method.prepare(inst)
    assert prepared.info == {}
    x1 = inst.x0 * 1.01
    assert np.all(rho(prepared.jacobian(x1), METHODS["ad-reverse"].prepare(inst).jacobian(x1))
                  <= 1e-12)
    gmm = registry.get("gmm").instances()[0]
    message = method.prepare(gmm).info["message"]
    assert message.startswith("not native (") and "gives a ndarray of shape" in message
    assert message.endswith("the compiled Python serves it")


def test_the_side_by_side_study_checks_every_gradient():
    from adbench.studies import bench_native
    result = bench_native.run(n=3, repeats=1, min_sample=0.001)
    tools = result["tools"]
    assert {"compile_grad c", "compile_grad python"} <= set(tools)
    assert all(t["gap"] <= 1e-12 for t in tools.values())
    assert result["native"]["generate_s"] > 0
    table = bench_native.format_result(result)
    assert "| compile_grad c |" in table and "C compiler" in table


#: The library's problems whose tapes are float64 scalars with C-spelled primitives
#: (README, "Compiled to C").
NATIVE_PROBLEMS = ("helmholtz", "ba", "det-minors", "ode-rk4", "piecewise", "unrolled-loop",
                   "random-dag", "survey-example", "logistic-map", "babylonian-sqrt",
                   "fixed-point")


@pytest.mark.parametrize("name", NATIVE_PROBLEMS)
def test_the_librarys_scalar_problems_compile_to_c_and_match_jacrev(name):
    inst = load_registry().get(name).instances()[0]
    J = compile_jacrev(inst.f, backend="c")
    x0 = np.asarray(inst.x0, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        J(x0)
        x1 = x0 * 1.001
        got, expected = J(x1), jacrev(inst.f)(x1)
    assert next(iter(J.backends.values())) == "c", J.reasons
    assert np.all(rho(got, expected) <= 1e-12)
    assert J.stats == {"calls": 2, "recorded": 1, "compiled": 1, "ordinary": 0}


def test_a_pytree_of_scalars_and_arrays_is_native():
    def loss(p, xp):
        return xp.sin(p["a"]) * p["b"][0] + p["b"][1] ** 2 * p["W"][1, 0]
    g = compile_grad(loss, backend="c")
    p = {"a": 0.5, "b": np.array([1.0, 2.0]), "W": np.ones((2, 2))}
    g(p)
    p["W"][1, 0] = 3.0
    got = g(p)
    # d/da = cos(a) b0, d/db = (sin a, 2 b1 W10), d/dW10 = b1^2
    assert got["a"] == math.cos(0.5)
    np.testing.assert_array_equal(got["b"], [math.sin(0.5), 12.0])
    np.testing.assert_array_equal(got["W"], [[0.0, 0.0], [4.0, 0.0]])
    flat = next(iter(g.structured.values()))
    assert list(flat.backends.values()) == ["c"] and flat.stats["compiled"] == 1


# --------------------------------------------------------------------------
# The spellings of abs, maximum, minimum, sign, floor, ceil, round, hypot and where
# --------------------------------------------------------------------------

def _c_function(template: str, arity: int):
    """The C expression ``template`` of doubles {0}, {1}, compiled as the native route
    compiles (same flags): ``call(*columns) -> values``."""
    operands = [f"x[{k} * n + i]" for k in range(arity)]
    source = "\n".join([
        "#include <math.h>",
        "int program(const double *restrict x, double count, double *restrict y,"
        " double *restrict jac)",
        "{", "    int n = (int)count;",
        f"    for (int i = 0; i < n; i++) y[i] = {template.format(*operands)};",
        "    return 0;", "}", ""])
    function, _ = native.build(source)

    def call(*columns):
        n = len(columns[0])
        x = np.ascontiguousarray(np.concatenate(columns), dtype=np.float64)
        y = np.empty(n)
        pointer = native.ctypes.POINTER(native.ctypes.c_double)
        function(x.ctypes.data_as(pointer), float(n), y.ctypes.data_as(pointer), None)
        return y
    return call


_SPECIAL = [0.0, -0.0, 0.3, -0.3, 0.5, -0.5, 1.5, 2.5, -2.5, 2.7, -2.7, 1e300, -1e-300,
            math.inf, -math.inf, math.nan]


def _python_route(prim, *args):
    """What the engine computes for floats: the float implementation, or numpy's
    where it raises or there is none (as core.apply)."""
    from adbench.interpret.core import apply
    with np.errstate(all="ignore"):
        return float(apply(prim, *args))


def _same_double(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                   math.copysign(1, b))


@pytest.mark.parametrize("name", ["abs", "sign", "floor", "ceil", "round"])
def test_a_unary_spelling_gives_the_python_routes_double(name):
    from adbench.interpret import primitives as P
    from adbench.interpret.c_spelling import c_spelling
    prim = P.PRIMITIVES[name]
    call = _c_function(c_spelling(prim)("{0}"), 1)
    got = call(np.array(_SPECIAL))
    for x, c in zip(_SPECIAL, got):
        assert _same_double(c, _python_route(prim, x)), (name, x, c)


@pytest.mark.parametrize("name", ["maximum", "minimum", "hypot"])
def test_a_binary_spelling_gives_the_python_routes_double(name):
    from adbench.interpret import primitives as P
    from adbench.interpret.c_spelling import c_spelling
    prim = P.PRIMITIVES[name]
    call = _c_function(c_spelling(prim)("{0}", "{1}"), 2)
    pairs = [(a, b) for a in _SPECIAL for b in _SPECIAL]
    got = call(np.array([a for a, _ in pairs]), np.array([b for _, b in pairs]))
    for (a, b), c in zip(pairs, got):
        expected = _python_route(prim, a, b)
        if name == "hypot" and math.isfinite(expected) and expected != 0:
            # C's hypot, while CPython computes its own: within an ulp
            assert abs(c - expected) <= math.ulp(expected), (a, b, c, expected)
        else:
            assert _same_double(c, expected), (name, a, b, c, expected)


#: Programs using each spelled primitive, and points on both sides of its kinks or
#: jumps, and at a kink where the table defines the derivative there (TIE_CONVENTION).
SPELLED = [
    ("abs", lambda x, xp: xp.abs(x[0] - 0.5) * x[1] + xp.abs(x[1]),
     [(0.3, 1.7), (0.7, -1.2), (0.2, 0.9), (0.5, 0.4)]),
    ("maximum", lambda x, xp: xp.maximum(x[0], x[1]) * x[1] + xp.maximum(x[0] - 0.5, 0.0),
     [(0.3, 1.7), (1.7, 0.3), (0.2, 0.9), (0.8, 0.4), (1.0, 1.0)]),
    ("minimum", lambda x, xp: xp.minimum(2.0 * x[0], x[1]) * x[0],
     [(0.3, 1.7), (1.7, 0.3), (0.2, 0.9), (0.8, 0.4), (0.5, 1.0)]),
    ("sign", lambda x, xp: xp.sign(x[0] - 0.5) * x[1] * x[1],
     [(0.3, 1.7), (0.2, 0.9), (0.7, 1.2), (0.8, 0.4)]),
    ("floor", lambda x, xp: xp.floor(3.0 * x[0]) * x[1] + x[0] * x[1],
     [(0.3, 1.7), (0.2, 0.9), (0.7, 1.2), (0.68, 0.5), (-0.2, 0.4)]),
    ("ceil", lambda x, xp: xp.ceil(3.0 * x[0]) * x[1],
     [(0.3, 1.7), (0.2, 0.9), (0.7, 1.2), (0.68, 0.5), (-0.2, 0.4)]),
    ("round", lambda x, xp: xp.round(3.0 * x[0]) * x[1],
     [(0.3, 1.7), (0.2, 0.9), (0.7, 1.2), (0.68, 0.5), (-0.2, 0.4)]),
    ("hypot", lambda x, xp: xp.hypot(x[0], x[1] - 1.0) * x[0],
     [(0.3, 1.7), (-0.7, 0.2), (0.2, 0.9), (-0.1, 1.1), (0.0, 1.0)]),
    ("where", lambda x, xp: xp.where(x[0] > 0.5, x[1] * x[0], xp.sin(x[1])),
     [(0.3, 1.7), (0.2, 0.9), (0.7, 1.2), (0.8, 0.4)]),
    ("pow", lambda x, xp: x[0] ** x[1] + 2.0 ** x[1],  # a traced exponent
     [(0.3, 1.7), (0.7, 1.2), (1.2, 0.0), (0.8, 0.4)]),
]


@pytest.mark.parametrize("name, f, points", SPELLED, ids=[s[0] for s in SPELLED])
def test_a_spelled_primitive_compiles_to_c_and_gives_the_python_routes_gradient(
        name, f, points):
    g, python = compile_grad(f, backend="c"), compile_grad(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for point in points:
            x = np.array(point)
            got, expected = g(x), python(x)
            if name == "hypot":  # C's hypot: within an ulp of CPython's
                np.testing.assert_allclose(got, expected, rtol=4 * np.finfo(float).eps)
            else:
                np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(python(x), grad(f)(x))
    assert set(g.backends.values()) == {"c"}, g.reasons
    assert g.stats["ordinary"] == 0 and g.stats["compiled"] >= 1


def test_maximum_splits_a_tie_evenly_in_c_and_misses_off_it():
    # d/dx0 max(x0, x1) x1: x1 where x0 wins, 0 where it loses, x1 / 2 at a tie
    g = compile_grad(lambda x, xp: xp.maximum(x[0], x[1]) * x[1], backend="c")
    np.testing.assert_array_equal(g(np.array([2.0, 2.0])), [1.0, 3.0])  # x1 / 2, x1 / 2 + max
    source = next(iter(g.sources.values()))
    assert "if (!(v1 == v2)) return 1;" in source  # the tie the rule decided by, as a guard
    np.testing.assert_array_equal(g(np.array([3.0, 2.0])), [2.0, 3.0])
    assert g.stats["recorded"] == 2
    # off the tie, one C function serves both sides: the selection is a C condition
    h = compile_grad(lambda x, xp: xp.maximum(x[0], x[1]) * x[1], backend="c")
    h(np.array([3.0, 2.0]))
    np.testing.assert_array_equal(h(np.array([1.0, 2.0])), [0.0, 4.0])
    assert h.stats == {"calls": 2, "recorded": 1, "compiled": 1, "ordinary": 0}
    assert "(v1 > v2)) ? (g" in next(iter(h.sources.values()))


def test_a_rule_may_compare_a_value_in_c_but_not_compute_with_it():
    from adbench.interpret.c_spelling import CBool, CTrace, NoCSpelling
    c = CTrace()
    v = c.expr("v1", 2.0).value
    assert isinstance(v > 1.0, CBool) and (v > 1.0).text == "(v1 > 1.0)"
    assert np.greater(v, 3.0).outcome is False and not c.guards
    assert bool(v == 2.0) is True and c.guards == [("(v1 == 2.0)", True)]
    with pytest.raises(NoCSpelling, match="computes with the value"):
        v + 1.0
    with pytest.raises(NoCSpelling, match="reads the value"):
        c.expr("g3").value > 0.0  # a cotangent: no value known
