"""Live recoveries in Redis, for several nodes. One key per visitor,
`<prefix>:{<visitorId>}` holding the document as JSON: the braces are a hash
tag, so a Redis Cluster spreads visitors over its shards by visitor id and
any later key of the same visitor lands on the same shard. The window is the
key's expiry (SET ... PX), so Redis forgets a recovery by itself.

A change is optimistic (WATCH the key, read, change, MULTI/SET/EXEC): when
another node wrote the key in between, EXEC fails and the change runs again
on what that node wrote, so neither report is lost. EXEC either wrote the
whole document or nothing, so the caller can simply retry; what it is told
is what is known: StoreUnavailable when no EXEC went out, OutcomeUnknown
when one did and its answer never came. redis-py's own retries are off (its
default, 10 with backoff, kept a stalled request 12 s and then said "nothing
was written" of writes that had gone out): the store retries lost
connections itself, within the request's deadline, and tells a lost
connection while WATCHing (which redis-py raises as a WatchError) from a
real conflict."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

from .store import PAST_DEADLINE, Change, DeadlinePassed, Expiry, OutcomeUnknown, StoreUnavailable, T, time_left

try:  # the `serve` extra
    import redis
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as _ConnectionError
    from redis.exceptions import TimeoutError as _TimeoutError
    from redis.exceptions import WatchError
    from redis.retry import Retry
except ImportError:  # pragma: no cover - said when a RedisStore is made
    redis = None  # type: ignore[assignment]

ATTEMPTS = 50  # conflicts (another node wrote first) before the change gives up
RECONNECT_PAUSES = (0.05, 0.1, 0.2, 0.5)  # seconds between tries after a lost connection, then the last again
LOST = (_ConnectionError, _TimeoutError, OSError) if redis is not None else (OSError,)


def _lost_while_watching(exc: Exception) -> bool:
    """redis-py raises a lost connection while WATCHing as a WatchError
    (its context the real error): not a conflict, nobody else wrote."""
    return isinstance(exc.__context__, LOST)


def redacted(url: str) -> str:
    """The URL as it may be shown to anyone (answers, logs, the banner): its
    user and password as `***`, and a `password=` query value hidden too.
    Everything before the URL's last `@` is hidden, so a password holding an
    unencoded `/`, `?`, `#` or `@` is hidden whole, not cut where a URL
    parser would cut it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***" if "@" in url else url
    _, at, rest = rest.rpartition("@")  # the user and password: never shown
    try:
        parts = urlsplit(f"{scheme}://{rest}")
    except ValueError:
        return f"{scheme}://***"
    query = "&".join(
        f"{k}=***" if k.lower() in ("password", "pass", "auth") else f"{k}{eq}{v}"
        for k, eq, v in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    shown = f"{scheme}://{'***@' if at else ''}{parts.netloc}{parts.path}"
    return shown + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")


class RedisStore:
    def __init__(self, url: str, *, prefix: str = "chat-recovery", timeout: float = 5.0):
        if redis is None:
            raise StoreUnavailable("the Redis store needs the redis package: pip install 'chat-recovery[serve]'")
        self.url, self.prefix, self.timeout = redacted(url), prefix, timeout  # the password never leaves the client
        try:
            self._client = redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
            )
        except ValueError as exc:  # its text may quote a piece of the password: shown only when nothing was hidden
            why = (
                str(exc)
                if self.url == url
                else "write it redis://[user:password@]host:port/db, a / ? # or @ in the password percent-encoded"
            )
            raise StoreUnavailable(f"not a Redis URL: {self.url!r} ({why})") from None

    def key(self, visitor_id: str) -> str:
        return f"{self.prefix}:{{{visitor_id}}}"

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"Redis at {self.url} is unreachable ({exc}); nothing was written, retry the submit")

    def ping(self) -> None:
        try:
            self._client.ping()
        except (_ConnectionError, _TimeoutError, OSError) as exc:
            raise self._unavailable(exc) from None

    def get(self, visitor_id: str) -> dict | None:
        try:
            raw = self._client.get(self.key(visitor_id))
        except (_ConnectionError, _TimeoutError, OSError) as exc:
            raise self._unavailable(exc) from None
        return None if raw is None else json.loads(raw)

    def update(self, visitor_id: str, change: Change[T], ttl: Expiry, *, deadline: float | None = None) -> T:
        """Store.update. A lost connection is tried again while the deadline
        leaves a socket timeout for it (without a deadline: not at all)."""
        sent: Exception | None = None  # the loss after an EXEC went out: the outcome is unknown from then on
        conflicts, losses = 0, 0
        while True:
            exec_out: list = []  # one entry once this attempt's EXEC may have gone out
            try:
                return self._attempt(self.key(visitor_id), change, ttl, deadline, sent, exec_out)
            except WatchError as exc:
                if not _lost_while_watching(exc):
                    conflicts += 1  # another node wrote first: change again, on what it wrote
                    if conflicts < ATTEMPTS:
                        continue
                    raise self._failed(
                        f"visitor '{visitor_id}' changed {ATTEMPTS} times while this report was applied", sent
                    ) from None
                lost: Exception = exc.__context__  # type: ignore[assignment]  # checked above
            except LOST as exc:
                lost = exc
            if exec_out:
                sent = lost
            left = time_left(deadline)
            if left is None or left < self.timeout:  # another try could outlast the deadline
                raise self._failed(f"Redis at {self.url} is unreachable ({lost})", sent) from None
            time.sleep(min(left - self.timeout, RECONNECT_PAUSES[min(losses, len(RECONNECT_PAUSES) - 1)]))
            losses += 1

    def _attempt(
        self, key: str, change: Change[T], ttl: Expiry, deadline: float | None, sent: Exception | None, exec_out: list
    ) -> T:
        """One WATCH, read, change, MULTI/SET/EXEC; `exec_out` gets an entry
        just before the EXEC goes out."""
        pipe = self._client.pipeline()
        try:
            pipe.watch(key)
            raw = pipe.get(key)
            new, result = change(None if raw is None else json.loads(raw))
            if new is None:
                pipe.unwatch()
                return result
            if deadline is not None and time.monotonic() >= deadline:  # the client has its answer: write nothing now
                raise self._failed(None, sent)
            pipe.multi()
            pipe.set(key, json.dumps(new, separators=(",", ":"), ensure_ascii=False), px=max(1, int(ttl(new) * 1000)))
            exec_out.append(True)
            # EXEC ends the WATCH on the server; told here, redis-py does not follow a lost EXEC
            # with an UNWATCH on a new connection (a second socket timeout in a stall)
            pipe.watching = False
            pipe.execute()
            return result
        except (WatchError, *LOST) as exc:
            if not isinstance(exc, WatchError) or _lost_while_watching(exc):
                # the connection is lost: the reset below sends no UNWATCH on a new one, which in
                # a stall would wait out another socket timeout and raise in place of this error
                if pipe.connection is not None:
                    pipe.connection.disconnect()
                pipe.watching = False
            raise
        finally:
            pipe.reset()

    def _failed(self, why: str | None, sent: Exception | None) -> StoreUnavailable:
        """What the caller is told: OutcomeUnknown once an EXEC went out unanswered, else nothing was written."""
        if sent is not None:
            return OutcomeUnknown(
                f"Redis at {self.url} did not answer a write ({sent}); the report may or may not have been applied: "
                f"retry the submit, a retry is safe because duplicates count once"
            )
        if why is None:
            return DeadlinePassed(PAST_DEADLINE)
        return StoreUnavailable(f"{why}; nothing was written, retry the submit")

    def close(self) -> None:
        self._client.close()
