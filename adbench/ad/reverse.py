"""Reverse mode: a tape of primitive applications, replayed backwards.

Running a function on :class:`Var` values records, for every primitive applied,
which tape entries it read and the primal values the VJP rule will need (the
survey's Table 3, forward sweep). :func:`backward` then walks the tape once from
the end, in reverse order of recording, which is a topological order of the
computation graph: each entry's adjoint is complete before it is propagated, a
value used many times receives every contribution, and no recursion is involved,
so a chain of any length is fine.

Speed. Both sweeps have fast paths that change how, never what, is computed:
every derivative still comes from the rule in the primitive table.

* Scalar programs: ``Var``'s arithmetic operators, generated per primitive
  with Python's operator inline (``_float_operator``), record a float
  operation in one compact tape entry that also holds the partial
  derivatives the ``lin`` markers stand for (1, -1, the other argument);
  iterating over or indexing a plain array records the reads ``x[i]``
  directly. The backward sweep handles compact entries with a float
  cotangent in its own loop: ``g`` times a stored partial, or the rule
  called on floats, summed with ``+``.
* Array programs: an elementwise entry with a plain array cotangent applies
  its ``lin`` rules and ``unbroadcast`` inline; the tape keeps, of large
  arrays, only those the VJP reads (``Primitive.uses``); an adjoint is added
  to in place when nothing but the sweep refers to it (reference count, as
  numpy's own elision of temporaries), and a large cotangent that nothing
  refers to any more lends its memory to the last product computed from it;
  adjoints are released once propagated, and the cotangents of reads
  ``x[i]`` of a plain array are scattered into one buffer for ``x`` (O(n)
  for n reads, not n zero vectors of length n).
* Nesting: a primal or cotangent that is a box of another trace always takes
  the generic, functional path (``apply``, ``untake``, ``add``), so that the
  enclosing trace sees, and differentiates, every operation.
"""

from __future__ import annotations

import operator
from sys import getrefcount

import numpy as np

from adbench.interpret.core import DOMAIN_ERRORS, EVALUATION_HOOKS, BoxBase, Trace, apply
from adbench.interpret.primitives import (
    IDENTITY,
    NEGATE,
    Box,
    TimesArg,
    add,
    getitem_p,
    install_operators,
    multiply,
    negative,
    product_unbroadcast,
    scatter_add,
    shape_of,
    unbroadcast,
    zeros_like,
)

__all__ = ["Var", "ReverseTrace", "backward", "adjoint_or_zero", "entry_parts"]


_new = object.__new__
_NO_PARAMS: dict = {}  # params of compact entries; never mutated

# Tape entry layouts. The generic one serves every primitive; the two compact
# ones hold the same information for the commonest steps of scalar programs
# (fewer objects kept alive per operation is most of their speed):
#   None                                      an input
#   (prim, parents, primals, out, params)     generic: parents = ((k, j), ...), argument
#                                             k is tape entry j
#   (prim, j, x, out)                         unary, float x = entry j
#   (prim, j0, j1, x, y, out, d0, d1)         binary, float x and y; argument k is entry
#                                             jk, or a constant when jk == -1; dk is the
#                                             partial derivative with respect to it when
#                                             the rule is a marker, else None
GENERIC, UNARY, BINARY = 5, 4, 8  # entry lengths

#: Arrays at least this large (elements) that a VJP reads by shape only are not kept on
#: the tape; below it, the bookkeeping would cost more than the memory it frees.
STAND_IN_SIZE = 1 << 16

#: A dying cotangent at least this large (elements) is reused for a product in the
#: backward sweep; smaller ones cost more to check than a fresh array does.
REUSE_SIZE = 1 << 14


def entry_parts(entry) -> tuple:
    """Any tape entry in the generic layout ``(prim, parents, primals, out, params)``."""
    n = len(entry)
    if n == GENERIC:
        return entry
    if n == UNARY:
        prim, j, x, out = entry
        return prim, ((0, j),), (x,), out, _NO_PARAMS
    prim, j0, j1, x, y, out, _, _ = entry
    parents = tuple((k, j) for k, j in ((0, j0), (1, j1)) if j >= 0)
    return prim, parents, (x, y), out, _NO_PARAMS


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


