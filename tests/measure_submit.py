"""CPU time per submit in one server process, on a real redis-server (or the
embedded store): the storm's reports applied as the
service's POST /v1/reports does in its thread (the service built as `serve`
builds it, replay in process; the body read and the answer encoded; the
HTTP framing, the same for the floor, left out), timed by process CPU time, not
wall time, so a busy machine changes the figure little. The redis-server's
own CPU is not counted. Usage:
  .venv/bin/python tests/measure_submit.py STORM.jsonl [--reports N] [--embedded] [--profile [tottime]] [--callers RE]
An older checkout is measured with PYTHONPATH=<its engine/> on the same input, runs interleaved.
(`chat-recovery bench storm --visitors 2000 --out STORM.jsonl` makes the input)."""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from chat_recovery import load_policy
from chat_recovery.json_answer import JsonAnswer
from chat_recovery.jsonio import loads
from chat_recovery.service.config import ServeConfig
from chat_recovery.service.handlers import _submit_one
from chat_recovery.service.logs import configure
from chat_recovery.service.server import build
from redis_server import RedisServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("storm")
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--embedded", action="store_true")
    parser.add_argument("--profile", nargs="?", const="cumulative", choices=("cumulative", "tottime"))
    parser.add_argument("--callers", help="with --profile: who calls the functions matching this")
    args = parser.parse_args()
    lines = Path(args.storm).read_bytes().splitlines()[: args.reports]
    configure("info", "text", stream=io.StringIO())  # the log lines formatted and written, as serve's are
    with tempfile.TemporaryDirectory() as work:
        redis = None if args.embedded else RedisServer(work).start()
        try:
            config = ServeConfig(redis_url=None if redis is None else redis.url, workers=0, max_clock_skew=10**9)
            service, close = build(config, load_policy())
            service.ready()  # the first connection
            profile = cProfile.Profile() if args.profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profile:
                profile.enable()
            for line in lines:
                status, payload = _submit_one(service, loads(line))  # what post_reports does in its thread
                JsonAnswer(payload, status_code=status)  # the answer, encoded
                if status != 200:
                    raise SystemExit(f"{status}: {payload}")
            if profile:
                profile.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            close()
        finally:
            if redis is not None:
                redis.stop()
    print(f"{len(lines)} submits: {cpu / len(lines) * 1000:.3f} CPU ms each ({wall / len(lines) * 1000:.3f} wall ms)")
    if profile:
        pstats.Stats(profile).sort_stats(args.profile).print_stats(45)
        if args.callers:
            pstats.Stats(profile).print_callers(args.callers)


if __name__ == "__main__":
    main()
