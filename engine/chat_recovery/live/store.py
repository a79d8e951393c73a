"""Where live recoveries are held between reports. A store knows nothing of
policies: it keeps one JSON-ready document per visitor and changes it
atomically, so two reports for one visitor never overwrite each other."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")
Change = Callable[[dict | None], tuple[dict | None, T]]
Expiry = Callable[[dict], float]  # seconds the written document lives, from the document


class StoreUnavailable(Exception):
    """The store could not be reached or did not answer. Nothing was written:
    the caller may retry the same submit. `code`: the service's error code."""

    code = "storeUnavailable"


class StoreMisconfigured(StoreUnavailable):
    """The store answers, but is not what its URL says (a Redis Cluster node
    behind a plain redis:// URL, a database number on a cluster): `serve`
    refuses to start (exit 2); found later, it is a 503 that says what to fix."""


class DeadlinePassed(StoreUnavailable):
    """The request's deadline passed before its change was written (a long
    conflict, a store or a replay that did not answer in time): nothing was
    written, and nothing will be for this request."""

    code = "deadlinePassed"


class OutcomeUnknown(StoreUnavailable):
    """The write was sent, and then the store did not say whether it was
    applied (a timeout or a lost connection after EXEC went out, then no
    answer before the deadline; a Redis that drops the connection of a write
    too large for it, with its limit unknown). A retry is safe: a report applied twice
    counts once (the second is a duplicate)."""

    code = "outcomeUnknown"


PAST_DEADLINE = "the report was not applied within the request's deadline; nothing was written, retry the submit"


def time_left(deadline: float | None) -> float | None:
    """Seconds until `deadline` (time.monotonic()), never below 0; None: no deadline."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class Store(Protocol):
    def get(self, visitor_id: str) -> dict | None:
        """The visitor's document, or None (never held, or expired)."""

    def update(self, visitor_id: str, change: Change[T], ttl: Expiry, *, deadline: float | None = None) -> T:
        """Atomically read the visitor's document (None when there is none),
        call `change(doc) -> (new_doc, result)`, and write new_doc to expire
        `ttl(new_doc)` seconds from now; a None new_doc writes nothing. When another
        writer changed the document in between, `change` runs again on the
        fresh document, so it must be pure. Returns `result`. Raises
        StoreUnavailable when nothing could be written (DeadlinePassed when
        `deadline`, a time.monotonic() instant, passed first: nothing is
        written after it), OutcomeUnknown when a write was sent and its
        outcome never came back."""

    def close(self) -> None:
        """Release connections; the documents stay where they are."""


class MemoryStore:
    """One process, no set-up: the embedded default. Striped locks keep each
    read-change-write atomic: a fixed set, a visitor's chosen by its id, so
    no visitor ever adds a lock (a GET of an unknown id leaves nothing
    behind). Expiry follows `clock` (seconds); expired documents are dropped
    when read, and all of them at most every `purge_every` seconds, by the
    update that finds that time has passed (the service also calls `purge`
    on a timer), so memory follows the visitors held, not the visitors ever
    seen. At most `max_documents` are held (None: no bound): past it the one
    that expires first (of those, the least recently written) is dropped.
    `forgotten` counts what went: "purged" (expired) and "dropped" (bound)."""

    STRIPES = 64

    def __init__(self, clock: Callable[[], float] = time.monotonic, purge_every: float = 60.0, max_documents: int | None = None):
        self._clock = clock
        self._docs: dict[str, tuple[dict, float, int]] = {}  # id -> (document, expires, write number)
        self._stripes = tuple(threading.Lock() for _ in range(self.STRIPES))
        self._purge_every = purge_every
        self._next_purge = clock() + purge_every
        self._max = max_documents
        # (expires, write number, id) per write, oldest first; an entry whose write
        # number is no longer the id's is stale and skipped (rebuilt when mostly stale)
        self._order: list[tuple[float, int, str]] = []
        self._order_lock = threading.Lock()
        self._writes = itertools.count()
        self.forgotten = {"purged": 0, "dropped": 0}
        self._counting = threading.Lock()  # counts from several stripes at once lose nothing

    def _lock(self, visitor_id: str) -> threading.Lock:
        return self._stripes[hash(visitor_id) % self.STRIPES]

    def _live(self, visitor_id: str) -> dict | None:
        held = self._docs.get(visitor_id)
        if held is None:
            return None
        if held[1] <= self._clock():
            self._docs.pop(visitor_id, None)
            self._count("purged", 1)
            return None
        return held[0]

    def __len__(self) -> int:
        """Documents held, expired ones not yet purged included."""
        return len(self._docs)

    def get(self, visitor_id: str) -> dict | None:
        with self._lock(visitor_id):
            return self._live(visitor_id)

    def update(self, visitor_id: str, change: Change[T], ttl: Expiry, *, deadline: float | None = None) -> T:
        lock = self._lock(visitor_id)
        left = time_left(deadline)
        if not lock.acquire(timeout=-1 if left is None else left):
            raise DeadlinePassed(PAST_DEADLINE)
        try:
            new, result = change(self._live(visitor_id))
            if new is not None:
                if deadline is not None and time.monotonic() >= deadline:
                    raise DeadlinePassed(PAST_DEADLINE)  # the client has its answer: write nothing now
                held = (new, self._clock() + ttl(new), next(self._writes))
                self._docs[visitor_id] = held
        finally:
            lock.release()
        if new is not None and self._max is not None:
            with self._order_lock:
                heapq.heappush(self._order, (held[1], held[2], visitor_id))
                stale = len(self._order) > 2 * len(self._docs) + 1024  # a hot visitor's rewrites
            if stale:
                self._compact()
            if len(self._docs) > self._max:
                self._drop_oldest()
        if self._clock() >= self._next_purge:
            self.purge()
        return result

    def _drop_oldest(self) -> None:
        while len(self._docs) > self._max:  # type: ignore[operator]  # only called with a bound
            with self._order_lock:
                if not self._order:
                    return
                expires, number, key = heapq.heappop(self._order)
            with self._lock(key):
                held = self._docs.get(key)
                if held is not None and held[2] == number:  # still that write, not a newer one
                    del self._docs[key]
                    self._count("dropped", 1)

    def purge(self) -> int:
        """Forget expired documents (Redis does this itself); returns how many."""
        now = self._clock()
        self._next_purge = now + self._purge_every
        gone = 0
        for key, (_, expires, _) in self._docs.copy().items():  # one C call: a snapshot other threads cannot change mid-loop
            if expires <= now:
                with self._lock(key):
                    held = self._docs.get(key)
                    if held is not None and held[1] <= now:  # not rewritten since the look above
                        del self._docs[key]
                        gone += 1
        self._count("purged", gone)
        self._compact()
        return gone

    def _count(self, why: str, n: int) -> None:
        with self._counting:
            self.forgotten[why] += n

    def _compact(self) -> None:
        """Drop the order entries of documents gone or rewritten since."""
        with self._order_lock:
            live = [(e, n, k) for e, n, k in self._order if (held := self._docs.get(k)) is not None and held[2] == n]
            heapq.heapify(live)
            self._order = live

    def close(self) -> None:
        pass
