"""The one table of primitives.

Each elementary operation is defined here once: its numpy implementation, its
Python-float, mpmath and SymPy implementations, its derivative rule and its
operation count. Forward mode, reverse mode, op counting, complex step, the
mpmath reference and SymPy all read this table; none of them knows a single
derivative formula of its own. Adding a primitive is one entry below.

Derivative rules come in two shapes:

* elementwise primitives give ``lin``: for each argument ``k`` a function
  ``lin[k](g, *args, out)`` equal to ``g * d out / d args[k]``. Because the
  operation is elementwise the same expression is the JVP contribution (``g``
  a tangent) and, summed back to the argument's shape by :func:`unbroadcast`,
  the VJP contribution (``g`` a cotangent);
* other primitives give ``jvp(tangents, args, out, **params)`` and
  ``vjp(k, g, args, out, **params)``.

Rules are written with the functions of this module (``cos``, ``where``,
``sum``...), never with numpy directly, so that they are themselves
differentiable: that is what makes Hessians and nested derivatives work.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator

import mpmath
import numpy as np
import sympy

from adbench.interpret.core import (
    DOMAIN_ERRORS,
    EVALUATION_HOOKS,
    BoxBase,
    Primitive,
    apply,
    primal,
    top_trace,
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

PRIMITIVES: dict[str, Primitive] = {}


def shape_of(x) -> tuple:
    """Shape of a plain value or a box (a Python scalar has shape ())."""
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


def _register(prim: Primitive) -> Primitive:
    if prim.name in PRIMITIVES:
        raise ValueError(f"primitive {prim.name!r} is defined twice")
    PRIMITIVES[prim.name] = prim
    return prim


# --------------------------------------------------------------------------
# Rule helpers
# --------------------------------------------------------------------------

def _lin_term(rule, g, args, out):
    """``g`` times the partial derivative that ``rule`` stands for."""
    if rule is IDENTITY:
        return g
    if rule is NEGATE:
        return negative(g)
    if type(rule) is TimesArg:
        return multiply(g, args[rule.j])
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
            total = term if total is None else add(total, term)
        if total is not None:
            out_shape = shape_of(out)
            if shape_of(total) != out_shape:
                total = broadcast_to(total, out_shape)
        return total

    def vjp(k, g, args, out, **params):
        rule = prim.lin[k]
        shape = shape_of(args[k])
        if rule is NEGATE:  # sum first, negate the smaller array
            return negative(unbroadcast(g, shape))
        return unbroadcast(_lin_term(rule, g, args, out), shape)

    jvp.__qualname__ = f"{prim.name}.jvp"
    vjp.__qualname__ = f"{prim.name}.vjp"
    return jvp, vjp


def _count_output(args, out, **params) -> int:
    return size_of(out)


def _count_nothing(args, out, **params) -> int:
    return 0


def elementwise(name, impl, *, scalar=None, mp=None, sym=None, lin,
                transcendental=False, analytic=True, nondiff=(), cost=_count_output,
                uses=None):
    """Define an elementwise primitive from its partial-derivative rules.

    ``uses`` lists what the ``lin`` functions read by value (argument
    positions, ``"out"``); rules made of markers only need not say it.
    """
    lin = tuple(lin)
    if uses is None and all(r is None or isinstance(r, LinMarker) for r in lin):
        uses = tuple(sorted({r.j for r in lin if type(r) is TimesArg}))
    prim = Primitive(name, impl, scalar=scalar, mp=mp, sym=sym, kind="elementwise",
                     transcendental=transcendental, analytic=analytic, lin=lin,
                     cost=cost, nondiff=tuple(nondiff), uses=uses)
    prim.jvp, prim.vjp = _elementwise_rules(prim)
    return _register(prim)


def linear(name, impl, *, transpose, kind="structural", cost=_count_nothing, nargs=1):
    """Define a primitive that is linear in its (first ``nargs``) arguments.

    Its JVP applies the primitive itself to the tangents; ``transpose(k, g,
    args, out, **params)`` gives the VJP. The transpose of a linear map does
    not depend on the point, so it reads arguments by shape only (``uses=()``).
    """
    def jvp(tangents, args, out, **params):
        if nargs == 1:
            return apply(prim, tangents[0], *args[1:], **params)
        ts = [t if t is not None else zeros_like(a) for t, a in zip(tangents, args, strict=True)]
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
        g = sum(g, axis=axes)
    if shape_of(g) != shape:
        g = reshape(g, shape)
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


# --------------------------------------------------------------------------
# Elementwise primitives
# --------------------------------------------------------------------------

def _vec(f):
    """Elementwise application of a scalar function to scalars or object arrays."""
    u = np.frompyfunc(f, 1, 1)

    def vectorised(x):
        return f(x) if not isinstance(x, np.ndarray) else u(x)
    vectorised.__name__ = getattr(f, "__name__", "vectorised")
    vectorised.__wrapped__ = f
    return vectorised


def _sym_where(c, a, b):
    return sympy.Piecewise((a, c), (b, True))


def _mp_sign(x):
    return mpmath.sign(x)


def _pow_is_transcendental(args, out=None, **params) -> bool:
    y = primal(args[1])
    return not (np.ndim(y) == 0 and float(np.real(y)).is_integer())


add_p = elementwise("add", np.add, scalar=operator.add, lin=(IDENTITY, IDENTITY))
sub_p = elementwise("sub", np.subtract, scalar=operator.sub, lin=(IDENTITY, NEGATE))
mul_p = elementwise("mul", np.multiply, scalar=operator.mul, lin=(TimesArg(1), TimesArg(0)))
div_p = elementwise("div", np.true_divide, scalar=operator.truediv,
                    uses=(1, "out"),
                    lin=(lambda g, x, y, out: divide(g, y),
                         lambda g, x, y, out: negative(divide(multiply(g, out), y))))
neg_p = elementwise("neg", np.negative, scalar=operator.neg, lin=(NEGATE,))
def _pow_base(g, x, y, out):
    """g * y x^(y - 1), and 0 where y == 0: there x^(y - 1) = 1/x is inf at x = 0,
    but d/dx x^0 = 0 everywhere (the third derivative of x**2 at 0 was nan)."""
    zero = primal(y) == 0
    if not np.any(zero):
        return multiply(g, multiply(y, power(x, subtract(y, 1))))
    with np.errstate(divide="ignore", invalid="ignore"):  # 1/0 in the branch masked out
        return multiply(g, where(zero, 0.0, multiply(y, power(x, subtract(y, 1)))))


pow_p = elementwise("pow", np.power, scalar=math.pow,
                    uses=(0, 1, "out"),
                    lin=(_pow_base,
                         lambda g, x, y, out: multiply(g, multiply(out, log(x)))))
exp_p = elementwise("exp", np.exp, scalar=math.exp, mp=_vec(mpmath.exp), sym=_vec(sympy.exp),
                    transcendental=True, uses=("out",), lin=(lambda g, x, out: multiply(g, out),))
log_p = elementwise("log", np.log, scalar=math.log, mp=_vec(mpmath.log), sym=_vec(sympy.log),
                    transcendental=True, uses=(0,), lin=(lambda g, x, out: divide(g, x),))
log1p_p = elementwise("log1p", np.log1p, uses=(0,), scalar=math.log1p, mp=_vec(mpmath.log1p),
                      sym=_vec(lambda x: sympy.log(1 + x)), transcendental=True,
                      lin=(lambda g, x, out: divide(g, add(1.0, x)),))
expm1_p = elementwise("expm1", np.expm1, uses=("out",), scalar=math.expm1, mp=_vec(mpmath.expm1),
                      sym=_vec(lambda x: sympy.exp(x) - 1), transcendental=True,
                      lin=(lambda g, x, out: multiply(g, add(out, 1.0)),))
sin_p = elementwise("sin", np.sin, scalar=math.sin, mp=_vec(mpmath.sin), sym=_vec(sympy.sin),
                    transcendental=True, uses=(0,), lin=(lambda g, x, out: multiply(g, cos(x)),))
cos_p = elementwise("cos", np.cos, scalar=math.cos, mp=_vec(mpmath.cos), sym=_vec(sympy.cos),
                    transcendental=True, uses=(0,),
                    lin=(lambda g, x, out: negative(multiply(g, sin(x))),))
tan_p = elementwise("tan", np.tan, scalar=math.tan, mp=_vec(mpmath.tan), sym=_vec(sympy.tan),
                    transcendental=True, uses=("out",),
                    lin=(lambda g, x, out: multiply(g, add(1.0, multiply(out, out))),))
tanh_p = elementwise("tanh", np.tanh, uses=("out",), scalar=math.tanh, mp=_vec(mpmath.tanh),
                     sym=_vec(sympy.tanh), transcendental=True,
                     lin=(lambda g, x, out: multiply(g, subtract(1.0, multiply(out, out))),))
sqrt_p = elementwise("sqrt", np.sqrt, uses=("out",), scalar=math.sqrt, mp=_vec(mpmath.sqrt),
                     sym=_vec(sympy.sqrt), transcendental=True,
                     lin=(lambda g, x, out: divide(multiply(g, 0.5), out),))
sign_p = elementwise("sign", np.sign, mp=_vec(_mp_sign), sym=_vec(sympy.sign),
                     analytic=False, lin=(None,), nondiff=(0,))
abs_p = elementwise("abs", np.abs, scalar=builtins.abs, mp=_vec(mpmath.fabs),
                    sym=_vec(sympy.Abs), analytic=False, uses=(0,),
                    lin=(lambda g, x, out: multiply(g, sign(x)),))
maximum_p = elementwise(
    "maximum", np.maximum, scalar=builtins.max, sym=np.frompyfunc(sympy.Max, 2, 1),
    analytic=False, uses=(0, 1),
    lin=(lambda g, x, y, out: where(primal(x) >= primal(y), g, 0.0),
         lambda g, x, y, out: where(primal(x) >= primal(y), 0.0, g)))
minimum_p = elementwise(
    "minimum", np.minimum, scalar=builtins.min, sym=np.frompyfunc(sympy.Min, 2, 1),
    analytic=False, uses=(0, 1),
    lin=(lambda g, x, y, out: where(primal(x) <= primal(y), g, 0.0),
         lambda g, x, y, out: where(primal(x) <= primal(y), 0.0, g)))
where_p = elementwise(
    "where", np.where, sym=np.frompyfunc(_sym_where, 3, 1), analytic=False, nondiff=(0,),
    cost=_count_nothing, uses=(0,),
    lin=(None,
         lambda g, c, x, y, out: where(c, g, 0.0),
         lambda g, c, x, y, out: where(c, 0.0, g)))


# --------------------------------------------------------------------------
# Reductions, linear algebra and structure
# --------------------------------------------------------------------------

def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim for a in axis))


@functools.lru_cache(maxsize=1024)
def _keepdims_shape(x_shape: tuple, axis) -> tuple:
    """The shape of a reduction of an array of ``x_shape`` along ``axis``, with keepdims."""
    axes = _norm_axes(axis, len(x_shape))
    return tuple(1 if i in axes else n for i, n in enumerate(x_shape))


#: The plain cotangent of a sum over at most this many entries is spread into a new
#: array (one or two numpy calls); above it, into a broadcast view (no memory).
FULL_SIZE = 1 << 12


def _sum_transpose(k, g, args, out, axis=None, keepdims=False):
    x_shape = shape_of(args[0])
    if not EVALUATION_HOOKS and math.prod(x_shape) <= FULL_SIZE:
        if type(g) is float or type(g) is np.float64:
            return np.full(x_shape, g)
        if type(g) is np.ndarray:
            spread = np.empty(x_shape, g.dtype)
            spread[...] = g if keepdims else g.reshape(_keepdims_shape(x_shape, axis))
            return spread
    if not keepdims:
        g = reshape(g, _keepdims_shape(x_shape, axis))
    return broadcast_to(g, x_shape)


def _count_reduction(args, out, **params) -> int:
    return builtins.max(size_of(args[0]) - size_of(out), 0)


def _sum_impl(x, axis=None, keepdims=False):
    if type(x) is np.ndarray:  # the method skips numpy.sum's Python wrappers
        return x.sum(axis=axis, keepdims=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims)


def _max_impl(x, axis=None, keepdims=False):
    if type(x) is np.ndarray:
        return x.max(axis=axis, keepdims=keepdims)
    return np.max(x, axis=axis, keepdims=keepdims)


sum_p = linear("sum", _sum_impl, transpose=_sum_transpose, kind="reduction",
               cost=_count_reduction)


def _amax_mask(x, out, axis, keepdims):
    xv, ov = primal(x), primal(out)
    ok = ov if keepdims else np.reshape(ov, _keepdims_shape(np.shape(xv), axis))
    mask = (xv == ok).astype(float)
    return mask / np.sum(mask, axis=axis, keepdims=True)


def _weighted_reduction_rules(weights):
    """The JVP and VJP of a reduction whose partial derivatives are
    ``weights(x, out, axis, keepdims)``, an array of x's shape (max: the
    argmax mask; logsumexp: the softmax): JVP sum(t w), VJP g w (g broadcast
    back over the reduced axes)."""
    def jvp(tangents, args, out, axis=None, keepdims=False):
        w = weights(args[0], out, axis, keepdims)
        return sum(multiply(tangents[0], w), axis=axis, keepdims=keepdims)

    def vjp(k, g, args, out, axis=None, keepdims=False):
        return _weighted_vjp(g, weights(args[0], out, axis, keepdims), axis, keepdims)
    return jvp, vjp


def _weighted_vjp(g, w, axis, keepdims):
    """g w, g broadcast back over the reduced axes of w (the reduction's
    partial derivatives, of its argument's shape)."""
    if not keepdims:
        g = reshape(g, _keepdims_shape(shape_of(w), axis))
    return multiply(g, w)


amax_p = _register(Primitive("max", _max_impl, kind="reduction", analytic=False,
                             cost=_count_reduction, uses=(0, "out")))
amax_p.jvp, amax_p.vjp = _weighted_reduction_rules(_amax_mask)


def _logsumexp_parts(x, axis, keepdims):
    """(logsumexp(x), e, sum e) for the shifted exponentials e = exp(x - m),
    m = max x along ``axis`` (0 where a whole slice is -inf), none of which
    overflows: logsumexp = m + log sum e."""
    shift = max(x, axis=axis, keepdims=True)
    if not np.isfinite(shift).all():
        shift = np.where(np.isfinite(shift), shift, 0.0)
    e = exp(subtract(x, shift))
    total = sum(e, axis=axis, keepdims=keepdims)
    out = log(total)
    return add(out, shift if keepdims else np.reshape(shift, np.shape(out))), e, total


def _logsumexp_impl(x, axis=None, keepdims=False):
    """log sum exp(x) along ``axis``, shifted by the maximum so that nothing
    overflows: m + log sum exp(x - m), m = max x (0 where a whole slice is
    -inf). Composed of the table's primitives, so that an op counter sees, and
    counts, each of them; it is only ever called on plain values."""
    return _logsumexp_parts(x, axis, keepdims)[0]


def _logsumexp_and_softmax(x, axis=None, keepdims=False):
    """(logsumexp(x), softmax(x)) from one set of exponentials: the softmax
    exp(x - logsumexp x) is e / sum e for the shifted e the value needs anyway."""
    out, e, total = _logsumexp_parts(x, axis, keepdims)
    if not keepdims:
        total = reshape(total, _keepdims_shape(shape_of(x), axis))
    return out, divide(e, total)


def _logsumexp_softmax_vjp(k, g, w, args, out, axis=None, keepdims=False):
    return _weighted_vjp(g, w, axis, keepdims)


def _softmax_factor(x, out, axis, keepdims):
    """exp(x - logsumexp(x)): the partial derivatives of logsumexp (softmax)."""
    return exp(subtract(x, reshape(out, _keepdims_shape(shape_of(x), axis))
                        if not keepdims else out))


def _object_logsumexp(exp_, log_):
    """logsumexp on numpy object arrays of mpmath or SymPy numbers: log sum exp,
    unshifted (exact in their arithmetic, and SymPy then differentiates no maximum)."""
    def logsumexp(x, axis=None, keepdims=False):
        return log_(np.sum(exp_(np.asarray(x, dtype=object)), axis=axis, keepdims=keepdims))
    return logsumexp


logsumexp_p = _register(Primitive(
    "logsumexp", _logsumexp_impl, kind="reduction", transcendental=True,
    mp=_object_logsumexp(_vec(mpmath.exp), _vec(mpmath.log)),
    sym=_object_logsumexp(_vec(sympy.exp), _vec(sympy.log)),
    cost=_count_nothing, uses=(0, "out"),
    residual=(_logsumexp_and_softmax, _logsumexp_softmax_vjp)))
logsumexp_p.jvp, logsumexp_p.vjp = _weighted_reduction_rules(_softmax_factor)


def _matmul_jvp(tangents, args, out, **params):
    ta, tb = tangents
    a, b = args
    total = None
    if ta is not None:
        total = matmul(ta, b)
    if tb is not None:
        term = matmul(a, tb)
        total = term if total is None else add(total, term)
    return total


#: From this many cotangent entries, the VJP of a stack of matrices times one matrix
#: is one product of two matrices; below it, the stacked product costs less (fewer calls).
GEMM_SIZE = 1 << 15


def _matmul_vjp(k, g, args, out, **params):
    a, b = args
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) >= 2 and len(sb) >= 2:  # stacks of matrices: g has the output's shape
        if k == 0:
            if (len(sb) == 2 or builtins.all(d == 1 for d in sb[:-2])) and \
                    size_of(g) >= GEMM_SIZE:
                # one matrix b for every a: the rows of all of g times b^T, as one
                # product of two matrices rather than a stack of small ones
                gs = shape_of(g)
                rows = matmul(reshape(g, (-1, gs[-1])), transpose(reshape(b, sb[-2:])))
                return unbroadcast(reshape(rows, gs[:-1] + (sb[-2],)), sa)
            return unbroadcast(matmul(g, swapaxes(b, -1, -2)), sa)
        return unbroadcast(matmul(swapaxes(a, -1, -2), g), sb)
    a2 = a if len(sa) >= 2 else reshape(a, (1,) + sa)
    b2 = b if len(sb) >= 2 else reshape(b, sb + (1,))
    out2 = np.broadcast_shapes(shape_of(a2)[:-2], shape_of(b2)[:-2]) + (
        shape_of(a2)[-2], shape_of(b2)[-1])
    g2 = reshape(g, out2)
    if k == 0:
        r = matmul(g2, swapaxes(b2, -1, -2))
        return reshape(unbroadcast(r, shape_of(a2)), sa)
    r = matmul(swapaxes(a2, -1, -2), g2)
    return reshape(unbroadcast(r, shape_of(b2)), sb)


