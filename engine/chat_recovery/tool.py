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
from contextlib import contextmanager
from typing import Callable, Iterator

EXIT_INTERRUPTED = 128 + signal.SIGINT   # 130: Ctrl-C
EXIT_CLOSED_PIPE = 128 + signal.SIGPIPE  # 141: the reader of stdout went away
EXIT_TERMINATED = 128 + signal.SIGTERM   # 143: SIGTERM
STOPS = (signal.SIGINT, signal.SIGTERM)


class Terminated(BaseException):
    """SIGTERM, raised where the main thread is, like KeyboardInterrupt for SIGINT."""


def stopped(exc: BaseException, more: str = "") -> tuple[str, int]:
    """The line to say (after Ctrl-C's `^C` on a terminal) and the exit code, for a stop by signal."""
    if isinstance(exc, Terminated):
        return f"chat-recovery: terminated{more}\n", EXIT_TERMINATED
    return f"\nchat-recovery: interrupted{more}\n", EXIT_INTERRUPTED


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
            sys.stdout.flush()   # a closed pipe is found here, not in the interpreter's last flush
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
    owner, stopping = os.getpid(), []

    def stop(signum, frame):
        if os.getpid() != owner:   # a forked child before it set its own handlers: die as if we had none
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
