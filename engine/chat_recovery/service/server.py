"""Putting the service together from its settings, and running it under
uvicorn. The only place that makes the store (by its URL's scheme, live/stores.py)
and the runner, and binds the port."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ..live import Coordinator, InProcessRunner, Runner
from ..live.stores import make_store
from ..policy.model import Policy
from ..replay import engine_name
from ..signing import MessageKeys
from .admission import Admission
from .app import create_app
from .config import ServeConfig, processes_in_force
from .endpoint import Service
from .logs import AccessLog, event, log
from .metrics import Metrics


def build(config: ServeConfig, policy: Policy, keys: MessageKeys | None = None) -> tuple[Service, Callable[[], None]]:
    store = make_store(config.redis_url, purge_every=config.purge_every, max_documents=config.max_documents)
    # `auto` is decided here, once: a fallback is said in this process's log,
    # not by each worker on its own stderr; the start line names the result.
    engine = engine_in_force(config, policy)
    if config.workers > 0:
        from ..live.workers import SupervisedRunner

        # the policy the server loaded, sent to every worker, replacements too: never a newer file on disk
        runner: Runner = SupervisedRunner(
            config.policy, policy=policy, engine=engine, workers=config.workers, timeout=config.worker_timeout, keys=keys
        )
    else:
        runner = InProcessRunner(policy, engine, keys)
    coordinator = Coordinator(
        policy,
        store,
        window=config.window,
        retain=config.retain,
        runner=runner,
        max_reports=config.max_visitor_reports,
        max_sources=config.max_visitor_sources,
        max_messages=config.max_visitor_messages,
        max_document_bytes=config.max_visitor_bytes,
        max_clock_skew=config.max_clock_skew,
    )
    stats = getattr(runner, "stats", None)
    service = Service(
        coordinator=coordinator,
        token=config.token or None,
        admission=Admission(config.max_in_flight),
        metrics=Metrics(stats, getattr(store, "forgotten", None)),
        max_body=config.max_body,
        max_list=config.max_list,
        ready=_ready(store, runner),
        deadline=config.deadline,
    )

    stop_purging = purge_on_a_timer(store, config.purge_every)

    def close() -> None:
        stop_purging()
        runner.close()
        store.close()

    return service, close


def _ready(store: object, runner: object) -> Callable[[], list[str] | None]:
    """What /readyz asks: the store answers, and every replay worker that
    died could be replaced (each raises why not); then the store's warnings."""
    ping = getattr(store, "ping", lambda: None)
    workers = getattr(runner, "ready", lambda: None)

    def ready() -> list[str] | None:
        workers()
        return ping()

    return ready


def purge_on_a_timer(store: object, every: float) -> Callable[[], None]:
    """Purge a store that does not expire documents itself (the embedded one)
    every `every` seconds, in a thread, so an idle server forgets too; returns
    the call that stops it. A store without `purge` (Redis) needs none."""
    purge = getattr(store, "purge", None)
    if purge is None:
        return lambda: None
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            try:
                purge()
            except Exception as exc:  # noqa: BLE001  # a failed purge is logged; the next one tries again
                event(log, logging.ERROR, "purgeFailed", cause=repr(exc))

    thread = threading.Thread(target=run, name="store-purge", daemon=True)
    thread.start()

    def stop_it() -> None:
        stop.set()
        thread.join()

    return stop_it


def engine_in_force(config: ServeConfig, policy: Policy) -> str:
    """The engine the service replays with: the flag, else the policy's, with `auto` resolved."""
    return engine_name(policy, config.engine)