def _count_matmul(args, out, **params) -> int:
    k = shape_of(args[0])[-1]
    return 2 * builtins.max(size_of(out), 1) * k


matmul_p = _register(Primitive("matmul", np.matmul, kind="bilinear", jvp=_matmul_jvp,
                               vjp=_matmul_vjp, cost=_count_matmul, uses=(0, 1)))


def is_basic_index(idx) -> bool:
    """True for numpy "basic" indices (ints, slices, Ellipsis, None and tuples of
    them): they select each element at most once, so a cotangent can be
    scattered back by assignment. Integer arrays and masks ("advanced"
    indices) may repeat elements and need an unbuffered ``np.add.at``."""
    if type(idx) is tuple:
        for i in idx:
            if not (isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis):
                return False
        return True
    return isinstance(idx, (int, np.integer, slice)) or idx is None or idx is Ellipsis


def _getitem_impl(x, idx):
    out = x[idx]
    # A float64 element becomes a Python float, so that scalar code read out
    # of an array runs on the float fast paths.
    return float(out) if type(out) is np.float64 else out


def _getitem_transpose(k, g, args, out, idx):
    return untake(g, idx=idx, shape=shape_of(args[0]))


def scatter_add(buffer: np.ndarray, idx, g) -> None:
    """``buffer[idx] += g`` in place, correct for repeated advanced indices."""
    if is_basic_index(idx):
        buffer[idx] += g
    else:
        np.add.at(buffer, idx, g)


