"""`serve --processes N` on a real Redis: serving processes SIGKILLed and
SIGSEGVed (a durable_rules crash) again and again under load from several
clients. The manager replaces each, the node keeps answering, and every
report, retried until answered 200, is held once, its visitor's recovery
the batch's."""

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

import chat_recovery as cr
from chat_recovery.bench.storm import StormSpec, by_visitor, storm
from chat_recovery.live.coordinator import report_digest
from chat_recovery.recovery.reports import check
from service import TOKEN, Served, serve_refused
from test_redis_live import comparable, first_writer_paths

pytest.importorskip("redis")

KILLS = (signal.SIGKILL, signal.SIGSEGV, signal.SIGKILL, signal.SIGSEGV)
CLIENTS = 4


def serving_pids(manager: int) -> set[int]:
    """The manager's serving processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{manager}/task/{manager}/children").read_text().split()
    return {int(pid) for pid in children if b"spawn_main" in _cmdline(pid)}


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone meanwhile
        return b""


def post_until_200(url: str, reports: list, answered: list, lock: threading.Lock, errors: list) -> None:
    """What a client does: send each report until it is answered 200 (a
    connection cut by a killed process, or a 503, is retried)."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
        for report in reports:
            for _ in range(50):
                try:
                    got = client.post("/v1/reports", json=report)
                except httpx.TransportError:
                    time.sleep(0.05)
                    continue
                if got.status_code == 200:
                    with lock:
                        answered.append(report)
                    break
                if got.status_code != 503:
                    errors.append((report["visitorId"], got.status_code, got.text[:200]))
                    return
                time.sleep(0.05)
            else:
                errors.append((report["visitorId"], "no 200 after 50 tries"))
                return


def test_serving_processes_killed_under_load_are_replaced_and_lose_no_report(redis_server, policy):
    reports = storm(StormSpec(visitors=150, seed=21))
    served = Served("--processes", "2", "--redis-url", redis_server.url, "--window", "600", "--log-level", "warning")
    answered: list = []
    errors: list = []
    lock = threading.Lock()
    clients = [
        threading.Thread(target=post_until_200, args=(served.url, reports[n::CLIENTS], answered, lock, errors))
        for n in range(CLIENTS)
    ]
    killed = []
    try:
        for client in clients:
            client.start()
        for n, sig in enumerate(KILLS, start=1):
            bound = time.monotonic() + 120
            while len(answered) < n * len(reports) // (len(KILLS) + 2):  # synchronise on answers, not on time
                assert time.monotonic() < bound and not errors, (len(answered), errors)
                time.sleep(0.005)
            victim = min(serving_pids(served.proc.pid))
            os.kill(victim, sig)
            killed.append(victim)
            line = served.wait_log(lambda l, victim=victim: "serverProcessReplaced" in l and f"pid={victim} " in l)
            assert line is not None and f"killed by {sig.name}" in line, line
        for client in clients:
            client.join(600)
        assert not any(c.is_alive() for c in clients)
        assert errors == []
        assert len(answered) == len(reports)  # every report answered 200, retried where a kill cut it
        assert len(serving_pids(served.proc.pid) - set(killed)) == 2  # replaced: the node is whole again

        from chat_recovery.live.redis_store import RedisStore

        store = RedisStore(redis_server.url)
        any_paths = first_writer_paths(policy)
        for visitor_id, own in by_visitor(reports).items():
            got = served.client.get(f"/v1/visitors/{visitor_id}/recovery")
            assert got.status_code == 200, visitor_id
            held = got.json()
            assert held["reports"] == len({report_digest(check(policy, r)) for r in own}), visitor_id  # duplicates once
            batch = cr.recover(policy, own, store.get(visitor_id)["updatedAt"])  # its last report's time
            assert comparable(held["recovery"], any_paths) == comparable(batch, any_paths), visitor_id
    finally:
        served.stop()
    assert served.proc.returncode == 0  # SIGTERM: each process stopped, then the manager


def test_several_processes_where_state_is_one_process_memory_are_refused():
    done = serve_refused(["--processes", "2"], {})
    assert (done.returncode, done.stderr) == (
        2,
        "chat-recovery serve: --processes: the embedded store is one process's memory, so it is served by one "
        "process; give --redis-url to serve from several\n",
    )
    done = serve_refused(["--redis-url", "redis://127.0.0.1:1/0", "--playground"], {"CHAT_RECOVERY_PROCESSES": "3"})
    assert (done.returncode, done.stderr) == (
        2,
        "chat-recovery serve: --processes: the playground's sessions live in one process's memory; serve it from one process\n",
    )