def listen(config: ServeConfig) -> socket.socket:
    """The listening socket, bound before anything says "serving on"; an
    OSError (errno EADDRINUSE: the port is taken) when it cannot be."""
    family, kind, proto, _, address = socket.getaddrinfo(
        config.host, config.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart reuses a port in TIME_WAIT, never one in use
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    service: Service,
    config: ServeConfig,
    sock: socket.socket,
    announce: Callable[[], None] = lambda: None,
    playground: Any = None,
    *,
    quiet: bool = False,
) -> int | None:
    """Run until SIGTERM or SIGINT; the signal that stopped it (None if none).
    `playground`: the policy playground's app, mounted at /playground.
    `quiet`: no `shutdown` line (one of several processes: the manager says it).
    serving.py says why the stop handler is our own."""
    import uvicorn

    from ..serving import run_until_stopped
    from .rejects import JsonRejects

    def said_shutdown(sig: int | None, connections: int) -> None:
        if not quiet:
            event(log, logging.INFO, "shutdown", signal=signal.Signals(sig).name if sig else None, openConnections=connections)

    app = create_app(service)
    if playground is not None:
        app.mount("/playground", playground)
    running = uvicorn.Config(
        AccessLog(app),
        log_config=None,
        access_log=False,
        limit_concurrency=None,
        timeout_graceful_shutdown=5,
        http=JsonRejects,  # what the parser refuses is answered in JSON too
    )
    return run_until_stopped(running, sock, announce, said_shutdown)


class _Timed:
    """The runner of a served process, telling its heartbeat when the oldest
    step still running began: a step past --worker-timeout makes the process
    look silent since then, and its manager replaces it (a step in this
    process cannot be given up on any other way)."""

    def __init__(self, runner: Runner):
        self.runner = runner
        self._running: dict[int, float] = {}
        self._lock = threading.Lock()

    def step(self, state: dict | None, report: dict, now: str, *, deadline: float | None = None) -> tuple[dict, dict]:
        key = threading.get_ident()  # one step at a time in a thread
        with self._lock:
            self._running[key] = time.monotonic()
        try:
            return self.runner.step(state, report, now, deadline=deadline)
        finally:
            with self._lock:
                del self._running[key]

    def busy_since(self) -> float | None:
        with self._lock:
            return min(self._running.values(), default=None)

    def close(self) -> None:
        self.runner.close()


def served_process(
    config: ServeConfig, files: dict, shown_as: str, keys: MessageKeys | None, sock: socket.socket, index: int, beat
) -> None:
    """One of `serve --processes N`: a complete server (its own store client,
    the policy compiled here from the rule files' bytes the manager read,
    since a Policy does not pickle) on the manager's listening socket,
    replaying in this process. Ctrl-C is the manager's to handle (it sends
    SIGTERM); shutdown is the manager's to say."""
    import sys

    from ..live.workers import compiled
    from ..processes import heartbeat
    from .logs import configure

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM))  # held since birth (keep_serving)
    configure(config.log_level, config.log_format, sys.stderr)
    policy = compiled(files, shown_as)
    service, close = build(config, policy, keys)
    timed = _Timed(service.coordinator.runner)
    service.coordinator.runner = timed
    heartbeat(beat, timed.busy_since)
    try:
        serve(service, config, sock, quiet=True)
    finally:
        close()


def serve_processes(
    config: ServeConfig, policy: Policy, keys: MessageKeys | None, sock: socket.socket, announce: Callable[[], None]
) -> int | None:
    """`serve --processes N` (N > 1): N served processes on `sock`, kept at N
    (processes.keep_serving), until SIGTERM or SIGINT; the signal that
    stopped them. The replay runs in each (no worker processes, no pickling
    of a visitor's state): a crash costs that process's requests in flight,
    which clients retry (a report answered 200 is in the store already)."""
    from dataclasses import replace

    from ..live.workers import policy_files
    from ..processes import keep_serving

    files = policy_files(policy, config.policy)
    each = replace(config, workers=0, engine=engine_in_force(config, policy))

    def said(name: str, **fields: Any) -> None:
        event(log, logging.WARNING, name, **fields)

    def on_stop(sig: int | None) -> None:
        event(
            log, logging.INFO, "shutdown", signal=signal.Signals(sig).name if sig else None, processes=processes_in_force(config)
        )

    return keep_serving(
        served_process,
        (each, files, policy.root, keys, sock),
        processes_in_force(config),
        silence=config.worker_timeout,
        said=said,
        on_stop=on_stop,
        on_ready=announce,
    )
