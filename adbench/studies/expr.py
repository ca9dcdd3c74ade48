"""Expressions typed by a user, such as ``log(x) + x*y - sin(y)``, as problems.

The text is parsed by Python's :mod:`ast` (parsing only: nothing is ever
compiled or evaluated by Python) and every node is checked against a strict
whitelist: numbers, variable names, the binary operators ``+ - * / **``,
unary ``-`` and ``+``, parentheses and calls of the known functions of
:mod:`adbench.interpret.xp` with positional arguments. Anything else (attributes,
subscripts, calls of unknown names, keyword arguments, lambdas, strings,
comparisons, conditional expressions...) raises :class:`ExpressionError`
with a one-line message naming the construct and its column.

The checked tree is flattened into a postfix program (a list of
instructions) run by a stack machine, so that evaluation needs no recursion
and works unchanged on every ``xp`` (float64, mpmath, SymPy, AD values):
:func:`expression_problem` turns it into a :class:`~adbench.problem.Problem`
that every method and the reference differentiate like any other.
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

from adbench.interpret.xp import ELEMENTWISE
from adbench.problem import Problem

__all__ = ["Expression", "ExpressionError", "parse_expression", "parse_point",
           "expression_problem", "FUNCTIONS", "CONSTANTS", "MAX_LENGTH"]

MAX_LENGTH = 5000

#: Elementwise xp functions that have an operator spelling (or need a
#: boolean argument) and so are not offered as calls.
_NOT_CALLABLE = {"add", "subtract", "multiply", "divide", "negative", "where"}

#: Callable functions -> number of arguments, from the primitive table.
FUNCTIONS: dict[str, int] = {name: len(prim.lin) for name, prim in sorted(ELEMENTWISE.items())
                             if name not in _NOT_CALLABLE and prim.lin is not None}

#: Names that stand for constants unless given a value with --at.
CONSTANTS = {"pi": math.pi, "e": math.e}

_BINARY = {ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub),
           ast.Mult: ("*", operator.mul), ast.Div: ("/", operator.truediv),
           ast.Pow: ("**", operator.pow)}
_UNARY = {ast.USub: ("-", operator.neg), ast.UAdd: ("+", operator.pos)}

#: What the user is told a refused node is.
_DESCRIBE = {
    ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
    ast.Compare: "comparison", ast.IfExp: "conditional expression",
    ast.BoolOp: "boolean operator", ast.Starred: "starred argument",
    ast.Tuple: "tuple", ast.List: "list", ast.Dict: "dict", ast.Set: "set",
    ast.ListComp: "comprehension", ast.SetComp: "comprehension",
    ast.DictComp: "comprehension", ast.GeneratorExp: "generator expression",
    ast.JoinedStr: "f-string", ast.FormattedValue: "f-string", ast.NamedExpr: "assignment (:=)",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "slice",
}


class ExpressionError(ValueError):
    """An expression or a point that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Expression:
    """A checked expression.

    text : what was typed.
    variables : the variable names, in order of first appearance.
    program : postfix instructions: ``("const", value)``, ``("var", name)``,
        ``("unary", symbol)``, ``("binary", symbol)``, ``("call", name, nargs)``.
    """

    text: str
    variables: tuple
    program: tuple

    def evaluate(self, values: Mapping[str, object], xp):
        """The expression at ``values`` (name -> number of any xp kind)."""
        stack: list = []
        for instr in self.program:
            op = instr[0]
            if op == "const":
                stack.append(instr[1])
            elif op == "var":
                stack.append(values[instr[1]])
            elif op == "unary":
                stack.append(_constant_or(instr[1], stack.pop()))
            elif op == "binary":
                right = stack.pop()
                stack.append(_constant_or(instr[1], stack.pop(), right))
            else:  # call
                _, name, nargs = instr
                args = stack[len(stack) - nargs:]
                del stack[len(stack) - nargs:]
                stack.append(getattr(xp, name)(*args))
        (result,) = stack
        return result


def _constant_or(symbol: str, *args):
    """The operator ``symbol`` applied to ``args``; on constants alone (Python
    floats) in float64, as f is evaluated, and ExpressionError if the result is
    not finite: Python's own float arithmetic would raise on 10**400 or 1/0 and
    make (-8)**(1/3) a complex number, and a real expression whose constant part
    is inf or nan has no derivative to compare."""
    shown = [f"({a!r})" if isinstance(a, float) and a < 0 else repr(a) for a in args]
    if len(args) == 1:
        fn, text = _UNARY_BY_SYMBOL[symbol], f"{symbol}{shown[0]}"
    else:
        fn, text = _BINARY_BY_SYMBOL[symbol], f"{shown[0]} {symbol} {shown[1]}"
    if not all(type(a) is float for a in args):
        return fn(*args)
    import numpy as np
    with np.errstate(all="ignore"):
        value = float(fn(*(np.float64(a) for a in args)))
    if not math.isfinite(value):
        raise ExpressionError(f"the constant {text} is {value} in float64 (not a finite real "
                              "number)")
    return value


