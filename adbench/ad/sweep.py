"""Reverse mode's backward sweep: a recorded tape replayed from its end.

:func:`backward` walks the tape (:mod:`adbench.ad.reverse`) once from the end,
in reverse order of recording, which is a topological order of the computation
graph: each entry's adjoint is complete before it is propagated, a value used
many times receives every contribution (summed), and no recursion is involved,
so a chain of any length is fine. Every contribution comes from the primitive's
rule in the table; the fast paths below change how, never what, is computed.

* Compact float entries (:mod:`adbench.ad.tape`) with a float cotangent have
  their own loop: ``g`` times a stored partial (binary markers, a unary
  primitive's ``scalar_partial``), or the rule called on floats, summed with ``+``.
* An elementwise entry with a plain array cotangent applies its ``lin`` rules
  and ``unbroadcast`` inline; an adjoint is added to in place when nothing but
  the sweep refers to it (reference count, as numpy's own elision of
  temporaries), and a large cotangent that nothing refers to any more lends
  its memory to the last product computed from it.
* Adjoints are released once propagated, and the cotangents of reads ``x[i]``
  of a plain array are scattered into one buffer for ``x`` (O(n) for n reads,
  not n zero vectors of length n).
* Nesting: a primal or cotangent that is a box of another trace always takes
  the generic, functional path (``apply``, ``untake``, ``add``), so that the
  enclosing trace sees, and differentiates, every operation. Under an op
  counter (``EVALUATION_HOOKS``) every shortcut is off.
"""

from __future__ import annotations

from sys import getrefcount
from typing import TYPE_CHECKING

import numpy as np

from adbench.ad.tape import BINARY, GENERIC, RESIDUAL, entry_parts
from adbench.interpret.core import EVALUATION_HOOKS, BoxBase
from adbench.interpret.primitives import (
    IDENTITY,
    NEGATE,
    TimesArg,
    add,
    getitem_p,
    multiply,
    negative,
    product_unbroadcast,
    scatter_add,
    shape_of,
    unbroadcast,
    zeros_like,
)

if TYPE_CHECKING:
    from adbench.ad.reverse import ReverseTrace, Var

__all__ = ["backward", "adjoint_or_zero", "REUSE_SIZE"]

_FLOAT64 = np.dtype(np.float64)
#: The type of a float64 f's scalar cotangents (its seed and its scalar tail's): they
#: take the float paths, as Python floats do.
_SCALAR64 = np.float64

#: A dying cotangent at least this large (elements) is reused for a product in the
#: backward sweep; smaller ones cost more to check than a fresh array does.
REUSE_SIZE = 1 << 14


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
    # the trace's own boxes are its Vars: anything else is a constant to it
    if not (isinstance(output, BoxBase) and output.trace is trace):
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
        if floats and (type(g) is float or type(g) is _SCALAR64):
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
            if type(entry[1]) is int:  # unary f(x) on a float: g times the stored partial
                prim, j, x, out, d = entry
                c = _scalar_term(prim.lin[0], g, (x,), out) if d is None else g * d
                prev = adjoints[j]  # _add_to(adjoints, j, c), inlined: one call per entry
                if prev is None:
                    adjoints[j] = c
                elif type(prev) is float and type(c) is float:
                    adjoints[j] = prev + c
                else:
                    del prev
                    _accumulate(adjoints, j, c)
                continue
            if entry[0] is getitem_p:  # x[i] of a plain array (list(x) records n of them)
                x = entry[2][0]
                if type(x) is np.ndarray and _scatter_in_place(adjoints, entry[1][0][1], x,
                                                               entry[4]["idx"], g):
                    adjoints[i] = None
                    continue
        n = len(entry)
        if n == RESIDUAL:
            _propagate_residual(adjoints, i, entry, g, observer)
            continue
        if n != GENERIC or type(entry[1]) is int:
            entry = entry_parts(entry)
        _propagate(adjoints, i, entry, g, observer)
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
    if fast and lin is not None and (type(g) is float or type(g) is _SCALAR64):
        # Scalar elementwise (a float64 f's scalar tail has numpy scalar cotangents):
        # no broadcasting to undo.
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
            if (c.shape if type(c) is np.ndarray else shape_of(c)) != shape:
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
    _by_rule(adjoints, i, parents, observer, prim.vjp, (g, primals, out), params)


def _propagate_residual(adjoints: list, i: int, entry: tuple, g, observer) -> None:
    """Pass the adjoint ``g`` of an entry with a residual on to its arguments,
    by the primitive's residual VJP."""
    adjoints[i] = None
    prim, parents, primals, out, params, residual = entry
    _by_rule(adjoints, i, parents, observer, prim.residual[1], (g, residual, primals, out),
             params)


def _by_rule(adjoints: list, i: int, parents, observer, vjp, operands: tuple,
             params: dict) -> None:
    """Entry i's contribution ``vjp(k, *operands, **params)`` to each argument k
    (entry j), added to its adjoint: the path of every rule without a shortcut."""
    for k, j in parents:
        c = vjp(k, *operands, **params)
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
        if x.dtype is _FLOAT64 and (type(g) is float or getattr(g, "dtype", None) is _FLOAT64):
            dtype = _FLOAT64  # the commonest case, without numpy's promotion (about 1 µs)
        else:
            dtype = np.result_type(x, g, 0.0)
        buffer = adjoints[j] = np.zeros(x.shape, dtype)
    else:
        if type(buffer) is not np.ndarray:
            return False
        del buffer  # our own reference must not count in _private
        if not (_private(adjoints, j) and _holds(adjoints[j], g)):
            previous = adjoints[j]
            fresh = np.zeros(x.shape, np.result_type(x, g, previous, 0.0))
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
    if getattr(c, "dtype", None) is buffer.dtype:
        return True
    return np.result_type(buffer, c) == buffer.dtype


def _accumulate(adjoints: list, j: int, c) -> None:
    """``adjoints[j] += c``: in place when the adjoint is private and can hold
    ``c`` unchanged (same shape, dtype), else as a new value (``add``, which
    stays differentiable when ``c`` is boxed). The test of :func:`_private`,
    inline: this runs for every contribution to an array adjoint."""
    prev = adjoints[j]
    if (type(prev) is np.ndarray and not EVALUATION_HOOKS and prev.base is None
            and prev.flags.writeable and getrefcount(prev) == _PRIVATE_REFS):
        tc = type(c)
        if tc is float:
            if prev.dtype.kind in "fc":
                prev += c
                return
        elif tc is np.ndarray and c.shape == prev.shape and (
                c.dtype == prev.dtype or np.result_type(prev, c) == prev.dtype):
            prev += c
            return
    del prev
    adjoints[j] = add(adjoints[j], c)


def adjoint_or_zero(adjoints: list, var: Var):
    """The adjoint of ``var``, or zeros of its shape when the output does not use it."""
    g = adjoints[var.index]
    return zeros_like(var.value) if g is None else g

