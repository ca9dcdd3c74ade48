"""adbench as a GradBench tool: its JSON-lines protocol, and its evals on adbench's problems.

GradBench (https://github.com/gradbench/gradbench, ``CONTRIBUTING.md``) runs an
*eval* and a *tool* as two processes joined by an intermediary. The eval writes
one JSON message per line to the tool's standard input, the tool answers each
with one JSON line on its standard output carrying the same ``id``:

* ``{"kind": "start"}``: answer ``{"id"}``, optionally with ``tool`` and ``config``;
* ``{"kind": "define", "module": M}``: ``"success": true`` if the tool implements
  module M, else ``false`` with an ``error`` (the eval then stops);
* ``{"kind": "evaluate", "module", "function", "input"}``: ``"success": true`` with
  the ``output``, or ``false`` with an ``error``; ``timings`` is a list of
  ``{"name", "nanoseconds"}``. Where the input holds ``min_runs`` and
  ``min_seconds``, the function is run until both are reached (at least
  ``min_runs`` times and at least ``min_seconds`` in total), one ``"evaluate"``
  timing per run;
* ``{"kind": "analysis", "of", "valid", "error"?}`` (the eval's verdict on an
  output) and any other kind: answer ``{"id"}``.

Each eval this tool implements (:data:`EVALS`) maps a GradBench function onto an
adbench problem instance built from the eval's input: the instance's x0 is the
input's point and its data come from the input (never from adbench's seeds). A
*primal* function (``primal``, ``objective``, ``square``) is the problem's f in
float64; a *derivative* function (``gradient``, ``jacobian``, ``double``) is the
Jacobian of the chosen adbench method (``manual``, ``fd-central``, ``symbolic``,
``ad-reverse``...). Both are written in the eval's output format.

Timings: ``prepare`` is the method's setup (symbolic derivation, tracing,
compilation), once per message; each ``evaluate`` timing is one run of the whole
function on the input (for ``ba``, all p observations), without the decoding of
the input and the encoding of the output, as in GradBench's C++ tools.

Failure modes, all answered, never raised: an unknown module or one declined
(:data:`DECLINED`, with the reason) answers ``define`` with success false; an
unknown function, a malformed input, a method that cannot differentiate the
problem (``Unsupported``) or fails, and a non-finite result (which JSON cannot
carry, and which is no answer) answer ``evaluate`` with success false and the
reason as ``error``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, TextIO

import numpy as np

from adbench import __version__
from adbench.interpret.xp import numpy_xp
from adbench.measure.isolation import one_line
from adbench.methods import Method
from adbench.problem import Instance, Problem
from adbench.registry import Registry, load_registry

__all__ = ["EVALS", "DECLINED", "Eval", "Tool", "InputError", "serve", "run_until"]


class InputError(ValueError):
    """The eval's input does not have the shape its module's protocol describes."""


# --------------------------------------------------------------------------
# Evals: a GradBench input -> an adbench instance, and a result -> GradBench's output
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Eval:
    """One GradBench module served by one adbench problem.

    functions : GradBench function -> whether it asks for the derivative (else f).
    build(problem, input) -> (instance, points): the instance at the input's sizes
        and data, and the x at which to evaluate it (one point, or one per block).
    encode(derivative, input, results) -> output: ``results`` holds, per point, f's
        values (m,) or, if ``derivative``, the Jacobian (m, n).
    """

    problem: str
    functions: dict
    build: Callable[[Problem, dict], tuple[Instance, list]]
    encode: Callable[[bool, Any, list], Any]


def instance_of(prob: Problem, sizes: dict, x, data: dict | None = None) -> Instance:
    """``prob`` at ``sizes`` with x0 = ``x`` and the given data (not its seeded ones)."""
    def resolve(spec):
        return int(spec(**sizes) if callable(spec) else spec)
    n, m = resolve(prob.n_spec), resolve(prob.m_spec)
    x0 = np.asarray(x, dtype=float).reshape(-1)
    if x0.shape != (n,):
        raise InputError(f"{prob.name} at {sizes}: the point has {x0.size} entries, "
                         f"expected {n}")
    return Instance(prob, dict(sizes), n, m, x0, {**sizes, **(data or {})})


def _field(inp: dict, name: str):
    try:
        return inp[name]
    except (KeyError, TypeError):
        raise InputError(f"the input has no field {name!r}") from None


def _scalar_or_row(derivative: bool, inp, results: list):
    """f's single value as a number, or the gradient (the Jacobian's one row) as a list."""
    (result,) = results
    return [float(v) for v in result[0]] if derivative else float(result[0])


def _vector_eval(problem: str, primal: str, derivative: str, build) -> Eval:
    return Eval(problem, {primal: False, derivative: True}, build, _scalar_or_row)


# hello: square(x) = x^2 and double, its derivative (the eval feeds one into the other).
def _hello_build(prob, inp):
    from adbench.studies.expr import expression_problem

    if isinstance(inp, bool) or not isinstance(inp, (int, float)):
        raise InputError(f"hello expects a number, got {type(inp).__name__}")
    square = expression_problem("x * x", {"x": float(inp)})
    return square.instance(), [square.instance().x0]


def _hello_encode(derivative, inp, results):
    (result,) = results
    return float(np.ravel(result)[0])


def _lse_build(prob, inp):
    x = _field(inp, "x")
    return instance_of(prob, {"n": len(x)}, x), [np.asarray(x, dtype=float)]


def _llsq_build(prob, inp):
    x, rows = _field(inp, "x"), int(_field(inp, "n"))
    sizes = {"n": len(x), "rows": rows}
    inst = instance_of(prob, sizes, x, prob.data(**sizes))
    return inst, [inst.x0]


def _det_build(prob, inp):
    A, ell = _field(inp, "A"), int(_field(inp, "ell"))
    inst = instance_of(prob, {"l": ell}, A)
    return inst, [inst.x0]


# gmm: x = (alpha, mu, q, l) flattened by rows, the data (points, gamma, m) from the input.
_GMM_PARTS = ("alpha", "mu", "q", "l")


def _gmm_build(prob, inp):
    D, K, N = (int(_field(inp, k)) for k in ("d", "k", "n"))
    x = np.concatenate([np.asarray(_field(inp, p), dtype=float).reshape(-1)
                        for p in _GMM_PARTS])
    points = np.asarray(_field(inp, "x"), dtype=float)
    sizes = {"D": D, "K": K, "N": N}
    data = prob.data(**sizes, points=points, gamma=float(_field(inp, "gamma")),
                     m=int(_field(inp, "m")))
    inst = instance_of(prob, sizes, x, data)
    return inst, [inst.x0]


def _gmm_encode(derivative, inp, results):
    if not derivative:
        return _scalar_or_row(derivative, inp, results)
    (J,) = results
    D, K = int(_field(inp, "d")), int(_field(inp, "k"))
    widths = {"alpha": 1, "mu": D, "q": D, "l": D * (D - 1) // 2}
    out, start = {}, 0
    for part in _GMM_PARTS:
        block = J[0, start:start + K * widths[part]]
        start += K * widths[part]
        out[part] = ([float(v) for v in block] if part == "alpha"
                     else [[float(v) for v in row] for row in block.reshape(K, widths[part])])
    return out


# lstm: x = (main_params, extra_params) flattened by rows; state and sequence are data.
def _lstm_build(prob, inp):
    main = np.asarray(_field(inp, "main_params"), dtype=float)
    extra = np.asarray(_field(inp, "extra_params"), dtype=float)
    state = np.asarray(_field(inp, "state"), dtype=float)
    sequence = np.asarray(_field(inp, "sequence"), dtype=float)
    if sequence.ndim != 2 or state.ndim != 2 or len(state) % 2:
        raise InputError("lstm expects state (2l x b) and sequence (c x b) matrices")
    sizes = {"l": len(state) // 2, "c": sequence.shape[0], "b": sequence.shape[1]}
    inst = instance_of(prob, sizes, np.concatenate([main.ravel(), extra.ravel()]),
                       {"state": state, "sequence": sequence})
    return inst, [inst.x0]


# ba: p observations of one block (camera i % n, point i % m, weight i), each evaluated.
BA_CAMERA, BA_BLOCK = 11, 15   # camera parameters; a block's columns (camera, point, w)
BA_SHOWN = 2 * BA_BLOCK        # GradBench keeps the first 30 COO entries and the last


def _ba_build(prob, inp):
    cam, X = list(_field(inp, "cam")), list(_field(inp, "x"))
    w, feat, p = float(_field(inp, "w")), list(_field(inp, "feat")), int(_field(inp, "p"))
    if len(cam) != BA_CAMERA or len(X) != 3 or len(feat) != 2 or p < 1:
        raise InputError("ba expects cam (11), x (3), feat (2) and p >= 1")
    inst = instance_of(prob, {}, cam + X + [w], {"feat": feat})
    # The input is one observation duplicated p times; each copy is evaluated anyway,
    # as GradBench asks (a tool must not exploit the duplication).
    return inst, [inst.x0.copy() for _ in range(p)]


def _ba_encode(derivative, inp, results):
    p, n, m = (int(_field(inp, k)) for k in ("p", "n", "m"))
    if not derivative:
        first = results[0]
        return {"reproj_error": {"elements": [float(first[0]), float(first[1])],
                                 "repeated": p},
                "w_err": {"element": float(first[2]), "repeated": p}}
    # The CSR matrix of GradBench's SparseMat: 2p reprojection rows of 15 entries
    # (camera, point, weight columns), then p weight rows of one entry.
    rows, cols, vals = [0], [], []
    for i, J in enumerate(results):
        cam, pt = i % n, i % m
        block_cols = ([BA_CAMERA * cam + j for j in range(BA_CAMERA)]
                      + [BA_CAMERA * n + 3 * pt + j for j in range(3)]
                      + [BA_CAMERA * n + 3 * m + i])
        for r in range(2):
            rows.append(rows[-1] + BA_BLOCK)
            cols.extend(block_cols)
            vals.extend(float(v) for v in J[r, :BA_BLOCK])
    for i, J in enumerate(results):
        rows.append(rows[-1] + 1)
        cols.append(BA_CAMERA * n + 3 * m + i)
        vals.append(float(J[2, BA_BLOCK - 1]))
    return {name: seq[:BA_SHOWN] + seq[-1:] for name, seq in
            (("rows", rows), ("cols", cols), ("vals", vals))}


#: GradBench module -> the adbench problem that serves it.
EVALS: dict[str, Eval] = {
    "hello": Eval("", {"square": False, "double": True}, _hello_build, _hello_encode),
    "lse": _vector_eval("logsumexp", "primal", "gradient", _lse_build),
    "llsq": _vector_eval("llsq", "primal", "gradient", _llsq_build),
    "det": _vector_eval("det-minors", "primal", "gradient", _det_build),
    "gmm": Eval("gmm", {"objective": False, "jacobian": True}, _gmm_build, _gmm_encode),
    "lstm": _vector_eval("lstm", "objective", "jacobian", _lstm_build),
    "ba": Eval("ba", {"objective": False, "jacobian": True}, _ba_build, _ba_encode),
}

#: GradBench modules with no matching adbench problem, and why.
DECLINED: dict[str, str] = {
    "ode": "GradBench's ode (cmpad an_ode: y_0' = x_0, y_i' = sum_j<=i x_j y_(i-1), "
           "R^n -> R^n) is a different ODE from adbench's ode-rk4 (Lotka-Volterra, R^6 -> R^2)",
    "kmeans": "GradBench's kmeans cost takes min_j over the centroids, and its dir needs the "
              "Hessian's diagonal; adbench's kmeans freezes the assignments, and adbench's "
              "methods compute first derivatives only",
    "ht": "adbench has no hand-tracking problem",
    "particle": "adbench has no charged-particle problem (it nests a derivative in an "
                "optimisation loop)",
    "saddle": "adbench has no saddle-point problem (it nests derivatives in gradient descent)",
}


# --------------------------------------------------------------------------
# Running a function as GradBench times it
# --------------------------------------------------------------------------

def run_until(fn: Callable[[], Any], min_runs: int, min_seconds: float,
              clock: Callable[[], int] = time.perf_counter_ns) -> tuple[Any, list[int]]:
    """Call ``fn`` until it has run at least ``min_runs`` times and for at least
    ``min_seconds`` in all (GradBench's ``Runs``); its last result and each run's
    duration in nanoseconds."""
    times: list[int] = []
    total = 0
    result = None
    while len(times) < max(1, min_runs) or total < min_seconds * 1e9:
        start = clock()
        result = fn()
        times.append(clock() - start)
        total += times[-1]
    return result, times


def _primal(inst: Instance, x) -> np.ndarray:
    return np.asarray(inst.f(x, numpy_xp), dtype=float).reshape(-1)


class Tool:
    """The tool's side of a session: :meth:`respond` maps each message to its response."""

    def __init__(self, method: Method, registry: Registry | None = None,
                 clock: Callable[[], int] = time.perf_counter_ns):
        self.method = method
        self.registry = registry if registry is not None else load_registry()
        self.clock = clock
        self.defined: set[str] = set()
        self.analyses: dict[int, dict] = {}   # id of an evaluate -> the eval's verdict

    def respond(self, message: dict) -> dict:
        mid = message.get("id") if isinstance(message, dict) else None
        kind = message.get("kind") if isinstance(message, dict) else None
        if kind == "start":
            return {"id": mid, "tool": "adbench",
                    "config": {"method": self.method.name, "version": __version__}}
        if kind == "define":
            return {"id": mid, **self._define(message.get("module"))}
        if kind == "evaluate":
            try:
                return {"id": mid, **self._evaluate(message)}
            except Exception as exc:  # an answer for every message, never a crash
                return {"id": mid, "success": False, "error": one_line(exc)}
        if kind == "analysis":
            self.analyses[message.get("of")] = {"valid": message.get("valid"),
                                                "error": message.get("error")}
        return {"id": mid}

    def _define(self, module) -> dict:
        if module in EVALS:
            self.defined.add(module)
            return {"success": True}
        if module in DECLINED:
            return {"success": False, "error": f"module {module!r} is not served by adbench: "
                                               f"{DECLINED[module]}"}
        return {"success": False, "error": f"unknown module {module!r}; adbench serves "
                                           f"{', '.join(sorted(EVALS))}"}

    def _evaluate(self, message: dict) -> dict:
        module, function = message.get("module"), message.get("function")
        if module not in self.defined:
            defined = self._define(module)
            if not defined["success"]:
                return defined
        spec = EVALS[module]
        if function not in spec.functions:
            return {"success": False, "error": f"module {module!r} has no function "
                                               f"{function!r}; it has "
                                               f"{', '.join(spec.functions)}"}
        inp = message.get("input")
        derivative = spec.functions[function]
        prob = self.registry.get(spec.problem) if spec.problem else None
        inst, points = spec.build(prob, inp)
        timings = []
        if derivative:
            start = self.clock()
            prepared = self.method.prepare(inst)
            timings.append({"name": "prepare", "nanoseconds": self.clock() - start})

            def work():
                return [prepared.jacobian(x) for x in points]
        else:
            def work():
                return [_primal(inst, x) for x in points]
        runs = inp if isinstance(inp, dict) else {}
        results, times = run_until(work, int(runs.get("min_runs", 1)),
                                   float(runs.get("min_seconds", 0.0)), self.clock)
        timings += [{"name": "evaluate", "nanoseconds": int(t)} for t in times]
        bad = next((r for r in results if not np.all(np.isfinite(r))), None)
        if bad is not None:
            what = "Jacobian" if derivative else "value"
            return {"success": False, "timings": timings,
                    "error": f"{self.method.name if derivative else 'f'}: non-finite "
                             f"{what} ({np.asarray(bad).ravel()[:4].tolist()}...)"}
        output = spec.encode(derivative, inp, results)
        return {"success": True, "output": output, "timings": timings}


# --------------------------------------------------------------------------
# The session loop
# --------------------------------------------------------------------------

def serve(tool: Tool, lines: Iterable[str], out: TextIO = sys.stdout) -> int:
    """Answer each JSON line of ``lines`` on ``out``, one line each, flushed (the eval
    waits for it). Blank lines are skipped; a line that is not JSON gets no answer
    (it has no id) and is reported on standard error. Returns the number answered."""
    answered = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError as exc:
            print(f"adbench gradbench-tool: not a JSON message ({exc}): {line[:80]!r}",
                  file=sys.stderr)
            continue
        response = tool.respond(message)
        out.write(json.dumps(response, allow_nan=False) + "\n")
        out.flush()
        answered += 1
    return answered


def summary(tool: Tool) -> str:
    """One line: the outputs the eval judged, valid and invalid."""
    valid = sum(1 for a in tool.analyses.values() if a["valid"])
    invalid = len(tool.analyses) - valid
    return (f"adbench gradbench-tool ({tool.method.name}): {valid} outputs valid, "
            f"{invalid} invalid" + ("" if not invalid else ": ids " + ", ".join(
                str(k) for k, a in tool.analyses.items() if not a["valid"])))

