"""The ``adbench`` command line: one module per command, all on one click group."""

from adbench.threads import pin_blas_threads

pin_blas_threads()  # before the commands' modules import numpy

# Each module registers its commands on the group when imported.
from adbench.cli import (  # noqa: E402
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
from adbench.cli.base import USER_ERRORS, UserError, cli, main  # noqa: E402

__all__ = ["cli", "main", "UserError", "USER_ERRORS"]
