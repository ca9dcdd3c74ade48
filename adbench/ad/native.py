"""Compiled reverse mode's native route: a scalar tape written out as C.

``compile_grad(f, backend="c")`` (:mod:`adbench.ad.compiled`) records a tape as
the Python route does; when every live entry of it is a float64 scalar (or a
read ``x[i]`` of the input), :class:`CWriter` writes it as one C function and
the system's C compiler makes it a shared object that :mod:`ctypes` calls:

* the forward sweep is a line per entry, ``const double v7 = (v3 * v4);``,
  each primitive in its C spelling (:mod:`adbench.interpret.c_spelling`: derived
  from the primitive's float implementation, C's ``sin`` for ``math.sin``);
* the reverse sweep is a line per contribution, ``g3 += (g7 * cos(v3));``:
  the ``lin`` markers become ``g``, ``-g`` and ``g * v`` as in the Python
  route, and a rule given as a function is the table's own rule run on C
  expressions (no derivative is written here);
* each recorded guard is a test that returns 1 (a miss: the caller records a
  new path) when it comes out differently; a floating-point exception
  (invalid, division by zero, overflow: where Python's float functions would
  have raised) returns 2, and the ordinary engine answers that call.

No fast-math: ``-ffp-contract=off`` keeps every operation rounded as Python
rounds it, so the native gradient equals the Python route's. Anything else
(an array operation, a primitive without C spelling, a rule that computes
with a value, no compiler, a compile error) raises :class:`NotNative` with the
reason, and the Python route serves. A rule that compares a value (``maximum``'s
selection, ``pow``'s test of a zero exponent) is written with C conditions, and
each Python decision it takes on one becomes a guard of the reverse sweep
(:class:`~adbench.interpret.c_spelling.CBool`).

Compiling: ``CC`` (None: ``$CC``, else ``cc`` or ``gcc`` on the PATH) with
:data:`CFLAGS`, in a temporary directory removed as soon as the shared object is
loaded (a loaded object stays mapped). Loaded functions are kept per process,
keyed by a hash of the compiler, the flags and the source, so that a path seen
again (a branch taken back) costs no second compile. Nothing is downloaded.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time

import numpy as np

from adbench.ad.codegen import _COMPARISONS, MISS, Writer
from adbench.ad.reverse import Var
from adbench.interpret.c_spelling import CExpr, CTrace, NoCSpelling, c_literal
from adbench.interpret.core import apply
from adbench.interpret.primitives import (
    IDENTITY,
    NEGATE,
    TimesArg,
    getitem_p,
    reshape_p,
    stack_p,
)

__all__ = ["NotNative", "NativeProgram", "CWriter", "compile_native", "compiler",
           "CC", "CFLAGS", "COMPILE_TIMEOUT", "MAX_ENTRIES"]

#: The C compiler: None for ``$CC``, else ``cc``, else ``gcc`` found on the PATH.
CC: str | None = None
#: IEEE semantics kept (no fast-math, no fused multiply-add), so results equal Python's.
CFLAGS = ("-O2", "-shared", "-fPIC", "-ffp-contract=off", "-fno-math-errno", "-std=c99")
#: Seconds a compile may take before the Python route is used instead.
COMPILE_TIMEOUT = 120.0
#: Tapes with more live entries keep the Python route: the compiler's time grows with
#: the function's length (Helmholtz n = 50, about 5,500 entries, took 4-5 s at -O2 on a
#: loaded 2-core machine).
MAX_ENTRIES = 20_000

_OK, _MISSED, _FP_EXCEPTION = 0, 1, 2
_LOADED: dict = {}  # hash of (compiler, flags, source) -> the loaded C function
_LOCK = threading.Lock()


class NotNative(Exception):
    """The tape, or this machine, does not allow the native route; the message says why."""


def compiler() -> str:
    """The C compiler's path; :class:`NotNative` if there is none."""
    named = CC if CC is not None else os.environ.get("CC")
    if named:
        found = shutil.which(named)
        if found is None:
            raise NotNative(f"the C compiler {named} was not found")
        return found
    for name in ("cc", "gcc"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise NotNative("no C compiler (cc, gcc) on the PATH")


class _View:
    """An array entry that is part of x (``x[i]`` of a 2-D x, ``x[1:]``): the flat
    positions in x of its elements, as an integer array of its shape."""

    __slots__ = ("positions",)

    def __init__(self, positions: np.ndarray):
        self.positions = positions


def _is_float_scalar(v) -> bool:
    """A float, a numpy float64 or a 0-d float64 array."""
    return type(v) is float or (isinstance(v, (np.floating, np.ndarray))
                                and v.dtype == np.float64 and v.ndim == 0)


class CWriter(Writer):
    """Writes the C source of one compiled gradient from a guarded tape (the same
    live entries and guards as the Python route, :class:`~adbench.ad.codegen.Writer`)."""

    def __init__(self, trace, xv: Var, y: Var, x_value, rows: bool):
        super().__init__(trace, xv, y, x_value, rows)
        self.c = CTrace()
        self.values: dict = {}   # entry -> CExpr of its value, or _View of part of x
        self.reads: dict = {}    # entry -> the flat position of x it reads
        x = x_value
        if type(x) is np.ndarray:
            if x.dtype != np.float64:
                raise NotNative(f"x is {x.dtype}, not float64")
            self.x_shape = x.shape
            self.values[self.x_index] = _View(np.arange(x.size).reshape(x.shape))
        elif _is_float_scalar(x):
            self.x_shape = ()
            self.values[self.x_index] = self.c.expr(f"v{self.x_index}", x)
        else:
            raise NotNative(f"x is a {type(x).__name__}")
        self.outputs = self._outputs()
        self.tested: set = set()  # the conditions of the rules' guards written so far

    def _outputs(self) -> list:
        """f's value, entry by entry: the tape entry of each (a float64 scalar) or,
        for an entry of ``stack`` that is not traced, its constant."""
        y_entry = self.entries[self.y_index]
        if y_entry is None:  # f(x) = x
            if self.x_shape == ():
                return [self.y_index]
            raise NotNative("f's value is x itself, an array")
        if _is_float_scalar(y_entry[3]):
            return [self.y_index]
        prim, parents, primals, out, params = y_entry
        if (prim is stack_p and params.get("axis", 0) in (0, -1) and type(out) is np.ndarray
                and out.ndim == 1 and out.dtype == np.float64
                and all(_is_float_scalar(a) for a in primals)):
            parent_of = dict(parents)
            return [parent_of.get(k, a) for k, a in enumerate(primals)]
        raise NotNative("f's value is neither a float64 scalar nor a stack of them")

    def write(self) -> str:
        try:
            return self._write()
        except NoCSpelling as why:
            raise NotNative(str(why)) from None

    def _write(self) -> str:
        live = self.live()
        if len(live) > MAX_ENTRIES:
            raise NotNative(f"{len(live):,} tape entries, more than MAX_ENTRIES = "
                            f"{MAX_ENTRIES:,} (the compile would take minutes)")
        guards = sorted(self.trace.guards, key=lambda g: g[0])
        lines = self.lines
        m, size = len(self.outputs), int(np.prod(self.x_shape))
        lines += ["#include <math.h>", "#include <fenv.h>",
                  "#define RAISED (FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW)",
                  "/* f at x into y[0..m), and each row of its Jacobian (times seed) into",
                  "   jac[r n..(r + 1) n); 1: a guard failed; 2: a floating-point exception */",
                  "int program(const double *restrict x, double seed, double *restrict y,"
                  " double *restrict jac)", "{", "    feclearexcept(RAISED);"]
        if self.x_shape == ():
            lines.append(f"    const double v{self.x_index} = x[0];")
        gi = 0
        for i in live:
            while gi < len(guards) and guards[gi][0] <= i:
                self.guard(guards[gi])
                gi += 1
            if i != self.x_index and not (i == self.y_index and self.outputs != [i]):
                self.forward(i)
        for guard in guards[gi:]:
            self.guard(guard)
        for r, j in enumerate(self.outputs):
            lines.append(f"    y[{r}] = {f'v{j}' if type(j) is int else c_literal(j)};")
        lines += [f"    for (int r = 0; r < {m}; r++) {{",
                  f"    double *restrict gx = jac + r * {size};"]
        if self.x_shape != ():
            lines.append(f"    for (int k = 0; k < {size}; k++) gx[k] = 0.0;")
        self.reverse(live)
        lines += ["    }", "    if (fetestexcept(RAISED)) return 2;", "    return 0;", "}"]
        return "\n".join(lines) + "\n"

    # --- values ---------------------------------------------------------------
    def value(self, j: int):
        v = self.values.get(j)
        if v is None:
            raise NotNative(f"entry {j} is not a value the C code has")
        return v

    def operand(self, v):
        """A guard's operand: the CExpr of a traced value, else a constant."""
        if type(v) is Var and v.trace is self.trace:
            e = self.value(v.index)
            if type(e) is not CExpr:
                raise NotNative("a comparison of arrays")
            return e
        return v

    def arguments(self, i: int) -> list:
        """Entry i's arguments: the CExpr of each traced one, the constant of the others."""
        prim, parents, primals, out, params = self.entries[i]
        parent_of = dict(parents)
        args = []
        for k, a in enumerate(primals):
            if k in parent_of:
                e = self.value(parent_of[k])
                if type(e) is not CExpr:
                    raise NotNative(f"{prim.name} on an array")
                args.append(e)
            else:
                c_literal(a)  # a number, or NoCSpelling naming its type
                args.append(a)
        return args

    # --- the program ------------------------------------------------------------
    def guard(self, guard) -> None:
        position, op, operands, params, result = guard
        if op in _COMPARISONS:
            a, b = (self.c.operand(self.operand(v)) for v in operands)
            expression = f"({a} {_COMPARISONS[op]} {b})"
        else:  # a primitive that reads a traced value without differentiating it
            expression = apply(op, *(self.operand(v) for v in operands), **params).text
            if not (isinstance(result, (float, int, np.floating, np.integer))):
                raise NotNative(f"a guard on a {type(result).__name__}")
            expression = f"({expression} == {c_literal(result)})"
            result = True
        if not isinstance(result, (bool, np.bool_)):
            raise NotNative(f"a guard on a {type(result).__name__}")
        test = f"!{expression}" if result else expression
        self.lines.append(f"    if ({test}) return 1;")

    def forward(self, i: int) -> None:
        prim, parents, primals, out, params = self.entries[i]
        view = self.values.get(parents[0][1]) if len(parents) == 1 else None
        if prim is reshape_p and type(view) is _View:  # a pytree's leaf cut out of x
            self.values[i] = _View(view.positions.reshape(out.shape))
            return
        if prim is getitem_p and type(view) is _View:
            idx = params["idx"]
            if isinstance(idx, (Var, CExpr)) or (isinstance(idx, tuple) and any(
                    isinstance(part, (Var, CExpr)) for part in idx)):
                raise NotNative("x indexed by a traced value")
            positions = view.positions[idx]
            if np.ndim(positions) == 0:
                self.reads[i] = int(positions)
                self.values[i] = self.c.expr(f"v{i}", np.ravel(self.x_value)[int(positions)])
                self.lines.append(f"    const double v{i} = x[{int(positions)}];")
            else:
                self.values[i] = _View(positions)
            return
        if not _is_float_scalar(out):
            raise NotNative(f"{prim.name} gives a {type(out).__name__}"
                            + (f" of shape {out.shape}" if hasattr(out, "shape") else ""))
        if params:
            raise NotNative(f"{prim.name} with parameters {sorted(params)}")
        e = apply(prim, *self.arguments(i))
        if type(e) is not CExpr:
            raise NotNative(f"{prim.name} gave no C expression")
        self.values[i] = self.c.expr(f"v{i}", out)
        self.lines.append(f"    const double v{i} = {e.text};")

    def reverse(self, live: list) -> None:
        lines = self.lines
        started: set = set()
        for r, j in enumerate(self.outputs):  # the seed: row r of the Jacobian
            if type(j) is not int:
                continue
            seed = "seed" if len(self.outputs) == 1 else f"(r == {r} ? seed : 0.0)"
            lines.append(f"    g{j} += {seed};" if j in started else f"    double g{j} = {seed};")
            started.add(j)
        for i in reversed(live):
            if i not in started or i == self.x_index or i == self.y_index and \
                    self.outputs != [i]:
                continue
            if i in self.reads:
                lines.append(f"    gx[{self.reads[i]}] += g{i};")
                continue
            prim, parents, primals, out, params = self.entries[i]
            if prim.lin is None:
                raise NotNative(f"{prim.name} has no elementwise derivative rule")
            for k, j in parents:
                if k in prim.nondiff:
                    continue
                term = self.contribution(i, k)
                if j in started:
                    lines.append(f"    g{j} += {term};")
                else:
                    lines.append(f"    double g{j} = {term};")
                    started.add(j)
        if self.x_shape == ():
            x = self.x_index
            lines.append(f"    gx[0] = {f'g{x}' if x in started else '0.0'};")

    def contribution(self, i: int, k: int) -> str:
        """C text of entry i's contribution to the adjoint of its argument k: the
        table's ``lin[k]`` rule, a marker as in the Python route, else the rule run
        on C expressions."""
        prim = self.entries[i][0]
        rule = prim.lin[k]
        g = f"g{i}"
        if rule is IDENTITY:
            return g
        if rule is NEGATE:
            return f"(-{g})"
        args = self.arguments(i)
        if type(rule) is TimesArg:
            return f"({g} * {self.c.operand(args[rule.j])})"
        guards = self.c.guards
        guards.clear()
        try:
            term = rule(self.c.expr(g), *args, self.value(i))
        except NoCSpelling as why:
            raise NotNative(f"{prim.name}'s derivative rule has no C spelling ({why})") \
                from None
        for condition, outcome in guards:  # the rule's decisions on values, as guards
            if (condition, outcome) not in self.tested:
                self.tested.add((condition, outcome))
                self.lines.append(f"    if ({'!' if outcome else ''}{condition}) return 1;")
        return self.c.operand(term)


class NativeProgram:
    """The compiled C gradient with the Python route's calling convention:
    ``program(x, seed) -> (y, gradient)`` (``(y, [gradient])`` for a Jacobian's
    rows), :data:`~adbench.ad.codegen.MISS` when a guard fails, and
    FloatingPointError where Python's float functions would have raised."""

    __slots__ = ("function", "x_shape", "m", "rows", "out_shape", "timings", "_x", "_y",
                 "_jac")

    def __init__(self, function, x_shape: tuple, m: int, rows: bool):
        self.function = function
        self.x_shape = x_shape
        self.m = m  # entries of f's value
        self.rows = rows
        self.out_shape = () if m == 1 and not rows else (m,)
        self.timings: dict = {}  # seconds: generate_s (the C source), compile_s (0: cached)
        n = int(np.prod(x_shape))
        # ctypes arrays: made and passed faster than numpy's pointers (ndarray.ctypes)
        self._x, self._y, self._jac = (ctypes.c_double * n, ctypes.c_double * m,
                                       ctypes.c_double * (m * n))

    def __call__(self, x, seed):
        if self.x_shape == ():
            x = self._x(x)
        elif x.flags.c_contiguous and x.dtype == np.float64:
            x = self._x.from_buffer_copy(x)
        else:
            x = self._x.from_buffer_copy(np.ascontiguousarray(x, dtype=np.float64))
        y, jac = self._y(), self._jac()
        status = self.function(x, seed, y, jac)
        if status == _MISSED:
            return MISS
        if status == _FP_EXCEPTION:
            raise FloatingPointError("a floating-point exception in the native gradient")
        if self.x_shape == ():
            rows = jac[:]
        else:
            rows = np.frombuffer(jac).reshape((self.m, *self.x_shape))
        if self.rows:
            return (y[0] if self.out_shape == () else np.array(y[:])), list(rows)
        return y[0], rows[0]


def build(source: str) -> tuple:
    """``(function, seconds)``: the C function ``program`` of ``source``, compiled and
    loaded, and the seconds the compiler took (0 when it came from this process's
    cache); :class:`NotNative` if there is no compiler or it fails."""
    cc = compiler()
    key = hashlib.sha256("\0".join((cc, *CFLAGS, source)).encode()).hexdigest()
    with _LOCK:
        loaded = _LOADED.get(key)
        if loaded is not None:
            return loaded[1], 0.0
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="adbench-native-") as where:
            c_file, so_file = os.path.join(where, "program.c"), os.path.join(where, "program.so")
            with open(c_file, "w") as out:
                out.write(source)
            try:
                done = subprocess.run([cc, *CFLAGS, "-o", so_file, c_file, "-lm"],
                                      capture_output=True, text=True,
                                      timeout=COMPILE_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise NotNative(f"the C compiler {cc} did not run ({error})") from None
            if done.returncode != 0:
                said = (done.stderr.strip().splitlines() or ["no message"])[-1]
                raise NotNative(f"the C compiler {cc} failed ({said})")
            try:
                library = ctypes.CDLL(so_file)
                function = library.program
            except (OSError, AttributeError) as error:
                raise NotNative(f"the compiled code did not load ({error})") from None
        doubles = ctypes.POINTER(ctypes.c_double)
        function.argtypes = [doubles, ctypes.c_double, doubles, doubles]
        function.restype = ctypes.c_int
        _LOADED[key] = (library, function)  # the library kept loaded with its function
        return function, time.perf_counter() - start


def compile_native(trace, xv: Var, y: Var, x_value, rows: bool) -> tuple:
    """``(program, source)``: the tape of ``trace`` (input ``xv``, output ``y``,
    recorded at ``x_value``) compiled to native code; :class:`NotNative` says why not."""
    start = time.perf_counter()
    writer = CWriter(trace, xv, y, x_value, rows)
    source = writer.write()
    written = time.perf_counter()
    function, compile_s = build(source)
    program = NativeProgram(function, writer.x_shape, len(writer.outputs), rows)
    program.timings = {"generate_s": written - start, "compile_s": compile_s}
    return program, source