# Python's own operator for the primitives whose float implementation is one;
# others (pow: math.pow, which raises where ``**`` would return a complex) call
# their ``scalar`` implementation.
_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/"}

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
    infix = _INFIX.get(prim.scalar)
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
    """A value recorded on a :class:`ReverseTrace` at position ``index``."""

    __slots__ = ("index",)

    def __init__(self, value, trace: "ReverseTrace", index: int):
        self.value = value
        self.trace = trace
        self.index = index

    def __getitem__(self, idx):
        """``x[idx]``: records the getitem entry :meth:`ReverseTrace.process`
        would, without the dispatch, when ``x`` is a plain array."""
        value = self.value
        if type(value) is not np.ndarray:
            return apply(getitem_p, self, idx=idx)
        trace = self.trace
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
        one go for a plain array (the start of most scalar programs)."""
        value = self.value
        if type(value) is not np.ndarray or value.ndim == 0:
            yield from Box.__iter__(self)
            return
        trace, tape = self.trace, self.trace.tape
        parents, primals = ((0, self.index),), (value,)
        items = value.tolist() if value.ndim == 1 and value.dtype == np.float64 else \
            [getitem_p.impl(value, i) for i in range(len(value))]
        for i, out in enumerate(items):
            tape.append((getitem_p, parents, primals, out, {"idx": i}))
            yield Var(out, trace, len(tape) - 1)


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
                    tape = self.tape
                    tape.append((prim, a.index, x, out))
                    return Var(out, self, len(tape) - 1)
        primals = list(args)
        parents = []
        plain = True    # no primal is a box of an enclosing trace
        floats = True   # every primal is a Python float or int
        large = False   # some primal is a plain array the tape might not keep
        k = 0
        for a in args:
            if isinstance(a, BoxBase):
                if a.trace is self:
                    parents.append((k, a.index))
                    a = a.value
                    primals[k] = a
                    if isinstance(a, BoxBase):
                        plain = False
                else:
                    plain = False
            ta = type(a)
            if ta is np.ndarray:
                floats = False
                if a.size >= STAND_IN_SIZE:
                    large = True
            elif ta is not float and ta is not int:
                floats = False
            k += 1
        if not plain:
            out = apply(prim, *primals, **params)
        elif floats:
            out = prim.evaluate(*primals, **params)
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
        tape.append((prim, tuple(parents), tuple(primals), kept, params))
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


def _scalar_term(rule, g: float, primals: tuple, out):
    """``g`` times the partial derivative ``rule`` stands for, for a float cotangent."""
    if rule is IDENTITY:
        return g
    if rule is NEGATE:
        return -g
    if type(rule) is TimesArg:
        p = primals[rule.j]
        return g * p if type(p) is float else multiply(g, p)
    return rule(g, *primals, out)


def backward(trace: ReverseTrace, output, seed, observer=None) -> list:
    """The adjoints of the inputs for the cotangent ``seed`` on ``output``.

    Returns a list indexed like the tape. The adjoint of entry j is the sum
    over its uses i of ``vjp_i(adjoint_i)``, accumulated in reverse order of
    recording; once entry j has passed its adjoint on to its arguments, the
    sweep releases it (so that cotangent arrays do not pile up), hence only
    the inputs' entries remain, None for an input the output does not use.

    ``observer(i, k, j, contribution, adjoint)`` is called for each propagated
    contribution: entry i passes ``contribution`` to its argument k, which is
    entry j, whose adjoint becomes ``adjoint``. An adjoint array that the
    observer keeps a reference to is never updated in place afterwards.
    """
    tape = trace.tape
    if not (type(output) is Var and output.trace is trace):
        return [None] * len(tape)
    adjoints: list = [None] * len(tape)
    adjoints[output.index] = seed
    # Under an op counter every operation must pass through apply(), where the
    # counter sees it: the float and array shortcuts are then switched off. The
    # compact float entries are propagated inline here, unless someone observes.
    floats = not EVALUATION_HOOKS and observer is None
    i = output.index + 1
    for entry in reversed(tape[:i]):
        i -= 1
        g = adjoints[i]
        if g is None or entry is None:
            continue
        if floats and type(g) is float:
            n = len(entry)
            if n == BINARY:  # x op y on floats: g times the stored partial, or the rule
                prim, j0, j1, x, y, out, d0, d1 = entry
                if j0 >= 0:
                    if d0 is None:
                        _add_to(adjoints, j0, prim.lin[0](g, x, y, out))
                    else:
                        prev = adjoints[j0]
                        if prev is None:
                            adjoints[j0] = g * d0
                        elif type(prev) is float:
                            adjoints[j0] = prev + g * d0
                        else:
                            del prev
                            _accumulate(adjoints, j0, g * d0)
                if j1 >= 0:
                    if d1 is None:
                        _add_to(adjoints, j1, prim.lin[1](g, x, y, out))
                    else:
                        prev = adjoints[j1]
                        if prev is None:
                            adjoints[j1] = g * d1
                        elif type(prev) is float:
                            adjoints[j1] = prev + g * d1
                        else:
                            del prev
                            _accumulate(adjoints, j1, g * d1)
                continue
            if n == UNARY:
                prim, j, x, out = entry
                _add_to(adjoints, j, _scalar_term(prim.lin[0], g, (x,), out))
                continue
            if entry[0] is getitem_p:  # x[i] of a plain array (list(x) records n of them)
                x = entry[2][0]
                if type(x) is np.ndarray and _scatter_in_place(adjoints, entry[1][0][1], x,
                                                               entry[4]["idx"], g):
                    adjoints[i] = None
                    continue
        _propagate(adjoints, i, entry_parts(entry), g, observer)
    return adjoints


def _add_to(adjoints: list, j: int, c) -> None:
    """``adjoints[j] += c``, where the adjoint may not exist yet."""
    prev = adjoints[j]
    if prev is None:
        adjoints[j] = c
    elif type(prev) is float and type(c) is float:
        adjoints[j] = prev + c
    else:
        del prev  # a reference of ours would make the adjoint look shared to _accumulate
        _accumulate(adjoints, j, c)


def _propagate(adjoints: list, i: int, entry: tuple, g, observer) -> None:
    """Pass the adjoint ``g`` of tape entry ``i`` (generic layout) on to its arguments."""
    adjoints[i] = None  # propagated below: release it (inputs keep theirs)
    prim, parents, primals, out, params = entry
    fast = not EVALUATION_HOOKS
    lin = prim.lin
    if fast and lin is not None and type(g) is float:
        # Scalar elementwise: no broadcasting to undo.
        for k, j in parents:
            c = _scalar_term(lin[k], g, primals, out)
            _add_to(adjoints, j, c)
            if observer is not None:
                observer(i, k, j, c, adjoints[j])
        return
    if fast and lin is not None and type(g) is np.ndarray:
        # Elementwise on a plain array cotangent: the lin rules, unbroadcast. A large
        # g that nothing else refers to any more (its slot was just released, no
        # earlier contribution is g itself) lends its memory to the last product,
        # as numpy reuses temporaries.
        last = parents[-1]
        product = None  # (factor, g * factor): x * x needs g * x only once
        for k, j in parents:
            rule = lin[k]
            if rule is IDENTITY or rule is NEGATE:
                c = g
            elif type(rule) is TimesArg:
                factor = primals[rule.j]
                x = primals[k]
                if (type(x) is np.ndarray and type(factor) is np.ndarray
                        and x.shape != g.shape and g.ndim <= 26):
                    # g * factor summed down to x's shape, in one pass
                    c = product_unbroadcast(g, factor, x.shape)
                elif product is not None and product[0] is factor:
                    c = product[1]
                    if observer is None and adjoints[j] is c and type(c) is np.ndarray:
                        np.add(c, c, out=c)  # x * x: both contributions, in our own array
                        continue
                else:
                    if ((k, j) == last and g.size >= REUSE_SIZE and g.base is None
                            and g.flags.writeable and getrefcount(g) == _DYING_REFS
                            and _fits(factor, g)):
                        c = np.multiply(g, factor, out=g)
                    else:
                        c = g * factor  # np.multiply, or the box's own product
                    product = (factor, c)
            else:
                c = rule(g, *primals, out)
            x = primals[k]
            shape = x.shape if type(x) is np.ndarray else shape_of(x)
            if shape_of(c) != shape:
                c = unbroadcast(c, shape)
            if rule is NEGATE:  # negate after summing: the smaller array
                c = negative(c)
            _add_to(adjoints, j, c)
            if observer is not None:
                observer(i, k, j, c, adjoints[j])
        return
    if (fast and prim is getitem_p and type(primals[0]) is np.ndarray
            and not isinstance(g, BoxBase)
            and _scatter_in_place(adjoints, parents[0][1], primals[0], params["idx"], g)):
        return
    vjp = prim.vjp
    for k, j in parents:
        c = vjp(k, g, primals, out, **params)
        _add_to(adjoints, j, c)
        if observer is not None:
            observer(i, k, j, c, adjoints[j])


def _fits(factor, g: np.ndarray) -> bool:
    """Whether ``g * factor`` has g's shape and dtype, so that it can be written into g."""
    if type(factor) is float:
        return g.dtype.kind in "fc"
    return (type(factor) is np.ndarray and factor.dtype == g.dtype
            and np.broadcast_shapes(factor.shape, g.shape) == g.shape)


