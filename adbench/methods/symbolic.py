"""Symbolic differentiation: run the problem on SymPy symbols, differentiate the
expression, eliminate common subexpressions, compile.

Each stage is separate (and timed by the harness): :func:`derive` runs f on
symbols and differentiates, ``sympy.cse`` turns the tree into a DAG of shared
subexpressions, and ``lambdify`` compiles it to numpy code. The same CSE'd DAG
can also be evaluated with the primitive table's functions
(:func:`evaluate_xp`), which is how its operations are counted.
"""

from __future__ import annotations

import functools
import operator
import time

import numpy as np
import sympy

from adbench.interpret import primitives as P
from adbench.interpret.core import primal
from adbench.interpret.xp import numpy_xp, sympy_xp
from adbench.methods.base import Method, Prepared, Unsupported, as_jacobian

__all__ = ["Symbolic", "derive", "tree_size", "evaluate_xp", "SIZE_BUDGET"]

#: Largest derivative, in tree nodes, that is compiled (beyond it lambdify and
#: CSE take minutes and gigabytes); the row then says why.
SIZE_BUDGET = 2_000_000


def tree_size(exprs) -> int:
    """Number of nodes of the expressions as trees (shared subtrees counted at
    every occurrence), computed on the DAG in linear time."""
    memo: dict = {}

    def size(e):
        got = memo.get(e)
        if got is None:
            got = 1 + sum(size(a) for a in e.args)
            memo[e] = got
        return got

    total = 0
    for e in exprs:
        stack = [(e, False)]
        while stack:  # iterative post-order: deep expressions must not recurse
            node, ready = stack.pop()
            if node in memo:
                continue
            if ready:
                memo[node] = 1 + sum(memo[a] for a in node.args)
            else:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in memo)
        total += size(e)
    return total


def symbols_for(n: int):
    return sympy.symbols(f"x0:{n}", real=True)


def run_on_symbols(inst):
    """f on symbols: the list of m output expressions."""
    syms = symbols_for(inst.n)
    try:
        y = inst.f(np.array(syms, dtype=object), sympy_xp)
    except NotImplementedError as exc:  # a function of xp with no SymPy form says why
        raise Unsupported(str(exc)) from exc
    except TypeError as exc:
        if "truth value" in str(exc) or "Relational" in str(exc):
            raise Unsupported("control flow depends on the input (a Python `if` or loop test "
                              "on a symbolic value), so there is no closed form to "
                              "differentiate") from exc
        raise
    outputs = [_zero_base_powers(sympy.sympify(v)) for v in np.ravel(np.array(y, dtype=object))]
    if len(outputs) != inst.m:
        raise ValueError(f"f returned {len(outputs)} outputs, expected m = {inst.m}")
    return syms, outputs


def _zero_base_powers(expr):
    """``expr`` with each power 0**u of a variable exponent u written
    Piecewise((0, u > 0), (0**u, True)).

    SymPy differentiates b**u into b**u (u' log b + ...), which for b = 0 is
    0 * zoo: nan, and SymPy then collapses the whole derivative to nan. But 0**u
    is 0 for every u > 0, so its derivative there is 0, which is what AD's rule
    gives; the Piecewise says so. (A base that is an expression vanishing at the
    point, rather than the number 0, still gives nan after lambdify.)
    """
    found, seen, stack = {}, set(), [expr]
    while stack:  # over the DAG, each shared subexpression once (expr.replace walks the tree)
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if e.is_Pow and e.base.is_zero and not e.exp.is_Number:
            found[e] = sympy.Piecewise((sympy.S.Zero, e.exp > 0), (e, True))
        stack.extend(e.args)
    return expr.xreplace(found) if found else expr


def derive(inst):
    """(symbols, outputs, Jacobian entries row-major), without simplification."""
    syms, outputs = run_on_symbols(inst)
    size = tree_size(outputs)
    if size > SIZE_BUDGET:
        raise Unsupported(f"size budget exceeded: f has {size} tree nodes "
                          f"(budget {SIZE_BUDGET})")
    entries = [_almost_everywhere(sympy.diff(y, s)) for y in outputs for s in syms]
    return syms, outputs, entries


