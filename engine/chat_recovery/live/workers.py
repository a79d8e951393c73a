"""Replays in supervised worker processes. durable_rules is a C extension
with known segfaults (../shared/notes/durable-rules.md); in a long-running
service a crash must cost a retry, not the node. A worker that dies or hangs
mid-step is replaced and the step runs again on a fresh one; after `retries`
crashes the step runs on the compiled engine (plain Python, held equal to
durable_rules by the differential tests), so the recovery still completes.
Nothing is written until a step returns, so no report is lost either way.

Every worker, a replacement too, runs the policy the server loaded, never
a newer file on disk: the rule files' bytes, read once and checked against
the loaded policy's digest, go down each worker's pipe and are compiled
there (a compiled Policy holds closures, so it does not pickle)."""

from __future__ import annotations

import logging
import multiprocessing
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..diagnostics import PolicyError, RecoveryError, ReportError
from ..policy import bundled
from ..policy.files import files_digest, rule_files
from ..policy.model import Policy
from ..processes import NotStarted, Worker
from ..replay import FALLBACK_ENGINE
from .runner import RunnerUnavailable
from .store import DeadlinePassed

log = logging.getLogger("chat_recovery.live.workers")  # `serve` writes it with its own lines

START_TIMEOUT = 60.0  # seconds a worker is given to start and compile the policy
STOP_WAIT = 5.0  # seconds a worker is given to leave when the runner closes


class WorkerCrashed(RecoveryError):
    """A step crashed its worker every time, the compiled fallback included."""


def policy_files(policy: Policy, directory: str | None) -> dict[str, bytes]:
    """The bytes of the rule files `policy` was compiled from, read from
    `directory` (None: the bundled rules) and held to the policy's digest:
    RuntimeError when a file changed since the policy was loaded."""
    root = bundled.rules_dir() if directory is None else Path(directory)
    files = {path.name: path.read_bytes() for path in rule_files(root)}
    if files_digest(files) != policy.digest:
        raise RuntimeError(f"the policy files in {policy.root} changed on disk since they were loaded: start the server again")
    return files


def compiled(files: Mapping[str, bytes], shown_as: str) -> Policy:
    """The policy of these rule files, compiled as the server compiled them
    (named `shown_as`, so its origins read the same); the directory they
    are written to for it lives only while they compile."""
    from ..policy.compile import compile_policy
    from ..policy.contract import load_contract

    with tempfile.TemporaryDirectory(prefix="chat-recovery-policy-") as work:
        for name, raw in files.items():
            (Path(work) / name).write_bytes(raw)
        policy = compile_policy(Path(work), shown_as, load_contract(bundled.schemas_dir()))
    if policy.digest != files_digest(files):  # pragma: no cover - the same bytes compile to the same digest
        raise RuntimeError("the policy compiled in the worker is not the server's")
    return policy


def _replay_step(
    files: Mapping[str, bytes],
    shown_as: str,
    engine: str | None,
    before_step: Callable[[], None] | None = None,
    keys: Any = None,
    before_start: Callable[[], None] | None = None,
) -> Callable:
    """In the worker: compile the server's policy once, from the rule files'
    bytes the parent sent down the pipe (an error is said to the parent);
    each message is then one step, answered as ("ok" | "report" |
    "recovery", detail). `keys`: the parent's MessageKeys (sent down the
    worker's pipe, never through a file or the command line)."""
    from ..api import step as api_step

    if before_start is not None:
        before_start()
    policy = compiled(files, shown_as)

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
    """A replay worker, ready: its policy compiled. RunnerUnavailable when it
    could not start."""
    try:
        worker = Worker(ctx, _replay_step, args, name="chat-recovery-replay", handshake=True)
    except OSError as exc:  # no process could be made (memory, process limits)
        raise RunnerUnavailable(f"a replay worker could not be started ({exc})") from None
    try:
        worker.wait_ready(START_TIMEOUT)
    except NotStarted as exc:
        if exc.failed is not None:
            raise RunnerUnavailable(f"a replay worker could not start: {exc.failed}") from None
        raise RunnerUnavailable(f"a replay worker {exc}") from None
    return worker


