"""The service's edges through a real `serve` and raw sockets (issue 16
item 10): what the HTTP parser refuses is answered in JSON, a 5xx closes
the connection and says so, every visitor id the contract allows can be
read back, and a report from the future is refused."""

import json
import socket
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

from conftest import ROOT
from redis_server import free_port
from service import TOKEN, Served

REPORT = json.loads((ROOT / "examples" / "plain-visitor" / "1-visitor.json").read_text())


@pytest.fixture(scope="module")
def served():
    server = Served("--workers", "0", "--max-clock-skew", "60")
    yield server
    server.stop()


def exchange(port, data: bytes, then: bytes = b""):
    """Send `data` on one connection, then `then` on the same one (if the
    server still reads); everything the server wrote until it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
        try:
            sock.sendall(data)
        except OSError:  # the server answered and closed while this was sending
            pass
        out = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
            if then and b"\r\n\r\n" in out and _complete(out):
                sock.sendall(then)
                then = b""
        return out


def _complete(raw: bytes) -> bool:
    head, _, body = raw.partition(b"\r\n\r\n")
    length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")), None)
    return length is not None and len(body) >= length


def answers(raw: bytes) -> list[tuple[int, dict, bytes]]:
    """(status, headers lower-cased, body) of each response in `raw`."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = {k.strip().lower().decode(): v.strip().decode() for k, v in (l.split(b":", 1) for l in lines[1:])}
        length = int(headers["content-length"])
        out.append((int(lines[0].split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return out


def request(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    head = {"Host": "127.0.0.1", "Authorization": f"Bearer {TOKEN}", **(headers or {})}
    if body:
        head |= {"Content-Type": "application/json", "Content-Length": str(len(body))}
    return f"{method} {path} HTTP/1.1\r\n".encode() + b"".join(f"{k}: {v}\r\n".encode() for k, v in head.items()) + b"\r\n" + body


PARSER_REFUSES = [
    ("a 1 MB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n", 431, "headersTooLarge"),
    ("a NUL in a header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\x00c\r\n\r\n", 400, "badHttp"),
    ("Content-Length: -1", b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "badHttp"),
    ("a \\xff byte in the path", b"GET /v1/\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400, "badHttp"),
    ("Transfer-Encoding: gzip", b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "badHttp"),
    ("not HTTP at all", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n", 400, "badHttp"),
]


@pytest.mark.parametrize("raw, status, code", [c[1:] for c in PARSER_REFUSES], ids=[c[0] for c in PARSER_REFUSES])
def test_what_the_http_parser_refuses_is_a_json_error_then_a_close(served, raw, status, code):
    got = answers(exchange(served.port, raw))
    assert len(got) == 1
    (answered, headers, body) = got[0]
    assert (answered, headers["content-type"], headers["connection"]) == (status, "application/json", "close")
    assert json.loads(body)["error"]["code"] == code


def test_a_503_says_connection_close_and_closes_a_keep_alive_connection():
    dead = Served("--workers", "0", "--redis-url", f"redis://127.0.0.1:{free_port()}/0")
    try:
        post = request("POST", "/v1/reports", json.dumps(REPORT).encode())
        got = answers(exchange(dead.port, post, then=request("GET", "/healthz")))
        assert [(status, headers.get("connection")) for status, headers, _ in got] == [(503, "close")]
        got = answers(exchange(dead.port, request("GET", "/readyz"), then=request("GET", "/healthz")))
        assert [(status, headers.get("connection")) for status, headers, _ in got] == [(503, "close")]
    finally:
        dead.stop()
    # a 4xx keeps the connection: the second request on it is answered
    live = Served("--workers", "0")
    try:
        got = answers(exchange(live.port, request("GET", "/v1/visitors/nobody/recovery"), then=request("GET", "/healthz")))
        assert [status for status, _, _ in got] == [404, 200]
    finally:
        live.stop()


def test_an_unexpected_error_is_a_json_500_that_says_connection_close(policy):
    from chat_recovery.service.app import create_app
    from chat_recovery.service.config import ServeConfig
    from chat_recovery.service.endpoint import Answer, Endpoint
    from chat_recovery.service.server import build

    async def broken(service, request):
        raise RuntimeError("a bug")

    service, close = build(ServeConfig(workers=0), policy)
    try:
        app = create_app(service, [Endpoint("GET", "/broken", broken, summary="", answers={500: Answer("a bug")})])
        got = TestClient(app, raise_server_exceptions=False).get("/broken")
        assert got.status_code == 500 and got.headers["connection"] == "close"
        assert got.json()["error"]["code"] == "internal"
    finally:
        close()


IDS = ["a/b", "a%2Fb", "x?y#z", "100%", "new\nline", "nul\x00", "tab\t", " ", "...", "a/../b", "é/ü", "%2E%2E", "+", "\u2028"]


def test_every_visitor_id_is_read_back_percent_encoded(served):
    for visitor in IDS:
        posted = served.client.post("/v1/reports", json={**REPORT, "visitorId": visitor})
        assert posted.status_code == 200, (visitor, posted.text)
        got = served.client.get(f"/v1/visitors/{quote(visitor, safe='')}/recovery")
        assert got.status_code == 200 and got.json()["visitorId"] == visitor, visitor
    # unencoded, a / is still the id's (a route matches the id whole)
    assert served.client.get("/v1/visitors/a/b/recovery").json()["visitorId"] == "a/b"


@pytest.mark.parametrize("visitor", [".", ".."])
def test_a_dot_segment_id_is_refused_at_submit(served, visitor):
    posted = served.client.post("/v1/reports", json={**REPORT, "visitorId": visitor})
    assert posted.status_code == 422
    error = posted.json()["error"]
    assert error["path"] == "$.visitorId" and "dot segment" in error["message"]


def _at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_sent_at_beyond_the_clock_skew_is_refused_with_its_path_and_nothing_written(served):
    for visitor, sent in (("v-far-future", "9999-12-31T23:59:59Z"), ("v-ahead", _at(3600))):
        posted = served.client.post("/v1/reports", json={**REPORT, "visitorId": visitor, "sentAt": sent})
        assert posted.status_code == 422 and posted.json()["error"]["path"] == "$.sentAt", posted.text
        assert "60 s after the server's clock" in posted.json()["error"]["message"]
        assert served.client.get(f"/v1/visitors/{visitor}/recovery").status_code == 404
    # within the skew: taken (the flag is 60 s here; 10 s ahead is a clock a little fast)
    assert served.client.post("/v1/reports", json={**REPORT, "visitorId": "v-near", "sentAt": _at(10)}).status_code == 200


def test_the_batch_keeps_a_future_sent_at(tmp_path):
    """The CLI's --now is when the recovery runs, not a client's clock: the
    seed's reading stands there (docs/policy.md, Readings)."""
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**REPORT, "sentAt": "9999-12-31T23:59:59Z"}))
    exe = Path(sys.executable).with_name("chat-recovery")
    done = subprocess.run([str(exe), "recover", "--now", "2026-11-24T09:00:30Z", str(path)], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "soon"])
def test_a_bad_clock_skew_stops_serve(value):
    exe = Path(sys.executable).with_name("chat-recovery")
    done = subprocess.run(
        [str(exe), "serve", "--port", str(free_port()), "--max-clock-skew", value], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2 and "--max-clock-skew" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_client_gone_mid_body_is_no_traceback_in_the_log(served):
    head = request("POST", "/v1/policy/check", b"x" * 100)
    with socket.create_connection(("127.0.0.1", served.port), timeout=300) as sock:
        sock.sendall(head[:-90])  # the headers and 10 of the 100 bytes it promised
    line = served.wait_log(lambda l: "path=/v1/policy/check" in l)
    assert line is not None and "status=400" in line
    assert not [l for l in served.log if l is not None and ("Traceback" in l or " ERROR " in l)]
