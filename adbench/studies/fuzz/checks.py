"""The checks of a program: every differentiator an oracle for the others,
the 80-digit reference, the fd-central error bound, the second derivatives,
the traceable forms and the op-count bounds (see the package docstring).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from adbench.ad import jacfwd, jacrev, jvp
from adbench.interpret import primitives as P
from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import rho
from adbench.measure.isolation import one_line, run_isolated
from adbench.measure.reference import reference_jacobian
from adbench.methods import METHODS, Unsupported
from adbench.methods.finite import EPS, default_step
from adbench.studies.fuzz.program import Node, Program

#: Agreement demanded of the exact methods (rho, see adbench.measure.accuracy).
TOLERANCE = 1e-10
#: Exact methods: each must agree with the others and with the reference.
EXACT = ("ad-forward", "ad-reverse", "symbolic")
#: Rounding errors per node (a node's expression has up to ~3 primitives).
OPS_PER_NODE = 4
#: Safety factor of the finite-difference error bound.
FD_SAFETY = 10.0


@dataclass(frozen=True)
class Finding:
    """A disagreement: ``check`` names its kind (used to group and shrink)."""

    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


def _worst(a: np.ndarray, b: np.ndarray) -> tuple[float, tuple]:
    err = rho(a, b)
    if err.size == 0:
        return 0.0, ()
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    return float(err[idx]), tuple(int(i) for i in idx)


def _disagree(check: str, a: np.ndarray, b: np.ndarray, tol: float) -> Finding | None:
    if a.shape != b.shape:
        return Finding(check, f"shapes {a.shape} and {b.shape}")
    worst, idx = _worst(a, b)
    if worst <= tol:
        return None
    return Finding(check, f"rho {worst:.3g} at {list(idx)}: {a[idx]!r} vs {b[idx]!r}")


@dataclass
class Evaluation:
    """What the checks see: the program, its instance, each method's Jacobian
    at x0 and the value of its traceable form there (an array, or the
    exception it raised), and the reference."""

    program: Program
    inst: object
    jacobians: dict = field(default_factory=dict)
    traceables: dict = field(default_factory=dict)
    reference: object = None


#: The survey's bound on the cost of one AD pass in units of ops(f) (c < 6).
PASS_COST_BOUND = 6.0
#: Programs with fewer operations are not held to the bound: there the constant
#: work of a pass (an index read is free in f, but accumulating its adjoint is an
#: addition; a where's unselected branch still receives a zero cotangent) is of
#: the order of f itself. Example: where(x0 > 0.5, x1, x0 * x1) has ops(f) = 1
#: and its reverse-mode Jacobian executes 7 operations.
MIN_OPS_FOR_BOUND = 10
#: The point at which :func:`primitive_pass_cost` applies a primitive (inside the
#: domain of most of the table; the counts of a rule do not depend on the point).
_COST_POINT = (0.31, 0.52, 0.73, 0.44)


def primitive_pass_cost(name: str) -> float:
    """One JVP or one reverse pass (the larger, recording included) of the elementwise
    primitive ``name`` alone, applied to one vector in every differentiable argument, in
    units of its own operations: the local ratio of that primitive, as its rules in the
    table execute it (1 for the evaluation, the rest its ``lin`` rules). 0 for other
    primitives.

    The survey's c < 6 (Griewank and Walther's cheap gradient principle) is the
    largest such ratio over the elementary functions, in a cost model where an
    elementary function costs at least what its partial derivatives do. The op
    counter counts every elementwise operation as one, and some primitives of the
    table have partials that are several arithmetic operations: arctan2(y, x) needs
    x / r^2 and -y / r^2 with r^2 = x^2 + y^2, at least 7 operations besides its
    own 1 (13 as the table writes them, r^2 once per argument), so a program made
    mostly of arctan2 exceeds 6 ops(f) under any rule."""
    prim = P.PRIMITIVES[name]
    if prim.kind != "elementwise" or prim.lin is None:
        return 0.0
    return _pass_cost(prim, prim.lin)  # measured again if the rules change


@functools.lru_cache(maxsize=None)
def _pass_cost(prim, lin: tuple) -> float:
    from adbench.ad import vjp
    from adbench.interpret.core import apply
    from adbench.interpret.counting import count_ops

    def alone(v):
        return apply(prim, *(1.0 if k in prim.nondiff else v for k in range(len(prim.lin))))

    x = np.array(_COST_POINT)
    with np.errstate(all="ignore"):
        own = count_ops(alone, x).ops
        if not own:
            return 0.0
        passes = (count_ops(lambda v: jvp(alone)(v, np.ones(x.size)), x).ops,
                  count_ops(lambda v: vjp(alone)(v, np.ones(x.size)), x).ops)
    return max(passes) / own


#: The primitives whose own ratio (:func:`primitive_pass_cost`, as the table's rules
#: execute them today) is above :data:`PASS_COST_BOUND`, and that ratio, pinned: an
#: operation of one of them may cost this much in a pass instead of 6. Each needs more
#: than 6 under any rule, its partials being several operations (arctan2: x / r^2 and
#: -y / r^2 with r^2 = x^2 + y^2, 8 at least; pow of two traced values: y x^(y-1) and
#: x^y log x; logaddexp: the two weights exp(x - out), exp(y - out); arccosh:
#: 1 / (sqrt(x - 1) sqrt(x + 1))). Pinned rather than measured at each check, so that a
#: rule that grows costlier is still found (a test compares each with its measured ratio).
PASS_COST_ALLOWANCES = {"arctan2": 13.0, "pow": 9.0, "logaddexp": 8.0, "arccosh": 7.0}


def pass_allowance(by_primitive) -> float:
    """What one pass may cost for a program whose evaluation executes ``by_primitive``
    (ops per primitive name): :data:`PASS_COST_BOUND` per operation, or the
    primitive's pinned ratio (:data:`PASS_COST_ALLOWANCES`) where that is larger."""
    return sum(ops * max(PASS_COST_BOUND, PASS_COST_ALLOWANCES.get(name, 0.0))
               for name, ops in by_primitive.items())


