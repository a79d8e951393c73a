"""Redis stalled under load, through a real `serve` (not a test: run it by
hand, as the issue 16 report did): a real redis-server is stopped with
SIGSTOP for STALL seconds (default 12) while 8 clients post a storm, then
resumed; for every answer that overlaps the stall: its status and code,
its latency, and whether the report turned out applied. Then the cost of a
replay worker's start with the policy sent down its pipe.

    .venv/bin/python tests/measure_stall.py [STALL]
"""

import collections
import os
import signal
import statistics
import sys
import tempfile
import threading
import time

import chat_recovery as cr
from chat_recovery.bench.storm import StormSpec, storm
from chat_recovery.live.coordinator import report_digest
from chat_recovery.live.redis_store import RedisStore
from chat_recovery.live.workers import SupervisedRunner, policy_files
from chat_recovery.live.workers import compiled as compile_files
from chat_recovery.recovery.reports import check
from redis_server import RedisServer
from service import Served


def stall(seconds: float) -> None:
    policy = cr.load_policy()
    redis = RedisServer(tempfile.mkdtemp()).start()
    server = Served("--workers", "0", "--window", "600", "--redis-url", redis.url)
    answers, lock, posted, done = [], threading.Lock(), threading.Event(), threading.Event()

    def post(share):
        for report in share:
            if done.is_set():
                return
            began = time.monotonic()
            got = server.client.post("/v1/reports", json=report)
            error = got.json().get("error", {}) if got.status_code != 200 else {}
            with lock:
                answers.append((report, got.status_code, error.get("code"), error.get("message", ""), began, time.monotonic()))
            posted.set()

    reports = storm(StormSpec(visitors=300, seed=3))
    threads = [threading.Thread(target=post, args=(reports[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    posted.wait(60)
    time.sleep(1)
    stopped = time.monotonic()
    os.kill(redis.proc.pid, signal.SIGSTOP)
    time.sleep(seconds)
    os.kill(redis.proc.pid, signal.SIGCONT)
    resumed = time.monotonic()
    time.sleep(2)
    done.set()
    for thread in threads:
        thread.join(300)
    server.stop()
    store = RedisStore(redis.url)
    counts, latency, false_nothing, unknown_applied = collections.Counter(), collections.defaultdict(list), 0, 0
    for report, status, code, message, began, ended in answers:
        if ended < stopped or began > resumed:
            continue
        doc = store.get(report["visitorId"])
        applied = doc is not None and report_digest(check(policy, report)) in doc["digests"]
        key = f"{status} {code or ''}".strip()
        counts[key] += 1
        latency[key].append(ended - began)
        false_nothing += status == 503 and "nothing was written" in message and applied
        unknown_applied += code == "outcomeUnknown" and applied
    redis.stop()
    print(f"Redis stopped {seconds:g} s under 8 clients; answers overlapping the stall: {dict(counts)}")
    for key, values in latency.items():
        print(f"  {key}: {min(values):.1f} to {max(values):.1f} s")
    print(f"  503 'nothing was written' that was applied: {false_nothing}; outcomeUnknown applied: {unknown_applied}")


def worker_start() -> None:
    policy = cr.load_policy()
    files = policy_files(policy, None)
    load, compiled, start = [], [], []
    for _ in range(5):
        began = time.perf_counter()
        cr.load_policy()
        load.append(time.perf_counter() - began)
        began = time.perf_counter()
        compile_files(files, "rules")
        compiled.append(time.perf_counter() - began)
    for _ in range(3):
        began = time.perf_counter()
        SupervisedRunner(policy=policy, workers=1).close()
        start.append(time.perf_counter() - began)
    print(
        f"a worker's policy: loaded from disk {statistics.median(load) * 1000:.0f} ms, compiled from the "
        f"{sum(map(len, files.values()))} bytes sent {statistics.median(compiled) * 1000:.0f} ms (medians); "
        f"a whole start (spawn, import, compile, handshake; and stop): {', '.join(f'{s:.2f}' for s in start)} s"
    )


if __name__ == "__main__":  # spawned workers import this module: nothing runs then
    stall(float(sys.argv[1]) if len(sys.argv) > 1 else 12.0)
    worker_start()
