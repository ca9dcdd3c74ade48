"""The ``adbench`` command line: one module per command, all on one click group."""

# Each module registers its commands on the group when imported.
from adbench.cli import (
    bench,  # noqa: F401
    diff,  # noqa: F401
    fdsweep,  # noqa: F401
    fuzz,  # noqa: F401
    gradbench,  # noqa: F401
    report,  # noqa: F401
    reproduce,  # noqa: F401
    run,  # noqa: F401
    swell,  # noqa: F401
    trace,  # noqa: F401
)
from adbench.cli.base import USER_ERRORS, UserError, cli, main

__all__ = ["cli", "main", "UserError", "USER_ERRORS"]
