"""Evaluation traces: the survey's Tables 2 and 3 for any problem.

Baydin et al. (2018) explain AD on the evaluation trace of
f(x1, x2) = ln x1 + x1 x2 - sin x2: the inputs are v_{1-n} ... v_0
(v_{-1} = x1, v_0 = x2), every elementary operation defines the next
variable v_1, v_2, ..., and

* forward mode (Table 2) carries beside each v_i its tangent v'_i = dv_i/dx_j
  for the seeded input x_j (the paper's v-dot), from v'_i = sum over the
  arguments v_k of (dv_i/dv_k) v'_k;
* reverse mode (Table 3) runs the same primal trace, then propagates adjoints
  vbar_i = dy/dv_i (the paper's v-bar) from vbar_y = 1 backwards, one
  contribution vbar_k += vbar_i dv_i/dv_k at a time, so that a variable used
  several times shows its partial sums.

The numbers come from the engine itself: forward mode from a
:class:`~adbench.ad.forward.ForwardTrace` observer, reverse mode from the
tape of a :class:`~adbench.ad.reverse.ReverseTrace` and the observer of
:func:`~adbench.ad.reverse.backward`. Variables are numbered in execution
order (Python evaluates ``ln x1 + x1 x2 - sin x2`` as ``(ln x1 + x1 x2) -
sin x2``, so v_3 is the sum and v_4 the sine, where the paper lists the sine
first); the reads ``x[i]`` of the input vector are folded into the input
variables, as the paper's x1, x2 are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from adbench.ad import record
from adbench.ad.forward import Dual, ForwardTrace
from adbench.ad.reverse import Var, backward, entry_parts
from adbench.interpret.core import primal
from adbench.interpret.primitives import getitem_p, shape_of
from adbench.interpret.xp import numpy_xp

__all__ = ["EvaluationTrace", "Row", "forward_trace", "reverse_trace", "render", "format_value"]

# How an operation is written in a trace: presentation only, never a rule.
_OPERATIONS = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "neg": "-{0}", "pow": "{0}^{1}", "exp": "exp {0}", "log": "ln {0}", "log1p": "ln(1 + {0})",
    "expm1": "exp {0} - 1", "sin": "sin {0}", "cos": "cos {0}", "tan": "tan {0}",
    "tanh": "tanh {0}", "sqrt": "sqrt {0}", "abs": "|{0}|", "sign": "sign {0}",
}


@dataclass
class Row:
    """One line of a trace: ``name = expression = value``."""

    section: str        # "inputs", "primal", "tangent", "adjoint" or "result"
    name: str
    expression: str
    value: Any

    def as_dict(self, digits: int) -> dict:
        return {"section": self.section, "name": self.name, "expression": self.expression,
                "value": format_value(self.value, digits)}


@dataclass
class EvaluationTrace:
    """A forward or reverse evaluation trace, rows in the order of the survey's tables."""

    mode: str                       # "forward" or "reverse"
    x: np.ndarray
    seed: str                       # which input (forward) or output (reverse) is seeded
    rows: list[Row] = field(default_factory=list)

    def section(self, name: str) -> list[Row]:
        return [r for r in self.rows if r.section == name]

    def value_of(self, section: str, name: str, which: int = -1):
        """The value of row ``name`` of a section; ``which`` picks among repeats
        (adjoints are written once per contribution; -1 is the final sum)."""
        matches = [r.value for r in self.rows if r.section == section and r.name == name]
        if not matches:
            raise KeyError(f"no row {name!r} in the {section} section")
        return matches[which]


def format_value(value, digits: int = 3) -> str:
    """A float with ``digits`` decimals (trailing zeros dropped), or an array summary."""
    value = primal(value)
    if np.ndim(value) == 0:
        v = float(np.real(value))
        if v == 0:
            return "0"
        if 1e-3 <= abs(v) < 1e7:
            text = f"{v:.{digits}f}".rstrip("0").rstrip(".")
            return "0" if text in ("-0", "") else text
        return f"{v:.{digits}e}"
    arr = np.asarray(value, dtype=float)
    items = [format_value(a, digits) for a in arr.ravel()[:4]]
    more = ", ..." if arr.size > 4 else ""
    return f"[{', '.join(items)}{more}] ({'x'.join(map(str, arr.shape))})"


def _format_index(idx) -> str:
    def one(i):
        if isinstance(i, slice):
            parts = ["" if p is None else str(p) for p in (i.start, i.stop, i.step)]
            return ":".join(parts[:2] if i.step is None else parts)
        if i is None:
            return "None"
        if i is Ellipsis:
            return "..."
        if isinstance(i, (list, np.ndarray)):
            return str(np.asarray(i).tolist())
        return str(i)
    return ", ".join(one(i) for i in idx) if isinstance(idx, tuple) else one(idx)


