"""Reverse mode: a tape of primitive applications, recorded by running on Vars.

Running a function on :class:`Var` values records, for every primitive applied,
which tape entries it read and the primal values the VJP rule will need (the
survey's Table 3, forward sweep); the entry layouts are in
:mod:`adbench.ad.tape`. :func:`~adbench.ad.sweep.backward` then replays the
tape from its end (:mod:`adbench.ad.sweep`; re-exported here, with
:func:`~adbench.ad.sweep.adjoint_or_zero`).

Speed. The recording has fast paths that change how, never what, is computed:
every derivative still comes from the rule in the primitive table.

* Scalar programs: ``Var``'s arithmetic operators, generated per primitive
  with Python's operator inline (``_float_operator``), record a float
  operation in one compact tape entry that also holds the partial
  derivatives the ``lin`` markers stand for (1, -1, the other argument);
  a unary function of a float (``xp.sin(v)``) records its entry with the
  partial derivative the table's ``scalar_partial`` gives (``math.cos(x)``);
  iterating over or indexing a plain array records the reads ``x[i]``
  directly.
* Array programs: the tape keeps, of large arrays, only those the VJP reads
  (``Primitive.uses``); the others become zero-memory stand-ins.
* Array programs: a primitive with a ``residual`` form (logsumexp) records
  what its VJP would recompute (the softmax) beside its value, computed from
  the same exponentials, and the sweep calls the residual VJP.
* Nesting: a primal that is a box of another trace always takes the generic
  path (``apply``), so that the enclosing trace sees every operation.
"""

from __future__ import annotations

import numpy as np

from adbench.ad.tape import entry_parts
from adbench.interpret.core import (
    DOMAIN_ERRORS,
    EVALUATION_HOOKS,
    INFIX_OPERATORS,
    BoxBase,
    Trace,
    apply,
)
from adbench.interpret.primitives import (
    IDENTITY,
    NEGATE,
    Box,
    TimesArg,
    getitem_p,
    install_operators,
)

__all__ = ["Var", "ReverseTrace", "backward", "adjoint_or_zero", "entry_parts", "STAND_IN_SIZE"]


_new = object.__new__

#: Arrays at least this large (elements) that a VJP reads by shape only are not kept on
#: the tape; below it, the bookkeeping would cost more than the memory it frees.
STAND_IN_SIZE = 1 << 16
#: A vector of at most this many entries keeps the variables of its reads x[i]
#: (a list of that length), so that each element is recorded once.
ITEM_CACHE_SIZE = 1 << 16


def _partial_source(rule, x: str, y: str) -> str:
    """The expression a compact entry stores for the partial derivative ``rule``
    stands for: 1, -1 or an argument for the ``lin`` markers, None (call the
    rule in the backward sweep) otherwise."""
    if rule is IDENTITY:
        return "1.0"
    if rule is NEGATE:
        return "-1.0"
    if type(rule) is TimesArg:
        return (x, y)[rule.j]
    return "None"


_OPERATOR_TEMPLATE = """
def {dunder}(self, other):
    {mine} = self.value
    if type({mine}) is float:
        to = type(other)
        if to is Var:
            {theirs} = other.value
            if type({theirs}) is not float or other.trace is not self.trace:
                return apply(prim, {args})
            j = other.index
        elif to is float:
            {theirs}, j = other, -1
        elif to is int and -MAX_EXACT_INT <= other <= MAX_EXACT_INT:
            {theirs}, j = float(other), -1
        else:
            return apply(prim, {args})
        try:
            out = {expression}
        except DOMAIN_ERRORS:
            return apply(prim, {args})
        trace = self.trace
        tape = trace.tape
        var = _new(Var)  # Var(out, trace, index) without the call
        var.value = out
        var.trace = trace
        var.index = len(tape)
        tape.append((prim, {i0}, {i1}, x, y, out, {d0}, {d1}))
        return var
    return apply(prim, {args})
"""