def _untake_impl(g, idx, shape):
    z = np.zeros(shape, dtype=np.result_type(g, float))
    scatter_add(z, idx, g)
    return z


def _untake_transpose(k, g, args, out, idx, shape):
    return getitem(g, idx=idx)


getitem_p = linear("getitem", _getitem_impl, transpose=_getitem_transpose)
untake_p = linear("untake", _untake_impl, transpose=_untake_transpose)


def _reshape_transpose(k, g, args, out, shape):
    return reshape(g, shape_of(args[0]))


def _transpose_transpose(k, g, args, out, axes=None):
    if axes is None:
        return transpose(g)
    return transpose(g, axes=tuple(np.argsort(axes)))


def _broadcast_transpose(k, g, args, out, shape):
    return unbroadcast(g, shape_of(args[0]))


def _swapaxes_transpose(k, g, args, out, axis1, axis2):
    return swapaxes(g, axis1, axis2)


def _imag_transpose(k, g, args, out):
    # In the engine's holomorphic convention (VJPs multiply by the derivative, not
    # its conjugate), Im z = (z - conj z) / 2i transposes to -i g.
    return multiply(g, -1j)


#: The imaginary part: the complex-step method reads f'(x) h from Im f(x + ih).
imag_p = linear("imag", np.imag, transpose=_imag_transpose)
imag_p.analytic = False  # Im z is real-linear but not complex-analytic


