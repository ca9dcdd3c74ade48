"""Other libraries' differentiators, on the same problem functions.

Each method runs the problem's ``f(x, xp)`` with the peer's ``xp``
(:func:`adbench.interpret.peers.namespace`) and differentiates it with the
peer's own tool: ``autograd.jacobian``; ``jax.jacfwd`` and ``jax.jacrev``
eagerly, and ``jax.jit(jax.jacrev(f))`` compiled; ``torch.func.jacrev`` and
``torch.func.jacfwd``; ``numdifftools.Jacobian`` on numpy. SymEngine and
CasADi are in :mod:`adbench.methods.peers_symbolic`.

What is measured, and how it differs from adbench's own methods:

* Precision: float64 throughout (JAX with ``jax_enable_x64``, torch float64
  tensors). Every Jacobian's dtype is checked (:func:`float64_jacobian`): a
  float32 (or complex) result raises :class:`PrecisionError`, never a quiet
  cast.
* Unsupported: ``prepare`` evaluates the Jacobian once at x0, and what the tool
  cannot run becomes :class:`~adbench.methods.base.Unsupported` with the tool's
  own reason in one line: a Python ``if`` on a traced value under ``jax.jit``,
  a function the peer lacks (:data:`adbench.interpret.peers.TABLE`), an in-place
  update of an immutable array. No other tool stands in.
* ``setup_s`` is reported by the method: the tool's own preparation (for
  ``jax-jit`` tracing and XLA compilation; for eager methods nothing but
  wrapping f), without importing the library (seconds, paid once per worker
  process) and without the trial evaluation at x0.
* Memory: JAX and torch allocate through their own allocators, which
  :mod:`tracemalloc` does not see; their ``mem_*`` columns are empty with
  that reason (``Prepared.memory_unseen``, read by the peak-memory metric).
  autograd and numdifftools compute with numpy arrays, which it does see.
* Op counts: ``Prepared.traceable`` is None (adbench's counter cannot see inside
  another library), so the ops metric leaves its columns empty.

A peer that is not installed is still listed, described as
``unavailable: pip install 'adbench[EXTRA]'``, and its rows are unsupported
with that message.
"""

from __future__ import annotations

import importlib.util
import os
import time

import numpy as np

from adbench.interpret.xp import numpy_xp
from adbench.measure.accuracy import rho
from adbench.methods.base import Method, Prepared, Unsupported
from adbench.problem import Instance

__all__ = ["PeerMethod", "PrecisionError", "float64_jacobian",
           "AutogradJacobian", "JaxForward", "JaxReverse", "JaxJit", "TorchReverse",
           "TorchForward", "NumdifftoolsJacobian", "peer_methods"]


class PrecisionError(TypeError):
    """A peer returned a Jacobian that is not float64."""


def float64_jacobian(J, m: int, n: int, peer: str) -> np.ndarray:
    """``J`` (a numpy array, or anything numpy reads) as the (m, n) float64 Jacobian.

    PrecisionError if its dtype is not float64 (a float32 result is an error,
    not a silent loss of digits); ValueError naming the shapes if it has not
    m n entries."""
    arr = np.asarray(J)
    if arr.dtype != np.float64:
        raise PrecisionError(f"{peer} returned a {arr.dtype} Jacobian; float64 is required")
    if arr.size != m * n:
        raise ValueError(f"{peer} returned a Jacobian of shape {arr.shape}, expected ({m}, {n})")
    return arr.reshape(m, n)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


