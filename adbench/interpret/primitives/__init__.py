"""The one table of primitives.

Each elementary operation is defined here once: its numpy implementation, its
Python-float, mpmath and SymPy implementations, its derivative rule and its
operation count. Forward mode, reverse mode, op counting, complex step, the
mpmath reference and SymPy all read this table; none of them knows a single
derivative formula of its own. Adding a primitive is one entry in the module
of its family:

* :mod:`.rules`: the rule helpers and markers (``elementwise``, ``linear``,
  ``IDENTITY``, ``TimesArg``, ``unbroadcast``...) and the registry
  :data:`PRIMITIVES`;
* :mod:`.elementwise`: arithmetic, exp, log, trigonometric, piecewise;
* :mod:`.reductions`: sum, max, mean;
* :mod:`.special`: logsumexp;
* :mod:`.linalg`: matmul, dot, outer;
* :mod:`.shape`: indexing, reshaping, joining, the constructors;
* :mod:`.indexing`: rearrangements by index built on :mod:`.shape` (take, flip,
  roll, repeat, pad, sort, split; argsort, argmax, argmin);
* :mod:`.box`: the base class of traced values, whose operators apply the table.

Rules are written with the table's functions (``cos``, ``where``, ``sum``...),
never with numpy directly, so that they are themselves differentiable: that is
what makes Hessians and nested derivatives work.

The families are imported in the order above, which is the order of
:data:`PRIMITIVES`. A family imports the ones before it; the functions of a
later one it reaches through this package (``P.reshape``) when a rule runs.
Every name of every family is re-exported here, so that
``from adbench.interpret.primitives import ...`` and ``P.<name>`` keep working.
"""

# ruff: noqa: F401 - this module re-exports the families' names

from __future__ import annotations

from adbench.interpret.core import (
    DOMAIN_ERRORS,
    EVALUATION_HOOKS,
    apply,
    primal,
    top_trace,
    BoxBase,
    Primitive,
)
from adbench.interpret.primitives.rules import (
    EINSUM_SIZE,
    IDENTITY,
    LinMarker,
    NEGATE,
    PRIMITIVES,
    TimesArg,
    _count_nothing,
    _count_output,
    _elementwise_function,
    _elementwise_rules,
    _lin_term,
    _product_spec,
    _register,
    _summed_axes,
    _vec,
    elementwise,
    linear,
    product_unbroadcast,
    shape_of,
    size_of,
    unbroadcast,
)
from adbench.interpret.primitives.elementwise import (
    _mp_sign,
    _pow_base,
    _pow_is_transcendental,
    _sym_where,
    abs_p,
    absolute,
    add,
    add_p,
    cos,
    cos_p,
    div_p,
    divide,
    exp,
    exp_p,
    expm1,
    expm1_p,
    log,
    log1p,
    log1p_p,
    log_p,
    maximum,
    maximum_p,
    minimum,
    minimum_p,
    mul_p,
    multiply,
    neg_p,
    negative,
    pow_p,
    power,
    sign,
    sign_p,
    sin,
    sin_p,
    sqrt,
    sqrt_p,
    square,
    sub_p,
    subtract,
    tan,
    tan_p,
    tanh,
    tanh_p,
    where,
    where_p,
)
from adbench.interpret.primitives.reductions import (
    FULL_SIZE,
    _amax_mask,
    _count_reduction,
    _keepdims_shape,
    _max_impl,
    _norm_axes,
    _sum_impl,
    _sum_transpose,
    _weighted_reduction_rules,
    _weighted_vjp,
    amax,
    amax_p,
    max,
    mean,
    sum,
    sum_p,
)
from adbench.interpret.primitives.special import (
    _logsumexp_and_softmax,
    _logsumexp_impl,
    _logsumexp_parts,
    _logsumexp_softmax_vjp,
    _object_logsumexp,
    _softmax_factor,
    logsumexp,
    logsumexp_p,
)
from adbench.interpret.primitives.linalg import (
    GEMM_SIZE,
    _count_matmul,
    _matmul_jvp,
    _matmul_vjp,
    dot,
    matmul,
    matmul_p,
    outer,
)
from adbench.interpret.primitives.shape import (
    _broadcast_transpose,
    _call_impl,
    _concat_transpose,
    _contains_box,
    _getitem_impl,
    _getitem_transpose,
    _imag_transpose,
    _reshape_impl,
    _reshape_transpose,
    _stack_transpose,
    _swapaxes_transpose,
    _transpose_transpose,
    _untake_impl,
    _untake_transpose,
    array,
    asarray,
    broadcast_to,
    broadcast_to_p,
    checkpoint_p,
    concatenate,
    concatenate_p,
    getitem,
    getitem_p,
    imag,
    imag_p,
    is_basic_index,
    ones_like,
    ravel,
    reshape,
    reshape_p,
    scatter_add,
    stack,
    stack_p,
    swapaxes,
    swapaxes_p,
    traced_trace,
    transpose,
    transpose_p,
    untake,
    untake_p,
    zeros_like,
)
# the shape family's compositions (numpy surface)
from adbench.interpret.primitives.shape import (
    atleast_1d,
    atleast_2d,
    expand_dims,
    hstack,
    moveaxis,
    squeeze,
    tile,
    vstack,
)
from adbench.interpret.primitives.indexing import (
    SELECTING_PAD_MODES,
    argmax,
    argmin,
    argsort,
    flip,
    pad,
    repeat,
    roll,
    sort,
    split,
    take,
)
from adbench.interpret.primitives.box import (
    ARITHMETIC_OPERATORS,
    Box,
    _compare,
    _generic_operator,
    install_operators,
)
