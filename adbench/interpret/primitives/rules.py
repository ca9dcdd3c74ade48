"""The rule helpers of the primitive table: markers, the registry, broadcasting.

Derivative rules come in two shapes:

* elementwise primitives give ``lin``: for each argument ``k`` a function
  ``lin[k](g, *args, out)`` equal to ``g * d out / d args[k]``. Because the
  operation is elementwise the same expression is the JVP contribution (``g``
  a tangent) and, summed back to the argument's shape by :func:`unbroadcast`,
  the VJP contribution (``g`` a cotangent);
* other primitives give ``jvp(tangents, args, out, **params)`` and
  ``vjp(k, g, args, out, **params)``.

:func:`elementwise` and :func:`linear` define a primitive from such rules and
register it in :data:`PRIMITIVES`; the families of the table
(:mod:`.elementwise`, :mod:`.reductions`, ...) are made of them.
"""

from __future__ import annotations

import functools
import math

import numpy as np

# The rules below are written with the table's own functions (P.multiply, P.sum...), which
# the families define with the helpers of this module: they are looked up in the package
# when a rule runs, not imported here.
from adbench.interpret import primitives as P
from adbench.interpret.core import (
    DOMAIN_ERRORS,
    EVALUATION_HOOKS,
    BoxBase,
    Primitive,
    apply,
)


