"""A small load run against a running `chat-recovery serve`: a storm's
reports posted by C concurrent clients, one report a request, as a restart
would bring them. Prints reports per second and latency; 429s are retried
after their Retry-After, as a client should.

    python -m chat_recovery.bench.http_load --url http://127.0.0.1:8080 --token T --visitors 1000 --concurrency 8
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ..jsonio import dumps, dumps_text
from .storm import StormSpec, storm


def run(url: str, token: str, visitors: int, concurrency: int, seed: int) -> dict:
    import httpx

    reports = storm(StormSpec(visitors=visitors, seed=seed))
    bodies = [dumps(r) for r in reports]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    local = threading.local()

    def post(body: bytes) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=url, headers=headers, timeout=60)
        while True:
            started = time.perf_counter()
            answer = client.post("/v1/reports", content=body)
            took = time.perf_counter() - started
            with lock:
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if answer.status_code == 429:
                time.sleep(min(float(answer.headers.get("retry-after", "1")), 2.0))
                continue
            with lock:
                latencies.append(took)
            return

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, bodies))
    seconds = time.perf_counter() - started
    latencies.sort()
    q = lambda f: round(latencies[min(len(latencies) - 1, int(f * len(latencies)))] * 1000, 1)  # noqa: E731
    return {
        "reports": len(bodies),
        "visitors": visitors,
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "reportsPerSecond": round(len(bodies) / seconds, 1),
        "p50ms": q(0.5),
        "p99ms": q(0.99),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chat_recovery.bench.http_load", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    result = run(args.url, args.token, args.visitors, args.concurrency, args.seed)
    print(dumps_text(result))
    print(
        f"{result['reports']} reports ({args.visitors} visitors) in {result['seconds']} s: {result['reportsPerSecond']} reports/s, "
        f"p50 {result['p50ms']} ms, p99 {result['p99ms']} ms, statuses {result['statuses']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
