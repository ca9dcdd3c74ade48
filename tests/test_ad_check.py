"""check_grads over every primitive of the table, and proof that it catches
wrong rules.

CASES holds, for each primitive name, functions that exercise it at points
inside its domain (away from kinks, where central differences are valid). The
test is driven by the table: a primitive added to adbench.interpret.primitives without a
case here fails ``test_check_grads_on_every_primitive``.
"""

import numpy as np
import pytest

from adbench.ad import Dual, ForwardTrace, checkpoint, reverse
from adbench.ad.check import GradCheckError, check_grads
from adbench.interpret import primitives as P
from adbench.interpret.xp import numpy_xp

RNG = np.random.default_rng(7)


def split(x, *shapes):
    """Cut a flat vector into arrays of the given shapes."""
    parts, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=int))
        parts.append(P.reshape(x[start:start + size], shape))
        start += size
    assert start == len(P.primal(x)), "split: shapes do not cover x"
    return parts


def uniform(lo, hi, n):
    return RNG.uniform(lo, hi, n)


def binary(fn, shapes=((2, 3), (3,)), lo=0.5, hi=2.0):
    """fn(a, b) with broadcasting between the two shapes."""
    n = sum(int(np.prod(s)) for s in shapes)
    return (lambda x, xp: fn(*split(x, *shapes)), uniform(lo, hi, n))


#: A segment f(x) = sum(sin(x) x) * x recorded as one checkpoint entry.
CHECKPOINTED = checkpoint(lambda x, xp: xp.sum(xp.sin(x) * x) * x)


def unary(fn, lo=-1.0, hi=1.0, shape=(5,)):
    return (lambda x, xp: fn(P.reshape(x, shape)), uniform(lo, hi, int(np.prod(shape))))


def scalar(fn, lo=-1.0, hi=1.0):
    """fn on Python floats: the scalar fast paths."""
    return (lambda x, xp: fn(*list(x)), uniform(lo, hi, 2))