#: SymPy functions that are piecewise constant: their derivative is 0 almost everywhere.
PIECEWISE_CONSTANT = (sympy.sign, sympy.Heaviside, sympy.floor, sympy.ceiling)


def _almost_everywhere(expr):
    """The derivative with the derivatives of sign, Heaviside, floor and ceiling
    set to 0.

    All are piecewise constant: their derivative is 0 away from the jumps,
    which is what AD's rules give. SymPy writes it as a DiracDelta, or, when
    it cannot tell that the argument is real (sign(log x)), leaves
    Derivative(sign(u), x) unevaluated; numpy evaluates neither (lambdify
    fails with NameError or PrintMethodNotImplementedError). Any other
    derivative left unevaluated is Unsupported, naming the function.
    """
    if expr.has(sympy.DiracDelta):
        expr = expr.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
    if expr.has(sympy.Derivative):
        if expr.has(sympy.Subs):  # d floor(u(x)) = Subs(Derivative(floor(xi)), xi, u) u'
            # that factor is 0: replaced whole, first (replacing the Derivative inside
            # it first, or evaluating it, makes SymPy rebuild a product whose factors
            # it then orders by comparing Relationals, a TypeError, when u holds another
            # floor, as mod(floor(x), y) does)
            expr = expr.replace(
                lambda e: (isinstance(e, sympy.Subs) and isinstance(e.expr, sympy.Derivative)
                           and isinstance(e.expr.expr, PIECEWISE_CONSTANT)),
                lambda e: sympy.S.Zero)
        expr = expr.replace(
            lambda e: isinstance(e, sympy.Derivative) and isinstance(e.expr, PIECEWISE_CONSTANT),
            lambda e: sympy.S.Zero)
        if expr.has(sympy.Subs):
            expr = expr.replace(lambda e: isinstance(e, sympy.Subs), lambda e: e.doit())
        left = next(iter(expr.atoms(sympy.Derivative)), None)
        if left is not None:
            raise Unsupported(f"SymPy leaves the derivative of {left.expr.func.__name__} "
                              "unevaluated")
    return expr


def _printable(expr):
    """``expr`` for lambdify: the same values, in forms SymPy's NumPy printer
    handles well.

    * Heaviside(u) is written (sign(u) + 1) / 2 (1/2 at 0 included): the
      printer turns Heaviside(x0 - Max(x1, x2, x3)), the derivative of a max,
      into a Piecewise over ITE conditions and simplifies them logically,
      seconds per Jacobian entry, growing combinatorially with the arguments.
    * ITE(c, a, b) (nested xp.where) is written (c & a) | (~c & b): when CSE
      has made a variable of it, the printer writes it as numpy.select with
      default nan, a float array, which numpy then refuses as the condition
      of the enclosing select ("invalid entry 0 in condlist").
    """
    if expr.has(sympy.Heaviside):
        expr = expr.replace(
            lambda e: isinstance(e, sympy.Heaviside) and e.args[1:] in ((), (sympy.S.Half,)),
            lambda e: (sympy.sign(e.args[0]) + 1) / 2)
    if expr.has(sympy.ITE):
        expr = expr.replace(
            lambda e: isinstance(e, sympy.ITE),
            lambda e: sympy.Or(sympy.And(e.args[0], e.args[1]),
                               sympy.And(sympy.Not(e.args[0]), e.args[2])))
    return expr


@functools.cache
def _sympy_to_primitive() -> dict:
    """SymPy function class -> the xp function of the same primitive."""
    table = {}
    for name, prim in P.PRIMITIVES.items():
        f = getattr(prim.sym, "__wrapped__", None)
        if isinstance(f, type) and issubclass(f, sympy.Basic):
            table[f] = getattr(numpy_xp, "abs" if name == "abs" else name)
    return table


#: The functions lambdify's NumPy printer has no numpy function for, by the name it
#: writes (SymPy's), mapped to the primitive table's float implementations: the symbolic
#: method evaluates them with the same functions as every other method.
LAMBDIFY_FUNCTIONS = {"erf": P.erf_p.impl, "loggamma": P.gammaln_p.impl,
                      "polygamma": P.polygamma_p.impl}


_RELATIONS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
              "==": operator.eq, "!=": operator.ne}


