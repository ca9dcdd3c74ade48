"""Floating point and AD: derivatives that go wrong where f is fine (and the
rewrites of f that cure them), and gradients in float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from adbench import ad
from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import rho
from adbench.measure.reference import reference_jacobian
from adbench.problem import Problem
from adbench.registry import Registry
from adbench.studies.reproduce.claim import Claim, Evidence
from adbench.studies.reproduce.claim import markdown_table as _md
from adbench.studies.reproduce.learning import STEPS, mlp, train

EPS = float(np.finfo(float).eps)
EPS32 = float(np.finfo(np.float32).eps)


def _sqrt_square(x, xp):
    return xp.sqrt(x[0] * x[0])


def _abs(x, xp):
    return xp.abs(x[0])


def _norm(x, xp):
    return xp.sqrt(xp.sum(x * x))


def _safe_norm(x, xp):
    # the "double where": the square root never sees 0, so its derivative stays finite,
    # and the outer where picks 0 there (its other branch gets a zero cotangent)
    s = xp.sum(x * x)
    positive = s > 0.0
    return xp.where(positive, xp.sqrt(xp.where(positive, s, 1.0)), 0.0)


def _pow_of_square(x, xp):
    return (x[0] * x[0]) ** 0.75


def _pow_of_abs(x, xp):
    return xp.abs(x[0]) ** 1.5


def _sigmoid(x, xp):
    return 1.0 / (1.0 + xp.exp(-x[0]))


def _sigmoid_tanh(x, xp):
    return 0.5 * (1.0 + xp.tanh(0.5 * x[0]))


#: (what, f, its rewrite, the point): f is finite and accurate there, its AD derivative
#: is not; the rewrite computes the same values with a derivative that stays finite.
CASES = (
    ("sqrt(x^2) at 0", _sqrt_square, _abs, [0.0],
     "|x|: the derivative of sqrt at 0 is inf, times 2x = 0 gives nan"),
    ("|x|_2 = sqrt(sum x^2) at x = 0", _norm, _safe_norm, [0.0, 0.0, 0.0],
     "where(s > 0, sqrt(where(s > 0, s, 1)), 0) with s = sum x^2"),
    ("(x^2)^0.75 at 0 (x ** y with x = 0, d/dx)", _pow_of_square, _pow_of_abs, [0.0],
     "|x| ** 1.5: the rule 0.75 (x^2)^-0.25 is inf at 0, times 2x = 0 gives nan"),
    ("1 / (1 + exp(-x)) at x = -750", _sigmoid, _sigmoid_tanh, [-750.0],
     "(1 + tanh(x / 2)) / 2: exp(750) = inf gives f = 0 (right), but the chain rule "
     "multiplies the cotangent 0 of inf by exp's derivative inf"),
)


def _bad(g, ref) -> bool:
    return bool(not np.all(np.isfinite(g)) or rho(g, ref).max() > 1e-3)


def _ad_numerical_trouble(reg: Registry, out: Path) -> Evidence:
    rows, ok = [], True
    for what, f, rewrite, point, how in CASES:
        x = np.array(point)
        prob = Problem(f, name="numerics", n=len(x), m=1, x0=x)
        ref = reference_jacobian(prob.instance()).jacobian[0]
        with np.errstate(all="ignore"):
            fx, rx = float(f(x, numpy_xp)), float(rewrite(x, numpy_xp))
            g, gr = np.asarray(ad.grad(f)(x.copy())), np.asarray(ad.grad(rewrite)(x.copy()))
        f_ok = bool(np.isfinite(fx) and fx == rx)
        fixed = bool(np.all(np.isfinite(gr)) and rho(gr, ref).max() <= 4 * EPS)
        ok &= f_ok and _bad(g, ref) and fixed
        rows.append({"f": what, "f(x)": fx, "AD derivative": np.array2string(g),
                     "reference": np.array2string(ref), "rewrite": how,
                     "AD derivative of the rewrite": np.array2string(gr)})
    return Evidence(
        bool(ok),
        "in each case f is finite at the point (and the rewrite gives the same value), its "
        "reverse-mode derivative is nan, inf or off by more than 1e-3 (rho) from the "
        "80-digit reference, and the rewrite's AD derivative equals the reference to 4 eps",
        "Each f is accurate where it is evaluated; the derivative rules meet 0 x inf on "
        "the way back. (The case x ** y is taken as d/dx of (x^2)^0.75, a true numerical "
        "issue of the chain rule; d/dy of 0 ** y is a matter of the primitive table's "
        "rule and is mended there.)\n\n" + _md(pd.DataFrame(rows)),
        values={"cases": len(rows)})


def float32_gradient(f, x32, kwargs32: dict):
    """The reverse-mode gradient of ``f(x, xp, **kwargs32)`` with every value float32:
    the tape records float32 values when x and the data are float32, and a float32
    seed keeps the backward sweep in float32 (``ad.grad`` seeds with the Python float
    1.0; see the claim's evidence for what that does to the dtype).

    One step is not float32: the cotangent of indexing (the primitive table's
    ``untake``) is scattered into zeros of ``np.result_type(g, float)``, float64, so
    a function that slices x returns its gradient as float64. Those zeros only
    receive float32 values in disjoint places (and sums of them with zeros), so
    casting the result back to float32 is exact; :data:`SWEEP_DTYPE` records the
    dtype before the cast."""
    trace, xv, y = ad.record(lambda v, xp: f(v, xp, **kwargs32), x32)
    g = ad.adjoint_or_zero(ad.backward(trace, y, np.float32(1.0)), xv)
    SWEEP_DTYPE.update(loss=str(np.asarray(y.value).dtype), gradient=str(np.asarray(g).dtype))
    return np.asarray(g).astype(np.float32)


#: The dtypes of the last :func:`float32_gradient`: its loss and its gradient before the cast.
SWEEP_DTYPE: dict = {}


def _float32_data(inst) -> dict:
    return {k: (v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype == float else v)
            for k, v in inst.params.items()
            if k in ("d", "h", "X", "labels")}


#: Steps scanned for the float32 finite differences (relative to max(1, |x_i|)).
STEPS_FD = np.logspace(-7, -0.5, 27)


def _fd32(f32, x32, h, central: bool) -> np.ndarray:
    g = np.empty(len(x32), dtype=np.float32)
    fx = f32(x32)
    for i in range(len(x32)):
        step = np.float32(h * max(1.0, abs(float(x32[i]))))
        up, down = x32.copy(), x32.copy()
        up[i] += step
        down[i] -= step
        # the distance really spanned in float32, as the fd methods divide by
        g[i] = ((f32(up) - f32(down)) / (up[i] - down[i]) if central
                else (f32(up) - fx) / (up[i] - x32[i]))
    return g


def _lower_precision(reg: Registry, out: Path) -> Evidence:
    inst = mlp(reg)
    data32 = _float32_data(inst)
    fn = inst.problem.fn
    x64, x32 = inst.x0.copy(), inst.x0.astype(np.float32)
    g64 = np.asarray(ad.grad(inst.f)(x64))
    g32 = float32_gradient(fn, x32, data32)
    grad_dtype = np.asarray(ad.grad(lambda v, xp: fn(v, xp, **data32))(x32)).dtype

    def rel(g):
        return float(np.linalg.norm(np.asarray(g, float) - g64) / np.linalg.norm(g64))

    def f32(v):
        return fn(v, numpy_xp, **data32)

    sweep = pd.DataFrame([{"h": h, "forward": rel(_fd32(f32, x32, h, False)),
                           "central": rel(_fd32(f32, x32, h, True))} for h in STEPS_FD])
    best = {k: sweep.loc[sweep[k].idxmin()] for k in ("forward", "central")}
    ad_err = rel(g32)
    # training in both precisions, AD gradients
    _, loss64 = train(lambda w: ad.grad(inst.f)(w), lambda w: inst.f(w, numpy_xp), x64)
    _, loss32 = train(lambda w: float32_gradient(fn, w, data32), f32, x32)
    train_gap = abs(loss32[-1] - loss64[-1]) / loss64[-1]
    df = pd.DataFrame([
        {"float32 gradient": "reverse mode (float32 tape and sweep)",
         "step h": "-", "relative error vs float64": ad_err},
        {"float32 gradient": "forward differences, best step", "step h": best["forward"]["h"],
         "relative error vs float64": best["forward"]["forward"]},
        {"float32 gradient": "central differences, best step", "step h": best["central"]["h"],
         "relative error vs float64": best["central"]["central"]}]).astype(object)
    passed = bool(SWEEP_DTYPE['loss'] == 'float32' and ad_err <= 1e-5
                  and 10 * ad_err <= best["central"]["central"] and train_gap <= 0.01)
    return Evidence(
        passed,
        "on `mlp-loss`, the reverse-mode gradient computed in float32 (tape and sweep) is "
        "within 1e-5 (relative, 2-norm) of the float64 gradient and at least 10x closer to it "
        f"than central differences in float32 at their best step (scanned over {len(STEPS_FD)} "
        f"steps); and {STEPS} steps of gradient descent in float32 end at a training loss "
        "within 1% of float64's",
        f"float32 eps = {EPS32:.2g}: theory puts the best forward step near sqrt(eps32) = "
        f"{np.sqrt(EPS32):.1e} and the best central step near eps32^(2/3) = "
        f"{EPS32 ** (2 / 3):.1e} (times max(1, |x_i|)).\n\n" + _md(df, ".3g")
        + f"\n\nThe engine on float32 x and data: the loss is {SWEEP_DTYPE['loss']}; the "
        f"gradient comes back as {SWEEP_DTYPE['gradient']}, because the cotangent of "
        "indexing (`untake` in the primitive table) is scattered into float64 zeros "
        "(`np.result_type(g, float)`); the values scattered are float32, so the claim casts "
        "back to float32 exactly. Also, `ad.grad` on float32 x "
        f"and data returns {grad_dtype}: its seed, the Python float 1.0, "
        + ("promotes the backward sweep to float64 (the forward values stay float32); "
           "the claim seeds the sweep with numpy.float32(1.0) instead."
           if grad_dtype != np.float32 else "keeps float32.")
        + f"\n\nTraining with AD gradients, {STEPS} steps: final loss float64 "
        f"{loss64[-1]:.7f}, float32 {loss32[-1]:.7f} (relative gap {train_gap:.1e}).",
        values={"ad_error": ad_err, "best_central": float(best["central"]["central"]),
                "best_forward": float(best["forward"]["forward"]), "train_gap": train_gap,
                "grad_dtype": str(grad_dtype)})


#: This module's claims, in the order of the report.
CLAIMS: list[Claim] = [
    Claim("numerical-trouble", "AD can create numerical trouble that f does not have", "22",
          "AD is not immune to the perils of floating point arithmetic, and can sometimes "
          "introduce numeric issues which were not present in the primal calculation.",
          _ad_numerical_trouble),
    Claim("lower-precision", "Lower precision suffices for gradients and training", "23",
          "in deep learning lower-precision is sufficient and even desirable in improving "
          "computational efficiency, thanks to the error resiliency of neural networks",
          _lower_precision),
]
