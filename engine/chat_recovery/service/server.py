"""Putting the service together from its settings, and running it under
uvicorn. The only place that chooses a store and a runner."""
from __future__ import annotations

from typing import Callable, Tuple

from ..live import Coordinator, InProcessRunner, MemoryStore
from ..model import Policy
from .admission import Admission
from .app import Service, create_app
from .config import ServeConfig
from .metrics import Metrics


def build(config: ServeConfig, policy: Policy) -> Tuple[Service, Callable[[], None]]:
    if config.redis_url:
        from ..live.redis_store import RedisStore
        store = RedisStore(config.redis_url)
    else:
        store = MemoryStore()
    if config.workers > 0:
        from ..live.workers import SupervisedRunner
        runner = SupervisedRunner(config.policy, engine=config.engine, workers=config.workers)
    else:
        runner = InProcessRunner(policy, config.engine)
    coordinator = Coordinator(policy, store, window=config.window, retain=config.retain, runner=runner)
    stats = getattr(runner, "stats", None)
    service = Service(coordinator=coordinator, token=config.token or None, admission=Admission(config.max_in_flight),
                      metrics=Metrics(stats), max_body=config.max_body,
                      ready=getattr(store, "ping", lambda: None))

    def close() -> None:
        runner.close()
        store.close()
    return service, close


def serve(service: Service, config: ServeConfig) -> None:
    import uvicorn
    uvicorn.run(create_app(service), host=config.host, port=config.port, log_level="warning",
                limit_concurrency=None, timeout_graceful_shutdown=5)
