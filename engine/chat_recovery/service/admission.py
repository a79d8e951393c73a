"""After a restart every client uploads at once. Admitting a bounded number
of reports and telling the rest when to come back, at a jittered time,
spreads the storm out instead of letting it topple the node."""

from __future__ import annotations

import random
import threading


class Admission:
    def __init__(self, limit: int, retry_after: tuple[int, int] = (1, 10), rng: random.Random | None = None):
        if limit < 1:
            raise ValueError("max in flight must be 1 or more")
        self.limit = limit
        self.retry_after = retry_after
        self._rng = rng or random.Random()
        self._held = 0
        self._lock = threading.Lock()

    def try_admit(self, count: int) -> bool:
        """Admit `count` reports, all or none. A request larger than the
        limit is admitted alone (when nothing else is in flight)."""
        with self._lock:
            if self._held and self._held + count > self.limit:
                return False
            self._held += count
            return True

    def release(self, count: int) -> None:
        with self._lock:
            self._held -= count

    @property
    def held(self) -> int:
        return self._held

    def retry_seconds(self) -> int:
        """Whole seconds (HTTP's Retry-After), jittered so clients told to
        wait at the same moment do not all come back at the same moment."""
        low, high = self.retry_after
        return self._rng.randint(low, high)