def op_count_bounds(ev: Evaluation) -> list[Finding]:
    """The op-count bounds of the measurements issue, by the op counter
    (:mod:`adbench.interpret.counting`): one JVP and one reverse pass (recording included)
    each cost under 6 ops(f); the Jacobians by ad-forward and ad-reverse under
    6 n ops(f) and 6 m ops(f); fd-central evaluates f exactly 2n times. An operation
    of a primitive whose own ratio is above 6 (:data:`PASS_COST_ALLOWANCES`: arctan2,
    pow of two traced values, logaddexp, arccosh) is allowed that ratio instead of 6.
    Programs with fewer than MIN_OPS_FOR_BOUND operations are skipped (see there)."""
    from adbench.interpret.counting import count_ops

    inst = ev.inst
    x0 = np.array(ev.program.x0, dtype=float)
    with np.errstate(all="ignore"):
        count_f = count_ops(lambda v: inst.f(v, numpy_xp), x0)
        ops_f = count_f.ops
        if ops_f < MIN_OPS_FOR_BOUND:
            return []
        seed = np.ones(inst.n)
        costs = {
            "one JVP": (count_ops(lambda v: jvp(inst.f)(v, seed), x0).ops, 1),
            "ad-forward Jacobian": (
                count_ops(METHODS["ad-forward"].prepare(inst).traceable, x0).ops, inst.n),
            "ad-reverse Jacobian": (
                count_ops(METHODS["ad-reverse"].prepare(inst).traceable, x0).ops, inst.m),
        }
        fd = METHODS["fd-central"].prepare(inst)
        fd.jacobian(x0.copy())
    allowance = pass_allowance(count_f.by_primitive)
    above = ", ".join(f"{name} {PASS_COST_ALLOWANCES[name]:.3g}"
                      for name in sorted(count_f.by_primitive) if name in PASS_COST_ALLOWANCES)
    findings = []
    for what, (ops, passes) in costs.items():
        if ops > passes * allowance:
            findings.append(Finding(
                "op count over bound",
                f"{what}: {ops} ops > {passes} pass(es) x {allowance:g} "
                f"({PASS_COST_BOUND:g} per operation of f, ops(f) = {ops_f}"
                + (f"; per operation of {above}" if above else "") + ")"))
    if fd.info.get("f_evaluations") != 2 * inst.n:
        findings.append(Finding("op count over bound",
                                f"fd-central evaluated f {fd.info.get('f_evaluations')} "
                                f"times, not 2n = {2 * inst.n}"))
    return findings


#: Extra checks ``check(evaluation) -> list[Finding]``, run after the built-in ones
#: (``--skip extra`` leaves them out): the op-count bounds.
EXTRA_CHECKS: list[Callable[[Evaluation], list[Finding]]] = [op_count_bounds]