CASES = {
    "add": [binary(P.add), scalar(lambda a, b: a + b), scalar(lambda a, b: 2 + a)],
    "sub": [binary(P.subtract, ((3,), (2, 3))), scalar(lambda a, b: a - b),
            scalar(lambda a, b: 1.5 - a)],
    "mul": [binary(P.multiply), unary(lambda a: P.multiply(a, a) * a),
            scalar(lambda a, b: a * b * a), scalar(lambda a, b: 3 * b)],
    "div": [binary(P.divide), scalar(lambda a, b: a / (b + 2.0)),
            scalar(lambda a, b: 1.0 / (a + 2.0))],
    "neg": [unary(P.negative), scalar(lambda a, b: -a * b)],
    "pow": [binary(P.power), scalar(lambda a, b: (a + 2.0) ** 3 + (b + 2.0) ** (a + 2.0)),
            scalar(lambda a, b: 2.0 ** a)],
    "exp": [unary(P.exp), scalar(lambda a, b: P.exp(a * b))],
    "log": [unary(P.log, 0.2, 3.0), scalar(lambda a, b: P.log(a + 2.0))],
    "log1p": [unary(P.log1p, -0.5, 2.0), scalar(lambda a, b: P.log1p(a * b))],
    "expm1": [unary(P.expm1), scalar(lambda a, b: P.expm1(a))],
    "sin": [unary(P.sin, -3.0, 3.0), scalar(lambda a, b: P.sin(a) * b)],
    "cos": [unary(P.cos, -3.0, 3.0), scalar(lambda a, b: P.cos(a) * b)],
    "tan": [unary(P.tan, -1.2, 1.2), scalar(lambda a, b: P.tan(a))],
    "tanh": [unary(P.tanh, -2.0, 2.0), scalar(lambda a, b: P.tanh(a * b))],
    "sqrt": [unary(P.sqrt, 0.3, 4.0), scalar(lambda a, b: P.sqrt(a * a + b * b))],
    "sign": [(lambda x, xp: P.sign(x) * x * x, np.array([-1.5, -0.3, 0.4, 2.0]))],
    "abs": [(lambda x, xp: P.absolute(x) * x, np.array([-1.5, -0.3, 0.4, 2.0])),
            (lambda x, xp: abs(x[0]) * abs(x[1]), np.array([-0.7, 0.4]))],
    "maximum": [(lambda x, xp: P.maximum(x[:3], x[3:]), np.array([0.1, 2.0, -1.0, 0.5, 1.0, 0.0])),
                (lambda x, xp: P.maximum(x * x, 0.5), np.array([0.2, -1.3, 0.9]))],
    "minimum": [(lambda x, xp: P.minimum(x[:3], x[3:]), np.array([0.1, 2.0, -1.0, 0.5, 1.0, 0.0])),
                (lambda x, xp: P.minimum(P.exp(x), 1.5), np.array([0.2, -1.3, 0.9]))],
    "where": [(lambda x, xp: P.where(x > 0, P.sin(x) * x, x * x * x),
               np.array([-1.0, -0.2, 0.3, 1.7]))],
    "arcsin": [unary(P.arcsin, -0.9, 0.9), scalar(lambda a, b: P.arcsin(a * 0.9) * b)],
    "arccos": [unary(P.arccos, -0.9, 0.9), scalar(lambda a, b: P.arccos(a * 0.9) * b)],
    "arctan": [unary(P.arctan, -3.0, 3.0), scalar(lambda a, b: P.arctan(a * b))],
    "arctan2": [binary(P.arctan2, lo=-2.0, hi=2.0),
                scalar(lambda a, b: P.arctan2(a, b + 2.0)),
                (lambda x, xp: P.arctan2(x, -1.0), np.array([0.3, -0.4]))],
    "sinh": [unary(P.sinh, -2.0, 2.0), scalar(lambda a, b: P.sinh(a) * b)],
    "cosh": [unary(P.cosh, -2.0, 2.0), scalar(lambda a, b: P.cosh(a * b))],
    "arcsinh": [unary(P.arcsinh, -3.0, 3.0), scalar(lambda a, b: P.arcsinh(a * b))],
    "arccosh": [unary(P.arccosh, 1.2, 4.0), scalar(lambda a, b: P.arccosh(a * a + 1.5))],
    "arctanh": [unary(P.arctanh, -0.9, 0.9), scalar(lambda a, b: P.arctanh(a * 0.9))],
    "log2": [unary(P.log2, 0.2, 3.0), scalar(lambda a, b: P.log2(a + 2.0))],
    "log10": [unary(P.log10, 0.2, 3.0), scalar(lambda a, b: P.log10(a * a + 0.5))],
    "exp2": [unary(P.exp2), scalar(lambda a, b: P.exp2(a * b))],
    "reciprocal": [unary(P.reciprocal, 0.5, 2.0), scalar(lambda a, b: P.reciprocal(a + 2.0))],
    "hypot": [binary(P.hypot, lo=-2.0, hi=2.0), scalar(lambda a, b: P.hypot(a, b) * a)],
    "logaddexp": [binary(P.logaddexp, lo=-3.0, hi=3.0),
                  scalar(lambda a, b: P.logaddexp(a, b * 2.0)),
                  (lambda x, xp: P.logaddexp(x * 300.0, 1.0), np.array([0.5, 1.5]))],
    "erf": [unary(P.erf, -2.0, 2.0), scalar(lambda a, b: P.erf(a * b))],
    "gammaln": [unary(P.gammaln, 0.3, 5.0), unary(P.gammaln, -0.9, -0.1),
                scalar(lambda a, b: P.gammaln(a + 2.0) * b)],
    "polygamma": [unary(lambda a: P.polygamma(0.0, a), 0.5, 4.0),
                  unary(lambda a: P.polygamma(np.array([1.0, 2.0, 0.0]), a), 0.5, 4.0,
                        shape=(3,))],
    "fmax": [(lambda x, xp: P.fmax(x[:3], x[3:]), np.array([0.1, 2.0, -1.0, 0.5, 1.0, 0.0])),
             (lambda x, xp: P.fmax(x * x, np.array([0.5, np.nan, 0.1])),
              np.array([0.2, -1.3, 0.9]))],
    "fmin": [(lambda x, xp: P.fmin(x[:3], x[3:]), np.array([0.1, 2.0, -1.0, 0.5, 1.0, 0.0])),
             (lambda x, xp: P.fmin(P.exp(x), np.array([1.5, np.nan, 0.1])),
              np.array([0.2, -1.3, 0.9]))],
    "floor": [(lambda x, xp: P.floor(x * 3.0) * x, np.array([-1.1, 0.2, 0.7, 1.9]))],
    "ceil": [(lambda x, xp: P.ceil(x * 3.0) * P.sin(x), np.array([-1.1, 0.2, 0.7, 1.9]))],
    "round": [(lambda x, xp: P.round(x * 3.0) * x, np.array([-1.1, 0.2, 0.7, 1.9])),
              (lambda x, xp: P.around(x, 1) * x + x, np.array([0.12, -0.33]))],
    "mod": [binary(P.mod, lo=0.3, hi=2.7),
            (lambda x, xp: P.remainder(x * x, -0.7), np.array([0.3, -1.2, 1.4]))],
    "sum": [unary(lambda a: P.sum(a * a)), unary(lambda a: P.sum(P.exp(a), axis=1, keepdims=True),
                                                 shape=(2, 3)),
            unary(lambda a: P.sum(a * a, axis=(0, 2)), shape=(2, 2, 2))],
    "max": [(lambda x, xp: P.max(P.reshape(x, (2, 3)) ** 2, axis=0),
             np.array([0.1, 2.0, -1.0, 0.5, 1.0, 0.3])),
            (lambda x, xp: P.max(P.sin(x)), np.array([0.1, 1.0, -1.0]))],
    "logsumexp": [unary(lambda a: P.logsumexp(a * a), shape=(4,)),
                  unary(lambda a: P.logsumexp(P.sin(a), axis=0), shape=(3, 2)),
                  unary(lambda a: P.logsumexp(a, axis=(0, 2), keepdims=True) * a, shape=(2, 2, 3)),
                  (lambda x, xp: P.logsumexp(x * 300.0), np.array([1.0, 3.0, 2.5]))],
    "matmul": [binary(P.matmul, ((2, 3), (3, 2))), binary(P.matmul, ((3,), (2, 3, 2))),
               binary(P.matmul, ((2, 3, 2), (2,)))],
    "getitem": [unary(lambda a: a[1:4] * a[-1] + a[[0, 0, 2]]),
                unary(lambda a: a[:, ::-1][1] * a[0, [2, 2, 0]], shape=(2, 3)),
                scalar(lambda a, b: a * b)],
    "untake": [unary(lambda a: P.untake(a * a, idx=[0, 2, 2], shape=(4,)), shape=(3,))],
    "reshape": [unary(lambda a: P.reshape(P.sin(a), (3, 2)) * np.arange(6.0).reshape(3, 2),
                      shape=(6,))],
    "transpose": [unary(lambda a: P.transpose(a * a) * np.arange(6.0).reshape(3, 2),
                        shape=(2, 3)),
                  unary(lambda a: P.transpose(P.exp(a), (1, 2, 0)), shape=(2, 1, 3))],
    "swapaxes": [unary(lambda a: P.swapaxes(a * a, 0, 2) * np.arange(6.0).reshape(3, 1, 2),
                       shape=(2, 1, 3))],
    "broadcast_to": [unary(lambda a: P.broadcast_to(P.sin(a), (2, 3))
                           * np.arange(6.0).reshape(2, 3), shape=(3,))],
    "concatenate": [unary(lambda a: P.concatenate([a * a, P.sin(a), a[:1]]))],
    "stack": [unary(lambda a: P.stack([a * a, P.exp(a)], axis=1) * np.array([1.0, 2.0]))],
    "imag": [unary(lambda a: P.imag(P.exp(a * (0.5 + 2j))))],
    # reductions and linear algebra (reductions.py, linalg.py, linalg2.py)
    "min": [(lambda x, xp: P.min(P.reshape(x, (2, 3)) ** 2, axis=1, keepdims=True),
             np.array([0.1, 2.0, -1.0, 0.5, 1.0, 0.3])),
            (lambda x, xp: P.min(P.sin(x)), np.array([0.1, 1.0, -1.0]))],
    "prod": [unary(lambda a: P.prod(a * a + a)), unary(lambda a: P.prod(a, axis=0), shape=(3, 2)),
             unary(lambda a: P.prod(P.sin(a), axis=(0, 2), keepdims=True), shape=(2, 2, 2)),
             (lambda x, xp: P.prod(x * x - x), np.array([1.0, 0.3, -0.7, 2.0]))],
    "cumsum": [unary(lambda a: P.cumsum(a * a) * np.arange(5.0)),
               unary(lambda a: P.cumsum(P.sin(a), axis=0) * np.arange(6.0).reshape(3, 2),
                     shape=(3, 2))],
    "cumprod": [unary(lambda a: P.cumprod(a * a + 0.5) * np.arange(5.0)),
                unary(lambda a: P.cumprod(P.sin(a), axis=-1), shape=(2, 3))],
    "norm2": [unary(lambda a: P.norm(a * a)),
              unary(lambda a: P.norm(P.sin(a), axis=1, keepdims=True) * a, shape=(2, 3)),
              unary(lambda a: P.norm(a), shape=(2, 2))],
    "einsum": [binary(lambda a, b: P.einsum("ij,jk->ki", a, b), ((2, 3), (3, 2)), -1.0, 1.0),
               unary(lambda a: P.einsum("ii,ij->j", a[:, :2] * a[:, :2], a), shape=(2, 3)),
               unary(lambda a: P.einsum("ij,j,i", a, a[0], a[:, 1]), shape=(2, 2))],
    "tril": [unary(lambda a: P.tril(a * a, -1) + P.sin(a), shape=(3, 3))],
    "triu": [unary(lambda a: P.triu(P.exp(a), 1) * a, shape=(2, 3))],
    "solve": [unary(lambda a: P.solve(a[:3] + 3.0 * np.eye(3), P.sin(a[3])), shape=(4, 3)),
              unary(lambda a: P.solve(a[:2, :2] + 2.0 * np.eye(2), a), shape=(2, 2))],
    "inv": [unary(lambda a: P.inv(a * a + np.eye(3)), shape=(3, 3))],
    "det": [unary(lambda a: P.det(P.sin(a) + 2.0 * np.eye(3)), shape=(3, 3))],
    "logabsdet": [unary(lambda a: P.slogdet(a + 2.0 * np.eye(3))[1], shape=(3, 3))],
    "cholesky": [unary(lambda a: P.cholesky(P.matmul(a, P.transpose(a)) + np.eye(3)),
                       shape=(3, 3)),
                 unary(lambda a: P.cholesky(a + 3.0 * np.eye(2)), shape=(2, 2))],
    # a checkpointed segment inside a larger function, and a whole checkpointed function
    "checkpoint": [unary(lambda a: P.sin(CHECKPOINTED(P.exp(a) * a, None)) * a),
                   (lambda x, xp: CHECKPOINTED(x, xp), uniform(-1.0, 1.0, 4))],
}


