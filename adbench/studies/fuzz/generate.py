"""Generation: a random program node by node, each candidate evaluated at x0
and kept only if its value is finite and bounded; then its outputs.
"""

from __future__ import annotations

import numpy as np

from adbench.interpret.xp import numpy_xp
from adbench.studies.fuzz.ops import _WEIGHTS, OPS, Candidate, _Pool
from adbench.studies.fuzz.program import (
    BOUND, MAX_SIZE, Choices, HypothesisChoices, Node, Program, _compiled)


def _accept(values: list, cand: Candidate) -> np.ndarray | None:
    """The candidate's value at x0, or None if it is not finite, too large,
    too close to a boundary, or raises."""
    args = [values[a] for a in cand.args]
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise", under="ignore"):
            if cand.ok is not None and not cand.ok(*args):
                return None
            v = np.asarray(_compiled(cand.expr, len(cand.args))(numpy_xp, *args), dtype=float)
    except (FloatingPointError, ValueError, TypeError, IndexError, ZeroDivisionError,
            OverflowError):
        return None
    if v.ndim > 2 or v.size > MAX_SIZE or v.size == 0 or not np.all(np.isfinite(v)):
        return None
    if np.max(np.abs(v)) > BOUND:
        return None
    return v


def _op_names() -> list[str]:
    names = []
    for name in OPS:
        names.extend([name] * _WEIGHTS.get(name, 1))
    return names


def generate(ch: Choices, *, max_nodes: int = 8, max_n: int = 4, max_m: int = 4) -> Program:
    """A random valid program (see the module docstring)."""
    n = ch.integer(1, max_n)
    x0 = tuple(ch.constant(-2, 2) for _ in range(n))
    values = [np.array(x0)]
    nodes: list[Node] = []
    names = _op_names()
    target = max(ch.integer(1, max_nodes), ch.integer(1, max_nodes))  # larger more often
    attempts = 0
    while len(nodes) < target and attempts < 8 * max_nodes:
        attempts += 1
        op = ch.choice(names)
        cand = OPS[op](_Pool(ch, values))
        if cand is None:
            continue
        v = _accept(values, cand)
        if v is None:
            continue
        nodes.append(Node(cand.expr, tuple(cand.args), op))
        values.append(v)
    if not nodes:  # every attempt was rejected: a plain sine of the first input
        nodes.append(Node("xp.sin({0}[0])", (0,), "sin"))
        values.append(np.sin(values[0][:1][0]))
    if all(v.size > max_m for v in values[1:]):  # only large values: sum the last one
        nodes.append(Node("xp.sum({0})", (len(values) - 1,), "sum"))
        values.append(np.sum(values[-1]))
    outputs = _choose_outputs(ch, nodes, values, max_m)
    return _dead_code_removed(Program(x0, tuple(nodes), tuple(outputs)))


def _choose_outputs(ch: Choices, nodes: list, values: list, max_m: int) -> list[int]:
    """Outputs: the sinks of the DAG (values nothing else uses), newest first,
    as many as fit in ``max_m`` entries, so that most nodes stay live; then
    maybe another value. At least one output."""
    used = {a for node in nodes for a in node.args}
    sinks = [k for k in range(len(values) - 1, 0, -1) if k not in used]
    outputs, budget = [], max_m
    for k in sinks:
        if values[k].size <= budget and (not outputs or ch.boolean(0.8)):
            outputs.append(k)
            budget -= values[k].size
    if not outputs:
        small = [k for k in range(1, len(values)) if values[k].size <= max_m]
        outputs = [small[-1]]
        budget = max_m - values[outputs[0]].size
    fits = [k for k in range(1, len(values)) if k not in outputs and values[k].size <= budget]
    if fits and ch.boolean(0.2):
        outputs.append(ch.choice(fits))
    return outputs


def _dead_code_removed(program: Program) -> Program:
    """Drop the nodes no output depends on, renumbering the rest."""
    live = set(program.outputs)
    for k in range(len(program.nodes), 0, -1):
        if k in live:
            live.update(program.nodes[k - 1].args)
    keep = [k for k in range(1, len(program.nodes) + 1) if k in live]
    new_index = {0: 0, **{k: i for i, k in enumerate(keep, start=1)}}
    nodes = tuple(Node(program.nodes[k - 1].expr,
                       tuple(new_index[a] for a in program.nodes[k - 1].args),
                       program.nodes[k - 1].primitive) for k in keep)
    return Program(program.x0, nodes, tuple(new_index[k] for k in program.outputs))


def programs(max_nodes: int = 8, max_n: int = 4, max_m: int = 4):
    """A hypothesis strategy of random programs."""
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw):
        return generate(HypothesisChoices(draw), max_nodes=max_nodes, max_n=max_n, max_m=max_m)
    return strategy()