#: Kinds of finding that are known limitations rather than bugs, and why.
#: ``adbench fuzz`` lists them apart and they do not fail it.
KNOWN_LIMITATIONS: dict[str, str] = {
    "symbolic timeout":
        "SymPy's work has no bound (expression swell; assumption queries when a Piecewise "
        "condition contains another, as in nested xp.where): a run reports such a "
        "measurement as a timeout row",
    "symbolic traceable raised NotImplementedError":
        "methods.symbolic.evaluate_xp (what op counting runs for symbolic) maps only the "
        "primitive table's functions (and Piecewise, its conditions, Max, Min, Heaviside); "
        "SymPy writes the derivative of abs(u), for a u it cannot prove real (x ** x), with "
        "re, im and arg",
}

#: The checks check_program can run, in order; ``skip`` takes names from here.
CHECKS = ("methods", "traceable", "exact", "reference", "fd", "second-order", "extra")


#: Time limit of the symbolic method inside a check (SymPy's work is unbounded).
SYMBOLIC_TIMEOUT = 20.0


def _evaluate_method(name: str, inst, x0: np.ndarray) -> tuple:
    """``(findings, J, T)``: method ``name``'s Jacobian at x0 and its traceable
    form evaluated there (T is None without one, or the exception it raised)."""
    try:
        prepared = METHODS[name].prepare(inst)
        J = prepared.jacobian(x0.copy())
    except Unsupported as exc:
        return [Finding(f"{name} unsupported", one_line(exc))], None, None
    except Exception as exc:  # noqa: BLE001 - a crash of a method is a finding
        return [Finding(f"{name} raised {type(exc).__name__}", one_line(exc))], None, None
    if not np.all(np.isfinite(J)):
        return [Finding(f"{name} not finite", f"{J.tolist()!r}")], None, None
    T = None
    if prepared.traceable is not None:
        try:
            T = np.asarray(P.primal(prepared.traceable(x0.copy())), dtype=float).reshape(J.shape)
        except Exception as exc:  # noqa: BLE001 - reported by the traceable check
            T = exc
    return [], J, T


def _symbolic_isolated(name, inst, x0):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _evaluate_method(name, inst, x0)


@functools.cache
def warm_up() -> None:
    """Run the symbolic method once here, in this process, so that every forked
    worker inherits SymPy's caches and lazily imported printers instead of
    rebuilding them (a cold worker takes several times longer)."""
    nodes = (Node("xp.sin({0}[0]) * {0}[1]", (0,), "mul"),
             Node("xp.where({0} > 0.5, xp.maximum({0}, 0.25), {0})", (1,), "where"))
    program = Program((0.3, 1.5), nodes, (2,))
    _evaluate_method("symbolic", program.problem().instance(), np.array(program.x0))


def _run_methods(ev: Evaluation, findings: list) -> None:
    x0 = np.array(ev.program.x0, dtype=float)
    for name in EXACT + ("fd-central",):
        if name == "symbolic" and SYMBOLIC_TIMEOUT:
            warm_up()
            outcome = run_isolated(_symbolic_isolated, (name, ev.inst, x0), SYMBOLIC_TIMEOUT)
            if outcome.status != "ok":
                findings.append(Finding(f"symbolic {outcome.status}", outcome.message))
                continue
            found, J, T = outcome.value
        else:
            found, J, T = _evaluate_method(name, ev.inst, x0)
        findings.extend(found)
        if J is not None:
            ev.jacobians[name] = J
            ev.traceables[name] = T


def _check_traceable(ev: Evaluation, findings: list) -> None:
    for name, T in ev.traceables.items():
        if T is None:
            continue
        if isinstance(T, Exception):
            findings.append(Finding(f"{name} traceable raised {type(T).__name__}", one_line(T)))
            continue
        bad = _disagree(f"{name} traceable != jacobian", T, ev.jacobians[name], TOLERANCE)
        if bad:
            findings.append(bad)


def _check_exact(ev: Evaluation, findings: list) -> None:
    names = [m for m in EXACT if m in ev.jacobians]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            bad = _disagree(f"{a} != {b}", ev.jacobians[a], ev.jacobians[b], TOLERANCE)
            if bad:
                findings.append(bad)


def _check_reference(ev: Evaluation, findings: list) -> None:
    try:
        ev.reference = reference_jacobian(ev.inst)
    except Exception as exc:  # noqa: BLE001
        findings.append(Finding(f"reference raised {type(exc).__name__}", one_line(exc)))
        return
    ref = ev.reference
    with np.errstate(all="ignore"):
        value = np.asarray(ev.program.walk(np.array(ev.program.x0, dtype=float), numpy_xp),
                           dtype=float).reshape(-1)
    bad = _disagree("float64 value != reference value", value, ref.value, TOLERANCE)
    if bad:
        findings.append(bad)
    for name in EXACT:
        if name in ev.jacobians:
            bad = _disagree(f"{name} != reference", ev.jacobians[name], ref.jacobian, TOLERANCE)
            if bad:
                findings.append(bad)