def _float_operator(prim, dunder: str, reflected: bool):
    """A :class:`Var` operator method (``__mul__``...) with a fast path for the
    commonest step of a scalar program: a binary arithmetic primitive on a
    float variable of this trace and a float or int constant, or another float
    variable of the same trace. It computes the result with Python's operator
    and records a compact tape entry (see ``entry_parts``) holding the partial
    derivatives the table's ``lin`` markers stand for (1, -1, the other
    argument), so that the backward sweep multiplies instead of interpreting
    the rule; anything else (arrays, nesting, domain errors) goes the generic
    way through :func:`~adbench.interpret.core.apply`.

    The method is generated from a template, as :mod:`dataclasses` generates
    ``__init__``: with the operator and the checks inline, recording Helmholtz
    took about a fifth less time than through a generic closure.
    ``x`` and ``y`` are the primitive's arguments, ``self`` being ``y`` when
    ``reflected`` (``2.0 * v`` calls ``v.__rmul__(2.0)``).
    """
    mine, theirs = ("y", "x") if reflected else ("x", "y")
    # Python's own operator where the float implementation is one; others (pow:
    # math.pow, which raises where ``**`` would return a complex) call ``scalar``
    infix = INFIX_OPERATORS.get(prim.scalar)
    source = _OPERATOR_TEMPLATE.format(
        dunder=dunder, mine=mine, theirs=theirs,
        args="other, self" if reflected else "self, other",
        expression=f"x {infix} y" if infix else "scalar(x, y)",
        i0="j" if reflected else "self.index", i1="self.index" if reflected else "j",
        d0=_partial_source(prim.lin[0], "x", "y"), d1=_partial_source(prim.lin[1], "x", "y"))
    namespace = {"prim": prim, "scalar": prim.scalar, "apply": apply, "Var": Var, "_new": _new,
                 "DOMAIN_ERRORS": DOMAIN_ERRORS, "MAX_EXACT_INT": 2 ** 53}
    exec(compile(source, f"<Var.{dunder}: {prim.name}>", "exec"), namespace)
    method = namespace[dunder]
    method.__qualname__ = f"Var.{dunder}"
    return method


