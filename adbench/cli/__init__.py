"""The ``adbench`` command line: one module per command, all on one click group."""

# Each module registers its commands on the group when imported.
from adbench.cli import bench  # noqa: F401
from adbench.cli import diff  # noqa: F401
from adbench.cli import fdsweep  # noqa: F401
from adbench.cli import fuzz  # noqa: F401
from adbench.cli import report  # noqa: F401
from adbench.cli import reproduce  # noqa: F401
from adbench.cli import run  # noqa: F401
from adbench.cli import swell  # noqa: F401
from adbench.cli import trace  # noqa: F401
from adbench.cli.base import USER_ERRORS, UserError, cli, main

__all__ = ["cli", "main", "UserError", "USER_ERRORS"]