# The shape family's compositions (squeeze ... sort, adbench.interpret.primitives.indexing),
# checked under the primitives they are made of.
CASES["getitem"] += [
    unary(lambda a: P.sort(P.sin(a)) * P.roll(a, 2) + P.flip(a) * P.take(a, [4, 0, 0, 1, 2])),
    unary(lambda a: P.repeat(a * a, 2, axis=1) * P.split(a, 3, axis=1)[1], shape=(2, 3))]
CASES["untake"] += [unary(lambda a: P.pad(a * a, (2, 1), constant_values=0.5), shape=(3,))]
CASES["broadcast_to"] += [unary(lambda a: P.tile(P.exp(a), (2, 2)), shape=(3,))]
CASES["concatenate"] += [unary(lambda a: P.vstack([a * a, P.sin(a)]) * P.hstack([a[:2], a[2:]]),
                               shape=(4,))]
CASES["transpose"] += [unary(lambda a: P.moveaxis(P.exp(a), 0, -1), shape=(2, 1, 3))]

# The compositions of adbench.interpret.compositions (numpy_xp's), checked under the
# primitives they are made of; X is numpy_xp.
X = numpy_xp
CASES["mul"] += [unary(lambda a: X.degrees(a) * X.radians(a) + X.rad2deg(X.deg2rad(a))),
                 binary(lambda a, b: X.cross(a, b), ((2, 3), (3,)), -1.0, 1.0),
                 binary(lambda a, b: X.cross(a, b, axisa=0), ((2, 3), (2,)), -1.0, 1.0),
                 unary(lambda a: X.cross(a[:, :2], a[:, 1:], axis=1), shape=(2, 3))]