class Var(Box):
    """A value recorded on a :class:`ReverseTrace` at position ``index``; ``items``,
    once set, holds the variables of the reads ``x[i]`` (see :meth:`__getitem__`)."""

    __slots__ = ("index", "items")

    def __init__(self, value, trace: "ReverseTrace", index: int):
        self.value = value
        self.trace = trace
        self.index = index

    def __getitem__(self, idx):
        """``x[idx]``: records the getitem entry :meth:`ReverseTrace.process`
        would, without the dispatch, when ``x`` is a plain array.

        ``x[i]`` with an int ``i`` is recorded once per variable: a scalar loop that
        reads ``b[i] * x[i]`` thousands of times gets back the same variable for each
        ``i`` (kept in ``items``), so that the tape holds one entry per element read,
        as after ``xs = list(x)``, and a read costs a list lookup. The value read
        cannot change (boxes are never written to); the backward sweep gathers each
        read's cotangent into x's adjoint as before. ``items`` refers to the
        variables read, which refer to the trace; the trace refers to no variable,
        so no reference cycle is made."""
        if type(idx) is int:
            try:
                var = self.items[idx]
            except AttributeError:  # the first int read of this variable
                var = self._first_item(idx)
            if var is not None:
                return var
            return self._item(idx)
        value = self.value
        if type(value) is not np.ndarray:
            return apply(getitem_p, self, idx=idx)
        return self._read(value, idx, self.trace)

    def _first_item(self, idx):
        """Set up ``items`` (None where not read yet) when x is a vector small
        enough for a list of its entries; else ``items`` stays unset."""
        value = self.value
        if (type(value) is np.ndarray and value.ndim == 1
                and value.shape[0] <= ITEM_CACHE_SIZE):
            self.items = [None] * value.shape[0]
            return self.items[idx]  # IndexError out of range, as numpy's
        return None

    def _item(self, idx):
        """Record ``x[idx]`` (int idx), and keep it in ``items`` if there is a list."""
        value = self.value
        if type(value) is not np.ndarray:
            return apply(getitem_p, self, idx=idx)
        trace = self.trace
        if value.ndim == 1 and value.dtype == np.float64:
            # a Python float, as iterating gives: the next operations take the float path
            tape = trace.tape
            var = _new(Var)
            var.trace = trace
            var.value = value.item(idx)
            var.index = len(tape)
            tape.append((getitem_p, ((0, self.index),), (value,), var.value, {"idx": idx}))
        else:
            var = self._read(value, idx, trace)
        try:
            self.items[idx] = var
        except AttributeError:  # not cached (a large or not one-dimensional array)
            pass
        return var

    def _read(self, value, idx, trace):
        """Record the entry of ``x[idx]``."""
        out = getitem_p.impl(value, idx)
        parents = [(0, self.index)]
        primals = [value]
        kept = out if trace.keep_all else trace._shed((), parents, primals, out)
        tape = trace.tape
        var = _new(Var)
        var.value = out
        var.trace = trace
        var.index = len(tape)
        tape.append((getitem_p, ((0, self.index),), (primals[0],), kept, {"idx": idx}))
        return var

    def __iter__(self):
        """``x[0], x[1], ...``: records the getitem entries ``x[i]`` would, in
        one go for a plain array (the start of most scalar programs), sharing the
        variables of reads already made (``items``)."""
        value = self.value
        if type(value) is not np.ndarray or value.ndim == 0:
            yield from Box.__iter__(self)
            return
        trace, tape = self.trace, self.trace.tape
        parents, primals = ((0, self.index),), (value,)
        items = value.tolist() if value.ndim == 1 and value.dtype == np.float64 else \
            [getitem_p.impl(value, i) for i in range(len(value))]
        try:
            cached = self.items
        except AttributeError:
            cached = self.items = [None] * len(items) \
                if value.ndim == 1 and len(items) <= ITEM_CACHE_SIZE else None
        for i, out in enumerate(items):
            var = cached[i] if cached is not None else None
            if var is None:
                tape.append((getitem_p, parents, primals, out, {"idx": i}))
                var = Var(out, trace, len(tape) - 1)
                if cached is not None:
                    cached[i] = var
            yield var


install_operators(Var, _float_operator)


