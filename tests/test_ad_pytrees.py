"""Pytrees and argnums: dict, list, tuple and nested arguments, several arguments.

Every derivative of a pytree argument is checked against the same derivative
of the flat-vector function (the engine's vector machinery, written out by
hand here) and against central differences.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

from adbench.ad import (
    compile_grad,
    compile_jacrev,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)
from adbench.interpret.xp import numpy_xp

RNG = np.random.default_rng(20240611)
X_DATA = RNG.standard_normal(3)
W0 = RNG.standard_normal((3, 2))
B0 = RNG.standard_normal(2)


def layer(params, xp):
    """A vector output of a dict of parameters: tanh(x W + b) * s."""
    return xp.tanh(X_DATA @ params["W"] + params["b"]) * params["s"]


def loss(params, xp):
    y = layer(params, xp)
    return xp.sum(y * y) + xp.sin(params["s"])


def dict_params() -> dict:
    return {"W": W0.copy(), "b": B0.copy(), "s": 1.3}


# The same parameters as one vector, in the order the engine flattens them (W, b, s),
# by hand: the oracle the tree results are compared with.
def to_vector(p: dict) -> np.ndarray:
    return np.concatenate([p["W"].ravel(), p["b"], [p["s"]]])


def from_vector(z, xp=numpy_xp) -> dict:
    return {"W": xp.reshape(z[0:6], (3, 2)), "b": z[6:8], "s": z[8]}


def flat_loss(z, xp):
    return loss(from_vector(z, xp), xp)


def flat_layer(z, xp):
    return layer(from_vector(z, xp), xp)


def central_gradient(f, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(z)
    for i in range(z.size):
        e = np.zeros_like(z)
        e[i] = h
        g[i] = (f(z + e, numpy_xp) - f(z - e, numpy_xp)) / (2 * h)
    return g


def test_grad_of_a_dict_has_its_keys_and_shapes_and_the_flat_gradient():
    p = dict_params()
    g = grad(loss)(p)
    assert list(g) == ["W", "b", "s"]
    assert g["W"].shape == (3, 2) and g["b"].shape == (2,) and type(g["s"]) is float
    flat = grad(flat_loss)(to_vector(p))
    np.testing.assert_allclose(to_vector(g), flat, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(to_vector(g), central_gradient(flat_loss, to_vector(p)),
                               rtol=1e-7, atol=1e-8)


def test_grad_of_lists_tuples_and_nesting_keeps_the_structure():
    a, b = RNG.standard_normal(2), RNG.standard_normal((2, 2))

    def f(tree, xp):
        (u, [v, c]), w = tree["pair"], tree["w"]
        return xp.sum(xp.sin(u) * (v @ u)) * c + w ** 3

    tree = {"pair": (a, [b, 0.7]), "w": 2}  # an int leaf is differentiated as a float
    g = grad(f)(tree)
    assert isinstance(g["pair"], tuple) and isinstance(g["pair"][1], list)
    assert g["w"] == pytest.approx(12.0, rel=1e-15)
    vector = np.concatenate([a, b.ravel(), [0.7, 2.0]])

    def flat(z, xp):
        return f({"pair": (z[0:2], [xp.reshape(z[2:6], (2, 2)), z[6]]), "w": z[7]}, xp)

    got = np.concatenate([g["pair"][0], g["pair"][1][0].ravel(), [g["pair"][1][1], g["w"]]])
    np.testing.assert_allclose(got, grad(flat)(vector), rtol=1e-14)
    np.testing.assert_allclose(got, central_gradient(flat, vector), rtol=1e-7, atol=1e-8)


def test_a_namedtuple_comes_back_as_one():
    Params = namedtuple("Params", "w b")
    g = grad(lambda p, xp: xp.sum(p.w * p.w) + 3.0 * p.b)(Params(np.array([1.0, -2.0]), 0.5))
    assert type(g) is Params
    np.testing.assert_array_equal(g.w, [2.0, -4.0])
    assert g.b == 3.0


def test_jacobians_of_a_dict_put_the_output_shape_outside():
    p = dict_params()
    flat = jacrev(flat_layer)(to_vector(p))  # (2, 9)
    for J in (jacrev(layer)(p), jacfwd(layer)(p)):
        assert J["W"].shape == (2, 3, 2) and J["b"].shape == (2, 2) and J["s"].shape == (2,)
        np.testing.assert_allclose(J["W"], flat[:, 0:6].reshape(2, 3, 2), rtol=1e-14)
        np.testing.assert_allclose(J["b"], flat[:, 6:8], rtol=1e-14)
        np.testing.assert_allclose(J["s"], flat[:, 8], rtol=1e-14)
    e = np.zeros(9)
    e[4] = 1e-6
    column = (flat_layer(to_vector(p) + e, numpy_xp) - flat_layer(to_vector(p) - e, numpy_xp))
    np.testing.assert_allclose(jacrev(layer)(p)["W"][:, 2, 0], column / 2e-6, rtol=1e-7)


def test_hessian_of_a_dict_is_a_tree_of_trees_of_blocks():
    p = dict_params()
    H = hessian(loss)(p)
    flat = hessian(flat_loss)(to_vector(p))
    np.testing.assert_allclose(flat, flat.T, rtol=1e-12, atol=1e-12)
    assert H["W"]["b"].shape == (3, 2, 2) and H["b"]["W"].shape == (2, 3, 2)
    np.testing.assert_allclose(H["W"]["b"], flat[0:6, 6:8].reshape(3, 2, 2), rtol=1e-13)
    np.testing.assert_allclose(H["b"]["s"], flat[6:8, 8], rtol=1e-13)
    assert type(H["s"]["s"]) is float and H["s"]["s"] == pytest.approx(flat[8, 8], rel=1e-13)
    # one row of the flat Hessian by central differences of the flat gradient
    z, e = to_vector(p), np.zeros(9)
    e[7] = 1e-6
    row = (grad(flat_loss)(z + e) - grad(flat_loss)(z - e)) / 2e-6
    np.testing.assert_allclose(flat[7], row, rtol=1e-6, atol=1e-7)


def test_jvp_vjp_and_hvp_take_directions_of_the_tree_structure():
    p = dict_params()
    v = {"W": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2), "s": -0.4}
    z, t = to_vector(p), to_vector(v)
    y, Jv = jvp(layer)(p, v)
    np.testing.assert_allclose(y, layer(p, numpy_xp), rtol=1e-15)
    np.testing.assert_allclose(Jv, jacrev(flat_layer)(z) @ t, rtol=1e-13)
    u = RNG.standard_normal(2)
    _, uJ = vjp(layer)(p, u)
    np.testing.assert_allclose(to_vector(uJ), u @ jacrev(flat_layer)(z), rtol=1e-13)
    Hv = hvp(loss)(p, v)
    np.testing.assert_allclose(to_vector(Hv), hessian(flat_loss)(z) @ t, rtol=1e-12)


def test_a_direction_of_another_structure_is_refused():
    with pytest.raises(ValueError, match=r"tangent has structure \{'W': \(3, 2\), 'b': \(2,\)\}"):
        jvp(layer)(dict_params(), {"W": W0, "b": B0})


def test_value_and_grad_evaluates_once_and_gives_both():
    calls = []

    def counted(params, xp):
        calls.append(1)
        return loss(params, xp)

    p = dict_params()
    value, g = value_and_grad(counted)(p)
    assert len(calls) == 1
    assert value == pytest.approx(loss(p, numpy_xp), rel=1e-15)
    np.testing.assert_allclose(to_vector(g), to_vector(grad(loss)(p)), rtol=1e-15)
    value, g = value_and_grad(lambda x, xp: x ** 3)(2.0)
    assert (value, g) == (8.0, 12.0)


def test_argnums_one_and_several_with_and_without_xp():
    a, b = np.array([0.5, -1.0]), np.array([2.0, 3.0])

    def f(a, b, xp):
        return xp.sum(xp.sin(a) * b * b)

    def plain(a, b):  # no namespace: operators only
        return (a * b * b).sum()

    np.testing.assert_allclose(grad(f)(a, b), np.cos(a) * b * b, rtol=1e-15)
    np.testing.assert_allclose(grad(f, argnums=1)(a, b), 2 * np.sin(a) * b, rtol=1e-15)
    np.testing.assert_allclose(grad(f, argnums=-1)(a, b), 2 * np.sin(a) * b, rtol=1e-15)
    da, db = grad(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(da, np.cos(a) * b * b, rtol=1e-15)
    np.testing.assert_allclose(db, 2 * np.sin(a) * b, rtol=1e-15)
    (db2,) = grad(plain, argnums=(1,))(a, b)
    np.testing.assert_allclose(db2, 2 * a * b, rtol=1e-15)
    Ja, Jb = jacrev(lambda a, b: a * b, argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(Ja, np.diag(b))
    np.testing.assert_array_equal(Jb, np.diag(a))
    np.testing.assert_array_equal(jacfwd(lambda a, b: a * b, argnums=1)(a, b), np.diag(a))
    _, (ta, tb) = vjp(plain, argnums=(0, 1))(a, b, 1.0)
    np.testing.assert_allclose(tb, 2 * a * b, rtol=1e-15)
    _, Jv = jvp(plain, argnums=(0, 1))(a, b, (np.ones(2), np.zeros(2)))
    assert Jv == pytest.approx(np.sum(b * b), rel=1e-15)
    H = hessian(plain, argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(H[0][1], np.diag(2 * b))
    np.testing.assert_array_equal(H[1][1], np.diag(2 * a))


def test_derived_functions_compose_and_ignore_a_namespace_passed_to_them():
    f = lambda x, xp: xp.sin(x[0]) * x[1] ** 2  # noqa: E731
    x = np.array([0.3, 1.5])
    np.testing.assert_array_equal(grad(f)(x, numpy_xp), grad(f)(x))
    np.testing.assert_allclose(jacfwd(grad(f))(x), hessian(f)(x), rtol=1e-15)


def test_nested_differentiation_through_a_pytree_closure():
    def inner(x):  # d/da of a * x at a = 1, through a dict: x
        return grad(lambda p, xp: p["a"] * x)({"a": 1.0})["a"]

    assert grad(lambda x, xp: x * inner(x))(3.0) == pytest.approx(6.0, rel=1e-15)


def test_compile_grad_of_a_dict_recompiles_on_structure_not_on_values():
    g = compile_grad(loss)
    p = dict_params()
    for scale in (1.0, 0.5, -2.0):
        q = {"W": p["W"] * scale, "b": p["b"] + scale, "s": 0.3 * scale}
        got, want = g(q), grad(loss)(q)
        np.testing.assert_allclose(to_vector(got), to_vector(want), rtol=1e-12)
    assert g.stats["recorded"] == 1 and g.stats["compiled"] == 2
    # another structure (a leaf fewer) compiles a second function
    two = lambda q, xp: xp.sum(xp.tanh(X_DATA @ q["W"] + q["b"]))  # noqa: E731
    h = compile_grad(two)
    h({"W": W0, "b": B0})
    h({"W": W0 + 1.0, "b": B0})
    h({"W": W0, "b": B0, "extra": 1.0})
    h({"W": W0 - 1.0, "b": B0, "extra": 2.0})
    assert h.stats["recorded"] == 2 and h.stats["compiled"] == 2
    assert len(h.structured) == 2


def test_compile_grad_does_not_freeze_an_argument_it_does_not_differentiate():
    g = compile_grad(lambda w, data, xp: xp.sum(xp.sin(w * data)), argnums=0)
    w = np.array([0.2, 0.9])
    for data in (np.array([1.0, 2.0]), np.array([-3.0, 0.5])):
        np.testing.assert_allclose(g(w, data), data * np.cos(w * data), rtol=1e-14)
    assert g.stats["recorded"] == 1 and g.stats["compiled"] == 1
    # a non-numeric argument selects the compiled function
    scaled = compile_grad(lambda w, mode, xp: xp.sum(w * w) * (2.0 if mode == "double" else 1.0))
    np.testing.assert_allclose(scaled(w, "double"), 4 * w)
    np.testing.assert_allclose(scaled(w, "single"), 2 * w)
    np.testing.assert_allclose(scaled(w * 3, "double"), 12 * w)
    assert scaled.stats["recorded"] == 2


def test_compile_jacrev_of_a_dict_matches_jacrev():
    J = compile_jacrev(layer)
    p = dict_params()
    for q in (p, {"W": p["W"] * 2, "b": p["b"], "s": 0.1}):
        got, want = J(q), jacrev(layer)(q)
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-15)
    assert J.stats["compiled"] == 1


@pytest.mark.parametrize("bad, path, what", [
    ({"W": [W0, "relu"], "b": B0}, r"params\['W'\]\[1\]", "str"),
    ({"W": W0, "b": None}, r"params\['b'\]", "None"),
    ({"W": np.array(["a", "b"])}, r"params\['W'\]", "dtype <U1"),
])
def test_a_leaf_that_is_not_a_number_is_named_by_its_path(bad, path, what):
    def f(params, xp):
        return 0.0
    for transform in (grad, jacrev, jacfwd, hessian, compile_grad):
        with pytest.raises(TypeError, match=f"{path} is .*{what}"):
            transform(f)(bad)


def test_argnums_errors_name_the_problem():
    f = lambda a, b: a * b  # noqa: E731
    with pytest.raises(TypeError, match=r"grad: argnums=2 asks for argument 2, but the "
                                        r"function was called with 2 positional arguments"):
        grad(f, argnums=2)(1.0, 2.0)
    with pytest.raises(TypeError, match=r"jacrev: argnums=\(0, 3\) asks for argument 3"):
        jacrev(f, argnums=(0, 3))(1.0, 2.0)
    with pytest.raises(TypeError, match="argnums must be an int or a non-empty tuple"):
        grad(f, argnums="a")(1.0, 2.0)
    with pytest.raises(ValueError, match="names an argument twice"):
        grad(f, argnums=(0, -2))(1.0, 2.0)
    with pytest.raises(TypeError, match="compile_grad: argnums=1 asks for argument 1"):
        compile_grad(lambda x, xp: x * x, argnums=1)(1.0)


def test_compile_grad_passes_integer_and_string_arguments_as_they_are():
    # n is a loop count and labels an index array: traced as floats they would fail
    def f(w, n, labels, xp):
        total = 0.0
        for _ in range(n):
            total = total + xp.sum(w[labels] * w[labels])
        return total

    g = compile_grad(f)
    w, labels = np.array([1.0, 2.0, 3.0]), np.array([0, 2])
    np.testing.assert_allclose(g(w, 2, labels), [4.0, 0.0, 12.0])
    np.testing.assert_allclose(g(w * 2, 2, labels), [8.0, 0.0, 24.0])
    np.testing.assert_allclose(g(w, 3, labels), [6.0, 0.0, 18.0])
    np.testing.assert_allclose(g(w, 3, np.array([1])), [0.0, 12.0, 0.0])
    assert g.stats["recorded"] == 3 and g.stats["compiled"] == 1
    with pytest.raises(TypeError, match="argument n is neither floats"):
        compile_grad(lambda w, n, xp: xp.sum(w))(w, [set()])  # a set has no hash


def test_the_namespace_goes_where_the_function_expects_it():
    x = np.array([0.5, 2.0])
    by_name = lambda x, scale=2.0, *, xp: xp.sum(xp.sin(x)) * scale  # noqa: E731
    other_name = lambda x, ns: ns.sum(ns.sin(x))  # noqa: E731
    wrapper = lambda *args: other_name(*args)  # noqa: E731
    for f, factor in ((by_name, 2.0), (other_name, 1.0), (wrapper, 1.0)):
        np.testing.assert_allclose(grad(f)(x), factor * np.cos(x), rtol=1e-15)
