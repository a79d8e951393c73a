"""The memory of a served node (embedded store) across rounds of visitors
that expire: each round posts N visitors (lists of 100 reports, each a
visitor's chat of one message), waits until the store has purged them all
(/metrics: chat_recovery_store_documents_forgotten_total), and reads the
server's RSS from /proc. Flat across rounds = the store forgets. By hand:

    .venv/bin/python tests/measure_memory.py [visitors] [rounds]   # default 10000 3
"""

import json
import sys
import time
from pathlib import Path

import httpx

from service import Served


def report(i: int, round_: int) -> dict:
    visitor = f"v-{round_}-{i:06d}"
    at = "2026-12-02T01:00:00Z"
    line = {"id": f"m-{i}", "time": at, "action": "visitorMessage", "sender": {"type": "visitor"}, "text": "hello"}
    return {
        "visitorId": visitor,
        "source": {"type": "visitor"},
        "sentAt": at,
        "visitor": {"status": "chatting"},
        "chat": {"id": f"c-{i}", "messages": [line]},
    }


def forgotten(server: Served) -> float:
    text = httpx.get(server.url + "/metrics", timeout=300).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("chat_recovery_store_documents_forgotten_total{")
    )


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024


def main(visitors: int, rounds: int) -> None:
    server = Served("--workers", "0", "--window", "1", "--retain", "0", "--purge-every", "1", "--log-level", "warning")
    try:
        print(json.dumps({"round": 0, "rssMB": round(rss_mb(server.proc.pid), 1)}), flush=True)
        for round_ in range(1, rounds + 1):
            started = time.perf_counter()
            for first in range(0, visitors, 100):
                batch = [report(i, round_) for i in range(first, min(visitors, first + 100))]
                answer = server.client.post("/v1/reports", json=batch)
                assert answer.status_code == 200, answer.text[:300]
            posted = time.perf_counter() - started
            deadline = time.monotonic() + 600
            while forgotten(server) < visitors * round_:
                assert time.monotonic() < deadline, "the store did not forget them within 600 s"
                time.sleep(0.5)
            print(
                json.dumps(
                    {
                        "round": round_,
                        "visitors": visitors,
                        "postSeconds": round(posted, 1),
                        "forgotten": forgotten(server),
                        "rssMB": round(rss_mb(server.proc.pid), 1),
                    }
                ),
                flush=True,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
