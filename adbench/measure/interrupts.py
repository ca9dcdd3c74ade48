"""Ctrl-C and SIGTERM as exceptions that are never lost.

A run stops on SIGINT (Ctrl-C) and SIGTERM (a service manager's stop, ``kill``)
by raising an exception in the main thread, so that the current worker is
killed and results.csv is closed with its finished rows on the way out.

Python runs a signal handler between two bytecodes of whatever Python code the
main thread is executing, and that may be code whose exceptions Python
discards: a ``__del__`` method, a weakref callback (``multiprocessing``'s
finalizers), an at-fork hook. There the handler's exception is printed as
"Exception ignored in: ..." and the program carries on as if no signal had come.
Measured under load, about one trial in 500 of ``tests/test_hardening.py``'s
signal test met ``subprocess.Popen.__del__`` that way.

So the handlers of :func:`raising_interrupts` record the interruption before
raising it, and :func:`raise_pending` raises a recorded one again.
:func:`adbench.measure.isolation.run_isolated` calls it after every
measurement, and the block calls it when it ends: an exception that Python
discarded is raised at the end of the current measurement at the latest.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["Terminated", "raising_interrupts", "raise_pending"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a run stops as on Ctrl-C.

    A KeyboardInterrupt, so that everything that cleans up after Ctrl-C (the
    worker killed, results.csv closed with its finished rows) does so here too.
    """

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


#: The interruption raised by a handler of :func:`raising_interrupts` while its
#: block runs, whether or not its exception got anywhere (None: none came).
_pending: list[KeyboardInterrupt | None] = [None]


def _interruption(signum: int) -> KeyboardInterrupt:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def _record_and_raise(signum, frame):
    exc = _interruption(signum)
    _pending[0] = exc
    raise exc


def raise_pending() -> None:
    """In the main thread, raise the interruption that came during the
    :func:`raising_interrupts` block, if there was one: its handler's exception
    may have been discarded (see the module docstring). Nothing outside such a
    block, nor in another thread (a handler's exception is the main thread's)."""
    exc = _pending[0]
    if exc is not None and threading.current_thread() is threading.main_thread():
        raise exc


@contextmanager
def raising_interrupts():
    """Within the block, SIGINT raises KeyboardInterrupt and SIGTERM raises
    :class:`Terminated`, instead of SIGTERM ending the process on the spot
    (which would leave the current worker to die alone); and neither is lost
    (see the module docstring). An ignored SIGINT (a job started in the
    background by a shell) stays ignored.

    Signal handlers can only be set in the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signums = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signums.append(signal.SIGINT)
    outer = _pending[0]
    _pending[0] = None
    previous = {signum: signal.signal(signum, _record_and_raise) for signum in signums}
    try:
        yield
        raise_pending()
    finally:
        # Blocked while the handlers are put back: a signal that comes meanwhile
        # then goes to the previous handler, not to half of each.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, previous)
        try:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            _pending[0] = outer
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
