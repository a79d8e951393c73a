"""The hostile-input corpus (tests/hostile-inputs.jsonl) posted to a real
`serve` over raw sockets: each input gets the status the corpus names,
never a 5xx, every error answered as JSON; a refused report leaves nothing
held; and the server's log has no traceback and no line an input wrote.

A corpus row: `name`; `send`: `post` (to /v1/reports), `check` (to
/v1/policy/check) or `raw` (the bytes as they are, for what the HTTP
parser sees); the body as `body` (text, `encoding` utf-8 unless named), or
`report`, a patch deep-merged over examples/plain-visitor/1-visitor.json
(`drop`: keys taken out; a `sentAt` of `+N` is N seconds after now);
`headers` over the defaults (null takes one out); `visitor`: the id a
refused report must not leave held ("-": none to look for; default
`h-<row>`); `status`: the first answer's status. In text, `{{text*N}}` is
`text` N times (`{i}` in it the count, from 1), `{visitor}` the row's id and
`{token}` the service's."""

import json
import re
import socket
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from conftest import ROOT
from service import TOKEN, Served

CORPUS = [json.loads(line) for line in (ROOT / "tests" / "hostile-inputs.jsonl").read_text(encoding="utf-8").splitlines()]
BASE = json.loads((ROOT / "examples" / "plain-visitor" / "1-visitor.json").read_text())
PATHS = {"post": "/v1/reports", "check": "/v1/policy/check"}


def expand(text: str, visitor: str) -> str:
    def repeat(match):
        text, times = match.group(1), int(match.group(2))
        if "{i}" not in text:
            return text * times
        return "".join(text.replace("{i}", str(i)) for i in range(1, times + 1))

    return re.sub(r"\{\{(.*?)\*(\d+)\}\}", repeat, text, flags=re.S).replace("{visitor}", visitor).replace("{token}", TOKEN)


def merged(base, patch):
    if isinstance(base, dict) and isinstance(patch, dict):
        return {**base, **{k: merged(base.get(k), v) for k, v in patch.items()}}
    return patch


def report_body(row, visitor):
    body = merged({**BASE, "visitorId": visitor}, row["report"])
    for key in row.get("drop", ()):
        body.pop(key)
    sent = body.get("sentAt")
    if isinstance(sent, str) and sent.startswith("+"):
        body["sentAt"] = (datetime.now(UTC) + timedelta(seconds=int(sent[1:]))).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(body, ensure_ascii=False)


def request_bytes(row, visitor) -> bytes:
    if row["send"] == "raw":
        return expand(row["raw"], visitor).encode("latin-1")
    text = report_body(row, visitor) if "report" in row else expand(row["body"], visitor)
    body = text.encode(row.get("encoding", "utf-8"))
    headers = {"Host": "127.0.0.1", "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    headers |= row.get("headers", {})
    head = f"POST {PATHS[row['send']]} HTTP/1.1\r\n"
    head += "".join(f"{k}: {expand(v, visitor)}\r\n" for k, v in headers.items() if v is not None)
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode("latin-1") + body


def exchange(port, data: bytes) -> bytes:
    """Send `data` while reading every answer until the server closes (each
    request says `Connection: close`, or is one the server refuses): a
    server that answers before it has read a large body is read all the
    same. The sending side stays open: uvicorn takes a half-close for the
    client gone, and answers nothing."""
    with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:

        def send():
            try:
                sock.sendall(data)
            except OSError:
                pass  # the server answered and closed first

        sender = threading.Thread(target=send)
        sender.start()
        out = b""
        try:
            while chunk := sock.recv(1 << 20):
                out += chunk
        except ConnectionResetError:
            pass
        sender.join(300)
        return out


def answers(raw: bytes) -> list[tuple[int, dict, bytes]]:
    out = []
    while raw.startswith(b"HTTP/"):
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = {k.strip().lower().decode(): v.strip().decode("latin-1") for k, v in (l.split(b":", 1) for l in lines[1:])}
        status = int(lines[0].split()[1])
        length = 0 if status < 200 else int(headers.get("content-length", len(rest)))
        out.append((status, headers, rest[:length]))
        raw = rest[length:]
    return out


@pytest.fixture(scope="module")
def served():
    server = Served("--workers", "1")
    yield server
    server.stop()


def test_the_corpus_is_large_and_its_names_are_unique():
    names = [row["name"] for row in CORPUS]
    assert len(names) >= 90 and len(set(names)) == len(names)


@pytest.mark.parametrize("index", range(len(CORPUS)), ids=[row["name"] for row in CORPUS])
def test_each_hostile_input_gets_its_status_and_never_a_5xx(served, index):
    row = CORPUS[index]
    visitor = row.get("visitor", f"h-{index}")
    got = answers(exchange(served.port, request_bytes(row, visitor)))
    assert got, "no answer at all"
    assert all(status < 500 for status, _, _ in got), [status for status, _, _ in got]
    for status, headers, body in got:
        if status >= 400 and row["send"] != "raw" or status in (400, 431):
            assert headers["content-type"] == "application/json", (status, body[:200])
            assert json.loads(body)["error"]["code"]
    assert got[0][0] == row["status"], got[0][2][:300]
    if row["send"] == "post" and row["status"] >= 400 and visitor != "-":
        held = served.client.get(f"/v1/visitors/{quote(visitor, safe='')}/recovery")
        assert held.status_code in (404, 405), f"a refused report left {visitor!r} held"  # 405: an id no route takes


def test_the_log_of_the_corpus_run_has_no_traceback_and_no_line_an_input_wrote(served):
    """Runs after the corpus (pytest keeps the file's order)."""
    served.client.get("/healthz")
    assert served.wait_log(lambda line: "path=/healthz" in line)
    lines = [line for line in served.log if line is not None]
    assert not [line for line in lines if "Traceback" in line or " ERROR " in line]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ ", line) for line in lines), [
        line for line in lines if not re.match(r"\d{4}-", line)
    ][:3]
