"""Boxes: operator overloading routes Python syntax to the table."""

from __future__ import annotations

import operator

import numpy as np

from adbench.interpret.core import BoxBase, NumpyCallError, apply, primal, top_trace
from adbench.interpret.primitives.elementwise import add_p, div_p, mul_p, neg_p, negative, pow_p, \
    sub_p
from adbench.interpret.primitives.linalg import dot, matmul
from adbench.interpret.primitives.piecewise import abs_p
from adbench.interpret.primitives.reductions import max, mean, sum
from adbench.interpret.primitives.rules import shape_of, size_of
from adbench.interpret.primitives.shape import getitem_p, ravel, reshape, squeeze, swapaxes, \
    transpose
from adbench.interpret.primitives.indexing import argmax, argmin, argsort, repeat, take


#: The ufuncs numpy calls for Python's binary operators with an ndarray on the left
#: (``A * x`` is ``numpy.multiply(A, x)``), and the box's operator that gives the result.
OPERATOR_UFUNCS = {"add": "add", "subtract": "sub", "multiply": "mul", "divide": "truediv",
                   "true_divide": "truediv", "power": "pow", "matmul": "matmul"}
#: Comparisons with an ndarray on the left, the same way.
COMPARISON_UFUNCS = {"less": operator.lt, "less_equal": operator.le, "greater": operator.gt,
                     "greater_equal": operator.ge, "equal": operator.eq,
                     "not_equal": operator.ne}


def numpy_call_error(function: str, name: str) -> NumpyCallError:
    """The refusal of ``function`` (``"numpy.sin"``) on a box, proposing ``xp.<name>``
    if the namespace has it."""
    from adbench.interpret.xp import XP_FUNCTIONS  # the namespace is built from this package
    return NumpyCallError(function, name if name in XP_FUNCTIONS else None)


def _numpy_name(module: str | None, name: str) -> str:
    module = module or "numpy"
    return f"{module}.{name}" if module.startswith("numpy") else f"numpy.{name}"


def _compare(op):
    def comparison(self, other):
        return top_trace((self, other)).compare(op, self, other)
    comparison.__name__ = f"__{op.__name__}__"
    return comparison


class Box(BoxBase):
    """Base class of every traced value; gives it numpy-like syntax.

    ``x + y``, ``x[i]``, ``x @ A``, ``x.T``, ``x.shape``... all become
    primitives applied through :func:`adbench.interpret.core.apply`.
    """

    __slots__ = ()
    __array_priority__ = 1000.0
    __hash__ = object.__hash__

    def __neg__(self): return apply(neg_p, self)
    def __pos__(self): return self
    def __abs__(self): return apply(abs_p, self)
    def __matmul__(self, other): return matmul(self, other)
    def __rmatmul__(self, other): return matmul(other, self)
    def __getitem__(self, idx): return apply(getitem_p, self, idx=idx)

    __lt__ = _compare(operator.lt)
    __le__ = _compare(operator.le)
    __gt__ = _compare(operator.gt)
    __ge__ = _compare(operator.ge)
    __eq__ = _compare(operator.eq)
    __ne__ = _compare(operator.ne)

    def __bool__(self):
        return bool(self.trace.compare(operator.ne, self, 0))

    def __float__(self):
        raise TypeError(f"float() of a differentiated value (inside {self.trace!r}) would lose "
                        "its derivative: math.sin(x) and float(x) convert it; use xp.sin(x) "
                        "and keep x an array")

    # numpy meets a box in three ways. An operator with an ndarray on the left (A * x)
    # calls a ufunc: that is the box's own operator. Any other ufunc (numpy.sin(x)), any
    # other numpy function (numpy.sum(x)) and a conversion (numpy.asarray(x)) would
    # compute on the box as an opaque object or lose the derivative: refused, naming
    # the xp function to call instead.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__
        if method == "__call__" and not kwargs and len(inputs) == 2:
            a, b = inputs
            if name in OPERATOR_UFUNCS:
                op = OPERATOR_UFUNCS[name]
                if isinstance(a, Box):
                    return getattr(a, f"__{op}__")(b)
                return getattr(b, f"__r{op}__")(a)
            if name in COMPARISON_UFUNCS:
                return top_trace(inputs).compare(COMPARISON_UFUNCS[name], a, b)
        if method != "__call__":
            raise numpy_call_error(f"numpy.{name}.{method}", "")
        raise numpy_call_error(f"numpy.{name}", name)

    def __array_function__(self, func, types, args, kwargs):
        name = func.__name__
        raise numpy_call_error(_numpy_name(getattr(func, "__module__", None), name), name)

    def __array__(self, dtype=None, copy=None):
        raise numpy_call_error("numpy.asarray", "asarray")

    def __len__(self):
        return len(primal(self))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    @property
    def shape(self): return shape_of(self)
    @property
    def ndim(self): return len(shape_of(self))
    @property
    def size(self): return size_of(self)
    @property
    def dtype(self): return np.result_type(primal(self))
    @property
    def T(self): return transpose(self)

    def reshape(self, *shape):
        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return transpose(self, axes or None)

    def sum(self, axis=None, keepdims=False): return sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return max(self, axis, keepdims)
    # min as -max(-x): the same reduction, the same even split of ties
    def min(self, axis=None, keepdims=False): return negative(max(negative(self), axis, keepdims))
    def squeeze(self, axis=None): return squeeze(self, axis)
    def swapaxes(self, axis1, axis2): return swapaxes(self, axis1, axis2)
    def repeat(self, repeats, axis=None): return repeat(self, repeats, axis)
    def take(self, indices, axis=None): return take(self, indices, axis)
    def argsort(self, axis=-1): return argsort(self, axis)
    def argmax(self, axis=None): return argmax(self, axis)
    def argmin(self, axis=None): return argmin(self, axis)
    def dot(self, other): return dot(self, other)
    def ravel(self): return ravel(self)
    def flatten(self): return ravel(self)

    def __repr__(self):
        return f"{type(self).__name__}({self.value!r}, {self.trace!r})"


#: Python's binary arithmetic operators and the primitives they apply: ``x + y``
#: is ``__add__``, ``2.0 + x`` is ``__radd__`` (the primitive's arguments reversed).
ARITHMETIC_OPERATORS = {"add": add_p, "sub": sub_p, "mul": mul_p, "truediv": div_p,
                        "pow": pow_p}


def install_operators(cls, make) -> None:
    """Give ``cls`` the arithmetic operators: ``make(prim, dunder, reflected)``
    returns the method for ``dunder`` (``"__rmul__"``: mul, reflected)."""
    for name, prim in ARITHMETIC_OPERATORS.items():
        for dunder, reflected in ((f"__{name}__", False), (f"__r{name}__", True)):
            setattr(cls, dunder, make(prim, dunder, reflected))


def _generic_operator(prim, dunder: str, reflected: bool):
    """The operator of every box: the primitive through :func:`apply`."""
    if reflected:
        def method(self, other):
            return apply(prim, other, self)
    else:
        def method(self, other):
            return apply(prim, self, other)
    method.__name__ = dunder
    method.__qualname__ = f"Box.{dunder}"
    return method


install_operators(Box, _generic_operator)
