"""Honest answers while Redis stalls: a real redis-server stopped with
SIGSTOP mid-run and resumed with SIGCONT. An answer says "nothing was
written" only when that is known; when a write went out unanswered it says
the outcome is unknown (a retry is safe: duplicates count once). Every wait
is on the thing under test, and bounded."""

import contextlib
import json
import os
import signal
import threading
import time

import pytest

from chat_recovery.bench.storm import StormSpec, storm
from chat_recovery.live import Coordinator, DeadlinePassed, OutcomeUnknown, StoreUnavailable
from chat_recovery.live.coordinator import report_digest
from chat_recovery.recovery.reports import check
from conftest import NOW, ROOT

pytest.importorskip("redis")

NOTHING_WRITTEN = {"storeUnavailable", "deadlinePassed", "replayUnavailable"}


@contextlib.contextmanager
def stalled(redis_server):
    """Redis stopped (SIGSTOP) for the block; resumed (SIGCONT) however it ends."""
    os.kill(redis_server.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(redis_server.proc.pid, signal.SIGCONT)


def digests_held(store, visitor_id):
    doc = store.get(visitor_id)
    return set() if doc is None else set(doc["digests"])


def wait_held(store, visitor_id, digest):
    """True once Redis holds the digest (it applies what was sent before it
    stopped when it resumes); False after a bound that only ends a hang."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if digest in digests_held(store, visitor_id):
            return True
        time.sleep(0.05)
    return False


def test_an_exec_sent_into_a_stall_is_outcome_unknown_and_was_in_fact_applied(redis_server, policy):
    """Redis stops after the WATCH and read, so the EXEC goes out and no
    answer comes: the error says the outcome is unknown (it used to be
    retried as a conflict and end in "nothing was written"), and once
    Redis resumes the report is there; the retry the error asks for counts
    it once."""
    from chat_recovery.live.redis_store import RedisStore

    store = RedisStore(redis_server.url, timeout=1)
    coordinator = Coordinator(policy, store, window=600)
    report = json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text())
    pid, stops = redis_server.proc.pid, []
    real_update = store.update

    def update(visitor_id, change, ttl, **kw):
        def stop_then_change(doc):
            if not stops:
                os.kill(pid, signal.SIGSTOP)  # after the read: the EXEC meets a stalled Redis
                stops.append(True)
            return change(doc)

        return real_update(visitor_id, stop_then_change, ttl, **kw)

    store.update = update
    try:
        with pytest.raises(OutcomeUnknown, match="may or may not have been applied.*a retry is safe") as err:
            coordinator.submit(report, now=NOW)
        assert "nothing was written" not in str(err.value)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert wait_held(store, report["visitorId"], report_digest(check(policy, report)))
    store.update = real_update
    retried = coordinator.submit(report, now=NOW)
    assert retried["receipt"]["duplicate"] and retried["reports"] == 1


def test_a_stall_before_anything_is_sent_says_nothing_was_written_and_nothing_is(redis_server, policy):
    """Redis is stalled before the submit: the deadline bounds the wait
    (redis-py's ten retries are off), the answer says nothing was written,
    and after Redis resumes the report is indeed not there."""
    from chat_recovery.live.redis_store import RedisStore

    store = RedisStore(redis_server.url, timeout=1)
    coordinator = Coordinator(policy, store, window=600)
    report = json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text())
    with stalled(redis_server):
        with pytest.raises(StoreUnavailable, match="nothing was written") as err:
            coordinator.submit(report, now=NOW, deadline=time.monotonic() + 3)
        assert not isinstance(err.value, OutcomeUnknown)
    assert store.get(report["visitorId"]) is None


def change_outlasts(store, deadline):
    """The store's changes return only once `deadline` has passed: a replay
    still running when the deadline passes (waits on the deadline itself,
    not on a guess of how long something takes)."""
    real_update = store.update

    def late_update(visitor_id, change, ttl, **kw):
        def late_change(doc):
            while time.monotonic() < deadline:
                time.sleep(0.01)
            return change(doc)

        return real_update(visitor_id, late_change, ttl, **kw)

    store.update = late_update


def test_past_the_deadline_nothing_is_written_even_when_redis_answers(redis_server, policy):
    """The replay outlasts the deadline (here: the change itself waits past
    it): nothing is sent to Redis after it, the caller is told so."""
    from chat_recovery.live.redis_store import RedisStore

    store = RedisStore(redis_server.url)
    coordinator = Coordinator(policy, store, window=600)
    report = json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text())
    deadline = time.monotonic() + 0.2
    change_outlasts(store, deadline)
    with pytest.raises(DeadlinePassed, match="nothing was written"):
        coordinator.submit(report, now=NOW, deadline=deadline)
    assert store.get(report["visitorId"]) is None


def test_served_through_a_stall_every_answer_is_applied_or_honest(redis_server, policy):
    """`serve` on a real Redis, eight clients posting, Redis stopped until
    the stall has been answered, then resumed: every answer is 200 or a
    503 with Retry-After and a code; every report answered 200 is held;
    no report the answer said was not written is held."""
    from chat_recovery.live.redis_store import RedisStore
    from service import Served

    reports = storm(StormSpec(visitors=60, seed=21))
    server = Served("--workers", "0", "--window", "600", "--redis-url", redis_server.url, "--deadline", "10")
    answers, lock = [], threading.Lock()
    some_applied, stall_answered = threading.Event(), threading.Event()
    try:

        def post_share(share):
            for report in share:
                response = server.client.post("/v1/reports", json=report)
                with lock:
                    answers.append((report, response.status_code, response.headers.get("retry-after"), response.json()))
                if response.status_code == 200:
                    some_applied.set()
                elif stalling.is_set():
                    stall_answered.set()

        stalling = threading.Event()
        threads = [threading.Thread(target=post_share, args=(reports[n::8],)) for n in range(8)]
        for thread in threads:
            thread.start()
        assert some_applied.wait(300), "no report was applied before the stall"
        with stalled(redis_server):
            stalling.set()
            assert stall_answered.wait(300), "no answer came while Redis was stopped"
        for thread in threads:
            thread.join(600)
        assert not any(t.is_alive() for t in threads)
    finally:
        server.stop()

    statuses = {status for _, status, _, _ in answers}
    assert statuses <= {200, 503} and 503 in statuses, statuses
    store = RedisStore(redis_server.url)
    by_digest = {}  # a storm may send one report twice: judged by what all its posts were told
    for report, status, retry_after, body in answers:
        if status == 503:
            code, message = body["error"]["code"], body["error"]["message"]
            assert retry_after and "retry" in message, body
            if code in NOTHING_WRITTEN:
                assert "nothing was written" in message, body
            else:
                assert code == "outcomeUnknown" and "nothing was written" not in message, body
        told = by_digest.setdefault((report["visitorId"], report_digest(check(policy, report))), set())
        told.add(200 if status == 200 else body["error"]["code"])
    held = {}
    for (visitor_id, digest), told in by_digest.items():
        if visitor_id not in held:
            held[visitor_id] = digests_held(store, visitor_id)
        if 200 in told:
            assert digest in held[visitor_id], visitor_id
        if told <= NOTHING_WRITTEN:
            assert digest not in held[visitor_id], (visitor_id, told)
    assert all("Traceback" not in line for line in server.log if line)


def test_the_embedded_store_writes_nothing_past_the_deadline_either(policy):
    """A replay in the server's process (--workers 0) cannot be given up
    mid-step; the store then writes nothing once the deadline has passed."""
    from chat_recovery.live import MemoryStore

    store = MemoryStore()
    coordinator = Coordinator(policy, store, window=600)
    report = json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text())
    deadline = time.monotonic() + 0.2
    change_outlasts(store, deadline)
    with pytest.raises(DeadlinePassed, match="nothing was written"):
        coordinator.submit(report, now=NOW, deadline=deadline)
    assert store.get(report["visitorId"]) is None and len(store) == 0