def _reshape_impl(x, shape):
    return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)


reshape_p = linear("reshape", _reshape_impl, transpose=_reshape_transpose)
transpose_p = linear("transpose", lambda x, axes=None: np.transpose(x, axes),
                     transpose=_transpose_transpose)
swapaxes_p = linear("swapaxes", lambda x, axis1, axis2: np.swapaxes(x, axis1, axis2),
                    transpose=_swapaxes_transpose)
broadcast_to_p = linear("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
                        transpose=_broadcast_transpose)


def _concat_transpose(k, g, args, out, axis=0):
    ax = axis % len(shape_of(out))
    start = builtins.sum(shape_of(a)[ax] for a in args[:k])
    idx = (slice(None),) * ax + (slice(start, start + shape_of(args[k])[ax]),)
    return getitem(g, idx=idx)


def _stack_transpose(k, g, args, out, axis=0):
    ax = axis % len(shape_of(out))
    return getitem(g, idx=(slice(None),) * ax + (k,))


concatenate_p = linear("concatenate", lambda *xs, axis=0: np.concatenate(xs, axis=axis),
                       transpose=_concat_transpose, nargs=-1)
stack_p = linear("stack", lambda *xs, axis=0: np.stack(xs, axis=axis),
                 transpose=_stack_transpose, nargs=-1)


