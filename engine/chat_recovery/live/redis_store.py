"""Live recoveries in Redis, for several nodes: one Redis
(`redis://`, `rediss://`, `unix://`) or a Redis Cluster
(`redis+cluster://host:port[,host:port...]`, `rediss+cluster://` over TLS).
One key per visitor, `<prefix>:{<visitorId>}` holding the document as JSON:
the braces are a hash tag, so a cluster spreads visitors over its shards by
visitor id and every command of one change goes to one slot. The window is
the key's expiry (SET ... PX), so Redis forgets a recovery by itself.

A change is optimistic (WATCH the key, read, change, MULTI/SET/EXEC): when
another node wrote the key in between, EXEC answers the watch abort and
the change runs again on what that node wrote, so neither report is lost.
Only that answer is a conflict. A lost connection is tried again, from
WATCH, while the request's deadline leaves a socket timeout for it (a
retry after a lost EXEC finds its own write, if it happened, as a
duplicate). What the caller is told is what is known: StoreUnavailable when
no EXEC went out, OutcomeUnknown when one did and its answer never came (a
retry is safe, duplicates count once), DeadlinePassed when the deadline
came first. redis-py's own retries are off: its default (10 with backoff)
kept a stalled request 12 s and then said "nothing was written" of writes
that had gone out, and its cluster transaction retries a lost EXEC without
the WATCH, a blind write. A document larger than the Redis takes in one
value (proto-max-bulk-len) is an error of the report (ReportError), never
sent."""

from __future__ import annotations

import threading
import time
from typing import Any

from ..diagnostics import ReportError
from ..jsonio import dumps, loads
from .redis_urls import cluster_target, is_cluster, redacted
from .store import (
    PAST_DEADLINE,
    Change,
    DeadlinePassed,
    Expiry,
    OutcomeUnknown,
    StoreMisconfigured,
    StoreUnavailable,
    T,
    time_left,
)

try:  # the `serve` extra
    import redis
    from redis.backoff import NoBackoff
    from redis.exceptions import (
        AskError,
        ClusterError,
        RedisClusterException,
        RedisError,
        ResponseError,
        WatchError,
    )
    from redis.exceptions import ConnectionError as _ConnectionError
    from redis.exceptions import TimeoutError as _TimeoutError
    from redis.retry import Retry

    _DOWN: tuple = (_ConnectionError, _TimeoutError, OSError, ClusterError, RedisClusterException)
except ImportError:  # pragma: no cover - said when a RedisStore is made
    redis = None  # type: ignore[assignment]

__all__ = ["RedisStore", "redacted"]
ATTEMPTS = 50  # conflicts (another node wrote first, a slot moved) before the change gives up
RECONNECT_PAUSES = (0.05, 0.1, 0.2, 0.5)  # seconds between tries after a lost connection, then the last again
CLUSTER_HINT = "it is a Redis Cluster node: use redis+cluster://host:port[,host:port...] (no /db)"


