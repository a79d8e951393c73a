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
import threading
from collections.abc import Callable
from typing import Any

from ..diagnostics import RecoveryError, ReportError
from ..processes import NotStarted, Worker
from ..replay import FALLBACK_ENGINE

log = logging.getLogger("chat_recovery.live.workers")  # `serve` writes it with its own lines

START_TIMEOUT = 60.0  # seconds a worker is given to load the policy
STOP_WAIT = 5.0  # seconds a worker is given to leave when the runner closes


class WorkerCrashed(RecoveryError):
    """A step crashed its worker every time, the compiled fallback included."""


def _replay_step(
    policy_dir: str | None, engine: str | None, before_step: Callable[[], None] | None = None, keys: Any = None
) -> Callable:
    """In the worker: load the policy once (an error is said to the parent,
    which refuses to start); each message is then one step, answered as
    ("ok" | "report" | "recovery", detail). `keys`: the parent's MessageKeys
    (sent down the worker's pipe, never through a file or the command line)."""
    from ..api import load_policy
    from ..api import step as api_step

    policy = load_policy(policy_dir)

    def step(message: tuple) -> tuple:
        state, report, now, use = message
        if before_step is not None:
            before_step()
        try:
            return ("ok", api_step(policy, state, report, now, use or engine, keys=keys))
        except ReportError as exc:
            return ("report", (exc.message, exc.path, exc.where))
        except RecoveryError as exc:
            return ("recovery", str(exc))

    return step


def _started(ctx, args: tuple) -> Worker:
    """A replay worker, ready: its policy loaded."""
    worker = Worker(ctx, _replay_step, args, name="chat-recovery-replay", handshake=True)
    try:
        worker.wait_ready(START_TIMEOUT)
    except NotStarted as exc:
        if exc.failed is not None:
            raise RuntimeError(f"a replay worker could not load the policy: {exc.failed}") from None
        raise RuntimeError(f"a replay worker {exc}") from None
    return worker


class SupervisedRunner:
    """The Runner of the service: `workers` processes, each with the policy
    loaded once, started here (so a policy that does not load fails now).
    `before_step`, a picklable callable, runs in the worker when a step
    arrives: the tests use it to hold a worker mid-step and kill it there."""

    def __init__(
        self,
        policy_dir: str | None = None,
        *,
        engine: str | None = None,
        workers: int = 2,
        retries: int = 2,
        timeout: float = 30.0,
        before_step: Callable[[], None] | None = None,
        keys: Any = None,
    ):
        if workers < 1 or retries < 0 or timeout <= 0:
            raise ValueError("workers must be 1 or more, retries 0 or more, timeout positive")
        self.retries, self.timeout = retries, timeout
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a process holding durable_rules' threads
        self._args = (policy_dir, engine, before_step, keys)
        self._workers: list[Worker] = []  # in the order started; one that dies is replaced in its place
        try:
            for _ in range(workers):
                self._workers.append(_started(self._ctx, self._args))
        except BaseException:
            self.close()
            raise
        self._idle: queue.Queue[Worker] = queue.Queue()
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
        return [w.pid for w in self._workers]

    def step(self, state: dict | None, report: dict, now: str) -> tuple[dict, dict]:
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
        raise WorkerCrashed(
            f"the replay crashed its worker {self.retries + 2} times, the {FALLBACK_ENGINE} engine "
            f"included; nothing was written, the report can be sent again"
        )

    def _on_a_worker(self, message: tuple) -> tuple | None:
        worker = self._idle.get()
        try:
            worker.send(message)
            answer = worker.receive(self.timeout)
            if answer is None:
                self._count("crashes")
                worker = self._replace(worker)
            return answer
        finally:
            self._idle.put(worker)

    def _replace(self, worker: Worker) -> Worker:
        """A new worker in the place of one that died or hung (which is killed and reaped)."""
        cause = f"it did not answer within {self.timeout:g} s" if worker.hung else worker.how_it_ended()
        worker.kill()
        log.warning(
            "replayWorkerReplaced",
            extra={"fields": {"pid": worker.pid, "cause": cause, "then": "the step runs again on a new worker"}},
        )
        fresh = _started(self._ctx, self._args)
        with self._lock:
            self._workers[self._workers.index(worker)] = fresh
        self._count("restarts")
        return fresh

    def close(self) -> None:
        self._closed = True
        for worker in self._workers:
            worker.stop(STOP_WAIT)

    def __enter__(self) -> SupervisedRunner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