def _call_impl(x, fn):
    """``fn(x)`` on plain values: its operations reach the table one by one (an
    op counter sees each); the call itself costs nothing."""
    return fn(x)


#: ``fn(x)`` for a function ``fn`` of one value (``params["fn"]``), recorded by reverse
#: mode as one entry that keeps x alone: its VJP runs fn again, on a tape of its own,
#: during the backward sweep (checkpointing: :func:`adbench.ad.checkpoint`). Its JVP
#: and VJP are the engine's own passes over fn, so :mod:`adbench.ad` attaches them.
checkpoint_p = _register(Primitive("checkpoint", _call_impl, kind="structural",
                                   cost=_count_nothing, uses=(0,)))


# --------------------------------------------------------------------------
# The user-facing functions: what a problem's `xp` namespace offers
# --------------------------------------------------------------------------


def _elementwise_function(prim: Primitive, name: str, doc: str):
    """The user-facing function of an elementwise primitive.

    Python floats take the primitive's ``scalar`` implementation directly (no
    dispatch: this is the fast path of scalar programs and of derivative rules
    evaluated on floats); everything else goes through :func:`apply`. Outside
    the float domain (``math.log(-1.0)`` raises) numpy decides, as it would
    for arrays: nan or inf and a RuntimeWarning. While an op counter listens
    (``EVALUATION_HOOKS``), everything goes through :func:`apply` to be counted.
    """
    scalar = prim.scalar
    nargs = len(prim.lin)
    if scalar is None:
        def function(*args):
            return apply(prim, *args)
    elif nargs == 1:
        def function(x):
            if type(x) is float and not EVALUATION_HOOKS:
                try:
                    return scalar(x)
                except DOMAIN_ERRORS:
                    pass
            return apply(prim, x)
    else:
        def function(x, y):
            if type(x) is float and type(y) is float and not EVALUATION_HOOKS:
                try:
                    return scalar(x, y)
                except DOMAIN_ERRORS:
                    pass
            return apply(prim, x, y)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


