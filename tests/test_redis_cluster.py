"""Live recovery through a real 3-master Redis Cluster (tests/redis_cluster.py):
several processes submitting a storm, and a master SIGKILLed and restarted
under a running server (URLs of the wrong kind: test_redis_refusals.py)."""

import os
import random
import threading

import pytest

import chat_recovery as cr
from chat_recovery.bench.storm import StormSpec, by_visitor, storm
from chat_recovery.live import Coordinator
from conftest import NOW
from test_redis_live import assert_every_visitor_held_as_the_batch, comparable, first_writer_paths, submit_in_four_processes

pytest.importorskip("redis")

# 300 in make test (about 20 s here); the 1,000:
# CHAT_RECOVERY_CLUSTER_STORM=1000 .venv/bin/python -m pytest tests/test_redis_cluster.py -k storm
STORM_VISITORS = int(os.environ.get("CHAT_RECOVERY_CLUSTER_STORM", "300"))


@pytest.fixture
def cluster(tmp_path):
    from redis_cluster import RedisCluster

    running = RedisCluster(tmp_path).start()
    yield running
    running.stop()


def test_processes_submitting_a_storm_to_a_cluster_lose_no_report_and_use_every_master(cluster, policy):
    from chat_recovery.live.redis_store import RedisStore

    reports = storm(StormSpec(visitors=STORM_VISITORS, seed=21))
    random.Random(6).shuffle(reports)
    submit_in_four_processes(cluster.url, reports)
    per_node = cluster.keys_per_node()
    assert sum(per_node) == STORM_VISITORS and all(n > STORM_VISITORS / 6 for n in per_node), per_node
    assert_every_visitor_held_as_the_batch(policy, RedisStore(cluster.url), reports)


def test_a_master_killed_and_restarted_mid_run_loses_no_report_answered_200(cluster, policy):
    """A served node on the cluster; one master SIGKILLed while three
    clients post (two of them hold until it is dead, so some posts meet it
    dead whatever the machine's speed) and restarted once a post was
    answered 503 and the other masters say cluster_state:fail. Every answer is 200, or 503 with Retry-After; after the
    503s are retried, every visitor holds all its reports: none answered
    200 was lost (AOF, fsync always)."""
    from service import Served

    reports = storm(StormSpec(visitors=60, seed=13))
    answers, lock = [], threading.Lock()
    held, killed, some_failed = threading.Barrier(3), threading.Event(), threading.Event()

    def post_all(share, hold):
        for report in share:
            got = served.client.post("/v1/reports", json=report)
            with lock:
                answers.append((report, got.status_code, got.headers.get("Retry-After")))
            if got.status_code == 503:
                some_failed.set()
            if hold and not killed.is_set():
                held.wait(300)
                killed.wait(300)

    victim = cluster.nodes[1]
    threads = [threading.Thread(target=post_all, args=(reports[n::3], n < 2)) for n in range(3)]
    served = Served("--workers", "0", "--redis-url", cluster.url)
    try:
        for t in threads:
            t.start()
        held.wait(300)
        victim.kill()
        killed.set()
        assert some_failed.wait(300), "no post was answered 503 while a master was down"
        cluster.wait_state("fail", nodes=[n for n in cluster.nodes if n is not victim])  # the others see it gone
        down = served.client.get("/readyz")
        victim.start()
        cluster.wait_state("ok")
        for t in threads:
            t.join(600)
        assert down.status_code == 503
        assert {(status, retry) for _, status, retry in answers} <= {(200, None), (503, "1")}
        failed = [report for report, status, _ in answers if status == 503]
        assert failed and len(answers) == len(reports)
        for report in failed:  # the client retries what was answered 503
            assert served.client.post("/v1/reports", json=report).status_code == 200
        for visitor_id, own in by_visitor(reports).items():
            got = served.client.get(f"/v1/visitors/{visitor_id}/recovery")
            assert got.status_code == 200 and got.json()["reports"] == len(own), visitor_id
        assert served.client.get("/readyz").status_code == 200
    finally:
        killed.set()
        served.stop()


def test_a_reshard_while_reports_arrive_loses_none_and_moves_keys(cluster, policy):
    """2,000 slots moved from one master to another (`redis-cli --cluster
    reshard`) while four threads submit: the second half of the storm is
    sent only once the reshard has started, so submits meet MOVED and ASK.
    Every visitor ends equal to the batch, and the slots did move."""
    import subprocess

    from chat_recovery.live import StoreUnavailable
    from chat_recovery.live.redis_store import RedisStore

    reports = storm(StormSpec(visitors=200, seed=31))
    coordinator = Coordinator(policy, RedisStore(cluster.url), window=600)
    first_half_done, resharding = threading.Barrier(5), threading.Event()
    unavailable = []

    def submit(report):
        for _ in range(100):  # a 503 is retried, as a client would
            try:
                return coordinator.submit(report, now=NOW)
            except StoreUnavailable as exc:
                unavailable.append(str(exc))
        raise AssertionError(f"still unavailable after 100 tries: {unavailable[-1]}")

    def submit_all(share):
        half = len(share) // 2
        for report in share[:half]:
            submit(report)
        first_half_done.wait(300)
        resharding.wait(300)
        for report in share[half:]:
            submit(report)

    threads = [threading.Thread(target=submit_all, args=(reports[n::4],)) for n in range(4)]
    for t in threads:
        t.start()
    first_half_done.wait(300)
    before = [node.slots() for node in cluster.nodes]
    source, target = (node.ask("CLUSTER", "MYID") for node in cluster.nodes[:2])
    reshard = subprocess.Popen(
        ["redis-cli", "--cluster", "reshard", f"127.0.0.1:{cluster.nodes[0].port}", "--cluster-from", source]
        + ["--cluster-to", target, "--cluster-slots", "2000", "--cluster-yes", "--cluster-pipeline", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    resharding.set()
    _, err = reshard.communicate(timeout=600)
    for t in threads:
        t.join(600)
    assert reshard.returncode == 0, err
    cluster.wait_state("ok")
    after = [node.slots() for node in cluster.nodes]
    assert (after[0], after[1]) == (before[0] - 2000, before[1] + 2000) and sum(after) == 16384, (before, after)
    assert sum(cluster.keys_per_node()) == 200
    any_paths = first_writer_paths(policy)
    for visitor_id, own in by_visitor(reports).items():
        held = coordinator.get(visitor_id, now=NOW)
        assert held is not None and held["reports"] == len(own), visitor_id
        assert comparable(held["recovery"], any_paths) == comparable(cr.recover(policy, own, NOW), any_paths), visitor_id
