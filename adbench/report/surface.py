"""The catalogue of the numpy surface: where each ``xp`` function works.

For every name of :data:`adbench.interpret.xp.XP_FUNCTIONS` the catalogue
finds, by trying, a small call: the first argument kind of :data:`KINDS`
for which the float64 function returns finite numbers. The probe
``p(x) = sum_i w_i out_i(x)`` (fixed weights, x a fixed point of 12
entries in [0.6, 1.7]) is then run on every interpretation, and each mark
says whether it worked:

* float64: the call itself;
* mpmath: ``mpmath_xp`` on 80-digit numbers agrees with float64 to 1e-9;
* SymPy: ``sympy_xp`` on symbols, substituted, agrees to 1e-9;
* forward, reverse, compiled: ``jacfwd``, ``grad``, ``compile_grad`` of p
  agree with central differences of the float64 p (1e-5, relative);
* ops: ``count_ops`` of p runs.

A call that does not take the traced array (the constructors) has no
derivative to check: its AD columns say ``-``. Nothing here is a hand-written
list of marks; a function added to xp appears with what trying finds.

Regenerate ``docs/numpy-surface.md`` (tests/test_numpy_surface_catalogue.py
fails when it is stale)::

    python -m adbench.report.surface          # writes docs/numpy-surface.md
    python -m adbench.report.surface --check  # exit 1 if the file is stale
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import Callable

import mpmath
import numpy as np

from adbench.interpret import primitives as P
import sympy

from adbench.ad import compile_grad, grad, jacfwd
from adbench.interpret.counting import count_ops
from adbench.interpret.xp import XP_FUNCTIONS, mpmath_xp, numpy_xp, sympy_xp

__all__ = ["KINDS", "X0", "probe_row", "render", "main", "DOC_PATH"]

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "numpy-surface.md"
#: The point every probe is evaluated at: 12 distinct entries in [0.63, 1.73], none an
#: integer or a half (where floor, ceil and round jump).
X0 = 0.63 + ((np.arange(12) * 7) % 12) / 10.0
COLUMNS = ("float64", "mpmath", "SymPy", "forward", "reverse", "compiled", "ops")


def _square(x, xp):
    return xp.reshape(x[:9], (3, 3)) + 3.0 * xp.eye(3)


#: (description, builder(x, xp) -> arguments, takes x), tried in this order.
KINDS: list[tuple[str, Callable, bool]] = [
    ("vector (6,)", lambda x, xp: (x[:6],), True),
    ("vector (6,) in (-1, 1)", lambda x, xp: (x[:6] - 1.15,), True),
    ("vector (6,) above 1", lambda x, xp: (x[:6] + 0.5,), True),
    ("vector (6,), integer 2", lambda x, xp: (x[:6], 2), True),
    ("vector, axis 0", lambda x, xp: (x[:6], 0), True),
    ("vector, scalars 0.8, 1.4", lambda x, xp: (x[:6], 0.8, 1.4), True),
    ("two vectors (6,)", lambda x, xp: (x[:6], x[6:]), True),
    ("order 1, vector (6,)", lambda x, xp: (1, x[:6]), True),
    ("matrix (2, 3)", lambda x, xp: (xp.reshape(x[:6], (2, 3)),), True),
    ("square matrix (3, 3)", lambda x, xp: (_square(x, xp),), True),
    ("square matrix, vector", lambda x, xp: (_square(x, xp), x[9:]), True),
    ("list of two vectors", lambda x, xp: ([x[:6], x[6:]],), True),
    ("vector, shape (3, 2)", lambda x, xp: (x[:6], (3, 2)), True),
    ("vector, shape (2, 6)", lambda x, xp: (x[:6], (2, 6)), True),
    ("two matrices (2, 3)", lambda x, xp: (xp.reshape(x[:6], (2, 3)),
                                           xp.reshape(x[6:], (2, 3))), True),
    ("condition x > 1.05, two vectors", lambda x, xp: (x[:6] > 1.05, x[:6], x[6:]), True),
    ("matrix, axes 0, 1", lambda x, xp: (xp.reshape(x[:6], (2, 3)), 0, 1), True),
    ("'ij,jk->ik', (2, 3), (3, 2)",
     lambda x, xp: ("ij,jk->ik", xp.reshape(x[:6], (2, 3)), xp.reshape(x[6:], (3, 2))), True),
    ("matrix (2, 3), integer 2", lambda x, xp: (xp.reshape(x[:6], (2, 3)), 2), True),
    ("array (1, 2, 3), integer 3", lambda x, xp: (xp.reshape(x[:6], (1, 2, 3)), 3), True),
    ("conditions x > 1.05, x < 0.9; two vectors",
     lambda x, xp: ([x[:6] > 1.05, x[:6] < 0.9], [x[:6], x[6:]]), True),
    ("size 3", lambda x, xp: (3,), False),
    ("size 3, value 1.5", lambda x, xp: (3, 1.5), False),
]


def _resolve(ns, name: str):
    for part in name.split("."):
        ns = getattr(ns, part)
    return ns


def _weighted_sum(out, xp):
    parts = out if isinstance(out, (tuple, list)) else (out,)
    total = 0.0
    for i, o in enumerate(parts):
        shape = P.shape_of(o)  # of a box too: numpy must not see a differentiated value
        w = np.arange(1.0, 1.0 + int(np.prod(shape))) / (3.0 + i)
        total = total + xp.sum(xp.reshape(o, (-1,)) * w) if shape else total + o * w[0]
    return total


def _call(fn, args: tuple):
    """fn(*args); an index object (xp.r_, xp.c_) is indexed: fn[args]."""
    return fn(*args) if callable(fn) else fn[args]


def _probe(name: str, build: Callable) -> Callable:
    def p(x, xp):
        return _weighted_sum(_call(_resolve(xp, name), build(x, xp)), xp)
    return p


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = re.sub(r" at 0x[0-9a-f]+", "", text)
    text = f"{type(exc).__name__}: {text}".replace("|", "/")
    return text if len(text) <= 70 else text[:67] + "..."


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * (1.0 + abs(b))


def _central(p, x) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(len(x)):
        h = 1e-6 * (1.0 + abs(x[i]))
        xp_, xm_ = x.copy(), x.copy()
        xp_[i] += h
        xm_[i] -= h
        g[i] = (float(p(xp_, numpy_xp)) - float(p(xm_, numpy_xp))) / (2 * h)
    return g


#: Where the first kind that runs is not the one that exercises the function.
PREFERRED = {"where": "condition x > 1.05, two vectors",
             "select": "conditions x > 1.05, x < 0.9; two vectors"}


def _find_kind(name: str):
    kinds = sorted(KINDS, key=lambda k: k[0] != PREFERRED.get(name))
    for desc, build, takes_x in kinds:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out = _call(_resolve(numpy_xp, name), build(X0.copy(), numpy_xp))
                value = np.asarray(out, dtype=float)
        except Exception:  # noqa: BLE001 - trying each kind is the point
            continue
        if value.size and np.all(np.isfinite(value)):
            return desc, build, takes_x
    return None


def probe_row(name: str) -> tuple[str, dict, str]:
    """(argument kind, marks by column, note: the first failure's reason)."""
    found = _find_kind(name)
    if found is None:
        return "none found", {c: "no" for c in COLUMNS}, "no argument kind of KINDS fits"
    desc, build, takes_x = found
    p = _probe(name, build)
    value = float(p(X0.copy(), numpy_xp))
    fd = _central(p, X0.copy()) if takes_x else None

    def mpmath_check():
        with mpmath.workdps(80):
            x = np.array([mpmath.mpf(float(v)) for v in X0], dtype=object)
            return _close(float(p(x, mpmath_xp)), value, 1e-9)

    def sympy_check():
        syms = sympy.symbols("x0:12", real=True)
        expr = sympy.sympify(p(np.array(syms, dtype=object), sympy_xp))
        return _close(float(expr.subs(dict(zip(syms, X0.tolist())))), value, 1e-9)

    def gradient_check(transform):
        def check():
            g = np.asarray(transform(p)(X0.copy()), dtype=float).reshape(-1)
            return bool(np.all(np.abs(g - fd) <= 1e-5 * (1.0 + np.abs(fd))))
        return check

    checks = {
        "float64": lambda: True,
        "mpmath": mpmath_check,
        "SymPy": sympy_check,
        "forward": gradient_check(jacfwd),
        "reverse": gradient_check(grad),
        "compiled": gradient_check(compile_grad),
        "ops": lambda: count_ops(lambda x: p(x, numpy_xp), X0.copy()).ops >= 0,
    }
    marks, note = {}, ""
    for column, check in checks.items():
        if column in ("forward", "reverse", "compiled") and not takes_x:
            marks[column] = "-"
            continue
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                ok = check()
            reason = "" if ok else "disagrees with float64 or central differences"
        except Exception as exc:  # noqa: BLE001 - a failure is a mark, with its reason
            ok, reason = False, _reason(exc)
        marks[column] = "yes" if ok else "no"
        if not ok and not note:
            note = f"{column}: {reason}"
    return desc, marks, note


HEADER = """# The numpy surface of `xp`

Generated by `python -m adbench.report.surface` (module adbench/report/surface.py); do not
edit by hand. tests/test_numpy_surface_catalogue.py regenerates it and fails when this file
differs, so a function added to or removed from `xp` (adbench/interpret/xp.py, XP_FUNCTIONS)
must be followed by that one command.

Each mark is found by trying, not declared: for every function the first argument kind
that float64 numpy accepts (column "argument") is called inside the probe
p(x) = sum_i w_i out_i(x) at a fixed point, and p is run under each interpretation:
float64; mpmath (the 80-digit reference, `mpmath_xp`) and SymPy (`sympy_xp`, substituted)
agreeing with float64 to 1e-9; forward (`jacfwd`), reverse (`grad`) and compiled
(`compile_grad`) AD agreeing with central differences to 1e-5; op counting (`count_ops`).
`-`: the call takes no traced array (a constructor), so there is no derivative to check.
The note gives the reason of the first failure.

Tie convention: at a tie the derivative is split evenly among the tied arguments (0.5 and
0.5 for two): maximum, minimum, max, min, abs at 0 (giving 0), clip at its bounds, and sort.
The 2-norm and Frobenius norm have derivative 0 at 0 (the least-norm subgradient).
"""


def render() -> str:
    lines = [HEADER, "| function | argument | " + " | ".join(COLUMNS) + " | note |",
             "|" + " --- |" * (len(COLUMNS) + 3)]
    for name in XP_FUNCTIONS:
        desc, marks, note = probe_row(name)
        lines.append(f"| `{name}` | {desc} | " + " | ".join(marks[c] for c in COLUMNS)
                     + f" | {note} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        current = DOC_PATH.read_text() if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is stale: run python -m adbench.report.surface", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(text)
    print(f"wrote {DOC_PATH} ({len(XP_FUNCTIONS)} functions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
