"""adbench's automatic differentiation engine: the public API.

Functions are written as problems are, ``f(x, xp)``: ``x`` a float or an
array, ``xp`` the numpy-like namespace (the engine passes
:data:`adbench.interpret.xp.numpy_xp`, whose functions dispatch on traced values).
Every transformation returns a function of the same form, ``g(x, xp=None)``,
so they compose in every order::

    grad(f)(x)        gradient of a scalar f (shape of x), one reverse pass
    value_and_grad(f)(x)  (f(x), grad(f)(x)), from the same pass
    jacfwd(f)(x)      Jacobian, shape f(x).shape + x.shape, n forward passes
    jacrev(f)(x)      the same, one recording and m reverse passes
    jvp(f)(x, v)      (f(x), J v), one forward pass
    vjp(f)(x, u)      (f(x), u^T J), one reverse pass
    hessian(f)(x)     jacfwd(grad(f)): forward-over-reverse, n passes of each
    hvp(f)(x, v)      H v = jvp(grad(f))(x, v)[1], without forming H
    checkpoint(f)     f, recorded by reverse mode as one tape entry and run
                      again in the backward sweep (memory for time)
    compile_grad(f)   grad(f), its tape recorded once per input shape and
                      compiled to straight-line Python (adbench.ad.compiled);
                      backend="c": a tape of float64 scalars compiled to C
                      (adbench.ad.native)
    compile_jacrev(f) jacrev(f), compiled in the same way

Several arguments and ``argnums`` (:mod:`adbench.ad.arguments`). A function
may take several arguments, ``f(a, b, xp)``, or no namespace at all,
``f(a, b)`` (then it computes with operators and methods, ``(a * b).sum()``,
or with ``numpy_xp`` imported): a parameter named ``xp``, or a required
positional parameter after the arguments, receives the namespace. Every
transformation but ``checkpoint`` takes ``argnums=``: the argument
differentiated, 0 by default, or a tuple of them, which gives a tuple of
derivatives. ``jvp``, ``vjp`` and ``hvp`` take the direction after the
arguments: ``jvp(f, argnums=1)(a, b, v)``, ``v`` of b's structure (a tuple of
directions for a tuple argnums).

Pytrees (:mod:`adbench.ad.pytree`). A differentiated argument may be a dict,
list or tuple (namedtuples included) of arrays and numbers, nested; it is
flattened at the boundary into one float vector, differentiated there by the
same machinery, and the derivatives are cut back into its structure:
``grad(loss)({"W": W, "b": b}) == {"W": dW, "b": db}``. Jacobians follow
JAX's convention, the output's shape outside and the input's structure
inside: ``jacrev(f)(params)["W"]`` has shape ``f(params).shape + W.shape``,
and ``hessian(f)(params)["W"]["b"]`` shape ``W.shape + b.shape``. Outputs are
arrays, as the problems return them (a list or tuple output is one stacked
array, not a tree). ``compile_grad`` compiles once per structure and leaf
shapes, not per value. A leaf that is not a number or a numeric array
raises TypeError naming its path (``params['W'][1] is a str``); an argnums
out of range for the call raises TypeError naming it.

>>> import numpy as np
>>> from adbench.ad import grad, hessian, jacfwd, jacrev, jvp
>>> f = lambda x, xp: xp.sin(x[0]) * x[1]
>>> grad(f)(np.array([0.0, 2.0]))
array([2., 0.])
>>> hessian(f)(np.array([0.0, 2.0]))
array([[0., 1.],
       [1., 0.]])
>>> jvp(lambda x, xp: x ** 3)(2.0, 1.0)
(8.0, 12.0)
>>> g = grad(lambda p, xp: xp.sum(p["w"] * p["w"]) * p["s"])({"w": np.array([1.0, 2.0]), "s": 3.0})
>>> g["w"], g["s"]
(array([ 6., 12.]), 5.0)
>>> grad(lambda a, b: a * b * b, argnums=(0, 1))(2.0, 3.0)
(9.0, 12.0)

A function given to ``grad`` may itself call ``grad``, ``jacfwd``, ``hessian``
... on a closure over its argument; each call is a new trace with its own
perturbation, so the derivatives never mix (no perturbation confusion):

>>> inner = lambda x: grad(lambda y, xp: x * y)(1.0)      # d/dy (x y) = x
>>> grad(lambda x, xp: x * inner(x))(3.0)                 # d/dx x^2 = 2 x
6.0

Failure modes: ``grad`` raises ValueError when f is not scalar; converting a
traced value to ``float`` (or calling a non-``xp`` function on it) raises
TypeError, since the derivative would be lost; values outside a function's
domain give nan or inf derivatives as numpy would (with a RuntimeWarning).
Every pass is counted in :data:`PASSES`.
"""

