"""Where live recoveries are held between reports. A store knows nothing of
policies: it keeps one JSON-ready document per visitor and changes it
atomically, so two reports for one visitor never overwrite each other."""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional, Protocol, Tuple, TypeVar

T = TypeVar("T")
Change = Callable[[Optional[dict]], Tuple[Optional[dict], T]]
Expiry = Callable[[dict], float]  # seconds the written document lives, from the document


class StoreUnavailable(Exception):
    """The store could not be reached or did not answer. Nothing was written:
    the caller may retry the same submit."""


class Store(Protocol):
    def get(self, visitor_id: str) -> Optional[dict]:
        """The visitor's document, or None (never held, or expired)."""

    def update(self, visitor_id: str, change: Change, ttl: Expiry) -> T:
        """Atomically read the visitor's document (None when there is none),
        call `change(doc) -> (new_doc, result)`, and write new_doc to expire
        `ttl(new_doc)` seconds from now; a None new_doc writes nothing. When another
        writer changed the document in between, `change` runs again on the
        fresh document, so it must be pure. Returns `result`. Raises
        StoreUnavailable when nothing could be written."""

    def close(self) -> None:
        """Release connections; the documents stay where they are."""


class MemoryStore:
    """One process, no set-up: the embedded default. A lock per visitor keeps
    the read-change-write atomic; expiry follows `clock` (seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._docs: dict[str, tuple[dict, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, visitor_id: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(visitor_id)
            if lock is None:
                lock = self._locks[visitor_id] = threading.Lock()
            return lock

    def _live(self, visitor_id: str) -> Optional[dict]:
        held = self._docs.get(visitor_id)
        if held is None:
            return None
        if held[1] <= self._clock():
            self._docs.pop(visitor_id, None)
            return None
        return held[0]

    def get(self, visitor_id: str) -> Optional[dict]:
        with self._lock(visitor_id):
            return self._live(visitor_id)

    def update(self, visitor_id: str, change: Change, ttl: Expiry) -> T:
        with self._lock(visitor_id):
            new, result = change(self._live(visitor_id))
            if new is not None:
                self._docs[visitor_id] = (new, self._clock() + ttl(new))
            return result

    def purge(self) -> int:
        """Forget expired documents (Redis does this itself); returns how many."""
        now = self._clock()
        with self._guard:
            gone = [key for key, (_, expires) in self._docs.items() if expires <= now]
            for key in gone:
                self._docs.pop(key, None)
                self._locks.pop(key, None)
        return len(gone)

    def close(self) -> None:
        pass