class ReverseTrace(Trace):
    """One reverse-mode differentiation in progress: its tape.

    ``tape[i]`` is None for an input, else a record of one primitive
    application: which arguments are variables of this trace (tape indices),
    the argument values with this trace's boxes removed (they may still be
    boxes of enclosing traces) and the result. :func:`entry_parts` reads any
    entry as ``(prim, parents, primals, out, params)``.
    """

    __slots__ = ("tape", "keep_all", "_stand_ins")

    def __init__(self, keep_all: bool = False):
        super().__init__()
        self.tape: list = []
        # keep_all=False: an argument or result that the primitive's VJP reads by
        # shape only (Primitive.uses) is kept as a zero-memory stand-in of the
        # same shape and dtype, when it is a large plain array: the tape then
        # holds on to what the backward sweep needs, as autograd's closures do.
        self.keep_all = keep_all
        self._stand_ins: dict = {}

    def input(self, value) -> Var:
        """A new independent variable."""
        self.tape.append(None)
        return Var(value, self, len(self.tape) - 1)

    def process(self, prim, args, params):
        if len(args) == 1 and not params:
            a = args[0]
            scalar = prim.scalar
            if (scalar is not None and type(a) is Var and a.trace is self
                    and type(a.value) is float and not prim.nondiff):
                x = a.value
                try:
                    out = scalar(x)
                except DOMAIN_ERRORS:
                    pass
                else:
                    # the partial derivative now, while x and out are at hand: the
                    # sweep then multiplies (None: it calls the rule)
                    partial = prim.scalar_partial
                    if partial is not None:
                        try:
                            partial = partial(x, out)
                        except DOMAIN_ERRORS:  # sqrt at 0: the rule says inf, numpy's way
                            partial = None
                    tape = self.tape
                    var = _new(Var)  # Var(out, self, index) without the call
                    var.value = out
                    var.trace = self
                    var.index = len(tape)
                    tape.append((prim, a.index, x, out, partial))
                    return var
        primals = list(args)
        parents = []
        plain = True    # no primal is a box of an enclosing trace
        floats = True   # every primal is a Python float or int
        large = False   # some primal is a plain array the tape might not keep
        for k, a in enumerate(args):
            ta = type(a)
            if ta is Var or (ta is not np.ndarray and ta is not float and ta is not int
                             and isinstance(a, BoxBase)):
                if a.trace is self:
                    parents.append((k, a.index))
                    a = a.value
                    primals[k] = a
                    ta = type(a)
                    if ta is not np.ndarray and isinstance(a, BoxBase):
                        plain = False
                else:
                    plain = False
            if ta is np.ndarray:
                floats = False
                if a.size >= STAND_IN_SIZE:
                    large = True
            elif ta is not float and ta is not int:
                floats = False
        residual = None
        if not plain:
            out = apply(prim, *primals, **params)
        elif floats:
            out = prim.evaluate(*primals, **params)
        elif prim.residual is not None and not EVALUATION_HOOKS and parents:
            # the value and what its VJP would recompute (logsumexp: the softmax, from
            # the same exponentials); an op counter sees the primitive's ordinary path
            out, residual = prim.residual[0](*primals, **params)
        else:  # Primitive.evaluate would only find out that its float path does not apply
            out = prim.impl(*primals, **params)
        if prim.nondiff:
            parents = [(k, j) for k, j in parents if k not in prim.nondiff]
        if not parents:
            return out
        tape = self.tape
        kept = out
        if (prim.uses is not None and not self.keep_all
                and (large or (type(out) is np.ndarray and out.size >= STAND_IN_SIZE))):
            kept = self._shed(prim.uses, parents, primals, out)
        var = _new(Var)  # Var(out, self, index) without the call
        var.value = out
        var.trace = self
        var.index = len(tape)
        if residual is None:
            tape.append((prim, tuple(parents), tuple(primals), kept, params))
        else:
            tape.append((prim, tuple(parents), tuple(primals), kept, params, residual))
        return var

    def _shed(self, uses: tuple, parents: list, primals: list, out):
        """Replace, in ``primals`` and ``out``, the large plain arrays the VJP
        does not read by stand-ins; returns the ``out`` to keep."""
        for k, _ in parents:
            if k not in uses:
                a = primals[k]
                if type(a) is np.ndarray and a.size >= STAND_IN_SIZE:
                    primals[k] = self._stand_in(a)
        if "out" in uses or type(out) is not np.ndarray or out.size < STAND_IN_SIZE:
            return out
        return self._stand_in(out)

    def _stand_in(self, a: np.ndarray) -> np.ndarray:
        key = (a.shape, a.dtype)
        s = self._stand_ins.get(key)
        if s is None:
            # zeros of a's shape and dtype in one element of memory (all strides 0)
            s = np.ndarray(a.shape, a.dtype, buffer=np.zeros(1, a.dtype),
                           strides=(0,) * a.ndim)
            s.flags.writeable = False
            self._stand_ins[key] = s
        return s

    def __len__(self) -> int:
        return len(self.tape)


# The backward sweep, importable from here as before the split.
from adbench.ad.sweep import (  # noqa: E402,F401 - re-exports; the sweep needs no recording
    REUSE_SIZE,
    _add_to,
    adjoint_or_zero,
    backward,
)
