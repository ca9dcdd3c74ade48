"""Reverse mode, traced once and compiled: the tape turned into straight-line Python.

:func:`~adbench.ad.grad` records a fresh tape on every call and interprets it
backwards: define-by-run, as the survey calls PyTorch-like systems (p. 18),
and every call pays the bookkeeping of recording and of dispatching each entry
to its rule. :func:`compile_grad` records the tape once per input shape and
dtype, then writes it out as one Python function: a line per primitive for the
forward sweep, calling the primitive's implementation directly, and a line per
contribution for the reverse sweep, calling the primitive's own rule from the
table (``lin`` markers become ``g``, ``-g`` and ``g * v`` in the source; shapes
are known, so the broadcasting a rule's cotangent must undo is decided once).
Later calls at other points of the same shape run that function: the tape of
ADOL-C, replayed at a new point, rather than recorded anew.

A tape records one path through the program. The path can only depend on x
through comparisons (``x > 0``, ``if x:``; converting a traced value to float
or int raises), so each comparison is recorded as a *guard*: the compiled
function evaluates it again and, if any result differs from the recorded one
(another branch, another ``where`` mask), gives up; the call then records a
new tape at that point (the gradient comes from the ordinary engine) and the
new path replaces the old. Values the function closes over are frozen at the
first call, as with any tracing compiler: ``f`` must be a function of x alone.

The compiled function is checked once against the ordinary engine at the point
it was recorded at; a disagreement (which would be a bug here) is a
RuntimeWarning, and that shape stays with the ordinary engine. The ordinary
engine also serves every call it cannot take: x traced by an enclosing
differentiation, an operation counter listening, a complex x or f, a function
that closes over a value being differentiated, or an exception on the
compiled path (a float operation outside its domain, which numpy would have
answered with nan).

This module is the driver: the guarded recording, the cache of compiled
functions per shape, the check and the fall-backs. The source is written by
:mod:`adbench.ad.codegen`.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

# adbench.ad imports this module last, when everything below is defined
from adbench.ad import (
    PASSES,
    _as_output,
    _from_rows,
    _reverse_rows,
    _seeds,
    grad,
    jacrev,
)
from adbench.ad import pytree
from adbench.ad.arguments import Caller, as_input, normalize_argnums, strip_xp
from adbench.ad.collector import collector_paused
from adbench.ad.codegen import MISS, Uncompilable, Writer
from adbench.ad.native import NativeProgram, NotNative, compile_native
from adbench.ad.reverse import ReverseTrace, Var
from adbench.interpret import primitives as P
from adbench.interpret.core import DOMAIN_ERRORS, EVALUATION_HOOKS, BoxBase, Trace
from adbench.interpret.primitives import shape_of
from adbench.measure.accuracy import rho

__all__ = ["compile_grad", "compile_jacrev", "CompiledReverse", "GuardedTrace"]

_Writer = Writer  # the code generator's name here before it had a module of its own

#: Where compiled code runs: ``"python"`` (straight-line Python, the default) or ``"c"``
#: (a scalar tape as C through the system compiler, :mod:`adbench.ad.native`; any other
#: tape, or no compiler, keeps the Python route and says why in ``reasons``).
BACKENDS = ("python", "c")


class GuardedTrace(ReverseTrace):
    """A reverse-mode trace that keeps every value and records, as guards, what
    the path taken depends on: every comparison, and every primitive that reads
    a traced value without differentiating it (``sign(x)``), each with the
    tape position it was made at and its result. ``opaque`` says why the tape
    cannot be compiled, if it cannot."""

    __slots__ = ("guards", "opaque")

    def __init__(self):
        super().__init__(keep_all=True)
        self.guards: list = []   # (position, prim or comparison operator, args, params, result)
        self.opaque: str | None = None

    def compare(self, op, a, b):
        result = super().compare(op, a, b)
        self.guards.append((len(self.tape), op, (a, b), {}, result))
        return result

    def process(self, prim, args, params):
        position = len(self.tape)
        out = super().process(prim, args, params)
        if prim.nondiff and any(type(args[k]) is Var and args[k].trace is self
                                for k in prim.nondiff):
            if type(out) is Var:
                self.opaque = f"{prim.name} reads a traced value it does not differentiate"
            else:  # a value of x not recorded on the tape: it must come out the same
                self.guards.append((position, prim, args, params, out))
        return out


class CompiledReverse:
    """``compile_grad(f)`` and ``compile_jacrev(f)``: reverse mode on ``f(x, xp)``,
    compiled per input shape; see the module docstring.

    ``jacobian``: the Jacobian (shape ``f(x).shape + x.shape``) by one forward
    sweep and one reverse sweep per output entry, as :func:`~adbench.ad.jacrev`;
    else the gradient of a scalar f, as :func:`~adbench.ad.grad`. ``stats``
    counts the calls, the tapes recorded (first calls and changed paths), the
    calls the compiled code answered and those the ordinary engine answered.
    ``sources`` holds the generated Python of each shape, ``unstaged`` the rules
    its reverse sweep calls at every gradient rather than spells out (those
    that read values; :mod:`adbench.ad.staging`), with the reason.

    A call with one array or number x compiles f of x (``programs``, keyed by
    shape and dtype). Any other call (a pytree, several arguments) compiles f
    as a function of the flat vector of *every* argument made of numbers, so
    that no argument's value is frozen into the code, whether differentiated
    or not; the derivatives of the arguments ``argnums`` names are cut out of
    its result. One such function is kept per structure in ``structured``:
    a new structure, leaf shape or non-numeric argument (a string, which must
    be hashable) compiles anew, new values do not.
    """

    def __init__(self, f: Callable, jacobian: bool = False, argnums=0,
                 stats: dict | None = None, backend: str = "python"):
        if backend not in BACKENDS:
            raise ValueError(f"compile: backend must be one of {', '.join(BACKENDS)}, "
                             f"not {backend!r}")
        self.f = f
        self.jacobian = jacobian
        self.argnums = argnums
        self.backend = backend
        self.backends: dict = {}   # (shape, dtype) -> the backend of its compiled function
        self._caller = Caller(f)
        self.programs: dict = {}   # (shape, dtype) -> compiled function, or None: not compilable
        self.sources: dict = {}    # (shape, dtype) -> its source text
        self.reasons: dict = {}    # (shape, dtype) -> why it was not compiled
        # (shape, dtype) -> the (primitive, why) of each rule its code calls rather
        # than spells out (adbench.ad.staging): rules that read values
        self.unstaged: dict = {}
        self.stats = stats if stats is not None else \
            {"calls": 0, "recorded": 0, "compiled": 0, "ordinary": 0}
        # (structure, positions of the flattened arguments, the others) -> the
        # CompiledReverse of f as a function of the flattened vector (it shares stats)
        self.structured: dict = {}

    @collector_paused
    def __call__(self, *args, xp=None):
        self.stats["calls"] += 1
        if (len(args) == 1 and type(args[0]) is np.ndarray and args[0].dtype.kind == "f"
                and self.argnums == 0):  # the commonest call, decided first
            return self._vector(args[0])
        args = strip_xp(args)
        who = "compile_jacrev" if self.jacobian else "compile_grad"
        indices, single = normalize_argnums(self.argnums, len(args), who)
        if len(args) == 1 and pytree.is_leaf(args[0]):  # f of one array or number
            pytree.check_leaf(args[0], self._caller.name(0))
            return self._vector(as_input(args[0]))
        return self._structured(args, indices, single, who)

    def _structured(self, args: tuple, indices: tuple, single: bool, who: str):
        """f of several arguments or of pytrees: compiled as a function of the flat
        vector of the differentiated arguments and of every other argument made
        of floats (so that no value is frozen into the code); the others (ints,
        integer arrays, strings, None...) are *static*: passed as they are,
        and their values, with the structure, select the compiled function."""
        dynamic, static = [], []
        for i, arg in enumerate(args):
            if i in indices:
                pytree.check_leaves(arg, self._caller.name(i))
                dynamic.append(i)
            elif _floats_only(arg):
                dynamic.append(i)
            else:
                try:
                    static.append((i, _static_key(arg)))
                except TypeError:
                    raise TypeError(f"{who}: argument {self._caller.name(i)} is neither "
                                    "floats (a tree of them) nor hashable") from None
        z, treedef = pytree.flatten(tuple(args[i] for i in dynamic))
        key = (treedef, tuple(dynamic), tuple(static))
        static = [(i, args[i]) for i, _ in static]
        flat = self.structured.get(key)
        if flat is None:
            flat = self.structured[key] = CompiledReverse(
                self._flat_function(len(args), dynamic, static, treedef), self.jacobian,
                stats=self.stats, backend=self.backend)
        d = flat._vector(z)
        parts = (pytree.unflatten_trailing(treedef, d, shape_of(d)[:-1]) if self.jacobian
                 else pytree.unflatten(treedef, d))
        position = {i: k for k, i in enumerate(dynamic)}
        if single:
            return parts[position[indices[0]]]
        return tuple(parts[position[i]] for i in indices)

    def _flat_function(self, nargs: int, dynamic: list, static: list, treedef):
        """f as a function ``g(z, xp=None)`` of the flat vector of its dynamic arguments."""
        caller = self._caller

        def flat(z, xp=None):
            args = [None] * nargs
            for i, part in zip(dynamic, pytree.unflatten(treedef, z), strict=True):
                args[i] = part
            for i, arg in static:
                args[i] = arg
            return caller(tuple(args))
        flat.__qualname__ = _name(self.f)
        return flat

    def _vector(self, x):
        """The derivative at x, one engine value (a float or an array)."""
        if isinstance(x, BoxBase) or EVALUATION_HOOKS or np.iscomplexobj(x):
            return self._ordinary(x)
        key = (shape_of(x), x.dtype if type(x) is np.ndarray else float)
        program = self.programs.get(key)
        if program is not None:
            try:
                if type(program) is NativeProgram:  # C tests its own floating-point flags
                    result = program(x, 1.0)
                else:
                    with np.errstate(divide="raise", over="raise", invalid="raise"):
                        result = program(x, 1.0)
            except (*DOMAIN_ERRORS, FloatingPointError):
                # outside a domain on the compiled path: the engine's answer instead, with
                # numpy's nan or inf and its warning
                return self._ordinary(x)
            if result is not MISS:
                self.stats["compiled"] += 1
                PASSES["reverse"] += len(result[1]) if self.jacobian else 1
                return self._answer(result, program.out_shape, key[0])
        elif key in self.programs:  # known not to compile
            return self._ordinary(x)
        return self._record(x, key)

    def _ordinary(self, x):
        self.stats["ordinary"] += 1
        return (jacrev if self.jacobian else grad)(self.f)(x)

    def _answer(self, result, out_shape: tuple, x_shape: tuple):
        """The gradient, or the Jacobian from its rows."""
        return _from_rows(result[1], out_shape, x_shape) if self.jacobian else result[1]

    def _record(self, x, key):
        """Record a tape at x, answer from it, and compile it for the next calls."""
        self.stats["recorded"] += 1
        trace = GuardedTrace()
        xv = trace.input(x)
        y = _as_output(self._caller((xv,)))
        if Trace().id != trace.id + 1:  # traces are numbered in order of creation
            # f differentiates something itself: rules run on its values then, and some
            # compare plain values (where the maximum is), unseen by the guards
            trace.opaque = "f differentiates inside"
        out_shape = shape_of(y)
        if not self.jacobian and out_shape != ():
            raise ValueError(f"grad needs a scalar function; f returned shape {out_shape}")
        # a scalar f (all grad takes) has one row: the gradient
        answer = _from_rows(_reverse_rows(trace, xv, y), out_shape, key[0])
        program = None
        if not (type(y) is Var and y.trace is trace):
            self.reasons[key] = "f does not depend on x"
        elif np.iscomplexobj(P.primal(y)):
            self.reasons[key] = "f is complex"
        elif trace.opaque:
            self.reasons[key] = trace.opaque
        else:
            program = self._compile(trace, xv, y, x, answer, key)
        self.programs[key] = program
        return answer

    def _compile(self, trace, xv, y, x, answer, key):
        what = "Jacobian" if self.jacobian else "gradient"
        if self.backend == "c":  # native code, else the Python route with the reason
            try:
                program, source = compile_native(trace, xv, y, x, rows=self.jacobian)
            except NotNative as why:
                self.reasons[key] = f"not native: {why}"
            else:
                program.out_shape = shape_of(y)
                problem = self._check(program, x, answer, key)
                if problem is None:
                    self.sources[key], self.backends[key] = source, "c"
                    return program
                self.reasons[key] = f"not native: {problem}"
                warnings.warn(f"compile: the native {what} of {_name(self.f)} at shape "
                              f"{key[0]} was not used ({problem}); the compiled Python "
                              "serves it", RuntimeWarning, stacklevel=3)
        writer = Writer(trace, xv, y, x, rows=self.jacobian)
        writer.namespace["SEEDS"] = _seeds(shape_of(y))
        try:
            program = writer.program(f"<compiled {what} of {_name(self.f)}>")
        except Uncompilable as why:
            self.reasons[key] = str(why)
            return None
        self.unstaged[key] = writer.unstaged
        program.out_shape = shape_of(y)
        problem = self._check(program, x, answer, key)
        if problem is not None:
            self.reasons[key] = problem
            warnings.warn(f"compile: the compiled {what} of {_name(self.f)} at shape "
                          f"{key[0]} was not used ({problem}); the ordinary engine serves it",
                          RuntimeWarning, stacklevel=3)
            return None
        self.sources[key], self.backends[key] = program.source, "python"
        return program

    def _check(self, program, x, answer, key) -> str | None:
        """What is wrong with a compiled ``program``, or None: it must reproduce, at
        the recorded point x, the engine's ``answer`` (:func:`_same`)."""
        try:
            with np.errstate(all="ignore"):
                result = program(x, 1.0)
        except Exception as error:  # noqa: BLE001 - any failure means: do not use it
            return f"{type(error).__name__}: {error}"
        if result is MISS:
            return "its guards fail where they were recorded"
        if not _same(self._answer(result, program.out_shape, key[0]), answer):
            return f"its {'Jacobian' if self.jacobian else 'gradient'} differs from the engine's"
        return None


