"""One worker process and the parent's end of its pipe, for the two
schedulers that keep workers (`recover --batch --jobs N` in batch/workers,
the service's supervised runner in live/workers): start it, wait until it is
ready, send it a message, read its answer with or without a timeout, tell
when and how it died, stop or kill it and reap it. A foundation: it knows
processes, not recoveries, so both floors above can import it.

The child's side is `_serve`: it makes its step function once (`setup(*args)`,
a module-level function so spawned workers can find it), then answers each
message with `step(message)` until told to stop (None) or until the parent is
gone (then quietly: nobody reads). A worker is replaced, never restarted: a
new `Worker` takes the place of one that died."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from .stops import STOPS, held_stops

REAP_WAIT = 30.0  # seconds `how_it_ended` waits for a worker whose pipe broke to be reaped
KILL_WAIT = 10.0  # seconds to reap a worker after SIGKILL


class NotStarted(RuntimeError):
    """A worker that did not say it was ready; `failed` is the error its
    setup raised ("TypeName: text") when that was why."""

    def __init__(self, why: str, failed: str | None = None):
        super().__init__(why)
        self.failed = failed


def _serve(conn, setup: Callable, args: tuple, handshake: bool, parent_stops: bool) -> None:
    """A worker's life (see the module's docstring). With `handshake` it says
    ("ready", None) once set up, or ("failed", text) when `setup` raised."""
    if parent_stops:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the workers
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler: its cleanup is the parent's
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # held since birth (see Worker) until now
    try:
        step = setup(*args)
    except Exception as exc:
        if not handshake:
            raise  # it dies, and its parent is told how
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    if handshake:
        conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if message is None:
            return
        answer = step(message)
        try:
            conn.send(answer)
        except OSError:  # the parent is gone
            return


class Worker:
    """A started worker process running `step = setup(*args)` (see `_serve`).

    `parent_stops`: SIGINT and SIGTERM are the parent's to handle (it ends its
    workers): the worker ignores SIGINT, takes SIGTERM's default, and starts
    with both held back, so a Ctrl-C at that moment does not reach it before
    it ignores it and print its KeyboardInterrupt. The parent gets any it held
    once the worker has started; if that stops the parent, the worker is
    killed, since no one else knows of it yet."""

    def __init__(self, context, setup: Callable, args: tuple, *, name: str, handshake: bool = False, parent_stops: bool = False):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, setup, args, handshake, parent_stops), daemon=True, name=name)
        self.hung = False  # the last `receive` timed out
        try:
            if parent_stops:
                with held_stops():
                    self.process.start()
            else:
                self.process.start()
        except BaseException:
            if self.process.pid is not None:
                self.process.kill()
            raise
        finally:
            child.close()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def sentinel(self) -> int:
        """Ready (for multiprocessing.connection.wait) once the process has ended."""
        return self.process.sentinel

    def wait_ready(self, timeout: float) -> None:
        """Returns once a worker started with `handshake` says it is ready;
        otherwise raises NotStarted, the worker killed and reaped."""
        if not self.conn.poll(timeout):
            self.kill()
            raise NotStarted(f"did not start within {timeout:g} s")
        try:
            kind, detail = self.conn.recv()
        except (EOFError, OSError):
            why = self.how_it_ended()
            self.kill()
            raise NotStarted(f"died while starting ({why})") from None
        if kind != "ready":
            self.kill()
            raise NotStarted(f"could not start: {detail}", failed=detail)

    def send(self, message: Any) -> None:
        """Send a message. A worker that died already is not an error here:
        `receive` (or its sentinel) says so next."""
        try:
            self.conn.send(message)
        except OSError:
            pass

    def receive(self, timeout: float = 0.0) -> Any | None:
        """Its answer, or None when it died instead or sent nothing within
        `timeout` seconds (then `hung` is true: it may still be running)."""
        self.hung = False
        try:
            if self.conn.poll(timeout):
                return self.conn.recv()
            self.hung = True
        except (EOFError, OSError):
            pass
        return None

    def how_it_ended(self) -> str:
        """The exit status of a worker whose pipe broke, said for people."""
        # Its pipe broke because it is dying: the exit status follows at once
        # on a quiet machine, but a busy one may take more than a second to
        # reap it, and then the signal that killed it would go unnamed.
        self.process.join(REAP_WAIT)
        code = self.process.exitcode
        if code is None:
            return "its pipe to this process broke"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def kill(self) -> None:
        """SIGKILL, reaped, its pipe closed."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(KILL_WAIT)
        self.conn.close()

    def stop(self, wait: float) -> None:
        """Told to stop, given `wait` seconds to leave, then killed; reaped."""
        self.send(None)
        self.process.join(wait)
        self.kill()
