"""Mistakes a problem author makes, each refused with one line that names it:
a transposed hand-written Jacobian, numpy called instead of xp on a differentiated
value, and a problem function that does not take xp."""

import numpy as np
import pytest

from adbench import ad
from adbench.interpret.core import NumpyCallError
from adbench.measure import harness
from adbench.methods import as_jacobian, get_method
from adbench.methods.base import jacobian_shape_error
from adbench.problem import ProblemDefinitionError, problem
from adbench.registry import ProblemFileError, load_problem_file

X3 = np.array([0.3, 0.7, 1.1])

# --------------------------------------------------------------------------
# the shape of a Jacobian
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape,m,n", [((2, 3), 2, 3), ((3,), 1, 3), ((1, 3), 1, 3),
                                       ((2,), 2, 1), ((2, 1), 2, 1), ((), 1, 1),
                                       ((1,), 1, 1), ((1, 1), 1, 1)])
def test_jacobian_shapes_accepted(shape, m, n):
    assert jacobian_shape_error(shape, m, n) is None
    J = np.arange(float(m * n)).reshape(shape)
    np.testing.assert_array_equal(as_jacobian(J, m, n), np.arange(float(m * n)).reshape(m, n))


@pytest.mark.parametrize("shape,m,n", [((3, 2), 2, 3), ((6,), 2, 3), ((1, 3), 3, 1),
                                       ((3,), 3, 3), ((2, 3, 1), 2, 3)])
def test_jacobian_shapes_refused_by_shape_not_size(shape, m, n):
    with pytest.raises(ValueError, match=rf"shape \({', '.join(map(str, shape))},?\).*"
                                         rf"expected \({m}, {n}\)"):
        as_jacobian(np.zeros(shape), m, n)


def test_a_transposed_jacobian_is_called_so():
    assert "(transposed?)" in jacobian_shape_error((3, 2), 2, 3)
    assert "transposed" not in jacobian_shape_error((6,), 2, 3)


@problem(name="transposed-manual", n=3, m=2, x0=X3)
def transposed_manual(x, xp):
    return xp.stack([x[0] * x[1], xp.sin(x[2]) + x[0]])


@transposed_manual.manual
def _(x, xp):  # n x m: the columns are the outputs
    return [[x[1], 1.0], [x[0], 0.0], [0.0, xp.cos(x[2])]]


def test_a_transposed_hand_written_jacobian_is_refused_with_its_shape():
    inst = transposed_manual.instance()
    prepared = get_method("manual").prepare(inst)
    with pytest.raises(ValueError, match=r"shape \(3, 2\) \(transposed\?\), expected \(2, 3\)"):
        prepared.jacobian(inst.x0)
    with pytest.raises(ValueError, match="transposed"):  # op counting traces the same check
        prepared.traceable(ad.Dual(inst.x0, np.ones(3), ad.ForwardTrace()))


def test_the_transposed_manual_row_is_an_error_naming_the_shape(tmp_path):
    df = harness.run([transposed_manual], methods=["manual", "ad-reverse"], isolate=False,
                     timeout=None)
    rows = df.set_index("method")
    assert rows.loc["ad-reverse", "status"] == "ok"
    assert rows.loc["manual", "status"] == "error"
    assert "shape (3, 2) (transposed?), expected (2, 3)" in rows.loc["manual", "message"]


# --------------------------------------------------------------------------
# numpy called on a differentiated value
# --------------------------------------------------------------------------

@problem(name="my-p", n=3, m=1, x0=X3)
def my_p(x, xp):
    return xp.sum(np.sin(x) * x)


@pytest.mark.parametrize("call,function,advice", [
    (lambda x: np.sin(x), "numpy.sin", "use xp.sin"),
    (lambda x: np.exp(x[0]), "numpy.exp", "use xp.exp"),
    (lambda x: np.sum(x), "numpy.sum", "use xp.sum"),
    (lambda x: np.concatenate([x, x]), "numpy.concatenate", "use xp.concatenate"),
    (lambda x: np.asarray(x), "numpy.asarray", "use xp.asarray"),
    (lambda x: np.linalg.norm(x), "numpy.linalg.norm", "xp has no linalg.norm"),
    (lambda x: np.add.reduce(x), "numpy.add.reduce", "xp has no add.reduce"),
])
@pytest.mark.parametrize("mode", [ad.grad, ad.jacfwd, ad.hessian])
def test_numpy_on_a_box_names_the_function_and_the_fix(call, function, advice, mode):
    with pytest.raises(NumpyCallError) as info:
        mode(lambda x, xp: call(x) * 1.0)(X3)
    assert info.value.function == function
    assert str(info.value).startswith(f"{function} called on a differentiated value: {advice}")