def _floats_only(tree) -> bool:
    """Whether every leaf of a tree is a float or complex number or array (or a box)."""
    if isinstance(tree, dict):
        return all(_floats_only(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return all(_floats_only(v) for v in tree)
    if isinstance(tree, np.ndarray):
        return tree.dtype.kind in "fc"
    return isinstance(tree, (float, complex, np.floating, np.complexfloating, BoxBase))


def _static_key(arg):
    """A hashable stand-in for the value of a static argument (TypeError if there is none)."""
    if isinstance(arg, dict):
        return ("dict", tuple((k, _static_key(v)) for k, v in arg.items()))
    if isinstance(arg, (list, tuple)):
        return (type(arg), tuple(_static_key(v) for v in arg))
    if isinstance(arg, np.ndarray):
        return ("array", arg.dtype.str, arg.shape, arg.tobytes())
    hash(arg)
    return (type(arg), arg)


def _name(f) -> str:
    return getattr(f, "__qualname__", None) or type(f).__name__


#: The compiled derivative must agree with the engine's to this rho (the project's one
#: measure of agreement, adbench.measure.accuracy): rounding may differ (a rule's residual, an
#: order of summation), and an entry that is a small difference of large terms carries
#: the terms' rounding (rho up to 1.6e-11 on GMM D=64).
AGREEMENT = 1e-9


def _same(a, b) -> bool:
    """Whether a and b agree up to rounding: rho <= ``AGREEMENT`` where b is
    finite, the same inf or a nan where it is not."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    finite = np.isfinite(b)
    with np.errstate(invalid="ignore"):  # inf - inf where b is infinite: judged below
        close = rho(a, b) <= AGREEMENT
    return bool(np.all(np.where(finite, close, (a == b) | (np.isnan(a) & np.isnan(b)))))


def compile_grad(f: Callable, argnums=0, backend: str = "python") -> Callable[..., Any]:
    """The gradient of a scalar ``f(x, xp)``, like :func:`~adbench.ad.grad`
    (pytrees and ``argnums`` included), compiled to straight-line Python at
    the first call for each input shape (for pytrees and several arguments:
    each structure, leaf shapes and non-numeric arguments).

    The first call at a shape records a tape (and returns the engine's
    gradient); later calls run the compiled forward and reverse sweeps, and
    record again when a comparison in f comes out differently (a new path).
    ``f`` must depend on nothing but x (closed-over values are frozen).

    ``backend="c"`` compiles a tape of float64 scalars (loops and branches over
    ``x[i]``) to C through the system compiler instead (:mod:`adbench.ad.native`);
    ``reasons`` says why a shape kept the Python route, ``backends`` which route
    each shape took.

    >>> import numpy as np
    >>> g = compile_grad(lambda x, xp: xp.sum(xp.sin(x) * x))
    >>> g(np.array([0.0, 1.0]))
    array([0.        , 1.38177329])
    >>> g(np.array([1.0, 2.0]))       # compiled: no new tape
    array([1.38177329, 0.07700375])
    >>> g.stats["recorded"], g.stats["compiled"]
    (1, 1)
    """
    return CompiledReverse(f, argnums=argnums, backend=backend)


def compile_jacrev(f: Callable, argnums=0, backend: str = "python") -> Callable[..., Any]:
    """The Jacobian of ``f(x, xp)``, like :func:`~adbench.ad.jacrev` (shape
    ``f(x).shape + x.shape``; pytrees and ``argnums`` as there), compiled at
    the first call for each input shape:
    later calls run one compiled forward sweep and one compiled reverse sweep
    per output entry (m passes), recording again when the path changes.
    ``backend`` as for :func:`compile_grad`.

    >>> import numpy as np
    >>> J = compile_jacrev(lambda x, xp: xp.stack([x[0] * x[1], xp.sin(x[0])]))
    >>> J(np.array([0.0, 2.0]))
    array([[2., 0.],
           [1., 0.]])
    >>> J(np.array([1.0, 2.0]))
    array([[2.        , 1.        ],
           [0.54030231, 0.        ]])
    """
    return CompiledReverse(f, jacobian=True, argnums=argnums, backend=backend)
