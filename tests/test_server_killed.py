"""A served node SIGKILLed mid-storm on a real Redis: every report it had
answered 200 is held (a second node, started on the same Redis, finds each
one a duplicate), and what it had not answered can simply be sent again."""

import os
import signal
import threading
import time

import httpx
import pytest

from chat_recovery.bench.storm import StormSpec, storm
from redis_server import RedisServer
from service import TOKEN, Served


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def test_a_node_sigkilled_mid_storm_loses_no_report_it_answered_200(redis_server):
    reports = storm(StormSpec(visitors=120, seed=11))
    first = Served("--workers", "0", "--redis-url", redis_server.url, "--log-level", "warning")
    answered: list[dict] = []
    lock = threading.Lock()

    def post_all() -> None:
        with httpx.Client(base_url=first.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300) as client:
            for report in reports:
                try:
                    answer = client.post("/v1/reports", json=report)
                except httpx.TransportError:  # the node is gone: this report's answer never came
                    return
                if answer.status_code == 200:
                    with lock:
                        answered.append(report)

    poster = threading.Thread(target=post_all)
    poster.start()
    try:
        bound = time.monotonic() + 300
        while len(answered) < len(reports) // 3:  # synchronise on answers, not on time
            assert poster.is_alive() and time.monotonic() < bound, f"{len(answered)} answered"
            time.sleep(0.005)
        os.kill(first.proc.pid, signal.SIGKILL)
    finally:
        poster.join(300)
        first.stop()
    assert first.proc.returncode == -signal.SIGKILL
    assert len(reports) // 3 <= len(answered) < len(reports)

    second = Served("--workers", "0", "--redis-url", redis_server.url, "--log-level", "warning")
    try:
        again = [second.client.post("/v1/reports", json=report) for report in answered]
        assert {a.status_code for a in again} == {200}
        lost = [r["visitorId"] for r, a in zip(answered, again, strict=True) if not a.json()["receipt"]["duplicate"]]
        assert lost == []
        rest = [second.client.post("/v1/reports", json=report) for report in reports[len(answered) :]]
        assert {a.status_code for a in rest} == {200}
    finally:
        second.stop()