def _eval_node(e, env):
    if e in env:
        return env[e]
    if e.is_Number or e.is_NumberSymbol:
        return float(e)
    if isinstance(e, sympy.Piecewise):  # only the branch that holds at x is evaluated
        for expr, cond in e.args:
            if cond == sympy.true or bool(_eval_node(cond, env)):
                return _eval_node(expr, env)
        raise ValueError(f"no branch of {e} holds at this point")
    if isinstance(e, sympy.core.relational.Relational):
        lhs, rhs = (primal(_eval_node(a, env)) for a in e.args)
        return bool(_RELATIONS[e.rel_op](lhs, rhs))
    if isinstance(e, (sympy.logic.boolalg.BooleanTrue, sympy.logic.boolalg.BooleanFalse)):
        return bool(e)
    if isinstance(e, sympy.ITE):  # conditions of nested xp.where, after CSE
        return _eval_node(e.args[1] if _eval_node(e.args[0], env) else e.args[2], env)
    if isinstance(e, (sympy.And, sympy.Or, sympy.Not)):
        truth = [bool(_eval_node(a, env)) for a in e.args]
        return all(truth) if isinstance(e, sympy.And) else (
            any(truth) if isinstance(e, sympy.Or) else not truth[0])
    if isinstance(e, sympy.Heaviside):  # the derivative of Max/Min: a constant
        return float(np.heaviside(float(primal(_eval_node(e.args[0], env))), 0.5))
    args = [_eval_node(a, env) for a in e.args]
    if isinstance(e, (sympy.Max, sympy.Min)):
        return functools.reduce(P.maximum if isinstance(e, sympy.Max) else P.minimum, args)
    if e.is_Add:
        return functools.reduce(P.add, args)
    if e.is_Mul:
        if e.args[0] == -1:
            return P.negative(functools.reduce(P.multiply, args[1:]))
        return functools.reduce(P.multiply, args)
    if e.is_Pow:
        base, expo = args[0], e.args[1]
        if expo == -1:
            return P.divide(1.0, base)
        if expo == sympy.Rational(1, 2):
            return P.sqrt(base)
        if expo == 2:
            return P.multiply(base, base)
        return P.power(base, args[1])
    f = _sympy_to_primitive().get(e.func)
    if f is None:
        raise NotImplementedError(f"no primitive for SymPy {e.func.__name__}")
    return f(*args)


def evaluate_xp(syms, replacements, reduced, x):
    """Evaluate a CSE'd expression list at x with the primitive table's
    functions (so that boxed values, e.g. op counters, see every operation)."""
    env = {s: x[i] for i, s in enumerate(syms)}
    for sym, expr in replacements:
        env[sym] = _eval_node(expr, env)
    return [_eval_node(e, env) for e in reduced]


class Symbolic(Method):
    name = "symbolic"
    description = "SymPy: f run on symbols, diff, cse, lambdify to numpy"
    tolerance = 1e-12

    def prepare(self, inst):
        info = {}
        t0 = time.perf_counter()
        syms, outputs, entries = derive(inst)
        t1 = time.perf_counter()
        replacements, reduced = sympy.cse(entries)
        t2 = time.perf_counter()
        compiled = sympy.lambdify(
            syms, entries, modules=[LAMBDIFY_FUNCTIONS, "numpy"],
            cse=lambda exprs: ([(s, _printable(e)) for s, e in replacements],
                               [_printable(e) for e in reduced]))
        t3 = time.perf_counter()
        info.update(setup_derive_s=t1 - t0, setup_cse_s=t2 - t1, setup_compile_s=t3 - t2)
        m, n = inst.m, inst.n

        def jacobian(x):
            values = compiled(*np.asarray(x, dtype=float))
            flat = np.array([np.broadcast_to(v, ()) for v in values], dtype=float)
            return as_jacobian(flat.reshape(m, n), m, n)  # the entries, row by row

        def traceable(x):
            return P.reshape(P.array(evaluate_xp(syms, replacements, reduced, x)), (m, n))

        prepared = Prepared(jacobian, traceable, info)
        prepared.expressions = (syms, outputs, entries, replacements, reduced)
        prepared.compiled = compiled
        return prepared
