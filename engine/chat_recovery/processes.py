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
        return "its pipe to this process broke" if code is None else _ended(code)

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


# Serving from several processes: the manager's side (`keep_serving`) and the
# served process's side (`heartbeat`). Each served process is a complete
# server on a listening socket bound once by the manager; one that dies (a
# durable_rules segfault, the OOM killer) or stops beating is replaced, and
# costs only the requests it had in flight.

BEAT_EVERY = 0.5  # seconds between a served process's heartbeats
START_WAIT = 60.0  # seconds a served process is given to start beating
RESTART_PAUSE = 1.0  # a process that dies within this of its start is replaced after this pause: no tight loop


def heartbeat(beat, busy_since: Callable[[], float | None]) -> None:
    """In a served process: a thread writes the time (time.monotonic, one
    clock for every process) to `beat`, or the start of the oldest piece of
    work still running (`busy_since()`, None: none) when that is earlier.
    So a process whose heartbeat stops (its interpreter held by C code) or
    whose work runs too long looks silent since then to its manager, which
    kills it. The process dies with
    its manager (Linux: PR_SET_PDEATHSIG), so a killed node leaves no
    orphan serving on its port."""
    import threading
    import time

    die_with_parent()

    def run() -> None:
        while True:
            since = busy_since()
            now = time.monotonic()
            beat.value = now if since is None else min(now, since)
            time.sleep(BEAT_EVERY)

    threading.Thread(target=run, name="heartbeat", daemon=True).start()


def die_with_parent() -> None:
    import ctypes
    import ctypes.util
    import os

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: an orphan stops at its next heartbeat check instead
        return
    if os.getppid() == 1:  # the manager died before the call: nobody will replace or stop this one
        os.kill(os.getpid(), signal.SIGKILL)


def keep_serving(
    target: Callable,
    args: tuple,
    count: int,
    *,
    silence: float,
    said: Callable[..., None],
    on_stop: Callable[[int | None], None] = lambda sig: None,
    on_ready: Callable[[], None] = lambda: None,
    stop_wait: float = 15.0,
) -> int | None:
    """Run `count` processes of `target(*args, index, beat)` (spawned: a
    module-level function; it must call `heartbeat(beat, ...)`) until SIGINT
    or SIGTERM; the signal that stopped them (None if none). One that dies,
    or whose heartbeat is `silence` seconds old, is killed if need be and
    replaced; `said("serverProcessReplaced", pid=, cause=)` says so. On a
    stop, `on_stop(signal)` is called, each process gets SIGTERM and
    `stop_wait` seconds to finish its requests, then SIGKILL. `on_ready()`
    is called once, when every process has beaten (it beats as it starts
    serving): a banner said earlier would send load to fewer processes."""
    import multiprocessing
    import multiprocessing.connection
    import time

    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    stopped_by: list[int] = []

    def handle(sig: int, frame: Any) -> None:
        stopped_by.append(sig)

    previous = {sig: signal.signal(sig, handle) for sig in STOPS}
    slots: list = [None] * count  # (process, beat, started at)

    def start(index: int) -> None:
        beat = ctx.RawValue("d", 0.0)
        process = ctx.Process(target=target, args=(*args, index, beat), name=f"chat-recovery-serve-{index}", daemon=True)
        with held_stops():  # born with SIGINT and SIGTERM held: it decides what they do before it gets them
            process.start()
        slots[index] = (process, beat, time.monotonic())

    try:
        for index in range(count):
            start(index)
        ready = False
        while not stopped_by:
            multiprocessing.connection.wait([p.sentinel for p, _, _ in slots], timeout=BEAT_EVERY)
            if not ready and all(beat.value for _, beat, _ in slots):
                ready = True
                on_ready()
            for index, (process, beat, at) in enumerate(slots):
                if stopped_by:
                    break
                now = time.monotonic()
                if process.exitcode is None:
                    last, allowed = (beat.value, silence) if beat.value else (at, START_WAIT)
                    if now - last <= allowed:
                        continue
                    process.kill()
                    process.join(KILL_WAIT)
                    cause = f"it did not answer within {allowed:g} s"
                else:
                    cause = _ended(process.exitcode)
                said("serverProcessReplaced", pid=process.pid, cause=cause)
                if now - at < RESTART_PAUSE:
                    time.sleep(RESTART_PAUSE)
                start(index)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        on_stop(stopped_by[0] if stopped_by else None)
        _stop_all([process for process, _, _ in (s for s in slots if s is not None)], stop_wait)
    return stopped_by[0] if stopped_by else None


def _stop_all(processes: list, wait: float) -> None:
    """SIGTERM to each, `wait` seconds for all to finish their requests, then SIGKILL."""
    import os
    import time

    for process in processes:
        if process.exitcode is None:
            os.kill(process.pid, signal.SIGTERM)
    bound = time.monotonic() + wait
    for process in processes:
        process.join(max(0.0, bound - time.monotonic()))
        if process.exitcode is None:
            process.kill()
            process.join(KILL_WAIT)


def _ended(code: int) -> str:
    """A process's exit status, said for people."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
