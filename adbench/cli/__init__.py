"""The ``adbench`` command line: one module per command, all on one click group."""

from adbench.cli import run  # noqa: F401  (registers list and run)
from adbench.cli import fuzz  # noqa: F401  (registers fuzz)
from adbench.cli.base import USER_ERRORS, UserError, cli, main

__all__ = ["cli", "main", "UserError", "USER_ERRORS"]