from __future__ import annotations

from typing import Any, Callable, Union

import numpy as np

from adbench.ad.arguments import Arguments, Caller, as_input, strip_xp
from adbench.ad.forward import Dual, ForwardTrace
from adbench.ad.collector import collector_paused
from adbench.ad.reverse import ReverseTrace, Var, adjoint_or_zero, backward
from adbench.interpret import primitives as P
from adbench.interpret.core import BoxBase, apply
from adbench.interpret.xp import numpy_xp

__all__ = ["grad", "value_and_grad", "jacfwd", "jacrev", "jvp", "vjp", "hessian", "hvp",
           "checkpoint", "compile_grad", "compile_jacrev", "PASSES",
           "Dual", "Var", "ForwardTrace", "ReverseTrace", "backward", "record"]

Function = Callable[..., Any]
Argnums = Union[int, tuple]  # int: one argument; tuple of ints: a tuple of derivatives

#: Number of forward (JVP) and reverse (VJP) passes made since the last reset;
#: the harness reads it to show that jacfwd makes n passes and jacrev m.
PASSES = {"forward": 0, "reverse": 0}


def _as_output(y):
    return P.array(y) if isinstance(y, (list, tuple)) else y


def _unit(shape: tuple, i: int):
    if shape == ():
        return 1.0
    e = np.zeros(int(np.prod(shape)))
    e[i] = 1.0
    return e.reshape(shape)


def _forward_pass(run: Callable, x, v) -> tuple:
    """``(run(x), J v)`` for a function ``run`` of one value, by one forward pass."""
    trace = ForwardTrace()
    y = _as_output(run(Dual(as_input(x), as_input(v), trace)))
    y, t = trace.tangent_of(y)
    return y, (P.zeros_like(y) if t is None else t)


def _split_direction(args: tuple, who: str) -> tuple:
    """``(primal arguments, direction)``: a direction is the last positional argument."""
    if len(args) < 2:
        raise TypeError(f"{who}: call it with the function's arguments and then the "
                        f"direction, got {len(args)} positional argument(s)")
    return args[:-1], args[-1]


def jvp(f: Function, argnums: Argnums = 0) -> Function:
    """``jvp(f)(*args, v) -> (f(*args), J v)``: one forward pass with tangent ``v``.

    ``v`` has the structure of the differentiated argument(s) (a tuple of them
    for a tuple ``argnums``); ``J v`` has the shape of ``f(x)`` (zeros when f
    does not depend on x). Dual numbers carry ``(value, tangent)`` through
    every primitive (:mod:`adbench.ad.forward`).
    """
    caller = Caller(f)

    def jvp_f(*args):
        primals, v = _split_direction(args, "jvp")
        a = Arguments(caller, primals, argnums, "jvp")
        PASSES["forward"] += 1
        return _forward_pass(a.run, a.x, a.tangent(v))
    return collector_paused(jvp_f)


def record(f: Function, x, keep_all: bool = False) -> tuple:
    """Run ``f`` once on a fresh tape: ``(trace, input var, output)``.

    ``keep_all`` keeps every intermediate value on the tape (for displaying
    it), not only those the backward sweep needs.
    """
    return _record(lambda v: f(v, numpy_xp), x, keep_all)


def _record(run: Callable, x, keep_all: bool = False) -> tuple:
    """:func:`record` for a function ``run`` of one value."""
    trace = ReverseTrace(keep_all=keep_all)
    xv = trace.input(as_input(x))
    y = _as_output(run(xv))
    return trace, xv, y


def _primal_of(y, trace):
    return y.value if type(y) is Var and y.trace is trace else y


def _reverse_pass(run: Callable, x, u) -> tuple:
    """``(run(x), u^T J)`` for a function ``run`` of one value, by one recording
    and one reverse pass."""
    trace, xv, y = _record(run, x)
    adjoints = backward(trace, y, as_input(u))
    return _primal_of(y, trace), adjoint_or_zero(adjoints, xv)


