"""How a command stops by signal, shared by the console script (`tool`),
which turns SIGTERM into an exception, and the commands that must not be cut
mid-line (`recover --batch`): the exception, the exit codes, the last line."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130: Ctrl-C
EXIT_CLOSED_PIPE = 128 + signal.SIGPIPE  # 141: the reader of stdout went away
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143: SIGTERM
STOPS = (signal.SIGINT, signal.SIGTERM)


class Terminated(BaseException):
    """SIGTERM, raised where the main thread is, like KeyboardInterrupt for SIGINT."""


def stopped(exc: BaseException, more: str = "") -> tuple[str, int]:
    """The line to say (after Ctrl-C's `^C` on a terminal) and the exit code, for a stop by signal."""
    if isinstance(exc, Terminated):
        return f"chat-recovery: terminated{more}\n", EXIT_TERMINATED
    return f"\nchat-recovery: interrupted{more}\n", EXIT_INTERRUPTED


@contextmanager
def held_stops() -> Iterator[None]:
    """SIGINT and SIGTERM held back for a moment (one output line), so a stop
    lands between lines: a buffered write interrupted mid-flush left half a
    line on the pipe."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
