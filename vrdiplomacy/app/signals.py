"""Ctrl-C and SIGTERM as a way to leave: the long-running commands (``join``, ``demo``) end their
loop as Esc or ``--duration`` would, so the session leaves the room cleanly and the summary is
printed; a second Ctrl-C interrupts at once."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger("vrdiplomacy")


@contextlib.contextmanager
def leave_on_signal(stop: Callable[[], None], what: str = "leaving the room") -> Iterator[list[int]]:
    """While the block runs, the first SIGINT or SIGTERM calls ``stop()`` (e.g. the backend's
    ``request_exit``) and logs one line; a second one raises KeyboardInterrupt. Yields the signals
    received, so the caller exits with 128 + the first (130 for Ctrl-C, 143 for SIGTERM) after its
    summary. A SIGINT the process was started ignoring (``nohup``, a background job) stays ignored;
    outside the main thread nothing is installed."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def on_signal(signum: int, _frame: Any) -> None:
        if got:
            raise KeyboardInterrupt
        got.append(signum)
        log.warning("%s: %s (Ctrl-C again to quit at once)", signal.Signals(signum).name, what)
        stop()

    old: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is signal.SIG_IGN:
            continue
        old[sig] = signal.signal(sig, on_signal)
    try:
        yield got
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def exit_code(signals: list[int]) -> int:
    """0 after a normal end; 128 + the signal after one that asked to leave (130: Ctrl-C)."""
    return 128 + signals[0] if signals else 0
