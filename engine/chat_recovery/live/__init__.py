"""Live recovery: reports arrive one at a time, on any node, over a window.

    coordinator = Coordinator(policy, MemoryStore())       # one node, no set-up
    coordinator = Coordinator(policy, RedisStore(url))     # several nodes
    progress = coordinator.submit(report)                  # the recovery so far

The coordinator is the only place that knows about windows and who is still
awaited; stores only hold documents atomically, runners only step (fold and
render, through the API: `api.step`).
"""

from .coordinator import LIVE_FORMAT, Coordinator
from .limits import VisitorTooLarge
from .runner import InProcessRunner, Runner, RunnerUnavailable
from .store import DeadlinePassed, MemoryStore, OutcomeUnknown, Store, StoreMisconfigured, StoreUnavailable


def __getattr__(name: str):
    # RedisStore needs the `serve` extra; importing the package must not
    if name == "RedisStore":
        from .redis_store import RedisStore

        return RedisStore
    raise AttributeError(name)


__all__ = [
    "RedisStore",
    "Coordinator",
    "LIVE_FORMAT",
    "InProcessRunner",
    "Runner",
    "RunnerUnavailable",
    "MemoryStore",
    "Store",
    "StoreUnavailable",
    "DeadlinePassed",
    "OutcomeUnknown",
    "VisitorTooLarge",
    "StoreMisconfigured",
]
