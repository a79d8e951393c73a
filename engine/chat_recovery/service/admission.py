"""After a restart every client uploads at once. Admitting a bounded number
of reports and telling the rest when to come back, at a jittered time,
spreads the storm out instead of letting it topple the node.

A request weighs what it costs: its reports, or its bytes when they say more
(one report of megabytes is many reports' work). No request weighs more than
a quarter of the limit: a list is applied one report at a time, so however
long it is it uses one place at a time, and it must leave the other places
to the clients that wait; it runs longer instead of shutting them out."""

from __future__ import annotations

import random
import threading

BYTES_PER_REPORT = 64 * 1024  # a body weighs one report per this many bytes, when that is more than its reports
SHARE = 4  # one request holds at most 1/SHARE of the limit (at least 1)


class Admission:
    def __init__(self, limit: int, retry_after: tuple[int, int] = (1, 10), rng: random.Random | None = None):
        if limit < 1:
            raise ValueError("max in flight must be 1 or more")
        self.limit = limit
        self.retry_after = retry_after
        self.most = max(1, limit // SHARE)  # the heaviest a request weighs
        self._rng = rng or random.Random()
        self._held = 0
        self._lock = threading.Lock()

    def weigh(self, reports: int, size: int) -> int:
        """A request's weight: its reports, or its bytes in BYTES_PER_REPORT
        when more, but at most `most`, so it never takes every place."""
        return max(1, min(self.most, max(reports, -(-size // BYTES_PER_REPORT))))

    def try_admit(self, weight: int) -> bool:
        """Admit a request of this weight, whole or not at all."""
        with self._lock:
            if self._held + weight > self.limit:
                return False
            self._held += weight
            return True

    def release(self, weight: int) -> None:
        with self._lock:
            self._held -= weight

    @property
    def held(self) -> int:
        return self._held

    def retry_seconds(self) -> int:
        """Whole seconds (HTTP's Retry-After), jittered so clients told to
        wait at the same moment do not all come back at the same moment."""
        low, high = self.retry_after
        return self._rng.randint(low, high)
