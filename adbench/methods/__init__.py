"""The differentiators, one interface (:class:`~adbench.methods.base.Method`).

``METHODS`` maps each name to its instance, in the order reports show them:
adbench's own methods, then the peer libraries' (:mod:`adbench.methods.peers`).
``DEFAULT_METHODS`` are adbench's own: what a run measures when it names no
method and its suite lists none (the peers run when named, as in the ``peers``
suite: each peer worker imports its library, 2-3 s for JAX and torch).
``ad-native`` is adbench's own too but runs only when named: it needs a C
compiler, and compiling takes seconds per problem.
"""

from __future__ import annotations

from adbench.methods.autodiff import ADCompiled, ADForward, ADNative, ADReverse
from adbench.methods.base import Method, Prepared, Unsupported, as_jacobian
from adbench.methods.complex_step import FDComplex
from adbench.methods.finite import FDCentral, FDForward
from adbench.methods.manual import Manual
from adbench.methods.peers import peer_methods
from adbench.methods.richardson import FDRichardson
from adbench.methods.symbolic import Symbolic
from adbench.registry import UnknownNameError, did_you_mean

__all__ = ["METHODS", "DEFAULT_METHODS", "PEER_METHODS", "get_method", "Method", "Prepared",
           "Unsupported", "as_jacobian"]

_OWN = (Manual(), FDForward(), FDCentral(), FDRichardson(), FDComplex(), Symbolic(),
        ADForward(), ADReverse(), ADCompiled())
_OWN_WHEN_NAMED = (ADNative(),)
_PEERS = tuple(peer_methods())
METHODS: dict[str, Method] = {m.name: m for m in (*_OWN, *_OWN_WHEN_NAMED, *_PEERS)}
#: adbench's own methods, in order: the default selection of a run.
DEFAULT_METHODS: list[str] = [m.name for m in _OWN]
#: The other libraries' methods, in order.
PEER_METHODS: list[str] = [m.name for m in _PEERS]


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownNameError(did_you_mean("method", name, METHODS)) from None