def vjp(f: Function, argnums: Argnums = 0) -> Function:
    """``vjp(f)(*args, u) -> (f(*args), u^T J)``: one recording and one reverse pass.

    ``u`` has the shape of ``f(x)``; ``u^T J`` has the structure of the
    differentiated argument(s) (zeros when f does not depend on them). The
    tape is replayed backwards from the cotangent ``u`` (:mod:`adbench.ad.reverse`).
    """
    caller = Caller(f)

    def vjp_f(*args):
        primals, u = _split_direction(args, "vjp")
        a = Arguments(caller, primals, argnums, "vjp")
        PASSES["reverse"] += 1
        y, g = _reverse_pass(a.run, a.x, u)
        return y, a.tree(g)
    return collector_paused(vjp_f)


def jacfwd(f: Function, argnums: Argnums = 0) -> Function:
    """The Jacobian by forward mode: one JVP per input entry, n passes.

    Returns an array of shape ``f(x).shape + x.shape`` (m x n for vectors),
    column i being ``J e_i``; for a pytree argument, a tree of its structure
    whose leaf for ``x[path]`` has shape ``f(x).shape + x[path].shape``.
    """
    caller = Caller(f)

    def jacfwd_f(*args, xp=None):
        a = Arguments(caller, strip_xp(args), argnums, "jacfwd")
        x = a.x
        shape = P.shape_of(x)
        n = int(np.prod(shape, dtype=int))
        columns, y = [], None
        for i in range(n):
            PASSES["forward"] += 1
            y, t = _forward_pass(a.run, x, _unit(shape, i))
            columns.append(t)
        if shape == ():  # one number x: the one column
            return columns[0]
        if n == 0:  # no column to tell the output's shape: one evaluation does
            y = _as_output(a.run(x))
        out_shape = P.shape_of(y)
        J = P.reshape(P.stack(columns, axis=-1), out_shape + shape) if n else \
            np.zeros(out_shape + shape)
        return a.jacobian(J, out_shape)
    return collector_paused(jacfwd_f)


def jacrev(f: Function, argnums: Argnums = 0) -> Function:
    """The Jacobian by reverse mode: one recording, one backward pass per output
    entry (m passes), row j being ``e_j^T J``.

    Returns an array of shape ``f(x).shape + x.shape``; for a pytree argument
    the tree :func:`jacfwd` returns.
    """
    caller = Caller(f)

    def jacrev_f(*args, xp=None):
        a = Arguments(caller, strip_xp(args), argnums, "jacrev")
        trace, xv, y = _record(a.run, a.x)
        out_shape = P.shape_of(y)
        return a.jacobian(_from_rows(_reverse_rows(trace, xv, y), out_shape, P.shape_of(xv)),
                          out_shape)
    return collector_paused(jacrev_f)


def _seeds(out_shape: tuple) -> list:
    """The unit cotangents, one per entry of an output of ``out_shape``."""
    return [_unit(out_shape, j) for j in range(int(np.prod(out_shape, dtype=int)))]


def _reverse_rows(trace: ReverseTrace, xv: Var, y) -> list:
    """``e_j^T J`` for every output entry j: one reverse pass each over the tape."""
    rows = []
    for seed in _seeds(P.shape_of(y)):
        PASSES["reverse"] += 1
        rows.append(adjoint_or_zero(backward(trace, y, seed), xv))
    return rows


def _from_rows(rows: list, out_shape: tuple, in_shape: tuple):
    """The Jacobian, shape ``out_shape + in_shape``, from its rows ``e_j^T J``."""
    if out_shape == ():
        return rows[0]
    if not rows:  # an output of no entries
        return np.zeros(out_shape + in_shape)
    return P.reshape(P.stack(rows, axis=0), out_shape + in_shape)


def _gradient(a: Arguments, who: str) -> tuple:
    """``(f's value, its gradient with respect to x)`` by one recording and one reverse pass."""
    trace, xv, y = _record(a.run, a.x)
    if P.shape_of(y) != ():
        raise ValueError(f"{who} needs a scalar function; f returned shape {P.shape_of(y)}")
    PASSES["reverse"] += 1
    return _primal_of(y, trace), adjoint_or_zero(backward(trace, y, _seed_like(y)), xv)


def _seed_like(y):
    """The cotangent 1 of a scalar output, in its precision: a float32 f gets a
    float32 gradient (a Python 1.0 would turn numpy's float32 arithmetic into float64)."""
    value = P.primal(y)
    if type(value) is float:
        return 1.0
    dtype = getattr(value, "dtype", None)
    return dtype.type(1.0) if dtype is not None and dtype.kind in "fc" else 1.0


