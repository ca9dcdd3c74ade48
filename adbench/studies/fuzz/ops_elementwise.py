"""The fuzzer's generators of the inverse circular and hyperbolic functions, the other
logarithms and exponentials, the rounding functions and the special functions; part of
:data:`adbench.studies.fuzz.ops.OPS`.

Each keeps its argument, where it is drawn raw, :data:`MARGIN` inside the domain and
away from the kinks and jumps (floor and ceil near an integer, round near a half,
mod near a multiple of the divisor), or else guards it into the domain, as the
generators of log and sqrt do.
"""

from __future__ import annotations

import numpy as np

from adbench.studies.fuzz.ops import Candidate, _extremum, _max_abs, _min, _min_abs, _unary
from adbench.studies.fuzz.program import MARGIN


def _pair(expr: str, ok, guard: str | None = None):
    """A binary function of two values, where ``ok`` allows them, else ``guard`` (one
    value, with a constant ``{c}``)."""
    def gen(pool):
        k = pool.pick()
        j = pool.partner(k)
        if j is not None and pool.ch.boolean(0.7):
            return Candidate(expr, (k, j), ok)
        if guard is None:
            return None
        return Candidate(guard.replace("{c}", repr(pool.const(0.2, 2.0))), (k,))
    return gen


def _arctan2_ok(a, b) -> bool:
    # away from the origin and from the branch cut (a = 0, b < 0), where the angle jumps
    a, b = np.broadcast_arrays(a, b)
    return (float(np.min(np.hypot(a, b))) >= MARGIN
            and not np.any((np.abs(a) < MARGIN) & (b < 0)))


def _off_integers(v, shift=0.0) -> bool:
    w = np.asarray(v) - shift
    return _min_abs(w - np.round(w)) >= MARGIN


def _gen_mod(pool):
    k = pool.pick()
    c = pool.nonzero(0.5, 2.0)
    return Candidate(pool.ch.choice((f"xp.mod({{0}}, {c!r})", f"xp.remainder({{0}}, {c!r})")),
                     (k,), lambda a: _off_integers(np.asarray(a) / c))


def _bounded(limit: float):
    return lambda v: _max_abs(v) <= limit


ELEMENTWISE_OPS = {
    "arcsin": _unary("xp.arcsin({0})", _bounded(1 - MARGIN), ("xp.arcsin(0.9 * xp.tanh({0}))",)),
    "arccos": _unary("xp.arccos({0})", _bounded(1 - MARGIN), ("xp.arccos(0.9 * xp.tanh({0}))",)),
    "arctanh": _unary("xp.arctanh({0})", _bounded(1 - MARGIN),
                      ("xp.arctanh(0.9 * xp.tanh({0}))",)),
    "arctan": _unary("xp.arctan({0})", None, ()),
    "arcsinh": _unary("xp.arcsinh({0})", None, ()),
    "erf": _unary("xp.erf({0})", None, ()),
    "sinh": _unary("xp.sinh({0})", _bounded(3), ("xp.sinh(xp.tanh({0}))",)),
    "cosh": _unary("xp.cosh({0})", _bounded(3), ("xp.cosh(xp.tanh({0}))",)),
    "exp2": _unary("xp.exp2({0})", _bounded(3), ("xp.exp2(xp.tanh({0}))",)),
    "arccosh": _unary("xp.arccosh({0})", lambda v: _min(v) >= 1 + MARGIN,
                      ("xp.arccosh({0} * {0} + 1 + {c})",)),
    "log2": _unary("xp.log2({0})", lambda v: _min(v) >= MARGIN, ("xp.log2({0} * {0} + {c})",)),
    "log10": _unary("xp.log10({0})", lambda v: _min(v) >= MARGIN,
                    ("xp.log10({0} * {0} + {c})",)),
    "reciprocal": _unary("xp.reciprocal({0})", lambda v: _min_abs(v) >= 0.1,
                         ("xp.reciprocal({0} * {0} + {c})",)),
    "gammaln": _unary("xp.gammaln({0})", lambda v: _min(v) >= MARGIN,
                      ("xp.gammaln({0} * {0} + {c})",)),
    "polygamma": _unary("xp.polygamma(1, {0})", lambda v: _min(v) >= MARGIN,
                        ("xp.polygamma(1, {0} * {0} + {c})",)),
    "arctan2": _pair("xp.arctan2({0}, {1})", _arctan2_ok, "xp.arctan2({0}, {0} * {0} + {c})"),
    "hypot": _pair("xp.hypot({0}, {1})",
                   lambda a, b: float(np.min(np.hypot(*np.broadcast_arrays(a, b)))) >= MARGIN,
                   "xp.hypot({0}, {c})"),
    "logaddexp": _pair("xp.logaddexp({0}, {1})", lambda a, b: _max_abs(a) <= 20, None),
    "fmax": _extremum("fmax"),
    "fmin": _extremum("fmin"),
    "floor": _unary("xp.floor({0})", _off_integers, ()),
    "ceil": _unary("xp.ceil({0})", _off_integers, ()),
    "mod": _gen_mod,
}
