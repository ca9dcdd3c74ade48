"""Shrinking: a failing program reduced to a smallest one with the same kind
of finding (nodes bypassed, constants rounded, dead code removed).
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from adbench.interpret.xp import numpy_xp
from adbench.studies.fuzz.checks import check_program
from adbench.studies.fuzz.generate import _dead_code_removed
from adbench.studies.fuzz.program import Node, Program, _compiled


def _valid(program: Program) -> bool:
    """Evaluates at x0 without a floating-point error to finite, bounded values."""
    if not program.outputs:
        return False
    try:
        values = [np.array(program.x0, dtype=float)]
        with np.errstate(divide="raise", invalid="raise", over="raise", under="ignore"):
            for node in program.nodes:
                v = np.asarray(_compiled(node.expr, len(node.args))(
                    numpy_xp, *(values[a] for a in node.args)), dtype=float)
                if not np.all(np.isfinite(v)) or v.ndim > 2:
                    return False
                values.append(v)
    except Exception:  # noqa: BLE001 - an edit broke the program: not a candidate
        return False
    return True


def _bypassed(program: Program, k: int, by: int) -> Program:
    """Node k replaced everywhere by value ``by`` (an earlier value)."""
    def sub(a):
        return by if a == k else a
    nodes = tuple(Node(nd.expr, tuple(map(sub, nd.args)), nd.primitive) for nd in program.nodes)
    outputs = tuple(dict.fromkeys(map(sub, program.outputs)))
    return _dead_code_removed(Program(program.x0, nodes, outputs))


def _candidates(program: Program) -> Iterator[Program]:
    values = program.values()
    if len(program.outputs) > 1:
        for i in range(len(program.outputs)):
            yield _dead_code_removed(Program(program.x0, program.nodes,
                                             program.outputs[:i] + program.outputs[i + 1:]))
    for k in range(len(program.nodes), 0, -1):
        for a in dict.fromkeys(program.nodes[k - 1].args):
            if values[a].shape == values[k].shape or k in program.outputs:
                yield _bypassed(program, k, a)
    if program.n > 1:
        yield Program(program.x0[:-1], program.nodes, program.outputs)
    for i, v in enumerate(program.x0):
        for simpler in (round(v, 1), float(round(v))):
            if simpler != v:
                yield Program(program.x0[:i] + (simpler,) + program.x0[i + 1:], program.nodes,
                              program.outputs)


def shrink(program: Program, kind: str, check: Callable[[Program], list] = check_program,
           budget: int = 200) -> Program:
    """A smaller program on which ``check`` still reports a finding of ``kind``
    (greedy: the first accepted edit is kept, until no edit is accepted)."""
    best = program
    improved = True
    while improved and budget > 0:
        improved = False
        for cand in _candidates(best):
            if not _valid(cand):
                continue
            budget -= 1
            try:
                found = check(cand)
            except Exception:  # noqa: BLE001 - a candidate the checker cannot handle
                found = []
            if any(f.check == kind for f in found):
                best, improved = cand, True
                break
            if budget <= 0:
                break
    return best