def grad(f: Function, argnums: Argnums = 0) -> Function:
    """The gradient of a scalar function, by one reverse pass: an array of the
    differentiated argument's shape, a tree of its structure for a pytree
    (``{"W": dW, "b": db}`` for ``{"W": W, "b": b}``), a tuple of them for a
    tuple ``argnums``.

    Raises ValueError if ``f`` does not return a scalar.
    """
    caller = Caller(f)

    def grad_f(*args, xp=None):
        a = Arguments(caller, strip_xp(args), argnums, "grad")
        return a.tree(_gradient(a, "grad")[1])
    return collector_paused(grad_f)


def value_and_grad(f: Function, argnums: Argnums = 0) -> Function:
    """``value_and_grad(f)(*args) -> (f(*args), grad(f)(*args))`` from one
    recording and one reverse pass (f is evaluated once)."""
    caller = Caller(f)

    def value_and_grad_f(*args, xp=None):
        a = Arguments(caller, strip_xp(args), argnums, "value_and_grad")
        value, g = _gradient(a, "value_and_grad")
        return value, a.tree(g)
    return collector_paused(value_and_grad_f)


def checkpoint(f: Function) -> Function:
    """``checkpoint(f)(x, xp) == f(x, xp)``, with reverse mode keeping only x.

    Inside a function being differentiated in reverse mode, a call of
    ``checkpoint(f)`` is recorded as one tape entry that holds x and the
    result, not f's intermediate values: the backward sweep runs f again, on a
    tape of its own that lives only while its adjoints are propagated. This
    trades memory for time (the survey, p. 23): a loop of k segments, each
    checkpointed, holds k entries plus one segment's tape at a time instead of
    every operation, for one more evaluation of each segment. Forward mode
    evaluates f twice (its value, then its JVP); nested derivatives work as
    anywhere else. Given another ``xp`` than :data:`adbench.interpret.xp.numpy_xp` (a
    problem run on SymPy symbols or mpmath numbers), it is simply f(x, xp), so
    a problem may checkpoint its loops and still run under every method.

    >>> import numpy as np
    >>> step = checkpoint(lambda x, xp: xp.sin(x) * x)
    >>> grad(lambda x, xp: xp.sum(step(step(x, xp), xp)))(np.array([0.5, 1.0]))
    array([0.43182093, 1.80508289])
    """
    def run(v):
        return f(v, numpy_xp)

    def checkpointed(x, xp=None):
        if xp is not None and xp is not numpy_xp:  # no tape there to spare
            return f(x, xp)
        y = apply(P.checkpoint_p, as_input(x), fn=run)
        if isinstance(y, BoxBase) and isinstance(y.value, BoxBase) and y.value.trace is y.trace:
            # f's value was already a value of the trace that applied the checkpoint: f
            # closes over a value being differentiated, which one tape entry would hide
            raise ValueError("checkpoint: the function closes over a value being "
                             "differentiated; pass that value in its argument instead")
        return y
    return checkpointed


def _checkpoint_jvp(tangents, args, out, fn):
    return _forward_pass(fn, args[0], tangents[0])[1]


def _checkpoint_vjp(k, g, args, out, fn):
    return _reverse_pass(fn, args[0], g)[1]


P.checkpoint_p.jvp, P.checkpoint_p.vjp = _checkpoint_jvp, _checkpoint_vjp


def hessian(f: Function, argnums: Argnums = 0) -> Function:
    """The Hessian of a scalar function, forward-over-reverse: ``jacfwd(grad(f))``
    on x, n forward passes each around one reverse pass; shape ``x.shape +
    x.shape``. For a pytree argument, a tree of trees: ``H[path1][path2]`` has
    shape ``x[path1].shape + x[path2].shape`` (JAX's layout)."""
    caller = Caller(f)

    def hessian_f(*args, xp=None):
        a = Arguments(caller, strip_xp(args), argnums, "hessian")
        return a.hessian(jacfwd(grad(a.vector_function()))(a.x))
    return collector_paused(hessian_f)


def hvp(f: Function, argnums: Argnums = 0) -> Function:
    """``hvp(f)(*args, v) -> H v`` without forming H: one JVP of the gradient, at
    a small constant multiple of the cost of f (the survey, Section 3). ``v``
    and ``H v`` have the structure of the differentiated argument(s)."""
    caller = Caller(f)

    def hvp_f(*args):
        primals, v = _split_direction(args, "hvp")
        a = Arguments(caller, primals, argnums, "hvp")
        return a.tree(jvp(grad(a.vector_function()))(a.x, a.tangent(v))[1])
    return collector_paused(hvp_f)


from adbench.ad.compiled import compile_grad, compile_jacrev  # noqa: E402 - builds on the above
from adbench.ad.implicit import fixed_point  # noqa: E402,F401 - builds on the above