class RedisStore:
    def __init__(self, url: str, *, prefix: str = "chat-recovery", timeout: float = 5.0):
        if redis is None:
            raise StoreUnavailable("the Redis store needs the redis package: pip install 'chat-recovery[serve]'")
        self.url, self.prefix = redacted(url), prefix  # the password never leaves the client
        self.cluster = is_cluster(url)
        self._timeout = timeout
        self._max_value: int | None = None  # bytes one value may hold (None: unknown)
        self._max_value_read = False
        self._lock = threading.Lock()
        self._client: Any = None  # a Redis, or a RedisCluster made on first use
        self._tx: Any = None
        if self.cluster:
            self._nodes, self._options = cluster_target(url)
            return  # the clients are made on first use: a cluster down at start is a 503, not a crash
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
        self._tx = self._client

    def key(self, visitor_id: str) -> str:
        return f"{self.prefix}:{{{visitor_id}}}"

    def _clients(self):
        """(the client, the client for transactions). For a cluster, the
        second one never retries by itself: redis-py's cluster transaction
        retries a failed EXEC on a new connection without the WATCH, a blind
        write that could overwrite another node's; here the whole change is
        retried instead, from WATCH."""
        if self._client is not None:
            return self._client, self._tx
        from redis.cluster import ClusterNode, RedisCluster

        with self._lock:
            if self._client is None:
                nodes = [ClusterNode(host, port) for host, port in self._nodes]
                common = dict(socket_timeout=self._timeout, socket_connect_timeout=self._timeout, **self._options)
                try:
                    client = RedisCluster(startup_nodes=nodes, **common)
                    self._tx = RedisCluster(startup_nodes=nodes, retry=Retry(NoBackoff(), 0), **common)
                except (*_DOWN, RedisError) as exc:
                    raise self._refused(exc) or self._unavailable(exc) from None
                self._client = client
        return self._client, self._tx

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        refused = self._refused(exc)
        if refused is not None:
            return refused
        return StoreUnavailable(f"Redis at {self.url} is unreachable ({exc}); nothing was written, retry the submit")

    def _refused(self, exc: BaseException) -> StoreMisconfigured | None:
        """A Redis that answers but is not what the URL says."""
        text = str(exc)
        if not self.cluster and ("MOVED" in text or "cluster mode" in text):
            return StoreMisconfigured(f"Redis at {self.url}: {CLUSTER_HINT}")
        if self.cluster and "not enabled" in text.lower() and "cluster" in text.lower():
            return StoreMisconfigured(f"Redis at {self.url} is not a Redis Cluster: use redis://host:port/db for one Redis")
        return None

    def ping(self) -> list[str]:
        """Raises when the store cannot take a report (unreachable; a cluster
        whose cluster_state is not ok; a URL of the wrong kind); else the
        warnings worth an operator's eye (no persistence: a Redis restart
        loses accepted reports)."""
        try:
            client, _ = self._clients()
            if not self.cluster:
                if str(client.info("cluster").get("cluster_enabled", 0)) == "1":
                    raise StoreMisconfigured(f"Redis at {self.url}: {CLUSTER_HINT}")
                return _durability(self.url, client)
            warnings = []
            for node in client.get_primaries():
                state = client.cluster_info(target_nodes=node).get("cluster_state")
                if state != "ok":
                    raise StoreUnavailable(
                        f"Redis Cluster at {self.url}: {node.name} says cluster_state:{state} (a master is down "
                        "and not replaced); nothing was written, retry the submit"
                    )
                warnings += _durability(f"{self.url} (node {node.name})", _On(client, node))
            return warnings
        except StoreUnavailable:
            raise
        except (*_DOWN, ResponseError) as exc:
            raise self._unavailable(exc) from None

    def get(self, visitor_id: str) -> dict | None:
        try:
            raw = self._clients()[0].get(self.key(visitor_id))
        except (*_DOWN, ResponseError) as exc:
            raise self._unavailable(exc) from None
        return None if raw is None else loads(raw)

    def update(self, visitor_id: str, change: Change[T], ttl: Expiry, *, deadline: float | None = None) -> T:
        """Store.update. A lost connection is tried again while the deadline
        leaves a socket timeout for it (without a deadline: not at all)."""
        key = self.key(visitor_id)
        sent: BaseException | None = None  # the loss after an EXEC went out: the outcome is unknown from then on
        conflicts = losses = 0
        while True:
            exec_out: list = []  # one entry once this attempt's EXEC may have gone out
            try:
                _, tx = self._clients()
                return self._attempt(tx, key, visitor_id, change, ttl, deadline, sent, exec_out)
            except (_Conflict, AskError) as exc:  # another node wrote first, or the slot moved (MovedError is an AskError)
                if isinstance(exc, AskError) and not self.cluster:
                    raise self._failed(self._unavailable(exc), sent) from None
                conflicts += 1
                if conflicts >= ATTEMPTS:
                    raise self._failed(
                        StoreUnavailable(f"visitor '{visitor_id}' changed {ATTEMPTS} times while this report was applied"), sent
                    ) from None
                if isinstance(exc, AskError):
                    try:
                        tx.nodes_manager.initialize()
                    except (*_DOWN, ResponseError) as down:
                        raise self._failed(self._unavailable(down), sent) from None
                continue
            except WatchError as exc:  # before EXEC: redis-py's word for a connection lost while watching
                if not isinstance(exc.__context__, _DOWN):
                    conflicts += 1  # a cluster's "slot rebalancing occurred while watching": change again
                    if conflicts < ATTEMPTS:
                        continue
                lost: BaseException = exc.__context__ or exc
            except _DOWN as exc:
                lost = exc
            except ResponseError as exc:  # the Redis refused a command: trying again would not help
                raise self._failed(self._unavailable(exc), sent) from None
            if exec_out:
                sent = lost
            left = time_left(deadline)
            if left is None or left < self._timeout:  # another try could outlast the deadline
                raise self._failed(self._unavailable(lost), sent) from None
            time.sleep(min(left - self._timeout, RECONNECT_PAUSES[min(losses, len(RECONNECT_PAUSES) - 1)]))
            losses += 1

    def _attempt(
        self, tx, key: str, visitor_id: str, change: Change[T], ttl: Expiry, deadline: float | None, sent, exec_out: list
    ) -> T:
        """One WATCH, read, change, MULTI/SET/EXEC; `exec_out` gets an entry
        just before the EXEC goes out. EXEC's watch abort is _Conflict."""
        pipe = tx.pipeline(transaction=True)
        try:
            if self.cluster:
                pipe.watch(key)
                raw = pipe.get(key)
            else:
                raw = _watch_and_get(pipe, key)
            new, result = change(None if raw is None else loads(raw))
            if new is None:
                pipe.unwatch()
                return result
            payload = dumps(new)
            self._check_size(visitor_id, len(payload))
            if deadline is not None and time.monotonic() >= deadline:  # the client has its answer: write nothing now
                raise self._failed(DeadlinePassed(PAST_DEADLINE), sent)
            px = max(1, int(ttl(new) * 1000))
            if not self.cluster:
                # EXEC ends the WATCH on the server; told here, redis-py does not follow a lost EXEC
                # with an UNWATCH on a new connection (a second socket timeout in a stall)
                pipe.watching = False
                exec_out.append(True)
                _multi_set_exec(pipe.connection, key, payload, px)
                return result
            pipe.multi()
            pipe.set(key, payload, px=px)
            exec_out.append(True)
            try:
                pipe.execute()
            except WatchError as exc:
                if isinstance(exc.__context__, _DOWN):
                    raise
                raise _Conflict from None
            return result
        except (WatchError, *_DOWN) as exc:
            if not self.cluster and (not isinstance(exc, WatchError) or isinstance(exc.__context__, _DOWN)):
                # the connection is lost: the reset below sends no UNWATCH on a new one, which in
                # a stall would wait out another socket timeout and raise in place of this error
                if pipe.connection is not None:
                    pipe.connection.disconnect()
                pipe.watching = False
            raise
        finally:
            pipe.reset()

    def _failed(self, error: StoreUnavailable, sent: BaseException | None) -> StoreUnavailable:
        """What the caller is told: OutcomeUnknown once an EXEC went out
        unanswered (whatever came after), else `error`: nothing was written."""
        if sent is None:
            return error
        return OutcomeUnknown(
            f"Redis at {self.url} did not answer a write ({sent}); the report may or may not have been applied: "
            "retry the submit, a retry is safe because duplicates count once"
        )

    def _check_size(self, visitor_id: str, size: int) -> None:
        limit = self._value_limit()
        if limit is not None and size > limit:
            raise ReportError(
                f"with this report the document of visitor '{visitor_id}' would be {size:,} bytes, more than the "
                f"{limit:,} bytes the Redis takes in one value (proto-max-bulk-len); nothing was written"
            )

    def _value_limit(self) -> int | None:
        """proto-max-bulk-len (the smallest over a cluster's masters), read
        once; None when CONFIG is refused or renamed (a write too large then
        drops the connection: an unknown outcome, not a conflict)."""
        if not self._max_value_read:  # two threads may both read it: harmless, the same answer
            try:
                client, _ = self._clients()
                if self.cluster:
                    said = client.config_get("proto-max-bulk-len", target_nodes=client.PRIMARIES)  # {node: {name: value}}
                    values = [v for by_name in said.values() for v in by_name.values()]
                else:
                    values = list(client.config_get("proto-max-bulk-len").values())
                self._max_value = min(int(v) for v in values) if values else None
            except _DOWN:
                return None  # read again next time: this write will fail on its own
            except (RedisError, ValueError, AttributeError):  # CONFIG refused or renamed: unknown, for good
                self._max_value = None
            self._max_value_read = True
        return self._max_value

    def close(self) -> None:
        for client in {id(c): c for c in (self._client, self._tx) if c is not None}.values():
            client.close()


