"""Cost of verifying message signatures (not a test: run it by hand, as the
issue 15 report did): every corpus and example report set with each message
signed, recovered with and without keys on the compiled engine, CPU time.

    .venv/bin/python tests/measure_signatures.py
"""

import pathlib
import sys
import time

import chat_recovery as cr

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
keys = {"k1": b"measure-secret-0123456789abcdef"}
policy = cr.load_policy()
sets = []
for folder in sorted([*root.glob("corpus/*/"), *root.glob("examples/*/")]):
    from chat_recovery.recovery.reports import parse_bytes

    reports = [parse_bytes(p.read_bytes(), p.name) for p in sorted(folder.iterdir()) if p.suffix in (".json", ".yaml", ".yml")]
    reports = [r for r in reports if "visitorId" in r]
    for r in reports:
        chat = r.get("chat") or {}
        chat["messages"] = [cr.sign_message(m, chat["id"], "k1", keys["k1"]) for m in chat.get("messages") or ()]
    if reports:
        sets.append(reports)
copies = sum(len((r.get("chat") or {}).get("messages") or ()) for s in sets for r in s)
now = "2026-11-24T09:00:30Z"
for s in sets:  # every set replays with nothing set aside
    assert not [x for x in cr.recover(policy, s, now, keys=keys, engine="compiled")["setAside"] if "code" in x], s[0]["visitorId"]


def run(k, rounds=200):
    best = float("inf")
    for _ in range(5):
        t = time.process_time()
        for _ in range(rounds):
            for s in sets:
                cr.recover(policy, s, now, keys=k, engine="compiled")
        best = min(best, time.process_time() - t)
    return best / rounds


without, with_keys = run(None), run(keys)
m = {"id": "m-1", "time": now, "action": "agentMessage", "sender": {"type": "agent", "id": "a-1"}, "text": "hello " * 20}
signed = cr.sign_message(m, "c-1", "k1", keys["k1"])
mk = cr.MessageKeys(keys)
t = time.process_time()
n = 20000
for _ in range(n):
    cr.verify_message(signed, "c-1", mk)
per = (time.process_time() - t) / n
print(f"{len(sets)} report sets, {copies} message copies per pass")
print(
    f"recover without keys: {without * 1000:.2f} ms per pass; with keys: {with_keys * 1000:.2f} ms per pass (+{(with_keys / without - 1) * 100:.0f}%, {(with_keys - without) / copies * 1e6:.1f} us per copy)"
)
print(f"verify_message alone: {per * 1e6:.1f} us per message")
