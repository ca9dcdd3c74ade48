"""A package split into parts that still behaves as the one module it was.

:func:`act_as_one_module` makes setting (or deleting) a name on the package set
(or delete) it in each part that holds that name, or in every part for a
builtin such as ``open``. ``monkeypatch.setattr(package, "LIMIT", 1)`` then
changes what the code of the parts reads, as it did when they were one file.
"""

from __future__ import annotations

import builtins
import sys
import types
from typing import Sequence

__all__ = ["act_as_one_module"]


def act_as_one_module(name: str, parts: Sequence[types.ModuleType]) -> None:
    """Give the package ``name`` (already in sys.modules) the behaviour above."""

    class _OneModule(types.ModuleType):
        def __setattr__(self, attr, value):
            super().__setattr__(attr, value)
            for part in parts:
                if attr in vars(part) or hasattr(builtins, attr):
                    setattr(part, attr, value)

        def __delattr__(self, attr):
            super().__delattr__(attr)
            for part in parts:
                if attr in vars(part) and hasattr(builtins, attr):
                    delattr(part, attr)  # the builtin is seen again

    sys.modules[name].__class__ = _OneModule
