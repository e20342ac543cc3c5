"""Stopping ``reproduce`` by a signal: SIGTERM and SIGHUP raise :class:`Stopped` as Ctrl-C
raises KeyboardInterrupt (:func:`stop_on_signals`), and no signal cuts the workers' clean-up
short (:func:`signals_held`)."""

from __future__ import annotations

import contextlib
import signal
import threading


class Stopped(KeyboardInterrupt):
    """The parent was asked to stop by a signal other than Ctrl-C (``signum``: which)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _handlers(names: tuple[str, ...], handler):
    """While the block runs, the signals ``names`` (those this platform has) go to
    ``handler``; the previous handlers come back afterwards. Outside the main thread, where
    Python cannot set handlers, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    present = [n for n in names if hasattr(signal, n)]
    saved = {n: signal.signal(getattr(signal, n), handler) for n in present}
    try:
        yield
    finally:
        for n, previous in saved.items():
            signal.signal(getattr(signal, n), previous)


def _stop(signum, frame):
    raise Stopped(signum)


def stop_on_signals():
    """While the block runs (in the main thread), SIGTERM and SIGHUP raise :class:`Stopped`
    (as Ctrl-C raises KeyboardInterrupt), so the workers are stopped and statuses written."""
    return _handlers(("SIGTERM", "SIGHUP"), _stop)


def signals_held():
    """Ignore Ctrl-C, SIGTERM and SIGHUP while the workers are being stopped (a second
    signal must not cut the clean-up short)."""
    return _handlers(("SIGINT", "SIGTERM", "SIGHUP"), signal.SIG_IGN)
