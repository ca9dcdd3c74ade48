"""The interpretation kernel: primitives, traces, boxes and `apply`.

Every elementary operation a problem performs is a :class:`Primitive`. Calling a
primitive goes through :func:`apply`, which looks at the arguments: plain values
(floats, numpy arrays) are evaluated directly, while a :class:`BoxBase` value
belongs to a :class:`Trace` (forward mode, reverse mode, op counting, complex
step, ...) and is handed to that trace.

Nested interpretations are kept apart by trace ids. A trace created later (an
inner ``grad`` inside an outer ``grad``) has a larger id; when an operation mixes
boxes of several traces, the one with the largest id processes it and sees the
other boxes as constants. This is what prevents perturbation confusion
(Siskind and Pearlmutter 2005): two derivative invocations never share a box.

This module knows nothing about particular primitives or modes; the table of
primitives lives in :mod:`adbench.interpret.primitives`, the modes in :mod:`adbench.ad`.
"""

from __future__ import annotations

import itertools
import operator
from typing import Any, Callable

__all__ = ["Primitive", "Trace", "BoxBase", "apply", "primal", "top_trace",
           "EVALUATION_HOOKS", "NumpyCallError"]


#: What the Python-float fast paths (``math.log(-1.0)``...) raise outside an
#: operation's domain; numpy then decides, as for arrays (nan or inf, a warning).
DOMAIN_ERRORS = (ValueError, ZeroDivisionError, OverflowError)


class Primitive:
    """One elementary operation and everything every interpretation needs of it.

    Attributes
    ----------
    name : str
        The name used in traces, op counts and error messages.
    impl : callable
        The numpy implementation (float64, complex128, ndarray).
    scalar : callable or None
        A faster implementation for Python floats (``math.sin``), used when
        every argument is a Python int or float.
    mp, sym : callable or None
        Elementwise implementations on mpmath and SymPy scalars.
    kind : str
        ``"elementwise"``, ``"reduction"``, ``"linear"``, ``"bilinear"`` or
        ``"structural"``: decides how operations are counted.
    transcendental : bool
        Counted separately from arithmetic (exp, log, sin, ...).
    analytic : bool
        False for operations that are not complex-analytic (abs, maximum,
        where): the complex-step method refuses them.
    lin : tuple of callables or None
        Elementwise primitives only: ``lin[k](g, *args, out)`` is ``g`` times
        the partial derivative of the output with respect to argument ``k``.
        It serves both modes: with ``g`` a tangent it is the JVP contribution,
        with ``g`` a cotangent (then reduced to the argument's shape) the VJP
        contribution. ``IDENTITY`` and ``NEGATE`` mark the trivial cases.
    jvp : callable or None
        Non-elementwise primitives: ``jvp(tangents, args, out, **params)``;
        ``tangents[k]`` is None where argument ``k`` carries no tangent.
    vjp : callable or None
        ``vjp(k, g, args, out, **params)`` is the cotangent of argument ``k``
        for the output cotangent ``g`` (for elementwise primitives, built from
        ``lin``).
    cost : callable
        ``cost(args, out, **params) -> int``: the scalar operations executed.
    nondiff : tuple of int
        Argument positions that carry no derivative (a condition, a sign).
    uses : tuple or None
        What the VJP reads by value: argument positions, and ``"out"`` for the
        result. Other arguments matter by shape and dtype only, so reverse mode
        need not keep them alive on its tape. None: everything.
    scalar_partial : callable or None
        Unary elementwise primitives with a ``scalar`` implementation, optional:
        ``scalar_partial(x, out)`` is the partial derivative d out / d x on Python
        floats, ``lin[0](1.0, x, out)`` computed with :mod:`math` (``math.cos(x)``
        for sin). Reverse mode stores it in the tape entry when it records the
        operation, so that the backward sweep multiplies instead of calling the
        rule; a test checks every one against ``lin[0]``.
    residual : tuple or None
        ``(forward, vjp)``, optional: ``forward(*args, **params) -> (out, r)``
        on plain values also returns what the VJP would otherwise recompute
        (logsumexp: its softmax), and ``vjp(k, g, r, args, out, **params)``
        equals ``vjp(k, g, args, out, **params)`` given it. Compiled reverse
        mode (:mod:`adbench.ad.compiled`) uses it.
    """

    __slots__ = ("name", "impl", "scalar", "mp", "sym", "kind", "transcendental",
                 "analytic", "lin", "jvp", "vjp", "cost", "nondiff", "uses", "residual",
                 "scalar_partial")

    def __init__(self, name: str, impl: Callable, *, scalar: Callable | None = None,
                 mp: Callable | None = None, sym: Callable | None = None,
                 kind: str = "elementwise", transcendental: bool = False,
                 analytic: bool = True, lin: tuple | None = None,
                 jvp: Callable | None = None, vjp: tuple | None = None,
                 cost: Callable | None = None, nondiff: tuple = (),
                 uses: tuple | None = None, residual: tuple | None = None,
                 scalar_partial: Callable | None = None):
        self.name = name
        self.impl = impl
        self.scalar = scalar
        self.mp = mp
        self.sym = sym
        self.kind = kind
        self.transcendental = transcendental
        self.analytic = analytic
        self.lin = lin
        self.jvp = jvp
        self.vjp = vjp
        self.cost = cost
        self.nondiff = nondiff  # argument positions that carry no derivative
        self.uses = uses
        self.residual = residual
        self.scalar_partial = scalar_partial

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def __call__(self, *args, **params):
        return apply(self, *args, **params)

    def evaluate(self, *args, **params):
        """Evaluate on plain values, preferring the Python-float fast path."""
        scalar = self.scalar
        if scalar is not None and not params:
            for a in args:
                if type(a) is not float and type(a) is not int:
                    break
            else:
                try:
                    return scalar(*args)
                except DOMAIN_ERRORS:
                    pass  # outside the domain: let numpy return nan/inf and warn
        return self.impl(*args, **params)