class SupervisedRunner:
    """The Runner of the service: `workers` processes, each running `policy`
    (the one the server loaded from `policy_dir`; None: loaded here), started
    here (so a policy that does not compile fails now). A step is given up
    on after `timeout` seconds, or at its deadline if that comes first.
    `before_step` and `before_start`, picklable callables, run in a worker
    when a step arrives and before it compiles the policy: the tests use
    them to hold a worker mid-step and kill it there, and to make a
    replacement fail to start."""

    def __init__(
        self,
        policy_dir: str | None = None,
        *,
        policy: Policy | None = None,
        engine: str | None = None,
        workers: int = 2,
        retries: int = 2,
        timeout: float = 30.0,
        before_step: Callable[[], None] | None = None,
        keys: Any = None,
        before_start: Callable[[], None] | None = None,
    ):
        if workers < 1 or retries < 0 or timeout <= 0:
            raise ValueError("workers must be 1 or more, retries 0 or more, timeout positive")
        if policy is None:
            from ..api import load_policy

            try:
                policy = load_policy(policy_dir)
            except PolicyError as exc:
                raise RuntimeError(f"the replay workers could not load the policy: {exc}") from None
        self.retries, self.timeout = retries, timeout
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a process holding durable_rules' threads
        self._args = (policy_files(policy, policy_dir), policy.root, engine, before_step, keys, before_start)
        self._workers: list[Worker] = []  # in the order started; one that dies is replaced in its place
        self._lock = threading.Lock()
        self._dead: set[Worker] = set()  # killed, in their places until replaced
        self._broken: str | None = None  # why the last start failed, until one works
        try:
            for _ in range(workers):
                self._workers.append(_started(self._ctx, self._args))
        except BaseException:
            self.close()
            raise
        self._idle: queue.Queue[Worker] = queue.Queue()
        for worker in self._workers:
            self._idle.put(worker)
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

    def step(self, state: dict | None, report: dict, now: str, *, deadline: float | None = None) -> tuple[dict, dict]:
        """As Runner.step; `deadline` (time.monotonic()): past it the step is
        given up on (DeadlinePassed: its worker is killed, so its answer can
        never be written later). RunnerUnavailable when no worker could
        be started for it: nothing was written either way."""
        if self._closed:
            raise RuntimeError("the runner is closed")
        self._count("steps")
        not_started = None
        for attempt in range(self.retries + 2):
            engine = FALLBACK_ENGINE if attempt > self.retries else None
            if engine:
                self._count("fallbacks")
            try:
                answer = self._on_a_worker((state, report, now, engine), deadline)
            except RunnerUnavailable as exc:  # the worker died and none could take its place
                not_started = exc
                continue
            if answer is None:
                continue
            kind, detail = answer
            if kind == "ok":
                return detail
            if kind == "report":
                raise ReportError(*detail)
            raise RecoveryError(detail)
        if not_started is not None:
            raise RunnerUnavailable(f"{not_started}; nothing was written, retry the submit")
        raise WorkerCrashed(
            f"the replay crashed its worker {self.retries + 2} times, the {FALLBACK_ENGINE} engine "
            f"included; nothing was written, the report can be sent again"
        )

    def _on_a_worker(self, message: tuple, deadline: float | None) -> tuple | None:
        worker = self._take(deadline)
        handed_off = False  # to the thread that replaces it
        try:
            if worker in self._dead:  # killed earlier and not replaced yet: replace it first
                worker = self._replace(worker)
            wait = self.timeout
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeadlinePassed(_PAST_DEADLINE)
                wait = min(wait, left)
            worker.send(message)
            answer = worker.receive(wait)
            if answer is None:
                if worker.hung and wait < self.timeout:  # the deadline, not the timeout, ended the wait
                    # killed, so its late answer can never be read (and written) as another step's;
                    # replaced in the background: this answer does not wait for it (a step that needs
                    # it waits at most until its own deadline)
                    self._retire(worker, "the request's deadline passed mid-step", "the step is given up; nothing was written")
                    threading.Thread(target=self._replace_in_place, args=(worker,), name="replay-replace", daemon=True).start()
                    handed_off = True
                    raise DeadlinePassed(_PAST_DEADLINE)
                self._count("crashes")
                self._retire(worker, "", "the step runs again on a new worker")
                worker = self._replace(worker)
            return answer
        finally:
            if not handed_off:
                self._idle.put(worker)

    def _take(self, deadline: float | None) -> Worker:
        """An idle worker, waited for until the deadline at most."""
        try:
            return self._idle.get(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise DeadlinePassed(_PAST_DEADLINE) from None

    def _replace_in_place(self, worker: Worker) -> None:
        """Replace a retired worker and make the new one idle (the dead one,
        when none starts: the next step tries again)."""
        try:
            worker = self._replace(worker)
        except RunnerUnavailable:
            pass  # said, and `ready` says so
        finally:
            self._idle.put(worker)

    def _retire(self, worker: Worker, cause: str, then: str) -> None:
        """Kill (and reap) a worker that died or hung, say why, and mark it
        to be replaced. `cause`: "" to say how it ended."""
        cause = cause or (f"it did not answer within {self.timeout:g} s" if worker.hung else worker.how_it_ended())
        worker.kill()
        log.warning("replayWorkerReplaced", extra={"fields": {"pid": worker.pid, "cause": cause, "then": then}})
        with self._lock:
            self._dead.add(worker)

    def _replace(self, worker: Worker) -> Worker:
        """A new worker in the place of a retired one. RunnerUnavailable when
        it cannot start: the dead one keeps its place, to be replaced by the
        next step that takes it or the next readiness check."""
        try:
            fresh = _started(self._ctx, self._args)
        except RunnerUnavailable as exc:
            with self._lock:
                self._broken = str(exc)
            log.error("replayWorkerNotStarted", extra={"fields": {"pid": worker.pid, "cause": str(exc)}})
            raise
        with self._lock:
            self._workers[self._workers.index(worker)] = fresh
            self._dead.discard(worker)
            self._broken = None  # starting works again
            self._stats["restarts"] += 1
        if self._closed:  # closed while it started (a replacement in the background)
            fresh.stop(STOP_WAIT)
        return fresh

    def ready(self) -> None:
        """Raises RunnerUnavailable (why) while a worker that died could not
        be replaced; an idle one of those is first started again, so a node
        that no traffic reaches (it is not ready) still heals."""
        with self._lock:
            if self._broken is None:
                return
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:  # every worker is busy with a step, which retries the start itself
            worker = None
        if worker is not None:
            try:
                if worker in self._dead:
                    worker = self._replace(worker)
            except RunnerUnavailable:
                pass  # said below
            finally:
                self._idle.put(worker)
        with self._lock:
            if self._broken is not None:
                raise RunnerUnavailable(f"{self._broken} (a worker that died could not be replaced)")

    def close(self) -> None:
        self._closed = True
        for worker in self._workers:
            worker.stop(STOP_WAIT)

    def __enter__(self) -> SupervisedRunner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_PAST_DEADLINE = "the replay did not finish within the request's deadline; nothing was written, retry the submit"
