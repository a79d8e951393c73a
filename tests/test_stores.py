"""One suite for every store: what the coordinator relies on, run against
the in-process store and a real Redis."""

import multiprocessing
import threading
import time

import pytest

from chat_recovery.live import MemoryStore, StoreUnavailable


class Clock:
    """Time as the store sees it: the memory store's is moved by the test, so
    expiry is tested without waiting; Redis keeps its own, so for it time is
    let pass (a lower bound: expiry can only be more certain)."""

    def __init__(self):
        self.now, self.real = 0.0, False

    def __call__(self):
        return self.now

    def let_pass(self, seconds):
        if self.real:
            time.sleep(seconds)
        else:
            self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(params=["memory", "redis"])
def store(request, tmp_path, clock):
    if request.param == "memory":
        yield MemoryStore(clock=clock)
        return
    clock.real = True
    from chat_recovery.live import RedisStore

    server = request.getfixturevalue("redis_server")
    made = RedisStore(server.url, prefix=f"t{time.monotonic_ns()}")
    yield made
    made.close()


def put(value):
    return lambda doc: ({"n": value}, "done")


LONG = lambda doc: 600.0  # noqa: E731


def test_nothing_is_held_for_an_unknown_visitor(store):
    assert store.get("v-unknown") is None


def test_an_update_writes_and_returns_the_change_result(store):
    assert store.update("v-1", put(1), LONG) == "done"
    assert store.get("v-1") == {"n": 1}
    assert store.update("v-1", lambda doc: ({"n": doc["n"] + 1}, doc["n"]), LONG) == 1
    assert store.get("v-1") == {"n": 2}


def test_a_change_that_returns_none_writes_nothing(store):
    store.update("v-1", put(1), LONG)
    assert store.update("v-1", lambda doc: (None, "kept"), LONG) == "kept"
    assert store.get("v-1") == {"n": 1}
    assert store.update("v-2", lambda doc: (None, doc), LONG) is None
    assert store.get("v-2") is None


def test_an_error_in_a_change_writes_nothing(store):
    store.update("v-1", put(1), LONG)

    def boom(doc):
        raise ValueError("bad report")

    with pytest.raises(ValueError, match="bad report"):
        store.update("v-1", boom, LONG)
    assert store.get("v-1") == {"n": 1}


def test_a_document_expires_after_its_ttl(store, clock):
    """Held until its TTL (asserted where the test holds the clock: Redis's
    runs on while this test waits for the CPU), gone after it."""
    store.update("v-1", put(1), lambda doc: 0.3)
    store.update("v-2", put(2), LONG)
    if not clock.real:
        clock.let_pass(0.29)
        assert store.get("v-1") == {"n": 1}
    clock.let_pass(0.6)
    assert store.get("v-1") is None and store.get("v-2") == {"n": 2}


def test_the_ttl_is_read_from_the_document_written(store, clock):
    store.update("v-1", lambda doc: ({"life": 0.3}, None), lambda doc: doc["life"])
    store.update("v-2", lambda doc: ({"life": 600}, None), lambda doc: doc["life"])
    clock.let_pass(0.6)
    assert store.get("v-1") is None and store.get("v-2") == {"life": 600}


def increment(doc):
    doc = doc or {"n": 0, "seen": []}
    return {"n": doc["n"] + 1, "seen": doc["seen"] + [doc["n"]]}, None


def test_concurrent_changes_of_one_visitor_lose_nothing(store):
    def worker():
        for _ in range(40):
            store.update("v-1", increment, LONG)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = store.get("v-1")
    assert held["n"] == 240 and held["seen"] == list(range(240))


def _increments(url, prefix, count):
    from chat_recovery.live import RedisStore

    store = RedisStore(url, prefix=prefix)
    for _ in range(count):
        store.update("v-1", increment, LONG)


def test_processes_changing_one_visitor_in_redis_lose_nothing(redis_server):
    from chat_recovery.live import RedisStore

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_increments, args=(redis_server.url, "p", 50)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 4
    assert RedisStore(redis_server.url, prefix="p").get("v-1")["n"] == 200


def test_redis_keys_carry_the_visitor_as_a_hash_tag(redis_server):
    import redis

    from chat_recovery.live import RedisStore

    store = RedisStore(redis_server.url)
    store.update("v-1001", put(1), LONG)
    client = redis.Redis.from_url(redis_server.url)
    assert client.keys("*") == [b"chat-recovery:{v-1001}"]
    assert 590_000 < client.pttl("chat-recovery:{v-1001}") <= 600_000


def test_an_unreachable_redis_is_store_unavailable_naming_it(tmp_path):
    from chat_recovery.live import RedisStore
    from redis_server import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    store = RedisStore(url, timeout=1)
    for call in (lambda: store.get("v-1"), lambda: store.update("v-1", put(1), LONG)):
        with pytest.raises(StoreUnavailable) as err:
            call()
        assert url in str(err.value) and "retry" in str(err.value)


def test_a_url_that_is_not_redis_is_said_plainly():
    from chat_recovery.live import RedisStore

    with pytest.raises(StoreUnavailable, match="not a Redis URL"):
        RedisStore("http://localhost:6379")