def _probe_propagate(adjoints, i, entry, g, observer) -> int:
    return getrefcount(g)


def _probe_backward() -> int:
    g = np.empty(1)  # backward's loop variable, then _propagate's argument
    return _probe_propagate(None, 0, None, g, None)


# The reference count, seen from inside _propagate, of a cotangent that only the
# sweep's own frames refer to (measured, not assumed: it differs between versions).
_DYING_REFS = _probe_backward()


def _slot_refcount(adjoints: list, j: int) -> int:
    a = adjoints[j]
    return getrefcount(a)


# The reference count of an object held by one list slot and nothing else, as
# seen by _slot_refcount (measured, not assumed: it differs between versions).
_PRIVATE_REFS = _slot_refcount([np.empty(0)], 0)


def _private(adjoints: list, j: int) -> bool:
    """Whether ``adjoints[j]`` is an array that nothing but this slot refers to
    (no caller, tape entry, other adjoint or view): updating it in place is
    then invisible, exactly as numpy's own elision of temporaries."""
    a = adjoints[j]
    if type(a) is not np.ndarray or a.base is not None or not a.flags.writeable:
        return False
    del a  # our own reference must not count
    return _slot_refcount(adjoints, j) == _PRIVATE_REFS


def _scatter_in_place(adjoints: list, j: int, x: np.ndarray, idx, g) -> bool:
    """Add the cotangent ``g`` of ``x[idx]`` into one adjoint buffer of ``x``.

    False (nothing changed) when the adjoint of ``x`` is boxed (nesting) or
    cannot hold ``g``'s dtype: then the caller takes the functional path.
    """
    buffer = adjoints[j]
    if buffer is None:
        buffer = adjoints[j] = np.zeros(x.shape, np.result_type(x, g, float))
    else:
        if type(buffer) is not np.ndarray:
            return False
        del buffer  # our own reference must not count in _private
        if not (_private(adjoints, j) and _holds(adjoints[j], g)):
            previous = adjoints[j]
            fresh = np.zeros(x.shape, np.result_type(x, g, previous, float))
            fresh += previous
            adjoints[j] = fresh
        buffer = adjoints[j]
    if type(idx) is int:  # the commonest read, x[i]
        buffer[idx] += g
    else:
        scatter_add(buffer, idx, g)
    return True


def _holds(buffer: np.ndarray, c) -> bool:
    """Whether ``buffer`` can take ``c`` in place without changing dtype."""
    if type(c) is float:
        return buffer.dtype.kind in "fc"
    return np.result_type(buffer, c) == buffer.dtype


def _accumulate(adjoints: list, j: int, c) -> None:
    """``adjoints[j] += c``: in place when the adjoint is private and can hold
    ``c`` unchanged (same shape, dtype), else as a new value (``add``, which
    stays differentiable when ``c`` is boxed)."""
    if not EVALUATION_HOOKS and _private(adjoints, j):
        prev = adjoints[j]
        tc = type(c)
        if tc is float or (tc is np.ndarray and c.shape == prev.shape):
            if _holds(prev, c):
                prev += c
                return
    adjoints[j] = add(adjoints[j], c)


def adjoint_or_zero(adjoints: list, var: Var):
    """The adjoint of ``var``, or zeros of its shape when the output does not use it."""
    g = adjoints[var.index]
    return zeros_like(var.value) if g is None else g