CASES["logaddexp"] += [binary(X.logaddexp2, lo=-3.0, hi=3.0)]
# sinc at 0 exactly (its Maclaurin polynomial there) and around it
CASES["sin"] += [(lambda x, xp: X.sinc(x) * x[1], np.array([0.0, 0.7, -1.3, 1e-3, 0.05]))]
CASES["where"] += [
    (lambda x, xp: X.nan_to_num(P.sin(x) + np.array([0.0, np.inf, -np.inf, np.nan]),
                                posinf=2.0, neginf=-3.0) * x,
     np.array([0.5, 1.2, -0.7, 0.3])),
    (lambda x, xp: X.select([x > 1.0, x < 0.0], [x * x, P.sin(x)], 0.5) * x,
     np.array([-1.0, 0.4, 1.7, 2.2]))]
CASES["add"] += [
    (lambda x, xp: X.linspace(x[0], x[1] * x[1], 3) * X.linspace(x[:2], x[2:], 3, axis=1)[0],
     np.array([0.3, 1.2, -0.4, 0.8]))]
CASES["getitem"] += [
    unary(lambda a: X.fliplr(a * a) + X.flipud(P.sin(a)) * X.partition(a, 1, axis=0),
          shape=(2, 3)),
    unary(lambda a: X.array_split(P.exp(a), 3)[0] * X.hsplit(a, [2])[1][:2]
          + X.vsplit(P.reshape(a, (5, 1)), [3])[1][0] * X.dsplit(P.reshape(a, (1, 1, 5)), 5)[4],
          shape=(5,))]