def _variable(k: int) -> str:
    return f"v_{k}"


def _tangent(name: str) -> str:
    return name.replace("v_", "v'_", 1) if name.startswith("v_") else name + "'"


def _bar(name: str) -> str:
    return name.replace("v_", "vbar_", 1) if name.startswith("v_") else name + "bar"


class _Namer:
    """Names the variables of a trace: inputs v_{1-n}..v_0 (the vector x itself
    is ``x``), then v_1, v_2, ... in execution order."""

    def __init__(self, n: int, digits: int):
        self.n = n
        self.digits = digits
        self.count = 0

    def input(self, i: int) -> str:
        return _variable(i + 1 - self.n)

    def fresh(self) -> str:
        self.count += 1
        return _variable(self.count)

    def constant(self, value) -> str:
        text = format_value(value, self.digits)
        return f"({text})" if text.startswith("-") else text


def _operation(prim, operands: list[str], params: dict) -> str:
    if prim is getitem_p:
        return f"{operands[0]}[{_format_index(params['idx'])}]"
    pattern = _OPERATIONS.get(prim.name)
    if pattern is not None and len(operands) == pattern.count("{"):
        return pattern.format(*operands)
    extra = [f"{k}={v}" for k, v in params.items() if v is not None and v is not False]
    return f"{prim.name}({', '.join(operands + extra)})"


def _scalar_read_of(x_is, prim, params) -> int | None:
    """The input position i when the operation is the read x[i] of the input vector."""
    if prim is getitem_p and x_is:
        idx = params["idx"]
        if isinstance(idx, (int, np.integer)):
            return int(idx)
    return None


def _check_point(f, x) -> tuple[np.ndarray, int]:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"the point must be a non-empty vector, got shape {x.shape}")
    return x, x.size


def forward_trace(f: Callable, x, wrt: int = 0, digits: int = 3) -> EvaluationTrace:
    """The forward-mode evaluation trace of ``f(x, xp)`` at ``x``, with the
    tangent seeded on input ``wrt`` (0-based): x' = e_wrt (Table 2).

    Raises ValueError for an input index out of range.
    """
    x, n = _check_point(f, x)
    if not 0 <= wrt < n:
        raise ValueError(f"input {wrt + 1} does not exist: the function has {n} inputs")
    namer = _Namer(n, digits)
    seed = np.zeros(n)
    seed[wrt] = 1.0
    names: dict[int, str] = {}
    keep: list = []  # keeps every box alive, so that ids stay unique
    result = EvaluationTrace("forward", x, seed=f"x{wrt + 1}")
    for i in range(n):
        name = namer.input(i)
        result.rows.append(Row("primal", name, f"x{i + 1}", x[i]))
        result.rows.append(Row("tangent", _tangent(name), f"x{i + 1}'", seed[i]))

    def name_of(a) -> str:
        return names.get(id(a)) or namer.constant(a)

    def observe(prim, args, params, out):
        keep.append(out)
        read = _scalar_read_of(args and args[0] is xbox, prim, params)
        if read is not None:
            names[id(out)] = namer.input(read % n)
            return
        operands = [name_of(a) for a in args]
        name = namer.fresh()
        names[id(out)] = name
        result.rows.append(Row("primal", name, _operation(prim, operands, params), primal(out)))
        terms = [f"(d{name}/d{operands[k]}) {_tangent(operands[k])}"
                 for k, a in enumerate(args) if id(a) in names and k not in prim.nondiff]
        tangent = out.tangent if type(out) is Dual and out.trace is trace else 0.0
        result.rows.append(Row("tangent", _tangent(name), " + ".join(terms) or "0", tangent))

    trace = ForwardTrace(observer=observe)
    xbox = Dual(x, seed, trace)
    names[id(xbox)] = "x"
    y = f(xbox, numpy_xp)
    if isinstance(y, (list, tuple)):
        from adbench.interpret.primitives import array
        y = array(y)
    name = names.get(id(y), namer.constant(y))
    _, t = trace.tangent_of(y)
    result.rows.append(Row("result", "y", name, primal(y)))
    result.rows.append(Row("result", f"dy/dx{wrt + 1}", _tangent(name),
                           np.zeros(shape_of(y)) if t is None else t))
    return result