_UNARY_BY_SYMBOL = {sym: fn for sym, fn in _UNARY.values()}
_BINARY_BY_SYMBOL = {sym: fn for sym, fn in _BINARY.values()}


def _where(node: ast.AST, text: str) -> str:
    """`` 'x[0]' at column 3``: the offending text and where it starts."""
    segment = ast.get_source_segment(text, node)
    if segment and len(segment) > 40:
        segment = segment[:37] + "..."
    col = getattr(node, "col_offset", None)
    at = f" at column {col + 1}" if col is not None else ""
    return (f" {segment!r}" if segment else "") + at


def _refuse(what: str, node: ast.AST, text: str, hint: str = "") -> ExpressionError:
    """``<what> is not allowed: '<text>' at column N[; hint] (allowed: ...)``."""
    msg = f"{what} is not allowed:{_where(node, text)}"
    return ExpressionError(msg + (f"; {hint}" if hint else "") + ALLOWED)


ALLOWED = (" (allowed: numbers, variables, + - * / **, unary -, parentheses and the "
           "functions " + ", ".join(sorted(set(FUNCTIONS) - {"absolute"})) + ")")


def _check(node: ast.AST, text: str, constants: Mapping[str, float]) -> None:
    """Raise ExpressionError unless ``node`` is one of the allowed kinds."""
    if isinstance(node, ast.Expression):
        return
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            kind = {str: "string", bytes: "bytes", complex: "complex number",
                    bool: "boolean"}.get(type(v), type(v).__name__)
            if v is None or v is Ellipsis:
                kind = repr(v)
            raise _refuse(kind, node, text)
        try:
            finite = math.isfinite(float(v))
        except OverflowError:
            finite = False
        if not finite:
            raise ExpressionError(f"number out of the float64 range:{_where(node, text)}")
        return
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _refuse("name", node, text, "names starting with _ are reserved")
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            symbol = {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<",
                      ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^",
                      ast.BitAnd: "&"}.get(type(node.op), type(node.op).__name__)
            hint = "write x**y for a power" if symbol == "^" else ""
            raise _refuse(f"operator {symbol}", node, text, hint)
        return
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            symbol = {ast.Not: "not", ast.Invert: "~"}.get(type(node.op), "?")
            raise _refuse(f"operator {symbol}", node, text)
        return
    if isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            raise _refuse("call of an expression", node, text)
        if func.id not in FUNCTIONS:
            raise _refuse(f"unknown function {func.id!r}", node, text)
        if node.keywords:
            raise _refuse("keyword argument", node.keywords[0], text)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise _refuse("starred argument", arg, text)
        if len(node.args) != FUNCTIONS[func.id]:
            raise ExpressionError(
                f"{func.id}() takes {FUNCTIONS[func.id]} argument"
                f"{'s' if FUNCTIONS[func.id] != 1 else ''}, got {len(node.args)}:"
                f"{_where(node, text)}")
        return
    if isinstance(node, (ast.Load, ast.operator, ast.unaryop)):
        return
    kind = _DESCRIBE.get(type(node), type(node).__name__)
    raise _refuse(kind, node, text)