def test_operators_with_an_ndarray_on_the_left_still_differentiate():
    A = np.arange(6.0).reshape(2, 3)
    c = np.array([1.0, 2.0, 0.5])

    def f(x, xp):  # each operator reaches a numpy ufunc first: A @ x is numpy.matmul(A, x)
        return xp.sum(A @ x) + xp.sum(c * x) + xp.sum(c - x) + xp.sum(c / x) \
            + xp.sum(c ** x) + xp.sum(xp.where(c < x, x, 0.0))
    expected = A.sum(axis=0) + c - 1 - c / X3 ** 2 + c ** X3 * np.log(c) + (c < X3)
    np.testing.assert_allclose(ad.grad(f)(X3), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(lambda x, xp: A @ (c * x))(X3), A * c, rtol=1e-12)
    np.testing.assert_allclose(ad.jacrev(lambda x, xp: A @ (c * x))(X3), A * c, rtol=1e-12)


def test_float_of_a_box_says_the_derivative_would_be_lost():
    import math
    with pytest.raises(TypeError, match=r"float\(\) of a differentiated value .* use xp.sin"):
        ad.grad(lambda x, xp: math.sin(x[0]))(X3)


@pytest.mark.parametrize("method", ["ad-reverse", "ad-forward"])
def test_the_row_of_a_numpy_call_is_one_line_naming_problem_function_and_fix(method):
    row = harness.measure(my_p.instance(), get_method(method), None)
    assert row["status"] == "error"
    assert row["message"] == "problem my-p calls numpy.sin on a differentiated value: use xp.sin"


def test_the_numpy_call_row_through_a_whole_run():
    df = harness.run([my_p], methods=["ad-reverse", "fd-central"], isolate=False, timeout=None)
    rows = df.set_index("method")
    assert rows.loc["ad-reverse", "message"] == (
        "problem my-p calls numpy.sin on a differentiated value: use xp.sin")
    assert rows.loc["ad-reverse", "status"] == "error"
    # fd-central evaluates f in float64, where numpy works; only its op count traces boxes
    assert np.isfinite(rows.loc["fd-central", "time_derivative_s"])
    assert rows.loc["fd-central", "message"] == (
        "ops: NumpyCallError: numpy.sin called on a differentiated value: use xp.sin")


# --------------------------------------------------------------------------
# a problem function must take xp
# --------------------------------------------------------------------------

def test_a_problem_without_xp_is_refused_at_its_definition():
    with pytest.raises(ProblemDefinitionError, match=r"test_numpy_errors.py:\d+: problem 'no-xp'"
                                                     r": its function f\(x\) does not take xp"):
        @problem(name="no-xp", x0=[1.0])
        def f(x):
            return x[0]


def test_a_keyword_only_xp_is_refused_with_the_fix():
    with pytest.raises(ProblemDefinitionError, match="make it the second positional"):
        @problem(name="kw-xp", x0=[1.0])
        def f(x, *, xp):
            return x[0]


@pytest.mark.parametrize("define", ["def f(x, xp):", "def f(x, xp, w=1.0):", "def f(*args):",
                                    "def f(x, np_like, **kwargs):"])
def test_functions_that_take_xp_are_accepted(define):
    namespace = {}
    exec(f"{define}\n    return 1.0\n", namespace)
    problem(name="ok", x0=[1.0])(namespace["f"])


def test_a_manual_jacobian_without_xp_is_refused():
    with pytest.raises(ProblemDefinitionError, match="its hand-written Jacobian"):
        @my_p.manual
        def _(x):
            return [[1.0, 1.0, 1.0]]


def test_loading_a_problem_file_without_xp_names_file_and_line(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("from adbench.problem import problem\n\n\n"
                    "@problem(name='bad', x0=[1.0])\n"
                    "def bad(x):\n"
                    "    return x[0]\n")
    with pytest.raises(ProblemFileError) as info:
        load_problem_file(path)
    text = str(info.value)
    assert text.startswith(f"{path}:4: problem 'bad': its function bad(x) does not take xp")
    assert text.count(str(path)) == 1