class PeerMethod(Method):
    """A differentiator of another library; subclasses set ``library`` (the module
    whose presence decides availability), ``extra`` (the pip extra) and
    implement :meth:`build`."""

    library = ""
    extra = ""
    #: The namespace of adbench.interpret.peers f runs on ("" for numpy).
    peer = ""
    #: Exceptions by which the tool says it cannot run f (TypeError: an in-place
    #: update of an immutable array, an operation the library does not define).
    refusals: tuple = (TypeError, NotImplementedError)
    #: Why tracemalloc's figure would be wrong for this tool (None: it is right).
    memory_unseen: str | None = None

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec(cls.library) is not None

    @property
    def runtimes(self) -> tuple:
        return (self.library,)

    @property
    def unavailable_message(self) -> str:
        return f"unavailable: pip install 'adbench[{self.extra}]'"

    def __init__(self):
        if not self.available():
            self.description = self.unavailable_message

    def load(self) -> None:
        """Import the library and build its xp namespace (float64 set), untimed."""
        importlib.import_module(self.library)
        if self.peer:
            from adbench.interpret.peers import namespace
            namespace(self.peer)

    def refusal_types(self) -> tuple:
        return self.refusals

    def refusal(self, exc: BaseException) -> Unsupported:
        """The tool's refusal ``exc`` (one of :meth:`refusal_types`) as the row's reason."""
        return Unsupported(f"{self.name}: {_first_line(exc)}")

    def build(self, inst: Instance):
        """``(jacobian, info)``: jacobian maps a float64 x to the peer's own result;
        ``info`` may hold ``setup_s`` when the tool's setup is more than wrapping."""
        raise NotImplementedError

    def prepare(self, inst: Instance) -> Prepared:
        if not self.available():
            raise Unsupported(self.unavailable_message)
        self.load()  # importing the library is paid once per worker: not setup
        refusals = self.refusal_types()
        try:
            t0 = time.perf_counter()
            raw, info = self.build(inst)
            info.setdefault("setup_s", time.perf_counter() - t0)
            m, n, name = inst.m, inst.n, self.name
            raw(inst.x0.copy())  # the trial at x0: what the tool cannot run shows here
        except Unsupported:
            raise
        except PrecisionError:
            raise
        except refusals as exc:
            raise self.refusal(exc) from exc

        def jacobian(x):
            return float64_jacobian(raw(np.asarray(x, dtype=np.float64)), m, n, name)

        prepared = Prepared(jacobian, None, info)
        prepared.memory_unseen = self.memory_unseen
        return prepared


def _flat_output(xp, y):
    """f's output as a 1-D array of the peer (f may return a scalar, a list...)."""
    return xp.reshape(xp.asarray(y), (-1,))


class AutogradJacobian(PeerMethod):
    name = "autograd"
    library = extra = peer = "autograd"
    description = "HIPS autograd: autograd.jacobian (reverse mode, one VJP per output)"

    def build(self, inst):
        import autograd

        from adbench.interpret.peers import namespace
        xp = namespace("autograd")
        jac = autograd.jacobian(lambda v: _flat_output(xp, inst.f(v, xp)))
        return jac, {}


#: The process that started JAX's runtime (None: none has), inherited by forked workers.
_JAX_STARTED_IN: int | None = None


class _Jax(PeerMethod):
    library = extra = peer = "jax"
    memory_unseen = ("JAX allocates its arrays through XLA's allocator, which tracemalloc "
                     "does not see")
    transform = ""

    def load(self):
        global _JAX_STARTED_IN
        if _JAX_STARTED_IN not in (None, os.getpid()):
            # XLA's threads do not survive fork: JAX would hang here, not fail
            raise Unsupported("JAX was started in a parent process, and its runtime does not "
                              "survive fork: run JAX methods only in workers of a process "
                              "that has not run JAX itself")
        super().load()
        import jax.numpy as jnp
        jnp.zeros(1).block_until_ready()  # starts XLA's CPU backend, once per process
        _JAX_STARTED_IN = os.getpid()

    def refusal_types(self):
        import jax
        # JAX's tracer errors (ConcretizationTypeError...) are TypeErrors; a boolean
        # index on a traced array (NonConcreteBooleanIndexError) is an IndexError.
        return self.refusals + tuple(getattr(jax.errors, name) for name in
                                     ("NonConcreteBooleanIndexError",)
                                     if hasattr(jax.errors, name))

    def differentiated(self, inst):
        import jax

        from adbench.interpret.peers import namespace
        xp = namespace("jax")
        return getattr(jax, self.transform)(lambda v: _flat_output(xp, inst.f(v, xp)))

    def build(self, inst):
        import jax.numpy as jnp
        jac = self.differentiated(inst)
        # np.asarray waits for the result (JAX dispatches asynchronously)
        return (lambda x: np.asarray(jac(jnp.asarray(x, dtype=jnp.float64)))), {}