add = _elementwise_function(add_p, "add", "x + y, elementwise with broadcasting.")
subtract = _elementwise_function(sub_p, "subtract", "x - y, elementwise with broadcasting.")
multiply = _elementwise_function(mul_p, "multiply", "x * y, elementwise with broadcasting.")
divide = _elementwise_function(div_p, "divide", "x / y, elementwise with broadcasting.")
negative = _elementwise_function(neg_p, "negative", "-x.")
power = _elementwise_function(pow_p, "power", "x ** y, elementwise with broadcasting.")
exp = _elementwise_function(exp_p, "exp", "e ** x.")
log = _elementwise_function(log_p, "log", "The natural logarithm (nan below 0).")
log1p = _elementwise_function(log1p_p, "log1p", "log(1 + x), accurate near 0.")
expm1 = _elementwise_function(expm1_p, "expm1", "exp(x) - 1, accurate near 0.")
sin = _elementwise_function(sin_p, "sin", "sin x.")
cos = _elementwise_function(cos_p, "cos", "cos x.")
tan = _elementwise_function(tan_p, "tan", "tan x.")
tanh = _elementwise_function(tanh_p, "tanh", "tanh x.")
sqrt = _elementwise_function(sqrt_p, "sqrt", "The square root (nan below 0; infinite slope at 0).")
sign = _elementwise_function(sign_p, "sign", "-1, 0 or 1; its derivative is zero.")
absolute = _elementwise_function(abs_p, "absolute", "|x|; derivative sign(x) (0 at 0).")
maximum = _elementwise_function(
    maximum_p, "maximum", "The larger of x and y; at a tie the derivative follows x.")