def parse_expression(text: str, constants: Mapping[str, float] = CONSTANTS) -> Expression:
    """Check ``text`` and compile it to a postfix program; ExpressionError if it
    is not an allowed expression.

    Names of functions may only be called; ``pi`` and ``e`` are constants
    (unless the caller removes them from ``constants``); every other name is a
    variable.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression of {len(text)} characters; at most {MAX_LENGTH}")
    if "\n" in text or "\r" in text:
        raise ExpressionError("the expression must be on one line")
    try:
        with warnings.catch_warnings():  # '0x1for': Python warns, then fails; one line
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        shown = text.strip() if len(text.strip()) <= 60 else text.strip()[:57] + "..."
        raise ExpressionError(f"cannot parse {shown!r}{where}: {exc.msg}") from None
    except ValueError as exc:  # null bytes, on some Python versions
        raise ExpressionError(f"cannot parse the expression: {exc}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression too deeply nested") from None
    text = text.strip()
    # ast.walk is breadth-first and iterative: every node is checked before
    # anything is built from the tree.
    for node in ast.walk(tree):
        _check(node, text, constants)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in called and node.id in FUNCTIONS:
            raise _refuse(f"function {node.id!r} used as a value", node, text,
                          f"call it: {node.id}(...)")
    program: list = []
    variables: list = []
    # Iterative post-order traversal: deep expressions cannot overflow the stack.
    todo: list = [(tree.body, False)]
    while todo:
        node, expanded = todo.pop()
        if isinstance(node, ast.Constant):
            # float, never int: Python would compute 9**9**9**9 exactly (forever)
            program.append(("const", float(node.value)))
        elif isinstance(node, ast.Name):
            if node.id in constants:
                program.append(("const", constants[node.id]))
            else:
                if node.id not in variables:
                    variables.append(node.id)
                program.append(("var", node.id))
        elif expanded:
            if isinstance(node, ast.BinOp):
                program.append(("binary", _BINARY[type(node.op)][0]))
            elif isinstance(node, ast.UnaryOp):
                program.append(("unary", _UNARY[type(node.op)][0]))
            else:
                program.append(("call", node.func.id, len(node.args)))
        else:
            todo.append((node, True))
            children = ([node.left, node.right] if isinstance(node, ast.BinOp)
                        else [node.operand] if isinstance(node, ast.UnaryOp)
                        else list(node.args))
            todo.extend((child, False) for child in reversed(children))
    return Expression(text, tuple(variables), tuple(program))


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ExpressionError(f"--at {name}={text}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ExpressionError(f"--at {name}={text}: the value must be finite")
    return value


def parse_point(specs: Sequence[str] | str) -> dict[str, float]:
    """``"x=2,y=5"`` (or several such strings) -> ``{"x": 2.0, "y": 5.0}``, in order."""
    if isinstance(specs, str):
        specs = [specs]
    point: dict[str, float] = {}
    for spec in specs:
        for part in spec.split(","):
            name, eq, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if not eq or not name or not value:
                raise ExpressionError(f"malformed --at {part.strip()!r}: expected NAME=VALUE "
                                      "pairs separated by commas, such as x=2,y=5")
            if not name.isidentifier() or name.startswith("_"):
                raise ExpressionError(f"--at {part.strip()!r}: {name!r} is not a variable name")
            if name in point:
                raise ExpressionError(f"--at gives {name} twice")
            point[name] = _number(value, name)
    return point


def expression_problem(text: str, at: Mapping[str, float] | Sequence[str] | str) -> Problem:
    """A :class:`~adbench.problem.Problem` for the expression ``text`` at the
    point ``at``; its variables, in the order of ``at``, make up x (n of them,
    m = 1), and x0 is the point.

    ``at`` may be a mapping or ``--at`` strings. A name given a value in ``at``
    is a variable even if it is a constant's name (``pi``, ``e``).
    ExpressionError if a variable of the expression has no value, or ``at``
    names a variable the expression does not use.
    """
    point = dict(at) if isinstance(at, Mapping) else parse_point(at)
    constants = {k: v for k, v in CONSTANTS.items() if k not in point}
    expr = parse_expression(text, constants)
    if not expr.variables:
        raise ExpressionError(f"{expr.text!r} has no variables to differentiate with respect to")
    missing = [v for v in expr.variables if v not in point]
    if missing:
        raise ExpressionError(f"no value for {', '.join(missing)}: give it with --at, such as "
                              f"--at {','.join(f'{v}=1' for v in expr.variables)}")
    extra = [k for k in point if k not in expr.variables]
    if extra:
        raise ExpressionError(f"--at {', '.join(extra)}: not a variable of {expr.text!r} "
                              f"(its variables: {', '.join(expr.variables)})")
    order = list(point)
    index = {name: i for i, name in enumerate(order)}

    def f(x, xp):
        return expr.evaluate({name: x[i] for name, i in index.items()}, xp)

    prob = Problem(f, name="expression", n=len(order), m=1, x0=[point[v] for v in order],
                   tags=["expression"], description=expr.text)
    prob.expression = expr
    prob.variables = tuple(order)
    return prob


# --------------------------------------------------------------------------
# Every method on one expression
# --------------------------------------------------------------------------

#: Metric columns shown by :func:`differentiate` when the run measures them.
OPS_COLUMNS = ("ops_derivative", "ops_ratio")


def _one_method(inst, method, reference):
    """The Jacobian of one method at x0, its error against the reference and
    the op-count columns (only the metrics that produce them, not timing)."""
    import numpy as np

    from adbench.measure.accuracy import compare
    from adbench.measure.harness import METRICS, Context
    from adbench.methods import Unsupported

    try:
        prepared = method.prepare(inst)
    except Unsupported as exc:
        return {"status": "unsupported", "message": str(exc)}
    x = inst.x0.copy()
    with np.errstate(all="ignore"):
        J = prepared.jacobian(x)
    row = {"status": "ok", "message": "", "jacobian": J}
    if not np.all(np.isfinite(J)):
        row.update(status="nonfinite", message="the derivative is not finite here")
        return row
    if reference is not None:
        row.update(compare(J, reference.jacobian, method.tolerance))
    ctx = Context(inst, method, prepared, reference, J, x)
    for metric in METRICS:
        if not set(metric.columns) & set(OPS_COLUMNS):
            continue
        if metric.methods and method.name not in metric.methods:
            continue
        try:
            row.update({k: v for k, v in metric.compute(ctx).items() if k in OPS_COLUMNS})
        except Exception as exc:  # noqa: BLE001 - a failed count is a note, not a crash
            row["message"] = f"{metric.name}: {type(exc).__name__}: {exc}"
    return row


def differentiate(text: str, at, methods: Sequence[str] = (), timeout: float | None = 60.0,
                  isolate: bool = True):
    """Differentiate the expression ``text`` at ``at`` with each method.

    Returns ``(table, info)``: ``table`` is a DataFrame with one row for the
    reference and one per method: ``method``, ``status``, the partial
    derivatives ``d/d<variable>``, ``max_rel_error`` (rho against the
    reference), the op-count columns when the run measures them, and
    ``message``. ``info`` holds the problem, the float64 value of f at the
    point and the reference (None, with the reason in ``info["note"]``, if
    the reference could not be computed, for example outside the domain).
    Each method runs in a worker killed after ``timeout`` seconds.
    """
    import numpy as np
    import pandas as pd

    from adbench.interpret.xp import numpy_xp
    from adbench.measure.harness import check_output
    from adbench.measure.isolation import run_isolated
    from adbench.measure.reference import WORKING_DPS, reference_jacobian
    from adbench.methods import DEFAULT_METHODS, METHODS, get_method

    prob = expression_problem(text, at)
    inst = prob.instance()
    chosen = [get_method(m) for m in methods] if methods else \
        [METHODS[name] for name in DEFAULT_METHODS]
    with np.errstate(all="ignore"):
        value = np.asarray(inst.f(inst.x0.copy(), numpy_xp))
    if np.iscomplexobj(value):
        raise ExpressionError(f"{prob.expression.text!r} has the complex value {complex(value)} "
                              "at the point; only real values can be differentiated here")
    value = float(value)
    partials = [f"d/d{v}" for v in prob.variables]
    failed = check_output(inst)
    if failed is not None:  # as a run does: no method differentiates what f cannot evaluate
        status, message = failed
        rows = [{"method": m.name, "status": status, "message": message} for m in chosen]
        table = pd.DataFrame(rows).reindex(columns=["method", "status", *partials,
                                                    "max_rel_error", "message"])
        return table, {"problem": prob, "value": value, "reference": None,
                       "note": f"no reference: {message}"}
    outcome = run_isolated(reference_jacobian, (inst,), timeout, isolate=isolate)
    reference = outcome.value if outcome.status == "ok" else None
    note = "" if reference is not None else f"no reference: {outcome.message}"
    rows = []
    if reference is not None:
        rows.append({"method": "reference", "status": "ok",
                     **dict(zip(partials, reference.jacobian[0], strict=True)),
                     "message": f"mpmath, {WORKING_DPS} digits"})
    for method in chosen:
        got = run_isolated(_one_method, (inst, method, reference), timeout, isolate=isolate)
        result = got.value if got.status == "ok" else {"status": got.status,
                                                         "message": got.message}
        row = {"method": method.name, "status": result["status"]}
        if "jacobian" in result:
            row.update(zip(partials, np.asarray(result["jacobian"])[0], strict=True))
        for column in ("max_rel_error", *OPS_COLUMNS):
            if column in result:
                row[column] = result[column]
        row["message"] = result.get("message", "")
        rows.append(row)
    columns = ["method", "status", *partials, "max_rel_error",
               *[c for c in OPS_COLUMNS if any(c in r for r in rows)], "message"]
    table = pd.DataFrame(rows).reindex(columns=columns)
    info = {"problem": prob, "value": value, "reference": reference, "note": note}
    return table, info