class LinMarker:
    """A ``lin`` rule given by its structure instead of a function, so that the
    modes can apply it without a call: ``IDENTITY`` (the contribution is
    ``g``), ``NEGATE`` (``-g``) and ``TimesArg(j)`` (``g * args[j]``: the
    product rule of a bilinear operation)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


class TimesArg(LinMarker):
    """``lin`` marker: the contribution is ``g * args[j]``."""

    __slots__ = ("j",)

    def __init__(self, j: int):
        super().__init__(f"TimesArg({j})")
        self.j = j


IDENTITY = LinMarker("IDENTITY")
NEGATE = LinMarker("NEGATE")

#: Every primitive by name, in the order of definition (elementwise, reductions, special,
#: linear algebra, shape: the import order of the package).
PRIMITIVES: dict[str, Primitive] = {}


def shape_of(x) -> tuple:
    """Shape of a plain value or a box (a Python scalar has shape ())."""
    if type(x) is np.ndarray:  # the commonest, first
        return x.shape
    while isinstance(x, BoxBase):
        x = x.value
    t = type(x)
    if t is float or t is int:
        return ()
    if t is np.ndarray:
        return x.shape
    return np.shape(x)


def size_of(x) -> int:
    return int(math.prod(shape_of(x)))  # Python ints: np.prod on a tuple costs ~10 µs


def apply_arrays(prim: Primitive, *args, **params):
    """``apply(prim, *args, **params)``, where plain ndarrays (and no op counter
    listening) go straight to the primitive's implementation, as ``apply`` would
    send them, without its search of the arguments for boxes: the path the rules'
    own array arithmetic takes on every backward step."""
    if not EVALUATION_HOOKS:
        for a in args:
            if type(a) is not np.ndarray:
                break
        else:
            return prim.impl(*args, **params)
    return apply(prim, *args, **params)


def _register(prim: Primitive) -> Primitive:
    if prim.name in PRIMITIVES:
        raise ValueError(f"primitive {prim.name!r} is defined twice")
    PRIMITIVES[prim.name] = prim
    return prim


def _lin_term(rule, g, args, out):
    """``g`` times the partial derivative that ``rule`` stands for."""
    if rule is IDENTITY:
        return g
    if rule is NEGATE:
        return P.negative(g)
    if type(rule) is TimesArg:
        return P.multiply(g, args[rule.j])
    return rule(g, *args, out)


def _elementwise_rules(prim: Primitive) -> tuple:
    """The JVP and VJP of an elementwise primitive, both made of its ``lin``.

    JVP: sum_k lin[k](t_k, ...), broadcast to the output's shape. VJP for
    argument k: lin[k](g, ...) summed back to the argument's shape
    (:func:`unbroadcast`). Both read ``prim.lin`` when called, so that every
    path (generic and fast) always uses the one rule in the table.
    """
    def jvp(tangents, args, out, **params):
        total = None
        for rule, t in zip(prim.lin, tangents, strict=True):
            if t is None or rule is None:
                continue
            term = _lin_term(rule, t, args, out)
            total = term if total is None else P.add(total, term)
        if total is not None:
            out_shape = shape_of(out)
            if shape_of(total) != out_shape:
                total = P.broadcast_to(total, out_shape)
        return total

    def vjp(k, g, args, out, **params):
        rule = prim.lin[k]
        shape = shape_of(args[k])
        if rule is NEGATE:  # sum first, negate the smaller array
            return P.negative(unbroadcast(g, shape))
        return unbroadcast(_lin_term(rule, g, args, out), shape)

    jvp.__qualname__ = f"{prim.name}.jvp"
    vjp.__qualname__ = f"{prim.name}.vjp"
    return jvp, vjp


def _count_output(args, out, **params) -> int:
    return size_of(out)


def _count_nothing(args, out, **params) -> int:
    return 0


def _partial_one(x, out):
    return 1.0


def _partial_minus_one(x, out):
    return -1.0


#: The scalar partial derivative a unary ``lin`` marker stands for.
_MARKER_PARTIALS = {IDENTITY: _partial_one, NEGATE: _partial_minus_one}


def elementwise(name, impl, *, scalar=None, mp=None, sym=None, lin,
                transcendental=False, analytic=True, nondiff=(), cost=_count_output,
                uses=None, scalar_partial=None):
    """Define an elementwise primitive from its partial-derivative rules.

    ``uses`` lists what the ``lin`` functions read by value (argument
    positions, ``"out"``); rules made of markers only need not say it.
    ``scalar_partial(x, out)``, for a unary primitive with a ``scalar``
    implementation: ``lin[0](1.0, x, out)`` on Python floats (see
    :class:`~adbench.interpret.core.Primitive`). Left out, it is derived from
    the rule once the table is complete (:func:`derive_scalar_partials`); a
    unary marker rule gives its own (1 or -1).
    """
    lin = tuple(lin)
    if uses is None and all(r is None or isinstance(r, LinMarker) for r in lin):
        uses = tuple(sorted({r.j for r in lin if type(r) is TimesArg}))
    if scalar_partial is None and scalar is not None and len(lin) == 1 \
            and lin[0] in _MARKER_PARTIALS:
        scalar_partial = _MARKER_PARTIALS[lin[0]]
    if scalar_partial is not None and (len(lin) != 1 or scalar is None):
        raise ValueError(f"primitive {name!r}: scalar_partial is for unary primitives "
                         "with a scalar implementation")
    prim = Primitive(name, impl, scalar=scalar, mp=mp, sym=sym, kind="elementwise",
                     transcendental=transcendental, analytic=analytic, lin=lin,
                     cost=cost, nondiff=tuple(nondiff), uses=uses,
                     scalar_partial=scalar_partial)
    prim.jvp, prim.vjp = _elementwise_rules(prim)
    _register(prim)
    if _TABLE_COMPLETE:  # defined after the table: its rule's functions all exist
        derive_scalar_partials([prim])
    return prim


#: Set once every primitive of the table is defined (the package's last line): the
#: rules may then be run, as they name functions defined after their primitive.
_TABLE_COMPLETE = False


def derive_scalar_partials(prims) -> None:
    """Give each unary primitive with a float implementation and no
    ``scalar_partial`` the one its ``lin`` rule writes
    (:func:`adbench.interpret.py_spelling.derive_scalar_partial`)."""
    global _TABLE_COMPLETE
    from adbench.interpret.py_spelling import derive_scalar_partial
    _TABLE_COMPLETE = True
    for prim in prims:
        if prim.kind == "elementwise" and prim.scalar_partial is None:
            prim.scalar_partial = derive_scalar_partial(prim)


def linear(name, impl, *, transpose, kind="structural", cost=_count_nothing, nargs=1):
    """Define a primitive that is linear in its (first ``nargs``) arguments.

    Its JVP applies the primitive itself to the tangents; ``transpose(k, g,
    args, out, **params)`` gives the VJP. The transpose of a linear map does
    not depend on the point, so it reads arguments by shape only (``uses=()``).
    """
    def jvp(tangents, args, out, **params):
        if nargs == 1:
            return apply(prim, tangents[0], *args[1:], **params)
        ts = [t if t is not None else P.zeros_like(a) for t, a in zip(tangents, args, strict=True)]
        return apply(prim, *ts, **params)

    prim = _register(Primitive(name, impl, kind=kind, jvp=jvp, vjp=transpose, cost=cost,
                               uses=()))
    return prim


def unbroadcast(g, shape: tuple):
    """Sum ``g`` down to ``shape``: the cotangent of an argument that numpy
    broadcast to the output's shape."""
    gshape = shape_of(g)
    if gshape == shape:
        return g
    shape = tuple(shape)
    axes = _summed_axes(gshape, shape)
    if type(g) is np.ndarray and not EVALUATION_HOOKS:  # a plain array: no dispatch
        return (g.sum(axis=axes) if axes else g).reshape(shape)
    if axes:
        g = P.sum(g, axis=axes)
    if shape_of(g) != shape:
        g = P.reshape(g, shape)
    return g


