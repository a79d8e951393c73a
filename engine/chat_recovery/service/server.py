"""Putting the service together from its settings, and running it under
uvicorn. The only place that makes the store (by its URL's scheme, live/stores.py)
and the runner, and binds the port."""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from ..live import Coordinator, InProcessRunner, Runner
from ..live.stores import make_store
from ..policy.model import Policy
from ..replay import engine_name
from ..signing import MessageKeys
from .admission import Admission
from .app import create_app
from .config import ServeConfig
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
) -> int | None:
    """Run until SIGTERM or SIGINT; the signal that stopped it (None if none).
    `playground`: the policy playground's app, mounted at /playground.
    serving.py says why the stop handler is our own."""
    import uvicorn

    from ..serving import run_until_stopped
    from .rejects import JsonRejects

    def said_shutdown(sig: int | None, connections: int) -> None:
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