CASES["sub"] += [unary(lambda a: X.diff(a * a, 2) * X.diff(a, prepend=0.5, append=a[:1])[:3]),
                 unary(lambda a: X.diff(P.sin(a), axis=0), shape=(3, 2))]
CASES["transpose"] += [unary(lambda a: X.rot90(P.exp(a)) * X.rot90(a, -1, axes=(1, 0)),
                             shape=(2, 3)),
                       unary(lambda a: X.rollaxis(a * a, 2) + X.rollaxis(a, 0, 3)[0, 0],
                             shape=(1, 2, 3))]
CASES["reshape"] += [unary(lambda a: X.atleast_3d(a * a) + X.atleast_2d(P.sin(a))
                           * X.atleast_1d(a[0]))]
CASES["concatenate"] += [
    unary(lambda a: X.column_stack([a, a * a]) * X.row_stack([a, P.sin(a)])[1],
          shape=(2,)),
    unary(lambda a: X.append(a * a, P.exp(a[:2])) * X.r_[a[:2], 0.5, a[1:3], 1.5],
          shape=(4,)),
    unary(lambda a: X.c_[a, a * a, P.sin(a)] * X.c_[a[:, None], 0.5 * a[:, None]][:, :1],
          shape=(3,))]
# numpy.gradient: uniform, coordinate and 2-D spacings, both edge orders
CASES["concatenate"] += [
    unary(lambda a: X.gradient(a * a) * X.gradient(P.sin(a), 0.3, edge_order=2), shape=(5,)),
    unary(lambda a: X.gradient(P.exp(a), [0.0, 0.1, 0.3, 0.35, 0.8], edge_order=2) * a,
          shape=(5,)),
    unary(lambda a: X.gradient(a * a, 0.5, [0.0, 1.0, 3.0])[1] + X.gradient(a, axis=0),
          shape=(3, 3))]
CASES["div"] += [binary(X.true_divide, lo=0.5, hi=2.0)]
CASES["abs"] += [(lambda x, xp: X.fabs(x) * x, np.array([-1.5, -0.3, 0.4, 2.0]))]