_trace_ids = itertools.count(1)


class Trace:
    """An interpretation in progress. Subclasses implement :meth:`process`."""

    __slots__ = ("id",)

    def __init__(self):
        self.id = next(_trace_ids)

    def process(self, prim: Primitive, args: tuple, params: dict) -> Any:
        raise NotImplementedError

    def compare(self, op: Callable, a: Any, b: Any) -> Any:
        """A comparison (``<``, ``>=``, ...) involving a box of this trace.

        Comparisons carry no derivative; by default they compare the values
        one level down, so that a comparison of values that are themselves
        boxes of an enclosing trace reaches that trace's ``compare`` too (a
        compiled gradient records every comparison its function makes). The
        complex-step trace overrides this to refuse.
        """
        return op(a.value if isinstance(a, BoxBase) and a.trace is self else a,
                  b.value if isinstance(b, BoxBase) and b.trace is self else b)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


class NumpyCallError(TypeError):
    """A numpy function (``numpy.sin``, ``numpy.sum``...) was given a boxed value.

    numpy knows nothing of boxes: the derivative would be lost, so the call is
    refused, naming the function and its ``xp`` replacement. ``function`` is the
    numpy name (``"numpy.sin"``); ``replacement`` the ``xp`` name, or None when
    ``xp`` has none. :meth:`for_problem` is the one-line row message.
    """

    def __init__(self, function: str, replacement: str | None):
        self.function = function
        self.replacement = replacement
        super().__init__(f"{function} called on a differentiated value: {self.advice}")

    @property
    def advice(self) -> str:
        if self.replacement is not None:
            return f"use xp.{self.replacement}"
        short = self.function.removeprefix("numpy.")
        return (f"xp has no {short}: write it with xp's functions "
                "(adbench.interpret.xp.XP_FUNCTIONS)")

    def for_problem(self, name: str) -> str:
        """``problem NAME calls numpy.sin on a differentiated value: use xp.sin``."""
        return f"problem {name} calls {self.function} on a differentiated value: {self.advice}"


class BoxBase:
    """A value under interpretation: ``value`` (possibly itself a box of an
    enclosing trace) and the ``trace`` it belongs to."""

    __slots__ = ("value", "trace")
    __array_ufunc__ = None  # make numpy defer `ndarray * box` to the box

    def __init__(self, value, trace: Trace):
        self.value = value
        self.trace = trace


#: The float implementations that are Python's (and C's) infix operators on doubles, with
#: their symbol: the code writers (compiled reverse mode, the C and Python spellings)
#: write these primitives as ``a + b`` rather than as a call.
INFIX_OPERATORS = {operator.add: "+", operator.sub: "-", operator.mul: "*",
                   operator.truediv: "/"}
#: Python's comparison operators and their symbol, the same in C.
COMPARISON_OPERATORS = {operator.lt: "<", operator.le: "<=", operator.gt: ">",
                        operator.ge: ">=", operator.eq: "==", operator.ne: "!="}


class UnknownValue:
    """The value under a box of an interpretation that writes code (C, Python): not
    known until that code runs. Any use of it (a comparison, a truth value, a
    conversion) raises ``error(message)``, so that a rule that decides by a value
    is refused rather than written for one value."""

    __slots__ = ("error", "message")

    def __init__(self, error: type[Exception], message: str):
        self.error = error
        self.message = message

    def _refuse(self, *args):
        raise self.error(self.message)

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __bool__ = __float__ = __int__ = __index__ = __array__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __neg__ = __len__ = __iter__ = __getitem__ = _refuse
    __hash__ = None


def top_trace(args) -> Trace | None:
    """The innermost (largest id) trace among the arguments' boxes, or None."""
    top = None
    for a in args:
        if isinstance(a, BoxBase):
            t = a.trace
            if top is None or t.id > top.id:
                top = t
    return top


#: Called as ``hook(prim, args, params, out)`` after every evaluation of a
#: primitive on plain values, i.e. at the bottom of every interpretation, where
#: each operation really executed passes exactly once. Op counting
#: (:mod:`adbench.interpret.counting`) installs one: a box only sees operations that
#: involve it, not those on constants alone (a reverse-mode seed, ``W @ t``
#: for a constant W and a forward-mode seed t), which are executed all the same.
EVALUATION_HOOKS: list = []


def apply(prim: Primitive, *args, **params):
    """Apply ``prim``: to plain values directly, else through the innermost trace."""
    top = None
    for a in args:
        if isinstance(a, BoxBase):
            t = a.trace
            if top is None or t.id > top.id:
                top = t
    if top is None:  # plain values: Primitive.evaluate, inlined (this is the hottest call)
        if EVALUATION_HOOKS:  # an op counter is listening: every evaluation passes here once
            out = prim.evaluate(*args, **params)
            for hook in EVALUATION_HOOKS:
                hook(prim, args, params, out)
            return out
        scalar = prim.scalar
        if scalar is not None and not params:
            for a in args:
                if type(a) is not float and type(a) is not int:
                    break
            else:
                try:
                    return scalar(*args)
                except DOMAIN_ERRORS:
                    pass
        return prim.impl(*args, **params)
    return top.process(prim, args, params)


def primal(x):
    """Strip every box: the plain float or ndarray underneath."""
    while isinstance(x, BoxBase):
        x = x.value
    return x
