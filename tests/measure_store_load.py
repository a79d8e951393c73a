"""Reports/s and latency of a served node on one Redis and on a 3-master
Redis Cluster, at 8, 64 and 256 concurrent clients (bench/http_load.py; a
429 is retried after its Retry-After, as a client should). Each store and
client count gets a fresh Redis (AOF, fsync always) and a fresh
`serve` (default settings: 2 replay workers), so no run reads another's
documents. Prints one JSON line per run, and the load average around it
(the machine is shared: say it beside the figures).

    .venv/bin/python tests/measure_store_load.py [visitors]   # default 500 (899 reports)
"""

import json
import os
import sys
import tempfile

from chat_recovery.bench.http_load import run
from redis_cluster import RedisCluster
from redis_server import RedisServer
from service import TOKEN, Served


def once(store: str, concurrency: int, visitors: int) -> dict:
    with tempfile.TemporaryDirectory() as work:
        redis = RedisCluster(work).start() if store == "cluster" else RedisServer(work).start()
        served = Served("--redis-url", redis.url, "--log-level", "warning")
        try:
            before = os.getloadavg()[0]
            result = run(served.url, TOKEN, visitors, concurrency, 3)
            return {"store": store, **result, "load": [round(before, 1), round(os.getloadavg()[0], 1)]}
        finally:
            served.stop()
            redis.stop()


if __name__ == "__main__":
    visitors = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    for store in ("redis", "cluster"):
        for concurrency in (8, 64, 256):
            print(json.dumps(once(store, concurrency, visitors)), flush=True)
