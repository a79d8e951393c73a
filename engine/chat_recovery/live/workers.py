"""Replays in supervised worker processes. durable_rules is a C extension
with known segfaults (../shared/notes/durable-rules.md); in a long-running
service a crash must cost a retry, not the node. A worker that dies or hangs
mid-step is replaced and the step runs again on a fresh one; after `retries`
crashes the step runs on the compiled engine (plain Python, held equal to
durable_rules by the differential tests), so the recovery still completes.
Nothing is written until a step returns, so no report is lost either way."""
from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
import threading
from typing import Any, Callable, Optional, Tuple

from ..diagnostics import RecoveryError, ReportError
from ..replay import FALLBACK_ENGINE

log = logging.getLogger("chat_recovery.live.workers")   # `serve` writes it with its own lines

START_TIMEOUT = 60.0


class WorkerCrashed(RecoveryError):
    """A step crashed its worker every time, the compiled fallback included."""


def _worker_main(conn, policy_dir: Optional[str], engine: Optional[str], before_step: Optional[Callable[[], None]] = None) -> None:
    from ..api import load_policy, step
    try:
        policy = load_policy(policy_dir)
    except Exception as exc:  # said to the parent, which refuses to start
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        state, report, now, use = message
        if before_step is not None:
            before_step()
        try:
            conn.send(("ok", step(policy, state, report, now, use or engine)))
        except ReportError as exc:
            conn.send(("report", (exc.message, exc.path, exc.where)))
        except RecoveryError as exc:
            conn.send(("recovery", str(exc)))


class _Worker:
    def __init__(self, ctx, policy_dir: Optional[str], engine: Optional[str], before_step: Optional[Callable[[], None]]):
        self._args = (policy_dir, engine, before_step)
        self._ctx = ctx
        self.start()

    def start(self) -> None:
        parent, child = self._ctx.Pipe()
        self.process = self._ctx.Process(target=_worker_main, args=(child, *self._args), daemon=True,
                                         name="chat-recovery-replay")
        self.process.start()
        child.close()
        self.conn = parent
        if not parent.poll(START_TIMEOUT):
            self.kill()
            raise RuntimeError("a replay worker did not start within a minute")
        try:
            kind, detail = parent.recv()
        except EOFError:
            self.process.join(10)
            raise RuntimeError(f"a replay worker died while starting (exit {self.process.exitcode})") from None
        if kind != "ready":
            raise RuntimeError(f"a replay worker could not load the policy: {detail}")

    def call(self, message: tuple, timeout: float) -> Optional[tuple]:
        """The worker's answer, or None when it died or outlived `timeout`."""
        self.hung = False
        try:
            self.conn.send(message)
            if not self.conn.poll(timeout):
                self.hung = True
                return None
            return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            return None

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(10)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.process.join(5)
        self.kill()


class SupervisedRunner:
    """The Runner of the service: `workers` processes, each with the policy
    loaded once, started here (so a policy that does not load fails now).
    `before_step`, a picklable callable, runs in the worker when a step
    arrives: the tests use it to hold a worker mid-step and kill it there."""

    def __init__(self, policy_dir: Optional[str] = None, *, engine: Optional[str] = None, workers: int = 2,
                 retries: int = 2, timeout: float = 30.0, before_step: Optional[Callable[[], None]] = None):
        if workers < 1 or retries < 0 or timeout <= 0:
            raise ValueError("workers must be 1 or more, retries 0 or more, timeout positive")
        self.retries, self.timeout = retries, timeout
        self._ctx = multiprocessing.get_context("spawn")   # no fork of a process holding durable_rules' threads
        self._workers = [_Worker(self._ctx, policy_dir, engine, before_step) for _ in range(workers)]
        self._idle: "queue.Queue[_Worker]" = queue.Queue()
        for worker in self._workers:
            self._idle.put(worker)
        self._lock = threading.Lock()
        self._stats = {"steps": 0, "crashes": 0, "restarts": 0, "fallbacks": 0}
        self._closed = False

    def stats(self) -> dict:
        with self._lock:
            return dict(self._stats)

    def _count(self, name: str) -> None:
        with self._lock:
            self._stats[name] += 1

    def worker_pids(self) -> list:
        return [w.process.pid for w in self._workers]

    def step(self, state: Optional[dict], report: dict, now: str) -> Tuple[dict, dict]:
        if self._closed:
            raise RuntimeError("the runner is closed")
        self._count("steps")
        for attempt in range(self.retries + 2):
            engine = FALLBACK_ENGINE if attempt > self.retries else None
            if engine:
                self._count("fallbacks")
            answer = self._on_a_worker((state, report, now, engine))
            if answer is None:
                continue
            kind, detail = answer
            if kind == "ok":
                return detail
            if kind == "report":
                raise ReportError(*detail)
            raise RecoveryError(detail)
        raise WorkerCrashed(f"the replay crashed its worker {self.retries + 2} times, the {FALLBACK_ENGINE} engine "
                            f"included; nothing was written, the report can be sent again")

    def _on_a_worker(self, message: tuple) -> Optional[tuple]:
        worker = self._idle.get()
        try:
            answer = worker.call(message, self.timeout)
            if answer is None:
                self._count("crashes")
                self._replace(worker)
            return answer
        finally:
            self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        code = worker.process.exitcode
        cause = (f"it did not answer within {self.timeout:g} s" if worker.hung else
                 f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit {code}")
        log.warning("replayWorkerReplaced", extra={"fields": {"pid": worker.process.pid, "cause": cause, "then": "the step runs again on a new worker"}})
        worker.start()
        self._count("restarts")

    def close(self) -> None:
        self._closed = True
        for worker in self._workers:
            worker.stop()

    def __enter__(self) -> "SupervisedRunner":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