#: Primitives checked in forward mode only, with the reason.
FORWARD_ONLY = {
    # The complex-step method evaluates Im f(x + ih) forward only; a reverse pass from a
    # real output back to real inputs through complex intermediates would also need the
    # real part of the cotangent taken at each real input, which the engine does not do.
    "imag": "used by the complex step, which only evaluates forward",
}


def primitives_used(f, x) -> set:
    """Names of the primitives applied to traced values while f runs."""
    used = set()
    trace = ForwardTrace(observer=lambda prim, args, params, result: used.add(prim.name))
    f(Dual(np.asarray(x, dtype=float), np.ones_like(x), trace), numpy_xp)
    return used


@pytest.mark.parametrize("name", sorted(P.PRIMITIVES))
def test_check_grads_on_every_primitive(name):
    assert name in CASES, (f"primitive {name!r} has no check case: add one to CASES in "
                           f"{__file__}")
    modes = ("fwd",) if name in FORWARD_ONLY else ("fwd", "rev")
    for f, x in CASES[name]:
        check_grads(f, x, order=2, modes=modes, name=name)


@pytest.mark.parametrize("name", sorted(P.PRIMITIVES))
def test_check_grads_on_a_tape_that_keeps_only_what_the_rules_read(name, monkeypatch):
    """Primitive.uses says which values a VJP reads; the tape replaces the others
    (large arrays only, normally) by stand-ins of zeros: a wrong declaration
    gives a wrong derivative here."""
    monkeypatch.setattr(reverse, "STAND_IN_SIZE", 0)
    for f, x in CASES.get(name, []):
        check_grads(f, x, order=1, modes=("rev",), name=name)


def test_a_wrong_uses_declaration_is_caught(monkeypatch):
    monkeypatch.setattr(reverse, "STAND_IN_SIZE", 0)
    f, x = unary(P.exp)
    monkeypatch.setattr(P.exp_p, "uses", (0,))  # exp's rule reads out, not x
    with pytest.raises(GradCheckError):
        check_grads(f, x, order=1, modes=("rev",))


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_exercises_its_primitive(name):
    assert name in P.PRIMITIVES, f"CASES has {name!r}, which is not a primitive"
    for f, x in CASES[name]:
        assert name in primitives_used(f, x)


# --------------------------------------------------------------------------
# the checker catches wrong rules
# --------------------------------------------------------------------------

def test_check_grads_catches_a_wrong_elementwise_rule(monkeypatch):
    f, x = unary(P.sin, -3.0, 3.0)
    check_grads(f, x)
    # d sin x = +sin x: wrong in both modes; central differences disagree
    monkeypatch.setattr(P.sin_p, "lin", (lambda g, x, out: P.multiply(g, P.sin(x)),))
    with pytest.raises(GradCheckError, match="central difference"):
        check_grads(f, x)
    with pytest.raises(GradCheckError, match="central difference"):
        check_grads(f, x, modes=("rev",))


def test_check_grads_catches_a_wrong_reverse_rule_by_the_dot_product_test(monkeypatch):
    f, x = binary(P.matmul, ((2, 3), (3, 2)))
    right = P.matmul_p.vjp

    def wrong(k, g, args, out, **params):  # the cotangent of A from the wrong side
        return right(k, g, args, out) * 1.01 if k == 0 else right(k, g, args, out)
    monkeypatch.setattr(P.matmul_p, "vjp", wrong)
    with pytest.raises(GradCheckError, match="dot-product test"):
        check_grads(f, x, order=1)


def test_check_grads_catches_a_rule_that_is_right_only_to_first_order(monkeypatch):
    f, x = unary(P.sin, -3.0, 3.0)
    # np.cos of the primal: the right number, but invisible to the next derivative
    monkeypatch.setattr(P.sin_p, "lin",
                        (lambda g, x, out: P.multiply(g, np.cos(P.primal(x))),))
    check_grads(f, x, order=1)
    with pytest.raises(GradCheckError, match="derivative order 2"):
        check_grads(f, x, order=2)


def test_check_grads_rejects_bad_arguments():
    with pytest.raises(ValueError, match="modes"):
        check_grads(lambda x, xp: x, [1.0], modes=("sideways",))
    with pytest.raises(ValueError, match="order"):
        check_grads(lambda x, xp: x, [1.0], order=0)