def reverse_trace(f: Callable, x, output: int = 0, digits: int = 3) -> EvaluationTrace:
    """The reverse-mode evaluation trace of ``f(x, xp)`` at ``x`` (Table 3): the
    primal trace as recorded on the tape, then every adjoint contribution in
    the order the backward sweep makes it, with the cotangent seeded on output
    ``output`` (0-based; a scalar function has only output 0).

    Raises ValueError for an output index out of range.
    """
    x, n = _check_point(f, x)
    namer = _Namer(n, digits)
    trace, xv, y = record(f, x, keep_all=True)
    out_shape = shape_of(y)
    m = int(np.prod(out_shape, dtype=int))
    if not 0 <= output < m:
        raise ValueError(f"output {output + 1} does not exist: the function has {m} outputs")
    result = EvaluationTrace("reverse", x, seed=f"y{output + 1}" if m > 1 else "y")
    names: dict[int, str] = {xv.index: "x"}
    folded: set[int] = set()
    for i in range(n):
        result.rows.append(Row("primal", namer.input(i), f"x{i + 1}", x[i]))
    for i, entry in enumerate(trace.tape):
        if entry is None:
            continue
        prim, parents, primals, out, params = entry_parts(entry)
        by_position = dict(parents)
        read = _scalar_read_of(by_position.get(0) == xv.index, prim, params)
        if read is not None:
            names[i] = namer.input(read % n)
            folded.add(i)
            continue
        operands = [names[by_position[k]] if k in by_position else namer.constant(a)
                    for k, a in enumerate(primals)]
        names[i] = namer.fresh()
        result.rows.append(Row("primal", names[i], _operation(prim, operands, params), out))
    y_name = names.get(y.index, "y") if isinstance(y, Var) and y.trace is trace else None
    result.rows.append(Row("result", "y", y_name or namer.constant(y), primal(y)))
    if y_name is None:
        return result

    seed = np.zeros(out_shape)
    seed.reshape(-1)[output] = 1.0
    seed = float(seed) if out_shape == () else seed
    result.rows.append(Row("adjoint", _bar(y_name), "ybar", seed))
    shown: dict[str, Any] = {}

    def observe(i, k, j, contribution, adjoint):
        if i in folded:  # x[i] read: the folded input variable passes its adjoint to x
            return
        target = names[j]
        term = f"{_bar(names[i])} * d{names[i]}/d{target}"
        if target in shown:
            shown[target] = shown[target] + primal(contribution)
            expression = f"{_bar(target)} + {term}"
        else:
            shown[target] = primal(contribution)
            expression = term
        result.rows.append(Row("adjoint", _bar(target), expression, shown[target]))

    adjoints = backward(trace, y, seed, observer=observe)
    gradient = adjoints[xv.index]
    gradient = np.zeros(n) if gradient is None else np.asarray(primal(gradient), dtype=float)
    vector_reads = "x" in shown
    for i in range(n):
        source = "xbar[{}]".format(i) if vector_reads else _bar(namer.input(i))
        result.rows.append(Row("result", f"xbar_{i + 1}", source, gradient[i]))
    return result


def render(trace: EvaluationTrace, fmt: str = "text", digits: int = 3, title: str = "") -> str:
    """The trace as aligned text, a markdown table or CSV."""
    import csv
    import io

    rows = [r.as_dict(digits) for r in trace.rows]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["section", "name", "expression", "value"],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    headings = {"primal": "Forward primal trace", "tangent": "Forward tangent trace",
                "adjoint": "Reverse adjoint trace", "result": "Result"}
    parts = [title] if title else []
    if trace.mode == "forward":
        primal_rows = trace.section("primal")
        tangent_rows = trace.section("tangent")
        table = [[p.name, "=", p.expression, "=", format_value(p.value, digits), "",
                  t.name, "=", t.expression, "=", format_value(t.value, digits)]
                 for p, t in zip(primal_rows, tangent_rows, strict=True)]
        header = ["", "", headings["primal"], "", "", "", "", "", headings["tangent"], "", ""]
        parts.append(_table(table, header, fmt))
    else:
        for section in ("primal", "adjoint"):
            table = [[r.name, "=", r.expression, "=", format_value(r.value, digits)]
                     for r in trace.section(section)]
            parts.append(_table(table, ["", "", headings[section], "", ""], fmt))
    table = [[r.name, "=", r.expression, "=", format_value(r.value, digits)]
             for r in trace.section("result")]
    parts.append(_table(table, ["", "", headings["result"], "", ""], fmt))
    return "\n\n".join(parts)


def _table(rows, header, fmt) -> str:
    from tabulate import tabulate
    if fmt == "md":
        return tabulate(rows, headers=header, tablefmt="github", disable_numparse=True)
    return tabulate(rows, headers=header, tablefmt="simple", disable_numparse=True)
