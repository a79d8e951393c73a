"""Bounded work per request and per visitor, measured (not a test: run it by
hand, as the issue 16 items 4 and 5 report did). Starts `chat-recovery
serve --workers 0` (embedded store) with the given extra flags and prints:

- hot: one visitor's reports one a request, each a line longer (mean ms of
  the 10 reports up to the 10th, 500th and 2,000th; what they were answered);
- list: a 3,000-report list (3,000 visitors) while another client posts one
  report at a time: what that client is answered while the list runs;
- one: a 3,000-report list for one visitor from 60 agents: answer bytes,
  time, the server's RSS before and after;
- encode: the cost of encoding a held document of n one-line messages.

    .venv/bin/python tests/measure_bounds.py --max-list 3000 --max-visitor-reports 3000
"""

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from redis_server import free_port


def sent(i):
    return "2026-11-24T09:%02d:%02d.%03dZ" % ((i // 60000) % 60, (i // 1000) % 60, i % 1000)


def report(i, visitor, source=None, line=False):
    out = {"visitorId": visitor, "source": source or {"type": "visitor"}, "sentAt": sent(i), "visitor": {"status": "chatting"}}
    if line:
        message = {"id": f"m-{i:06d}", "time": sent(i), "action": "visitorMessage", "sender": {"type": "visitor"}, "text": "hi"}
        out["chat"] = {"id": "c-1", "messages": [message]}
    return out


def rss_mb(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) // 1024


def hot(client):
    took, answers = [], {}
    for i in range(2000):
        start = time.perf_counter()
        status = client.post("/v1/reports", json=report(i, "v-hot", line=True)).status_code
        took.append(time.perf_counter() - start)
        answers[status] = answers.get(status, 0) + 1
    means = {k: round(sum(took[k - 10 : k]) / 10 * 1000, 1) for k in (10, 500, 2000)}
    print(f"hot visitor, mean ms of the 10 reports up to the kth: {means}; answered {answers}")


def listed(client, url):
    body = [report(i, f"v-list-{i}") for i in range(3000)]
    done, out, answers = threading.Event(), {}, {}

    def post():
        start = time.perf_counter()
        out["status"] = client.post("/v1/reports", json=body).status_code
        out["took"] = time.perf_counter() - start
        done.set()

    thread = threading.Thread(target=post)
    thread.start()
    with httpx.Client(base_url=url, timeout=600, headers=client.headers) as other:
        n = 0
        while not done.is_set():
            status = other.post("/v1/reports", json=report(n, f"v-other-{n}")).status_code
            answers[status] = answers.get(status, 0) + 1
            n += 1
    thread.join()
    print(f"a 3,000-report list: {out['status']} in {out['took']:.1f} s; another client meanwhile: {answers}")


def one_visitor(client, pid):
    body = [report(i, "v-one", {"type": "agent", "id": f"a-{i % 60}"}) for i in range(3000)]
    before, start = rss_mb(pid), time.perf_counter()
    got = client.post("/v1/reports", json=body)
    took = time.perf_counter() - start
    print(
        f"3,000 reports of one visitor from 60 agents: {got.status_code}, answer {len(got.content) / 1e6:.2f} MB "
        f"in {took:.1f} s; server RSS {before} -> {rss_mb(pid)} MB"
    )


def encode():
    import chat_recovery as cr
    from chat_recovery.live import Coordinator, MemoryStore

    try:
        from chat_recovery.live.limits import document_bytes

        coordinator = Coordinator(cr.load_policy(), MemoryStore(), max_reports=10_000)
    except (ImportError, TypeError):  # before the bounds
        return
    for n in (1000, 5000):
        chat = {"id": "c-1", "messages": [report(i, "v", line=True)["chat"]["messages"][0] for i in range(n)]}
        coordinator.submit({**report(0, f"v-{n}"), "chat": chat}, "2026-11-24T10:00:00Z")
        doc = coordinator.store.get(f"v-{n}")
        start = time.perf_counter()
        size = document_bytes(doc)
        print(f"encoding a document of {n} messages ({size / 1e6:.1f} MB): {(time.perf_counter() - start) * 1000:.0f} ms")


def main(extra):
    port = free_port()
    exe = Path(sys.executable).with_name("chat-recovery")
    argv = [str(exe), "serve", "--port", str(port), "--workers", "0", "--window", "3600", *extra]
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        print(server.stdout.readline().strip(), " ".join(extra))
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=600) as client:
            hot(client)
            listed(client, url)
            one_visitor(client, server.pid)
    finally:
        server.terminate()
        server.wait(60)
    encode()


if __name__ == "__main__":
    main(sys.argv[1:])
