"""The other libraries' gradients that ``adbench bench engine`` times beside adbench's.

One adapter per library, each over that library's ``xp`` from the one table of
names (:func:`adbench.interpret.peers.namespace`), so a workload ``fn(x, xp,
**data)`` runs unchanged on every tool:

* ``jax``: ``jax.grad(f)`` called eagerly on a float64 ``jax.Array``;
* ``jax-jit``: ``jax.jit(jax.grad(f))``, traced and compiled by a first (warm)
  call that is reported as ``setup``, not timed;
* ``torch``: eager autograd, ``torch.autograd.grad(f(x), x)`` with x a fresh
  float64 leaf tensor at every call (as a training loop makes one);
* ``torch.func``: ``torch.func.grad(f)``;
* ``autograd``: HIPS ``autograd.grad(f)`` on numpy arrays.

Every timed call waits for its result (``block_until_ready`` for JAX, which
dispatches asynchronously). A tool that is not installed, or that cannot run
the workload (``jax.jit`` on a Python branch over a traced value, a function
the table marks missing for that library), is not timed: its row holds no time
and a one-line note saying why, and the rest of the bench goes on. The gradient
of the first call is checked for float64 (:func:`adbench.methods.peers.float64_jacobian`)
and kept, so that the bench can compare it with ``grad``'s.
"""

from __future__ import annotations

import importlib.util
import math
import time
import types
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["PEER_TOOLS", "LIBRARY", "PeerGradient", "installed_tools", "prepare_peer",
           "peer_namespace"]

#: The tools, in the order of the report.
PEER_TOOLS = ("jax", "jax-jit", "torch", "torch.func", "autograd")
#: The library (a name of adbench.interpret.peers.PEERS and an importable module) of each tool.
LIBRARY = {"jax": "jax", "jax-jit": "jax", "torch": "torch", "torch.func": "torch",
           "autograd": "autograd"}


@dataclass
class PeerGradient:
    """One tool made ready on one workload: ``call`` (no arguments) computes the
    gradient once for timing; ``gradient`` is the first call's, as float64 numpy.
    When the tool cannot run, ``call`` and ``gradient`` are None and ``note`` says why."""

    tool: str
    call: Callable | None = None
    gradient: np.ndarray | None = None
    setup_seconds: float | None = None  # the first call (for jax-jit: tracing and XLA)
    note: str = ""


def installed_tools(tools=PEER_TOOLS) -> list[str]:
    """The tools of ``tools`` whose library is importable."""
    return [t for t in tools if importlib.util.find_spec(LIBRARY[t]) is not None]


def peer_namespace(peer: str) -> types.SimpleNamespace:
    """The peer's ``xp`` from :func:`adbench.interpret.peers.namespace`. When that
    refuses because the table lags ``xp`` (KeyError naming the unlisted functions),
    the namespace of the names the table does list, built entry by entry from the
    same table: a workload that calls an unlisted function then fails with an
    AttributeError, which becomes that tool's note."""
    from adbench.interpret import peers
    try:
        return peers.namespace(peer)
    except KeyError:
        lib = peers._prepare_library(peer)
        ns = {name: peers._entry(peer, name, lib) for name in peers.TABLE}
        ns.update(pi=math.pi, e=math.e, inf=math.inf, newaxis=None, name=peer)
        return types.SimpleNamespace(**ns)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:160]


def _jax(fn, data, x0, jit: bool):
    import jax
    xp = peer_namespace("jax")  # first: it turns on float64 (jax_enable_x64)
    import jax.numpy as jnp
    g = jax.grad(lambda v: fn(v, xp, **data))
    if jit:
        g = jax.jit(g)
    x = jnp.asarray(x0, dtype=jnp.float64)
    return lambda: g(x).block_until_ready(), np.asarray


def _torch_data(torch, data: dict) -> dict:
    # torch's operators refuse numpy operands (ndarray * Tensor is a TypeError): float
    # data are handed to f as float64 tensors, as a torch user holds them.
    return {k: torch.as_tensor(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
            for k, v in data.items()}


def _torch(fn, data, x0):
    xp = peer_namespace("torch")  # first: float64 as torch's default dtype
    import torch
    tdata, x = _torch_data(torch, data), torch.as_tensor(x0, dtype=torch.float64)

    def call():
        leaf = x.detach().requires_grad_()  # a fresh leaf sharing x's storage
        (g,) = torch.autograd.grad(fn(leaf, xp, **tdata), leaf)
        return g
    return call, lambda g: g.detach().numpy()


def _torch_func(fn, data, x0):
    xp = peer_namespace("torch")
    import torch
    import torch.func
    tdata, x = _torch_data(torch, data), torch.as_tensor(x0, dtype=torch.float64)
    g = torch.func.grad(lambda v: fn(v, xp, **tdata))
    return lambda: g(x), lambda g: g.detach().numpy()


def _autograd(fn, data, x0):
    xp = peer_namespace("autograd")
    import autograd
    g = autograd.grad(lambda v: fn(v, xp, **data))
    x = np.array(x0, dtype=np.float64)
    return lambda: g(x), np.asarray


_ADAPTERS = {
    "jax": lambda fn, data, x0: _jax(fn, data, x0, jit=False),
    "jax-jit": lambda fn, data, x0: _jax(fn, data, x0, jit=True),
    "torch": _torch,
    "torch.func": _torch_func,
    "autograd": _autograd,
}


def prepare_peer(tool: str, fn, data: dict, x0: np.ndarray, clock=time.perf_counter
                 ) -> PeerGradient:
    """``tool`` (one of :data:`PEER_TOOLS`) made ready on ``fn(x, xp, **data)`` at x0,
    its first call made (and timed as setup). Never raises for a tool that cannot
    run: the returned PeerGradient then holds the reason."""
    from adbench.methods.peers import float64_jacobian
    if importlib.util.find_spec(LIBRARY[tool]) is None:
        return PeerGradient(tool, note=f"{LIBRARY[tool]} is not installed")
    try:
        start = clock()
        call, to_numpy = _ADAPTERS[tool](fn, data, x0)
        first = call()
        setup = clock() - start
        gradient = float64_jacobian(to_numpy(first), 1, x0.size, tool).reshape(x0.shape)
    except Exception as exc:  # noqa: BLE001 - whatever the tool raises is its note, not a crash
        return PeerGradient(tool, note=_first_line(exc))
    return PeerGradient(tool, call, gradient, setup)