def test_a_redis_url_that_does_not_parse_quotes_no_piece_of_its_password():
    """redis-py's reason quotes what it took for the port: here, the password
    cut at its `#` (`pa`); the store says how to write the URL instead."""
    from chat_recovery.live import RedisStore

    with pytest.raises(StoreUnavailable) as caught:
        RedisStore("redis://:pa#ss@127.0.0.1:1/0")
    assert "'redis://***@127.0.0.1:1/0'" in str(caught.value) and "pa" not in str(caught.value).replace("password", "")


@pytest.mark.parametrize(
    "url, shown",
    [
        ("redis://:S3cr3t@127.0.0.1:6414/0", "redis://***@127.0.0.1:6414/0"),
        ("redis://user:pw@h:1/2?password=x&db=1", "redis://***@h:1/2?password=***&db=1"),
        ("unix:///tmp/r.sock?password=p", "unix:///tmp/r.sock?password=***"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("rediss://admin:pw@h:1/0", "rediss://***@h:1/0"),
        ("unix://:pw@/tmp/r.sock?db=2", "unix://***@/tmp/r.sock?db=2"),
        ("redis://h:1/0?PASSWORD=x&username=bob", "redis://h:1/0?PASSWORD=***&username=bob"),
        # a / ? # or @ left unencoded in the password: hidden whole, not cut where a URL parser cuts it
        ("redis://:pa#ss@h:1/0", "redis://***@h:1/0"),
        ("redis://:pa?ss@h:1/0", "redis://***@h:1/0"),
        ("redis://:pa/ss@h:1/0", "redis://***@h:1/0"),
        ("redis://u:p@ss@[::1]:1/0", "redis://***@[::1]:1/0"),
        ("redis://:pw@[::1/0", "redis://***"),  # does not parse: nothing but the scheme
    ],
)
def test_a_store_url_is_shown_without_its_credentials(url, shown):
    from chat_recovery.live.redis_store import redacted

    assert redacted(url) == shown


def _held_bytes(work) -> int:
    """Bytes still allocated after `work()` that were not before it."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_the_memory_store_keeps_nothing_for_unknown_visitors(clock):
    """50,000 GETs of ids never written leave nothing behind (each left a lock before: 17 MB)."""
    store = MemoryStore(clock=clock)
    store.get("v-warm")  # first-use allocations are not the store's growth
    assert _held_bytes(lambda: [store.get(f"v-unknown-{i}") for i in range(50_000)]) < 20_000
    assert len(store) == 0


def test_the_memory_store_forgets_expired_visitors_without_being_asked(clock):
    """2,000 visitors expire; after `purge_every` has passed, the next write drops them all:
    the store's memory follows the visitors held, not every visitor ever seen."""
    store = MemoryStore(clock=clock, purge_every=60)
    short = lambda doc: 10.0  # noqa: E731

    def churn():
        for i in range(2000):
            store.update(f"v-{i}", put(i), short)
        clock.let_pass(61)
        store.update("v-last", put(0), LONG)

    assert (
        _held_bytes(churn) < 150_000
    )  # the dict's table keeps the size of its peak (about 50 KB here); the 2,000 documents (over 500 KB) go
    assert len(store) == 1 and store.get("v-last") == {"n": 0} and store.get("v-7") is None


def test_a_purge_forgets_every_expired_visitor_and_counts_them(clock):
    """The service's timer calls `purge` with no write to trigger it: 2,000 expired
    visitors leave no document and no lock behind, and are counted as purged."""
    store = MemoryStore(clock=clock, purge_every=60)
    store.get("v-warm")

    def churn_and_purge():
        for i in range(2000):
            store.update(f"v-{i}", put(i), lambda doc: 10.0)
        clock.let_pass(10)  # expiry is `<=`: at the TTL a document is gone
        assert store.purge() == 2000

    assert _held_bytes(churn_and_purge) < 150_000  # the dict's table keeps its peak size; the documents go
    assert len(store) == 0 and store.forgotten == {"purged": 2000, "dropped": 0}


def test_past_its_bound_the_memory_store_drops_the_document_expiring_first(clock):
    store = MemoryStore(clock=clock, max_documents=3)
    store.update("v-a", put(1), lambda doc: 100.0)
    store.update("v-b", put(2), lambda doc: 50.0)  # expires first
    store.update("v-c", put(3), lambda doc: 100.0)
    store.update("v-d", put(4), lambda doc: 100.0)
    assert len(store) == 3 and store.get("v-b") is None and store.forgotten == {"purged": 0, "dropped": 1}
    store.update("v-a", put(5), lambda doc: 100.0)  # a, c, d expire together: c is now the least recently written
    store.update("v-e", put(6), lambda doc: 100.0)
    assert [store.get(v) for v in ("v-a", "v-c", "v-d", "v-e")] == [{"n": 5}, None, {"n": 4}, {"n": 6}]
    assert store.forgotten == {"purged": 0, "dropped": 2}


def test_rewriting_one_visitor_under_the_bound_drops_nothing(clock):
    """Each write leaves an entry in the drop order; a rewritten visitor's old ones must never drop it."""
    store = MemoryStore(clock=clock, max_documents=2)
    for i in range(5000):
        store.update("v-hot", put(i), LONG)
        clock.let_pass(0.001)
    store.update("v-other", put(0), LONG)
    assert store.get("v-hot") == {"n": 4999} and len(store) == 2 and store.forgotten["dropped"] == 0
    assert len(store._order) < 3000  # stale entries are compacted away, not kept per write
