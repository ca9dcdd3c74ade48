"""Derivatives in training: gradient descent on a network's loss with inexact
(finite-difference) gradients, backpropagation as reverse mode, training in
float32, and hypergradients by nested AD through the training loop. The model
is the registry's ``mlp-loss`` (a two-layer tanh network on two Gaussian classes)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from adbench import ad
from adbench.interpret.counting import count_ops
from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import rho
from adbench.methods import METHODS
from adbench.registry import Registry
from adbench.studies.reproduce.claim import Claim, Evidence
from adbench.studies.reproduce.claim import markdown_table as _md

EPS = float(np.finfo(float).eps)
#: Plain gradient descent: the step size and the number of steps.
LEARNING_RATE, STEPS = 0.5, 300


def mlp(reg: Registry, **sizes):
    """The ``mlp-loss`` instance (default sizes unless given)."""
    return reg.get("mlp-loss").instance(**sizes)


def train(gradient: Callable, loss: Callable, w0, lr: float = LEARNING_RATE,
          steps: int = STEPS) -> tuple[np.ndarray, list]:
    """``(w, losses)``: ``steps`` steps of w <- w - lr gradient(w) from w0, and the loss
    before each step and after the last."""
    w, losses = w0.copy(), []
    for _ in range(steps):
        losses.append(float(loss(w)))
        w = w - lr * np.asarray(gradient(w)).reshape(w.shape)
    losses.append(float(loss(w)))
    return w, losses


def _fd_training(reg: Registry, out: Path) -> Evidence:
    inst = mlp(reg)
    fd = METHODS["fd-forward"].prepare(inst)
    fd_calls = []

    def fd_gradient(w):
        J = fd.jacobian(w)
        fd_calls.append(fd.info["f_evaluations"])
        return J[0]

    def ad_gradient(w):
        ad.PASSES.update(forward=0, reverse=0)
        g = ad.grad(inst.f)(w)
        ad_calls.append(ad.PASSES["reverse"])
        return g

    ad_calls: list = []

    def loss(w):
        return inst.f(w, numpy_xp)

    _, fd_losses = train(fd_gradient, loss, inst.x0)
    _, ad_losses = train(ad_gradient, loss, inst.x0)
    x = inst.x0.copy()
    f_ops = count_ops(lambda v: inst.f(v, numpy_xp), x).ops
    fd_ops = count_ops(fd.traceable, x).ops
    ad_ops = count_ops(METHODS["ad-reverse"].prepare(inst).traceable, x).ops
    gap = abs(fd_losses[-1] - ad_losses[-1]) / ad_losses[-1]
    n = inst.n
    steps = [0, 10, 30, 100, STEPS]
    df = pd.DataFrame({"step": steps, "loss, fd-forward gradients": [fd_losses[k] for k in steps],
                       "loss, AD gradients": [ad_losses[k] for k in steps]})
    cost = pd.DataFrame([
        {"gradient": "fd-forward", "evaluations of f per gradient": sorted(set(fd_calls)),
         "reverse passes per gradient": 0, "ops per gradient": fd_ops,
         "ops / ops(f)": fd_ops / f_ops},
        {"gradient": "ad-reverse (grad)", "evaluations of f per gradient": "-",
         "reverse passes per gradient": sorted(set(ad_calls)), "ops per gradient": ad_ops,
         "ops / ops(f)": ad_ops / f_ops}]).astype(object)
    passed = bool(gap <= 0.02 and set(fd_calls) == {n + 1} and set(ad_calls) == {1}
                  and fd_losses[-1] < 0.9 * fd_losses[0])
    return Evidence(
        passed,
        f"{STEPS} steps of plain gradient descent (step {LEARNING_RATE}) on `mlp-loss` from "
        "its seeded weights reach a final training loss with forward-difference gradients "
        "within 2% of the loss with AD gradients (and below 90% of the initial loss), "
        f"while each forward-difference gradient takes exactly n + 1 = {n + 1} evaluations "
        "of f (the method's own count) against one reverse pass for AD",
        f"`mlp-loss` (n = {n} weights, N = {inst.sizes['N']} points):\n\n" + _md(df, ".6f")
        + f"\n\nFinal losses: fd-forward {fd_losses[-1]:.6f}, AD {ad_losses[-1]:.6f} "
        f"(relative gap {gap:.1e}). Cost of one gradient (ops(f) = {f_ops:,}):\n\n"
        + _md(cost, ".4g")
        + "\n\nThe forward differences' error (about sqrt(eps) relative) does not show in the "
        "loss at all: the network tolerates it, as the survey says. Their cost, "
        f"{fd_ops / ad_ops:.1f} x AD's operations here, grows with n.",
        values={"gap": gap, "fd_evaluations": sorted(set(fd_calls)), "n": n,
                "ad_passes": sorted(set(ad_calls)), "final": (fd_losses[-1], ad_losses[-1])})


def _backprop_is_reverse_mode(reg: Registry, out: Path) -> Evidence:
    inst = mlp(reg)
    x = inst.x0.copy()
    manual, reverse = METHODS["manual"].prepare(inst), METHODS["ad-reverse"].prepare(inst)
    J_manual, J_reverse = manual.jacobian(x.copy()), reverse.jacobian(x.copy())
    err = float(rho(J_manual, J_reverse).max())
    ops = {name: count_ops(p.traceable or p.jacobian, x.copy()).ops
           for name, p in (("backpropagation (manual)", manual), ("ad-reverse", reverse))}
    f_ops = count_ops(lambda v: inst.f(v, numpy_xp), x).ops
    ratio = ops["ad-reverse"] / ops["backpropagation (manual)"]
    df = pd.DataFrame([{"gradient": k, "ops": v, "ops / ops(f)": v / f_ops}
                       for k, v in ops.items()])
    passed = err <= 4 * EPS and 0.5 <= ratio <= 2.0
    return Evidence(
        bool(passed),
        "on `mlp-loss`, reverse-mode AD's gradient equals the hand-written layer-by-layer "
        f"backpropagation to 4 eps = {4 * EPS:.2g} (rho) and executes between half and twice "
        "its operations",
        f"max rho(reverse mode, backpropagation) = {err:.2e}. Operations executed "
        f"(ops(f) = {f_ops:,}):\n\n" + _md(df, ".4g")
        + f"\n\nReverse mode / backpropagation: {ratio:.2f}. The hand-written backward pass "
        "and the tape's sweep perform the same products, the tape adding the "
        "broadcasting and accumulation it cannot know to skip.",
        values={"error": err, "ops_ratio": ratio})


def validation_split(reg: Registry):
    """``(training instance, validation loss)``: ``mlp-loss`` at its default N trains;
    the next N points drawn from the same seed (those of the 2N instance after the
    first N) are the validation set."""
    inst = mlp(reg)
    N = inst.sizes["N"]
    wide = mlp(reg, N=2 * N)
    X, labels = wide.params["X"][N:], wide.params["labels"][N:]
    sizes = {k: v for k, v in inst.sizes.items() if k != "N"}

    def validation(w, xp):
        return inst.problem.fn(w, xp, X=X, labels=labels, **sizes)

    return inst, validation


#: The hypergradient's training run: T steps from the seeded weights, at step eta.
HYPER_STEPS, HYPER_ETA = 20, 0.2


def validation_after_training(inst, validation, steps: int = HYPER_STEPS) -> Callable:
    """``V(eta, xp)``: the validation loss after ``steps`` gradient-descent steps of size
    eta (a scalar) on the training loss, each gradient by reverse mode; differentiable
    in eta by any mode (the inner ``grad`` is nested)."""
    def V(eta, xp):
        w = inst.x0.copy()
        for _ in range(steps):
            w = w - eta * ad.grad(inst.f)(w)
        return validation(w, xp)
    return V


def hypergradients(reg: Registry) -> dict:
    """dV/deta at HYPER_ETA by forward-over-reverse, reverse-over-reverse and central
    differences in eta (step 1e-5 eta), with V itself."""
    inst, validation = validation_split(reg)
    V = validation_after_training(inst, validation)
    eta, h = HYPER_ETA, 1e-5 * HYPER_ETA
    return {"V": float(V(eta, numpy_xp)),
            "forward-over-reverse": float(ad.jvp(V)(eta, 1.0)[1]),
            "reverse-over-reverse": float(ad.grad(V)(eta)),
            "central difference": float((V(eta + h, numpy_xp) - V(eta - h, numpy_xp)) / (2 * h)),
            "V function": V}


def _hypergradient(reg: Registry, out: Path) -> Evidence:
    hg = hypergradients(reg)
    V = hg.pop("V function")
    fd = hg["central difference"]
    rel = {k: abs(hg[k] - fd) / abs(fd) for k in ("forward-over-reverse", "reverse-over-reverse")}
    d = hg["reverse-over-reverse"]
    # one hypergradient-descent step, scaled to change eta by a tenth of itself
    new_eta = HYPER_ETA - 0.1 * HYPER_ETA * np.sign(d)
    V_new = float(V(new_eta, numpy_xp))
    df = pd.DataFrame([{"dV/deta by": k, "value": v,
                        "relative difference from central": rel.get(k, 0.0)}
                       for k, v in hg.items() if k != "V"])
    passed = bool(max(rel.values()) <= 1e-6 and V_new < hg["V"])
    return Evidence(
        passed,
        f"the derivative of the validation loss V after {HYPER_STEPS} gradient-descent steps "
        f"on `mlp-loss` with respect to the step size eta = {HYPER_ETA}, by forward-over-"
        "reverse and by reverse-over-reverse AD through the training loop, agrees with a "
        "central difference in eta to 1e-6 relative, and a hypergradient step "
        "eta <- eta - 0.1 eta sign(dV/deta) lowers V",
        f"Training: the seeded weights, {HYPER_STEPS} steps w <- w - eta grad L_train(w) "
        "(each gradient by reverse mode, nested inside the outer differentiation); "
        "validation: the next 32 points from the same seed. V(eta) = "
        f"{hg['V']:.8f}.\n\n" + _md(df, ".10g")
        + f"\n\nHypergradient step: eta {HYPER_ETA} -> {new_eta:.3g}, V {hg['V']:.8f} -> "
        f"{V_new:.8f} (Maclaurin et al. 2015 run it for thousands of steps and "
        "hyperparameters, reversing the training exactly instead of storing it).",
        values={**hg, "relative": rel, "V_new": V_new})


#: This module's claims, in the order of the report.
CLAIMS: list[Claim] = [
    Claim("fd-training", "Training tolerates inexact gradients, but not their O(n) cost", "7",
          "The O(n) complexity of numerical differentiation for a gradient in n dimensions is "
          "the main obstacle to its usefulness in machine learning ... In contrast, "
          "approximation errors would be tolerated in a deep learning setting thanks to the "
          "well-documented error resiliency of neural network architectures", _fd_training),
    Claim("backpropagation", "Backpropagation is reverse-mode AD", "17",
          "the backpropagation algorithm is only a special case of AD: by applying reverse "
          "mode AD to an objective function evaluating a network's error as a function of "
          "its weights, we can readily compute the partial derivatives needed for "
          "performing weight updates", _backprop_is_reverse_mode),
    Claim("hypergradient", "Hypergradients by nested AD", "27",
          "Nested AD is highly relevant in hyperparameter optimization as it can effortlessly "
          "provide exact hypergradients, that is, derivatives of a training objective with "
          "respect to the hyperparameters of an optimization routine", _hypergradient),
]
