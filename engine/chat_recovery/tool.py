"""The `chat-recovery` console script, a Unix tool: a reader that closes the
pipe (`| head`), Ctrl-C and SIGTERM each end it with one line at most, the
shell's code for the signal, and every temporary file removed. SIGTERM is
turned into an exception in this process, so `finally` blocks and context
managers (the batch's temporary folder) run as they do for Ctrl-C. The
handlers are set before the CLI's modules are imported (a second on a busy
machine), so a Ctrl-C while they load ends the command like any other."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .stops import EXIT_CLOSED_PIPE, STOPS, Terminated, stopped


def entry() -> None:
    sys.exit(run(_main))


def _main() -> int:
    from .cli import main

    return main(sys.argv[1:])


def run(main: Callable[[], int]) -> int:
    """`main()`'s exit code; a closed stdout, Ctrl-C or SIGTERM at any moment
    of it ends it quietly with its own code instead of a traceback."""
    with _stop_signals():
        try:
            code = main()
            sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's last flush
            return code
        except BrokenPipeError:
            _quiet()
            return EXIT_CLOSED_PIPE
        except (KeyboardInterrupt, Terminated) as exc:
            line, code = stopped(exc)
            _say(line)
            return code


@contextmanager
def _stop_signals() -> Iterator[None]:
    """The first SIGINT or SIGTERM raises in this process; later ones are
    ignored, so the cleanup the first one started is not cut short (it is
    bounded: workers are killed, not waited for)."""
    owner = os.getpid()
    stopping: list[int] = []

    def stop(signum, frame):
        if os.getpid() != owner:  # a forked child before it set its own handlers: die as if we had none
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if stopping:
            return
        stopping.append(signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated

    previous = {signum: signal.signal(signum, stop) for signum in STOPS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _quiet() -> None:
    """Point the closed stream(s) at /dev/null, so the interpreter's last flush is silent."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
            except (OSError, ValueError, AttributeError):
                pass


def _say(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        _quiet()
