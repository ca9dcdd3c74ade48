"""The differentiators, one interface (:class:`~adbench.methods.base.Method`).

``METHODS`` maps each name to its instance, in the order reports show them.
"""

from __future__ import annotations

from adbench.methods.autodiff import ADCompiled, ADForward, ADReverse
from adbench.methods.base import Method, Prepared, Unsupported, as_jacobian
from adbench.methods.complex_step import FDComplex
from adbench.methods.finite import FDCentral, FDForward
from adbench.methods.manual import Manual
from adbench.methods.peers import peer_methods
from adbench.methods.richardson import FDRichardson
from adbench.methods.symbolic import Symbolic
from adbench.registry import UnknownNameError, did_you_mean

__all__ = ["METHODS", "get_method", "Method", "Prepared", "Unsupported", "as_jacobian"]

METHODS: dict[str, Method] = {
    m.name: m for m in (Manual(), FDForward(), FDCentral(), FDRichardson(), FDComplex(),
                        Symbolic(), ADForward(), ADReverse(), ADCompiled(), *peer_methods())
}


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownNameError(did_you_mean("method", name, METHODS)) from None