def _watch_and_get(pipe, key: str) -> bytes | None:
    """WATCH and GET sent together, one round trip where the pipeline's
    watch() and get() take two (the Redis runs them in order all the same:
    the GET reads what is watched). The connection is the pipeline's from
    here, as after its own watch(): _attempt's reset releases it. On any
    failure it is dropped (which ends the WATCH on the server), so no answer
    is left unread on a connection that goes back to the pool; a lost
    connection surfaces as itself, as the pipeline's WatchError's cause did."""
    conn = pipe.connection_pool.get_connection()
    pipe.connection, pipe.watching = conn, True
    try:
        conn.send_packed_command(conn.pack_commands([("WATCH", key), ("GET", key)]))
        conn.read_response()  # OK
        return conn.read_response()
    except BaseException:
        conn.disconnect()
        pipe.watching = False
        raise


def _multi_set_exec(conn, key: str, payload: bytes, px: int) -> None:
    """MULTI, SET and EXEC written at once on the watching connection and
    their three answers read, without the pipeline's machinery around them
    (what the floor's Redis client does too). EXEC's null answer, the watch
    abort, is _Conflict; a refused command raises the Redis's error once
    every answer is read; a lost connection raises itself (dropped, so no
    answer is left unread on it)."""
    try:
        conn.send_packed_command(conn.pack_commands([("MULTI",), ("SET", key, payload, "PX", px), ("EXEC",)]))
        refused = []
        for _ in range(2):  # +OK, +QUEUED
            try:
                conn.read_response()
            except ResponseError as exc:
                refused.append(exc)
        try:
            done = conn.read_response()
        except ResponseError as exc:  # EXECABORT: a queued command was refused
            refused.append(exc)
            done = []
    except BaseException:
        conn.disconnect()
        raise
    refused += [item for item in done or () if isinstance(item, ResponseError)]
    if refused:
        raise refused[0]
    if done is None:
        raise _Conflict


class _Conflict(Exception):
    """EXEC answered the watch abort: another writer changed the key."""


class _On:
    """A cluster client's INFO and CONFIG GET on one node, as a plain client's."""

    def __init__(self, client, node):
        self._client, self._node = client, node

    def info(self, section: str) -> dict:
        return self._client.info(section, target_nodes=self._node)

    def config_get(self, name: str) -> dict:
        return self._client.config_get(name, target_nodes=self._node)


def _durability(where: str, client) -> list[str]:
    """The warning when this Redis keeps accepted reports through no restart
    (neither AOF nor RDB), or when that cannot be read (CONFIG refused or
    renamed): 'unknown', never a failure."""
    if str(client.info("persistence").get("aof_enabled", 0)) == "1":
        return []
    try:
        save = client.config_get("save").get("save")
    except ResponseError as exc:
        return [
            f"Redis at {where}: persistence unknown (appendonly is off and CONFIG GET save was refused: {exc}); "
            "a Redis restart keeps accepted reports only with appendonly yes"
        ]
    if not save:
        return [
            f"Redis at {where} keeps nothing on disk (appendonly no, no save points): a Redis restart loses every "
            "accepted report; set appendonly yes (README: Operations)"
        ]
    return []
