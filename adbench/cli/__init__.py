"""The ``adbench`` command line: one module per command, all on one click group."""

from adbench.cli import fdsweep, run, swell  # noqa: F401  (each registers its commands)
from adbench.cli.base import USER_ERRORS, UserError, cli, main

__all__ = ["cli", "main", "UserError", "USER_ERRORS"]
