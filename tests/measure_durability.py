"""What a Redis restart keeps of the reports a served node answered 200,
by the Redis's persistence (the README's Operations figure). Per mode: a
fresh redis-server, `serve --workers 0` on it, a storm posted by 8 clients
(bench/http_load.py), then `SHUTDOWN NOSAVE` and a restart on the same dir,
and every visitor read back: reports answered 200 minus reports held.

    .venv/bin/python tests/measure_durability.py [visitors]   # default 500
"""

import subprocess
import sys
import tempfile

from chat_recovery.bench.http_load import run
from chat_recovery.bench.storm import StormSpec, by_visitor, storm
from redis_server import RedisServer  # tests/ is on the path: this script's folder
from service import TOKEN, Served

MODES = {
    "no persistence (appendonly no, save '')": ("--appendonly", "no"),
    "AOF, appendfsync always": ("--appendfsync", "always"),
    "AOF, appendfsync everysec": ("--appendfsync", "everysec"),
}


def measure(options: tuple, visitors: int) -> dict:
    with tempfile.TemporaryDirectory() as work:
        redis = RedisServer(work, options=options).start()
        served = Served("--workers", "0", "--redis-url", redis.url)
        try:
            load = run(served.url, TOKEN, visitors, 8, 3)
            answered = load["statuses"].get("200", 0)
            subprocess.run(["redis-cli", "-p", str(redis.port), "SHUTDOWN", "NOSAVE"], capture_output=True, timeout=300)
            redis.proc.wait(300)
            redis.start()
            held = 0
            for visitor_id in by_visitor(storm(StormSpec(visitors=visitors, seed=3))):
                got = served.client.get(f"/v1/visitors/{visitor_id}/recovery")
                held += got.json()["reports"] if got.status_code == 200 else 0
        finally:
            served.stop()
            redis.stop()
    return {"answered200": answered, "heldAfterRestart": held, "lost": answered - held}


if __name__ == "__main__":
    visitors = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    for name, options in MODES.items():
        print(name, measure(options, visitors), flush=True)