def fd_error_bound(program: Program, inst) -> np.ndarray:
    """Per-entry bound on |fd-central - exact| at x0, shape (m, n); see the
    module docstring for the formula."""
    x0 = np.array(program.x0, dtype=float)
    m, n = inst.m, inst.n
    values = program.values()
    # Sensitivity S_j of output j to a relative rounding error in every node.
    sizes = [int(v.size) for v in values[1:]]
    magnitudes = np.concatenate([np.abs(np.ravel(v)) for v in values[1:]])

    def perturbed(p, xp):
        return program.walk(x0, xp, perturb=p)

    D = np.asarray(jacrev(perturbed)(np.zeros(sum(sizes))), dtype=float).reshape(m, -1)
    fx = np.abs(np.asarray(program.walk(x0, numpy_xp), dtype=float).reshape(m))
    S = fx + np.abs(D) @ magnitudes
    bound = np.empty((m, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0

        def d1(x, xp):
            return jvp(inst.f)(x, e)[1]

        def d2(x, xp):
            return jvp(d1)(x, e)[1]

        third = np.abs(np.asarray(jvp(d2)(x0, e)[1], dtype=float).reshape(m))
        h = default_step(float(x0[i]), 2)
        width = (x0[i] + h) - (x0[i] - h)
        truncation = third * h * h / 6
        rounding = 2 * OPS_PER_NODE * EPS * S / width
        bound[:, i] = FD_SAFETY * (truncation + rounding)
    return bound


def _check_fd(ev: Evaluation, findings: list) -> None:
    if "fd-central" not in ev.jacobians or ev.reference is None:
        return
    try:
        bound = fd_error_bound(ev.program, ev.inst)
    except Exception as exc:  # noqa: BLE001 - nested forward mode failed
        findings.append(Finding(f"fd bound (nested forward mode) raised {type(exc).__name__}",
                                one_line(exc)))
        return
    if not np.all(np.isfinite(bound)):
        findings.append(Finding("fd bound (nested forward mode) not finite",
                                f"third derivatives or sensitivities {bound.tolist()!r}"))
        return
    J, R = ev.jacobians["fd-central"], ev.reference.jacobian
    err = np.abs(J - R)
    slack = bound + 4 * EPS * np.abs(R)
    over = err > slack
    if over.any():
        j, i = np.unravel_index(int(np.argmax(err / slack)), err.shape)
        findings.append(Finding("fd-central outside its error bound",
                                f"J[{j}, {i}] = {J[j, i]!r}, reference {R[j, i]!r}: error "
                                f"{err[j, i]:.3g} > bound {slack[j, i]:.3g}"))


def _check_second_order(ev: Evaluation, findings: list) -> None:
    f = ev.inst.f
    x0 = np.array(ev.program.x0, dtype=float)
    m, n = ev.inst.m, ev.inst.n
    combos = {"fwd-over-fwd": jacfwd(jacfwd(f)), "fwd-over-rev": jacfwd(jacrev(f)),
              "rev-over-fwd": jacrev(jacfwd(f)), "rev-over-rev": jacrev(jacrev(f))}
    results = {}
    for label, fn in combos.items():
        try:
            with np.errstate(all="ignore"):
                results[label] = np.asarray(fn(x0.copy()), dtype=float).reshape(m, n, n)
        except Exception as exc:  # noqa: BLE001
            findings.append(Finding(f"hessian {label} raised {type(exc).__name__}",
                                    one_line(exc)))
    if "fwd-over-fwd" not in results:
        return
    base = results.pop("fwd-over-fwd")
    for label, H in results.items():
        bad = _disagree(f"hessian {label} != fwd-over-fwd", H, base, TOLERANCE)
        if bad:
            findings.append(bad)


def unexpected(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that are not :data:`KNOWN_LIMITATIONS`."""
    return [f for f in findings if f.check not in KNOWN_LIMITATIONS]


def check_program(program: Program, skip: Iterable[str] = ()) -> list[Finding]:
    """Every disagreement found on ``program`` (empty: all agree)."""
    skip = set(skip)
    findings: list[Finding] = []
    ev = Evaluation(program, program.problem().instance())
    steps = [("traceable", _check_traceable), ("exact", _check_exact),
             ("reference", _check_reference), ("fd", _check_fd),
             ("second-order", _check_second_order)]
    # nan and inf become findings; numpy's warnings about them are noise here
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _run_methods(ev, findings)
        for name, step in steps:
            if name not in skip:
                step(ev, findings)
        if "extra" not in skip:
            for check in EXTRA_CHECKS:
                findings.extend(check(ev))
    return findings