minimum = _elementwise_function(
    minimum_p, "minimum", "The smaller of x and y; at a tie the derivative follows x.")


def where(condition, x, y):
    return apply(where_p, primal(condition), x, y)


def square(x):
    return multiply(x, x)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy
    return apply(sum_p, asarray(x), axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    x = asarray(x)
    shape = shape_of(x)
    n = int(math.prod(shape[a] for a in _norm_axes(axis, len(shape))))
    return divide(sum(x, axis=axis, keepdims=keepdims), float(n))


def max(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy
    return apply(amax_p, asarray(x), axis=axis, keepdims=keepdims)


amax = max


def logsumexp(x, axis=None, keepdims=False):
    """log sum exp(x) along ``axis``, computed without overflow (shifted by
    the maximum); its derivative is the softmax exp(x - logsumexp(x))."""
    return apply(logsumexp_p, asarray(x), axis=axis, keepdims=keepdims)


def matmul(a, b):
    return apply(matmul_p, asarray(a), asarray(b))


def dot(a, b):
    """numpy.dot: a product with a scalar, the inner product of vectors, a
    matrix product, or a sum over the last axis of ``a`` with the first (1-D)
    or second-to-last (2-D) axis of ``b``.

    Raises ValueError when ``b`` has three or more dimensions, where numpy.dot
    pairs every stack of ``a`` with every stack of ``b`` (use ``matmul``, which
    broadcasts the stacks instead).
    """
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    if nb > 2:
        raise ValueError(f"dot of arrays of {na} and {nb} dimensions is not supported; "
                         "use matmul for stacks of matrices")
    return matmul(a, b)


def outer(a, b):
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def getitem(x, idx):
    return apply(getitem_p, x, idx=idx)


def untake(g, idx, shape):
    return apply(untake_p, g, idx=idx, shape=tuple(shape))


def imag(x):
    return apply(imag_p, x)


def reshape(x, shape):
    """x with a new shape (one entry may be -1), as numpy.reshape."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if -1 in shape:
        known = int(math.prod(n for n in shape if n != -1))
        size = size_of(x)
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape an array of size {size} into shape {shape}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    if shape == shape_of(x):
        return x
    if type(x) is np.ndarray:  # a plain array: no dispatch
        return x.reshape(shape)
    if type(x) is float or type(x) is np.float64:
        return np.reshape(x, shape)
    return apply(reshape_p, x, shape=shape)


def ravel(x):
    return reshape(x, (-1,))


def transpose(x, axes=None):
    return apply(transpose_p, x, axes=None if axes is None else tuple(axes))


def swapaxes(x, axis1, axis2):
    return apply(swapaxes_p, x, axis1=axis1, axis2=axis2)


def broadcast_to(x, shape):
    shape = tuple(shape)
    if shape == shape_of(x):
        return x
    if type(x) is np.ndarray and not EVALUATION_HOOKS:  # a plain array: no dispatch
        return np.broadcast_to(x, shape)
    return apply(broadcast_to_p, x, shape=shape)


def concatenate(xs, axis=0):
    xs = [asarray(x) for x in xs]
    return apply(concatenate_p, *xs, axis=axis)


def stack(xs, axis=0):
    xs = [asarray(x) for x in xs]
    return apply(stack_p, *xs, axis=axis)


def _contains_box(obj) -> bool:
    if isinstance(obj, BoxBase):
        return True
    if isinstance(obj, (list, tuple)):
        return builtins.any(_contains_box(o) for o in obj)
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        return builtins.any(_contains_box(o) for o in obj.flat)
    return False


def array(obj, dtype=None):
    """numpy.array that also packs lists of boxes into one boxed array."""
    if isinstance(obj, BoxBase):
        return obj
    if isinstance(obj, np.ndarray) and obj.dtype == object and _contains_box(obj):
        obj = obj.tolist()
    if isinstance(obj, (list, tuple)) and _contains_box(obj):
        return stack([array(o) for o in obj])
    return np.array(obj, dtype=dtype)


def asarray(obj):
    if isinstance(obj, (BoxBase, np.ndarray)):
        return obj
    return array(obj)


def zeros_like(x):
    return np.zeros(shape_of(x), dtype=np.result_type(primal(x), float))


def ones_like(x):
    return np.ones(shape_of(x), dtype=np.result_type(primal(x), float))


def traced_trace(args):
    """The innermost trace among ``args`` (for code that must branch on it)."""
    return top_trace(args)


# --------------------------------------------------------------------------
# Boxes: operator overloading routes Python syntax to the table
# --------------------------------------------------------------------------

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
        raise TypeError(f"cannot convert a traced value to float inside {self.trace!r}: "
                        "the derivative would be lost")

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
