"""Live recoveries in Redis, for several nodes. One key per visitor,
`<prefix>:{<visitorId>}` holding the document as JSON: the braces are a hash
tag, so a Redis Cluster spreads visitors over its shards by visitor id and
any later key of the same visitor lands on the same shard. The window is the
key's expiry (SET ... PX), so Redis forgets a recovery by itself.

A change is optimistic (WATCH the key, read, change, MULTI/SET/EXEC): when
another node wrote the key in between, EXEC fails and the change runs again
on what that node wrote, so neither report is lost. Every connection or
timeout error is StoreUnavailable: EXEC either wrote the whole document or
nothing, so the caller can simply retry."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from .store import Change, Expiry, StoreUnavailable, T

try:  # the `serve` extra
    import redis
    from redis.exceptions import ConnectionError as _ConnectionError
    from redis.exceptions import TimeoutError as _TimeoutError
    from redis.exceptions import WatchError
except ImportError:  # pragma: no cover - said when a RedisStore is made
    redis = None  # type: ignore[assignment]

ATTEMPTS = 50


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
        self.url, self.prefix = redacted(url), prefix  # the password never leaves the client
        try:
            self._client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
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

    def update(self, visitor_id: str, change: Change[T], ttl: Expiry) -> T:
        key = self.key(visitor_id)
        try:
            with self._client.pipeline() as pipe:
                for _ in range(ATTEMPTS):
                    try:
                        pipe.watch(key)
                        raw = pipe.get(key)
                        new, result = change(None if raw is None else json.loads(raw))
                        if new is None:
                            pipe.unwatch()
                            return result
                        pipe.multi()
                        pipe.set(key, json.dumps(new, separators=(",", ":"), ensure_ascii=False), px=max(1, int(ttl(new) * 1000)))
                        pipe.execute()
                        return result
                    except WatchError:
                        continue  # another node wrote first: change again, on what it wrote
        except (_ConnectionError, _TimeoutError, OSError) as exc:
            raise self._unavailable(exc) from None
        raise StoreUnavailable(
            f"visitor '{visitor_id}' changed {ATTEMPTS} times while this report was applied; nothing was written, retry the submit"
        )

    def close(self) -> None:
        self._client.close()