#: Below this many elements of g, product_unbroadcast multiplies and sums (two numpy
#: calls); from it on, one einsum pass saves the temporary product.
EINSUM_SIZE = 1 << 15


@functools.lru_cache(maxsize=1024)
def _summed_axes(g_shape: tuple, shape: tuple) -> tuple:
    """The axes of an array of ``g_shape`` that broadcasting from ``shape`` added or stretched."""
    extra = len(g_shape) - len(shape)
    return tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and g_shape[i + extra] != 1)


@functools.lru_cache(maxsize=1024)
def _product_spec(g_shape: tuple, f_shape: tuple, shape: tuple) -> tuple:
    """The einsum of product_unbroadcast, and the shape f is viewed with."""
    n = len(g_shape)
    letters = "abcdefghijklmnopqrstuvwxyz"
    fshape = (1,) * (n - len(f_shape)) + f_shape
    tshape = (1,) * (n - len(shape)) + shape
    f_axes = [i for i in range(n) if fshape[i] == g_shape[i]]
    out_axes = [i for i in range(n) if tshape[i] == g_shape[i]]
    spec = "{},{}->{}".format(letters[:n], "".join(letters[i] for i in f_axes),
                              "".join(letters[i] for i in out_axes))
    return spec, tuple(fshape[i] for i in f_axes)


def product_unbroadcast(g: np.ndarray, f: np.ndarray, shape: tuple) -> np.ndarray:
    """``unbroadcast(g * f, shape)`` for plain arrays: for large g, without the
    temporary ``g * f`` (one ``einsum`` multiplies and sums the broadcast axes away).

    ``g`` has the full (output) shape; ``f`` broadcasts to it.
    """
    shape = tuple(shape)
    if g.size < EINSUM_SIZE:
        return np.multiply(g, f).sum(axis=_summed_axes(g.shape, shape)).reshape(shape)
    spec, f_view = _product_spec(g.shape, f.shape, shape)
    return np.einsum(spec, g, f.reshape(f_view)).reshape(shape)



def _vec(f, nin: int = 1):
    """Elementwise application of a scalar function of ``nin`` arguments to scalars
    or object arrays (broadcast together)."""
    u = np.frompyfunc(f, nin, 1)

    def vectorised(*args):
        for a in args:
            if isinstance(a, np.ndarray):
                return u(*args)
        return f(*args)
    vectorised.__name__ = getattr(f, "__name__", "vectorised")
    vectorised.__wrapped__ = f
    return vectorised


#: The plain values an elementwise function hands to numpy without :func:`apply`: any
#: mixture of these with at least one array or numpy scalar (``_ARRAYS``; floats and
#: ints alone take the ``scalar`` implementation, as in apply).
_PLAIN = frozenset({np.ndarray, float, int, np.float64})
_ARRAYS = frozenset({np.ndarray, np.float64})


def _elementwise_function(prim: Primitive, name: str, doc: str):
    """The user-facing function of an elementwise primitive.

    Python floats take the primitive's ``scalar`` implementation directly (no
    dispatch: this is the fast path of scalar programs and of derivative rules
    evaluated on floats), plain arrays its numpy implementation, as :func:`apply`
    would; boxes go to their trace, through :func:`apply`. Outside
    the float domain (``math.log(-1.0)`` raises) numpy decides, as it would
    for arrays: nan or inf and a RuntimeWarning. While an op counter listens
    (``EVALUATION_HOOKS``), everything goes through :func:`apply` to be counted.
    """
    scalar, impl = prim.scalar, prim.impl
    nargs = len(prim.lin)
    if scalar is None:
        def function(*args):
            return apply(prim, *args)
    elif nargs == 1:
        def function(x):
            tx = type(x)
            if tx is float and not EVALUATION_HOOKS:
                try:
                    return scalar(x)
                except DOMAIN_ERRORS:
                    pass
            elif tx in _ARRAYS:
                if not EVALUATION_HOOKS:  # what apply does with a plain array
                    return impl(x)
            elif isinstance(x, BoxBase):  # apply(prim, x) without its search: x's trace
                return x.trace.process(prim, (x,), {})
            return apply(prim, x)
    else:
        def function(x, y):
            tx, ty = type(x), type(y)
            if tx is float and ty is float and not EVALUATION_HOOKS:
                try:
                    return scalar(x, y)
                except DOMAIN_ERRORS:
                    pass
            elif ((tx in _ARRAYS or ty in _ARRAYS) and tx in _PLAIN and ty in _PLAIN
                  and not EVALUATION_HOOKS):
                return impl(x, y)  # what apply does with plain arrays and numbers
            return apply(prim, x, y)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function

