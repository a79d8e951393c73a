"""Live recovery through a real 3-master Redis Cluster (tests/redis_cluster.py):
several processes submitting a storm, a master SIGKILLed and restarted under
a running server, and URLs of the wrong kind refused at start."""

import multiprocessing
import random

import pytest

import chat_recovery as cr
from chat_recovery.bench.storm import StormSpec, by_visitor, storm
from chat_recovery.live import Coordinator
from chat_recovery.live.coordinator import report_digest
from chat_recovery.recovery.reports import check
from conftest import NOW
from test_redis_live import comparable, first_writer_paths

pytest.importorskip("redis")

STORM_VISITORS = 300  # make test; bench/cluster_storm.py runs the 1,000 (see the README)


@pytest.fixture
def cluster(tmp_path):
    from redis_cluster import RedisCluster

    running = RedisCluster(tmp_path).start()
    yield running
    running.stop()


def _submit_share(url, reports, done):
    from chat_recovery import load_policy
    from chat_recovery.live.redis_store import RedisStore

    coordinator = Coordinator(load_policy(), RedisStore(url), window=600)
    for report in reports:
        coordinator.submit(report, now=NOW)
    done.put(len(reports))


def test_processes_submitting_a_storm_to_a_cluster_lose_no_report_and_use_every_master(cluster, policy):
    from chat_recovery.live.redis_store import RedisStore

    reports = storm(StormSpec(visitors=STORM_VISITORS, seed=21))
    random.Random(6).shuffle(reports)
    ctx = multiprocessing.get_context("spawn")
    done = ctx.Queue()
    procs = [ctx.Process(target=_submit_share, args=(cluster.url, reports[n::4], done)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(600)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert sum(done.get() for _ in procs) == len(reports)

    per_node = cluster.keys_per_node()
    assert sum(per_node) == STORM_VISITORS and all(n > STORM_VISITORS / 6 for n in per_node), per_node
    any_paths = first_writer_paths(policy)
    reader = Coordinator(policy, RedisStore(cluster.url), window=600)
    for visitor_id, own in by_visitor(reports).items():
        held = reader.get(visitor_id, now=NOW)
        assert held is not None, visitor_id
        assert held["reports"] == len({report_digest(check(policy, r)) for r in own})
        assert comparable(held["recovery"], any_paths) == comparable(cr.recover(policy, own, NOW), any_paths), visitor_id