class JaxForward(_Jax):
    name = "jax-fwd"
    description = "JAX jax.jacfwd, eager (forward mode, n JVPs vectorised by vmap), float64"
    transform = "jacfwd"


class JaxReverse(_Jax):
    name = "jax-rev"
    description = "JAX jax.jacrev, eager (reverse mode, m VJPs vectorised by vmap), float64"
    transform = "jacrev"


class JaxJit(_Jax):
    name = "jax-jit"
    description = ("JAX jax.jit(jax.jacrev(f)): setup = tracing and XLA compilation at x0's "
                   "shape; a Python branch on a traced value is unsupported")
    transform = "jacrev"

    def build(self, inst):
        import jax
        import jax.numpy as jnp
        t0 = time.perf_counter()
        jac = self.differentiated(inst)  # first: it turns on float64 (jax_enable_x64)
        x0 = jnp.asarray(inst.x0, dtype=jnp.float64)
        compiled = jax.jit(jac).lower(x0).compile()
        setup = time.perf_counter() - t0
        return (lambda x: np.asarray(compiled(jnp.asarray(x, dtype=jnp.float64)))), \
            {"setup_s": setup}


class _Torch(PeerMethod):
    library = extra = peer = "torch"
    memory_unseen = ("torch allocates tensors through its own CPU allocator, which "
                     "tracemalloc does not see")
    refusals = PeerMethod.refusals + (RuntimeError,)
    transform = ""

    def load(self):
        super().load()
        import torch.func  # noqa: F401

    def build(self, inst):
        import torch

        from adbench.interpret.peers import namespace
        xp = namespace("torch")
        # torch's operators refuse numpy operands (ndarray * Tensor is a TypeError): the
        # problem's float data are handed to f as float64 tensors, as a torch user holds them.
        data = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
                else v for k, v in inst._f_kwargs.items()}
        jac = getattr(torch.func, self.transform)(
            lambda v: _flat_output(xp, inst.problem.fn(v, xp, **data)))

        def jacobian(x):
            with torch.no_grad():  # torch.func computes its own gradients
                return jac(torch.as_tensor(x, dtype=torch.float64)).detach().numpy()
        return jacobian, {}


class TorchReverse(_Torch):
    name = "torch-rev"
    description = "PyTorch torch.func.jacrev (reverse mode, VJPs vectorised by vmap), float64"
    transform = "jacrev"


class TorchForward(_Torch):
    name = "torch-fwd"
    description = "PyTorch torch.func.jacfwd (forward mode, JVPs vectorised by vmap), float64"
    transform = "jacfwd"


class NumdifftoolsJacobian(PeerMethod):
    name = "numdifftools"
    library = extra = "numdifftools"
    description = ("numdifftools.Jacobian: central differences on a geometric sequence of "
                   "steps with Richardson extrapolation (its defaults), with its error estimate")
    tolerance = 1e-8
    approximate = True
    refusals = ()

    def build(self, inst):
        import numdifftools
        info: dict = {}
        m, n = inst.m, inst.n
        jac = numdifftools.Jacobian(lambda v: np.ravel(inst.f(v, numpy_xp)), full_output=True)

        def jacobian(x):
            out = jac(x)
            J = np.reshape(out.estimate, (m, n))
            err = np.reshape(out.error_estimate, (m, n))
            # On the scale of max_rel_error: rho between J and J moved by its estimated error.
            info["error_estimate"] = float(np.max(rho(np.abs(J), np.abs(J) + err)))
            return J
        return jacobian, info


def peer_methods() -> list[Method]:
    """Every peer method, installed or not (an absent one says how to install it)."""
    from adbench.methods.peers_symbolic import CasadiJacobian, SymEngineJacobian
    return [cls() for cls in (AutogradJacobian, JaxForward, JaxReverse, JaxJit, TorchReverse,
                              TorchForward, SymEngineJacobian, CasadiJacobian,
                              NumdifftoolsJacobian)]
