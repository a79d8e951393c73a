"""Live recovery through a real Redis: several processes submitting at once,
and Redis stopped and started again mid-run."""

import multiprocessing
import random
import threading
import time

import pytest

import chat_recovery as cr
from chat_recovery.bench.storm import StormSpec, by_visitor, storm
from chat_recovery.live import Coordinator, MemoryStore, StoreUnavailable
from chat_recovery.live.coordinator import report_digest
from chat_recovery.recovery.reports import check
from conftest import NOW

pytest.importorskip("redis")


def first_writer_paths(policy):
    """Values an `any` strategy decides: the first report to arrive wins,
    so they may differ from a batch recovery in another order."""
    return tuple(rule.path for rule in (*policy.info, *policy.chat_props) if rule.strategy.pick == "first")


def comparable(recovery, any_paths):
    """The recovery less what arrival order may change: `any` values and
    their conflicts."""

    def loose(path):
        return any(path == p or path.startswith(p + "[") or path.startswith(p + ".") for p in any_paths)

    out = {**recovery}
    for section, base in (("visitor", "$.visitor.info"), ("chat", "$.chat.props")):
        holder = out.get(section)
        if holder is None:
            continue
        key = "info" if section == "visitor" else "props"
        values = {k: v for k, v in (holder.get(key) or {}).items() if not loose(f"{base}.{k}")}
        out[section] = {**holder, key: values}
    out["conflicts"] = [c for c in recovery.get("conflicts") or () if not loose(c.get("path", ""))]
    return out


def _submit_share(url, reports, done):
    from chat_recovery import load_policy
    from chat_recovery.live import Coordinator
    from chat_recovery.live.redis_store import RedisStore

    coordinator = Coordinator(load_policy(), RedisStore(url), window=600)
    for report in reports:
        coordinator.submit(report, now=NOW)
    done.put(len(reports))


def test_processes_submitting_a_storm_in_random_order_lose_no_report(redis_server, policy):
    from chat_recovery.live.redis_store import RedisStore

    reports = storm(StormSpec(visitors=1000, seed=11))
    random.Random(5).shuffle(reports)
    submit_in_four_processes(redis_server.url, reports)
    assert len(by_visitor(reports)) == 1000
    assert_every_visitor_held_as_the_batch(policy, RedisStore(redis_server.url), reports)


def submit_in_four_processes(url, reports):
    """Four processes, each submitting every fourth report to the store at `url`."""
    ctx = multiprocessing.get_context("spawn")
    done = ctx.Queue()
    procs = [ctx.Process(target=_submit_share, args=(url, reports[n::4], done)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(600)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert sum(done.get() for _ in procs) == len(reports)


def assert_every_visitor_held_as_the_batch(policy, store, reports):
    """Each visitor holds each of its reports once, and its recovery is the batch's (outside `any`)."""
    any_paths = first_writer_paths(policy)
    assert any_paths  # the shipped policy has `any` properties: the comparison must leave them out
    reader = Coordinator(policy, store, window=600)
    for visitor_id, own in by_visitor(reports).items():
        held = reader.get(visitor_id, now=NOW)
        assert held is not None, visitor_id
        assert held["reports"] == len({report_digest(check(policy, r)) for r in own})
        batch = cr.recover(policy, own, NOW)
        assert comparable(held["recovery"], any_paths) == comparable(batch, any_paths), visitor_id


def test_redis_stopped_and_started_mid_run_every_submit_succeeds_or_says_retry(redis_server, policy):
    from chat_recovery.live.redis_store import RedisStore

    reports = storm(StormSpec(visitors=60, seed=12))
    coordinator = Coordinator(policy, RedisStore(redis_server.url, timeout=2), window=600)
    failed, other, applied = [], [], []
    lock = threading.Lock()
    held, stopped, some_failed = threading.Barrier(3), threading.Event(), threading.Event()

    def submit_all(share, hold):
        """Two threads wait, after their first submit, until Redis is down, so
        some submits meet it down whatever the machine's speed; the third runs
        free and may be mid-submit when it stops."""
        for report in share:
            try:
                coordinator.submit(report, now=NOW)
                with lock:
                    applied.append(report)
            except StoreUnavailable as exc:
                assert "retry" in str(exc)
                with lock:
                    failed.append(report)
                some_failed.set()
            except Exception as exc:  # noqa: BLE001 - anything else would be a bug: kept to fail the test below
                with lock:
                    other.append(repr(exc))
            if hold and not stopped.is_set():
                held.wait(120)
                stopped.wait(120)
            time.sleep(0.01)

    threads = [threading.Thread(target=submit_all, args=(reports[n::3], n < 2)) for n in range(3)]
    for t in threads:
        t.start()
    held.wait(120)
    redis_server.stop()
    stopped.set()
    assert some_failed.wait(120), "no submit failed while Redis was down"
    redis_server.start()
    for t in threads:
        t.join(300)
    assert other == []
    assert failed
    assert applied
    for report in failed:  # the caller retries what failed
        coordinator.submit(report, now=NOW)

    fresh = Coordinator(policy, MemoryStore(), window=600)
    for visitor_id, own in by_visitor(reports).items():
        for report in own:
            fresh.submit(report, now=NOW)
        held = coordinator.get(visitor_id, now=NOW)
        expected = fresh.get(visitor_id, now=NOW)
        assert held["reports"] == expected["reports"] == len(own), visitor_id
        any_paths = first_writer_paths(policy)
        assert comparable(held["recovery"], any_paths) == comparable(expected["recovery"], any_paths)
