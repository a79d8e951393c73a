"""The stores a live coordinator may keep its documents in, by the scheme of
the store URL (`serve --redis-url`), one entry each: how to make one and
what it is. No URL: the embedded store. `serve` checks a URL's scheme here
before it starts, and `make_store` is the one place a store is chosen. A
new backend is one entry here plus its scheme in the README's Stores
paragraph; tests/test_closed_sets.py holds the two to the same names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..diagnostics import suggest
from .store import MemoryStore, Store, StoreUnavailable


@dataclass(frozen=True)
class StoreKind:
    scheme: str
    make: Callable[[str], Store]  # the URL -> a store; imports its client on first use


def _redis(url: str) -> Store:
    from .redis_store import RedisStore  # the `serve` extra

    return RedisStore(url)


STORES: Mapping[str, StoreKind] = MappingProxyType(
    {
        s.scheme: s
        for s in (
            StoreKind("redis", _redis),  # Redis over TCP
            StoreKind("rediss", _redis),  # Redis over TLS
            StoreKind("unix", _redis),  # Redis on a local socket: unix:///path/to/redis.sock
            StoreKind("redis+cluster", _redis),  # a Redis Cluster: redis+cluster://host:port[,host:port...]
            StoreKind("rediss+cluster", _redis),  # a Redis Cluster over TLS
        )
    }
)
EMBEDDED = "embedded (in-process)"  # the store when no URL is given, as the banner names it


def scheme_of(url: str) -> str:
    return url.partition("://")[0].lower() if "://" in url else ""


def unknown_scheme(url: str) -> str | None:
    """Why no store takes this URL, or None when one does."""
    scheme = scheme_of(url)
    if scheme in STORES:
        return None
    known = ", ".join(f"{s}://" for s in STORES)
    if not scheme:
        return f"a store URL starts with one of {known}"
    return f"no store for {scheme}:// URLs (one of {known}){suggest(scheme, list(STORES))}"


def make_store(url: str | None, **embedded) -> Store:
    """The store for a URL by its scheme; the embedded one when there is none
    (made with `embedded`: MemoryStore's purge_every and max_documents)."""
    if not url:
        return MemoryStore(**embedded)
    problem = unknown_scheme(url)
    if problem is not None:
        raise StoreUnavailable(problem)
    return STORES[scheme_of(url)].make(url)
