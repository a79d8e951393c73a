"""The HTTP service through a real uvicorn process, as a chat server in
another language would use it."""

import concurrent.futures
import json
import shutil
import subprocess
import time

import httpx
import pytest

import chat_recovery as cr
from chat_recovery.replay import durable_available
from conftest import ROOT
from service import TOKEN, Served


def example(name):
    return [json.loads(p.read_text()) for p in sorted((ROOT / "examples" / name).glob("*.json"))]


@pytest.fixture(scope="module")
def served():
    server = Served("--workers", "1", "--window", "60")
    yield server
    server.stop()


def test_the_banner_says_where_it_listens_and_which_store(served):
    assert served.banner == (
        f"chat-recovery: serving on http://127.0.0.1:{served.port} (store: embedded (in-process); "
        "policy: bundled; 1 replay worker)"
    )


def test_reports_one_at_a_time_give_the_recovery_so_far(served, policy):
    first, second = example("chat-refused")
    got = served.client.post("/v1/reports", json=first)
    assert got.status_code == 200
    body = got.json()
    assert body["reports"] == 1 and body["complete"] is True  # a refused chat: no agent holds it
    got = served.client.post("/v1/reports", json=second).json()
    assert got["reports"] == 2 and got["receipt"] == {"late": False, "duplicate": False}
    expected = cr.recover(policy, [first, second], got["recovery"]["visitor"]["info"]["latestActivityTime"])
    assert got["recovery"]["chat"] == expected["chat"] and got["recovery"]["visitor"]["status"] == expected["visitor"]["status"]
    held = served.client.get(f"/v1/visitors/{first['visitorId']}/recovery")
    assert held.status_code == 200 and held.json()["recovery"] == got["recovery"]


def test_a_list_of_reports_answers_each_with_its_receipt_and_each_visitor_with_its_summary(served):
    (good,) = example("plain-visitor")[:1]
    bad = {**example("plain-visitor")[1], "sentAt": "not a time"}
    got = served.client.post("/v1/reports", json=[good, bad])
    assert got.status_code == 207
    first, second = got.json()["results"]
    assert first == {"status": 200, "visitorId": "v-1001", "receipt": {"late": False, "duplicate": False}}
    assert second["status"] == 422 and second["error"]["path"] == "$.sentAt" and second["error"]["index"] == 1
    summary = got.json()["visitors"]["v-1001"]
    held = served.client.get("/v1/visitors/v-1001/recovery").json()
    assert summary == {k: v for k, v in held.items() if k != "recovery"}  # the recovery itself is a GET away
    again = served.client.post("/v1/reports", json=[good])
    assert again.status_code == 200 and again.json()["results"][0]["receipt"]["duplicate"] is True


def test_a_bad_report_gets_422_naming_the_field(served):
    report = example("plain-visitor")[0]
    report["visitor"]["info"]["browsr"] = "Firefox"
    got = served.client.post("/v1/reports", json=report)
    assert got.status_code == 422
    error = got.json()["error"]
    assert error["code"] == "invalidReport" and error["path"] == "$.visitor.info.browsr"
    assert "did you mean 'browser'" in error["message"]


@pytest.mark.parametrize(
    "body, headers, status, code",
    [
        (b"{not json", {"Content-Type": "application/json"}, 400, "invalidJson"),
        (b"{}", {"Content-Type": "text/plain"}, 415, "notJson"),
        (b"42", {"Content-Type": "application/json"}, 422, "invalidReport"),
        (b"[]", {"Content-Type": "application/json"}, 422, "invalidReport"),
    ],
)
def test_bodies_that_are_not_reports_get_a_json_error(served, body, headers, status, code):
    got = served.client.post("/v1/reports", content=body, headers=headers)
    assert got.status_code == status and got.json()["error"]["code"] == code


def test_every_v1_request_needs_the_token(served):
    report = example("plain-visitor")[0]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        got = httpx.post(served.url + "/v1/reports", json=report, headers=headers)
        assert got.status_code == 401 and got.headers["www-authenticate"].startswith("Bearer")
        assert got.json()["error"]["code"] == "unauthorized"
        assert httpx.get(served.url + "/v1/visitors/v-1001/recovery", headers=headers).status_code == 401


def test_an_unknown_visitor_is_404(served):
    got = served.client.get("/v1/visitors/v-nobody/recovery")
    assert got.status_code == 404 and "v-nobody" in got.json()["error"]["message"]


def test_health_readiness_and_openapi_need_no_token(served):
    assert httpx.get(served.url + "/healthz").json() == {"status": "alive"}
    assert httpx.get(served.url + "/readyz").json() == {"status": "ready"}
    doc = httpx.get(served.url + "/openapi.json").json()
    assert doc["openapi"] == "3.1.0" and "/v1/reports" in doc["paths"]
    assert doc["components"]["schemas"]["Report"]["properties"]["visitorId"]


def test_metrics_count_what_happened(served):
    before = httpx.get(served.url + "/metrics").text
    served.client.post("/v1/reports", json={"visitorId": "v-m"})
    after = httpx.get(served.url + "/metrics").text

    def value(text, name):
        line = next(
            l for l in text.splitlines() if l.startswith(name + " ") or l.startswith(name + "{") and l.split(" ")[0] == name
        )
        return float(line.rsplit(" ", 1)[1])

    key = 'chat_recovery_reports_total{outcome="invalid"}'
    assert value(after, key) == value(before, key) + 1
    assert "chat_recovery_submit_seconds_bucket" in after
    assert 'chat_recovery_worker_events{event="steps"}' in after


def test_metrics_count_the_documents_the_embedded_store_lets_go():
    """Three visitors in a store bounded at two: the first one written (all expire
    alike) is dropped, and /metrics says so as soon as the answer that dropped it came."""
    server = Served("--workers", "0", "--max-documents", "2")
    try:
        visitors = [{**example("plain-visitor")[0], "visitorId": f"v-bound-{i}"} for i in range(3)]
        for report in visitors:
            assert server.client.post("/v1/reports", json=report).status_code == 200
        metrics = httpx.get(server.url + "/metrics", timeout=300).text
        assert 'chat_recovery_store_documents_forgotten_total{why="dropped"} 1.0' in metrics
        assert 'chat_recovery_store_documents_forgotten_total{why="purged"} 0.0' in metrics
        assert server.client.get("/v1/visitors/v-bound-0/recovery").status_code == 404
        assert server.client.get("/v1/visitors/v-bound-2/recovery").status_code == 200
    finally:
        server.stop()


def test_an_idle_server_purges_expired_documents_on_its_timer():
    """No request after the report: only the timer can forget it. /metrics is read
    until it counts the purge (the timer runs every 0.2 s; the deadline is generous)."""
    server = Served("--workers", "0", "--window", "0.1", "--retain", "0", "--purge-every", "0.2")
    try:
        assert server.client.post("/v1/reports", json=example("plain-visitor")[0]).status_code == 200
        purged = 'chat_recovery_store_documents_forgotten_total{why="purged"} 1.0'
        deadline = time.monotonic() + 300  # only ends a hang
        while purged not in httpx.get(server.url + "/metrics", timeout=300).text:
            assert time.monotonic() < deadline, "the timer never purged the expired document"
            time.sleep(0.05)
    finally:
        server.stop()


def test_a_body_over_the_limit_is_413():
    server = Served("--workers", "0", "--max-body", "2000")
    try:
        got = server.client.post("/v1/reports", json={"visitorId": "v", "pad": "x" * 5000})
        assert got.status_code == 413 and got.json()["error"]["code"] == "tooLarge"

        def chunks():  # no Content-Length: counted while reading
            for _ in range(10):
                yield b" " * 500

        got = server.client.post("/v1/reports", content=chunks(), headers={"Content-Type": "application/json"})
        assert got.status_code == 413
    finally:
        server.stop()


def test_a_storm_beyond_the_admission_limit_gets_429_with_jittered_retry_after():
    from test_workers import big_chat

    server = Served("--workers", "0", "--max-in-flight", "2")
    try:
        bodies = [big_chat(6000, visitor_id=f"v-storm-{n}") for n in range(16)]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda b: server.client.post("/v1/reports", json=b), bodies))
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {200, 429} and statuses.count(200) >= 2 and statuses.count(429) >= 2
        waits = [int(a.headers["retry-after"]) for a in answers if a.status_code == 429]
        assert all(1 <= w <= 10 for w in waits)
        assert len(set(waits)) > 1 or len(waits) < 4
        rejected = [a for a in answers if a.status_code == 429][0].json()["error"]
        assert rejected["code"] == "tooManyReports"
        retried = server.client.post("/v1/reports", json=bodies[statuses.index(429)])
        assert retried.status_code == 200
    finally:
        server.stop()


def test_policy_check_over_http(served):
    files = {p.name: p.read_text() for p in (ROOT / "rules").glob("*.yaml")}
    got = served.client.post("/v1/policy/check", json={"files": files})
    assert got.status_code == 200 and got.json()["ok"] is True
    files["visitor-info.yaml"] = files["visitor-info.yaml"].replace("strategy: visitorOnly", "strategy: vistiorOnly", 1)
    got = served.client.post("/v1/policy/check", json={"files": files}).json()
    assert got["ok"] is False
    problem = got["problems"][0]
    assert problem["file"] == "visitor-info.yaml" and "did you mean 'visitorOnly'" in problem["message"]
    bad = served.client.post("/v1/policy/check", json={"files": {"../x.yaml": ""}})
    assert bad.status_code == 422


def test_settings_come_from_the_environment_and_flags_win():
    server = Served(
        env={"CHAT_RECOVERY_WINDOW": "5", "CHAT_RECOVERY_WORKERS": "0", "CHAT_RECOVERY_TOKEN": "from-env"}, token=None
    )
    try:
        got = httpx.post(
            server.url + "/v1/reports", json=example("plain-visitor")[0], headers={"Authorization": "Bearer from-env"}
        )
        assert got.status_code == 200
        opened, closes = got.json()["openedAt"], got.json()["closesAt"]
        from datetime import datetime

        span = datetime.fromisoformat(closes.replace("Z", "+00:00")) - datetime.fromisoformat(opened.replace("Z", "+00:00"))
        assert span.total_seconds() == 5
    finally:
        server.stop()


@pytest.mark.parametrize(
    "args, env, message, code",
    [
        (["--port", "0"], {}, "--port must be 1-65535", 2),
        (["--window", "soon"], {}, "--window: 'soon' is not a number", 2),
        ([], {"CHAT_RECOVERY_PORT": "http"}, "CHAT_RECOVERY_PORT: 'http' is not a whole number", 2),
        (["--host", "0.0.0.0"], {}, "a token is required to listen on 0.0.0.0", 2),
        (["--log-format", "xml"], {}, "--log-format must be text or json, not 'xml'", 2),
        (["--token", " "], {}, "the token is empty or only whitespace: give --token or CHAT_RECOVERY_TOKEN", 2),
        (["--host", "0.0.0.0", "--token", ""], {}, "the token is empty or only whitespace", 2),
        ([], {"CHAT_RECOVERY_TOKEN": " \t"}, "the token is empty or only whitespace", 2),
    ],
)
def test_bad_settings_are_said_with_their_source(args, env, message, code):
    from service import serve_refused

    done = serve_refused(args, env)
    assert done.returncode == code and message in done.stderr and "Traceback" not in done.stderr


def test_a_policy_that_does_not_load_stops_serve_with_exit_3(tmp_path, rules_copy):
    import sys
    from pathlib import Path

    from conftest import edit

    edit(rules_copy / "visitor-info.yaml", "strategy: visitorOnly", "strategy: vistiorOnly")
    exe = Path(sys.executable).with_name("chat-recovery")
    done = subprocess.run([str(exe), "serve", "--policy", str(rules_copy)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 3 and "visitor-info.yaml:" in done.stderr and "did you mean 'visitorOnly'" in done.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_curl_session(served):
    report = ROOT / "examples" / "chat-ended" / "2-agent-a7.json"
    post = subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            f"{served.url}/v1/reports",
            "-H",
            f"Authorization: Bearer {TOKEN}",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            f"@{report}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert json.loads(post.stdout)["visitorId"] == "v-6006"
    get = subprocess.run(
        ["curl", "-sS", f"{served.url}/v1/visitors/v-6006/recovery", "-H", f"Authorization: Bearer {TOKEN}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert json.loads(get.stdout)["recovery"]["visitorId"] == "v-6006"


def test_two_nodes_share_one_redis_and_readiness_follows_it(redis_server):
    """Reports for one visitor arrive on two nodes; either node reads the
    whole recovery. With Redis down, the nodes say not ready and 503."""
    first, second = example("chat-transferred")
    a = Served("--workers", "0", "--redis-url", redis_server.url)
    b = Served("--workers", "0", "--redis-url", redis_server.url)
    try:
        assert f"store: {redis_server.url}" in a.banner
        assert a.client.post("/v1/reports", json=first).status_code == 200
        got = b.client.post("/v1/reports", json=second).json()
        assert got["reports"] == 2
        assert a.client.get(f"/v1/visitors/{first['visitorId']}/recovery").json()["reports"] == 2
        redis_server.stop()
        assert httpx.get(a.url + "/readyz").status_code == 503
        down = a.client.post("/v1/reports", json=example("plain-visitor")[0])
        assert down.status_code == 503 and down.json()["error"]["code"] == "storeUnavailable"
        assert "retry" in down.json()["error"]["message"] and down.headers["retry-after"]
        warned = a.wait_log(lambda l: "storeUnavailable" in l)
        assert warned.split()[1] == "WARNING" and "cause=" in warned and redis_server.url.split("//")[1].split("/")[0] in warned
        redis_server.start()
        assert httpx.get(a.url + "/readyz").status_code == 200
        assert a.client.post("/v1/reports", json=example("plain-visitor")[0]).status_code == 200
    finally:
        a.stop()
        b.stop()


def test_the_load_script_posts_a_storm_and_counts_every_report(served):
    from chat_recovery.bench.http_load import run

    result = run(served.url, TOKEN, visitors=20, concurrency=4, seed=9)
    assert result["statuses"].get("200") == result["reports"] and result["reportsPerSecond"] > 0


def _serve_argv(*args):
    import sys
    from pathlib import Path

    return [str(Path(sys.executable).with_name("chat-recovery")), "serve", *args]


def test_a_port_in_use_is_its_own_one_line_error_with_exit_4():
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = subprocess.run(_serve_argv("--port", str(port), "--workers", "0"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 4 and done.stdout == ""
    assert done.stderr.startswith(f"chat-recovery serve: port {port} on 127.0.0.1 is in use") and done.stderr.count("\n") == 1


def test_serving_on_is_said_once_the_port_is_bound():
    """A connection made the moment the banner is read is accepted: the
    banner waits for the bind, so nobody has to poll for the port."""
    import socket

    from redis_server import free_port

    port = free_port()
    proc = subprocess.Popen(
        _serve_argv("--port", str(port), "--workers", "0"), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert "serving on" in proc.stdout.readline()
        socket.create_connection(("127.0.0.1", port), timeout=300).close()
    finally:
        proc.terminate()
        assert proc.wait(300) == 0  # SIGTERM: asked to stop, stopped


TRIPWIRE = """
import os, signal, sys
from chat_recovery import cli, tool

class Tripwire:
    # stdout that sends this process SIGTERM as the banner is written
    def write(self, text):
        sys.stdout.write(text)
        if "serving on" in text:
            os.kill(os.getpid(), signal.SIGTERM)
        return len(text)

    def flush(self):
        sys.stdout.flush()

sys.exit(tool.run(lambda: cli.main(["serve", "--port", sys.argv[1], "--workers", "0"], stdout=Tripwire())))
"""


def test_a_sigterm_sent_as_the_banner_is_read_stops_the_server_as_asked():
    """From the banner on, SIGTERM is the server's to handle: CI once sent it
    as the banner was read, the console script's handler raised inside the
    starting event loop, asyncio swallowed the exception and the server ran
    on. Now the stop lands in the server, which shuts down at once."""
    import sys

    from redis_server import free_port

    done = subprocess.run([sys.executable, "-c", TRIPWIRE, str(free_port())], capture_output=True, text=True, timeout=300)
    assert done.stdout.startswith("chat-recovery: serving on") and done.returncode == 0, done.stderr
    events = [line.split()[2] for line in done.stderr.splitlines() if len(line.split()) > 2]
    assert events[-1] == "stopped" and "signal=SIGTERM" in done.stderr.splitlines()[-1], done.stderr


def _worker_pids(pid):
    """The replay workers serve spawned (not multiprocessing's resource tracker)."""
    from pathlib import Path

    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def test_serve_logs_each_request_a_replaced_worker_and_its_shutdown_never_the_token_or_a_body():
    import os
    import signal

    server = Served("--workers", "1")
    try:
        report = example("plain-visitor")[0]
        report["visitor"]["info"]["ticketId"] = "BODY-MARKER-7731"
        assert server.client.post("/v1/reports", json=report).status_code == 200
        access = server.wait_log(lambda l: " access " in l and "path=/v1/reports" in l)
        assert access.split()[1:3] == ["INFO", "access"]
        assert "method=POST" in access and "status=200" in access and "visitorId=v-1001" in access and "durationMs=" in access
        assert server.client.get("/v1/visitors/v-nobody/recovery").status_code == 404
        assert "method=GET" in server.wait_log(lambda l: "status=404" in l and "visitorId=v-nobody" in l)
        assert (
            httpx.post(
                server.url + "/v1/reports", json=report, headers={"Authorization": "Bearer wrong-token-55"}, timeout=300
            ).status_code
            == 401
        )
        assert server.wait_log(lambda l: "status=401" in l)

        (worker,) = _worker_pids(server.proc.pid)
        os.kill(worker, signal.SIGKILL)
        assert server.client.post("/v1/reports", json=example("plain-visitor")[1]).status_code == 200
        replaced = server.wait_log(lambda l: "replayWorkerReplaced" in l)
        assert replaced.split()[1] == "WARNING" and f"pid={worker}" in replaced and 'cause="killed by SIGKILL"' in replaced

        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(300) == 0
        assert "signal=SIGTERM" in server.wait_log(lambda l: " shutdown " in l)
    finally:
        server.stop()
    every = [l for l in server.log if l is not None]
    lines = every[0 if durable_available() else 1 :]  # where durable_rules does not import, `auto`'s fallback comes first
    assert lines[0].split()[1:3] == ["INFO", "start"] and lines[-1].split()[1:3] == ["INFO", "stopped"]
    assert not [l for l in every if TOKEN in l or "wrong-token-55" in l or "BODY-MARKER" in l or "Bearer" in l]


def test_json_logs_are_one_object_a_line_and_the_level_is_a_setting():
    import signal

    server = Served("--workers", "0", "--log-format", "json", env={"CHAT_RECOVERY_LOG_LEVEL": "warning"})
    quiet = Served("--workers", "0", env={"CHAT_RECOVERY_LOG_FORMAT": "json"})
    try:
        for s in (server, quiet):
            assert s.client.post("/v1/reports", json=example("plain-visitor")[0]).status_code == 200
            s.proc.send_signal(signal.SIGTERM)
            assert s.proc.wait(300) == 0
            s.wait_log(lambda l: False)  # the whole log, to its end
    finally:
        server.stop()
        quiet.stop()
    logged = [json.loads(l) for l in quiet.log if l is not None]
    fallback = [] if durable_available() else ["warning"]  # `auto` took the compiled engine: said once, in the log's format
    assert [e["event"] for e in logged] == [*fallback, "start", "access", "shutdown", "stopped"]
    assert logged[len(fallback)]["engine"] == ("durable" if durable_available() else "compiled")  # `auto` as it was decided
    access = logged[len(fallback) + 1]
    assert {k: access[k] for k in ("level", "method", "path", "status", "visitorId")} == {
        "level": "info",
        "method": "POST",
        "path": "/v1/reports",
        "status": 200,
        "visitorId": "v-1001",
    }
    assert isinstance(access["durationMs"], float) and access["time"].endswith("Z")
    # warning and up: a quiet run logs nothing, but where durable_rules does not import, `auto`'s fallback, once, as JSON
    fallback = [] if durable_available() else [("warning", "warning", "EngineFallbackWarning")]
    assert [(e["level"], e["event"], e["category"]) for e in map(json.loads, filter(None, server.log))] == fallback


def test_the_redis_password_is_in_no_banner_answer_or_log_line():
    """A Redis URL's password is for the client alone: the banner, the 503
    of an unreachable Redis, /readyz and every log line name the store as
    redis://***@host:port/db (the password used to be in all of them)."""
    from redis_server import free_port

    secret = "S3cr3t-pw-77"
    server = Served("--workers", "0", "--redis-url", f"redis://:{secret}@127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        submitted = server.client.post("/v1/reports", json=example("plain-visitor")[0])
        ready = server.client.get("/readyz")
        assert submitted.status_code == ready.status_code == 503
        assert "redis://***@127.0.0.1:" in submitted.text and "redis://***@127.0.0.1:" in server.banner
        server.wait_log(lambda l: "storeUnavailable" in l)
    finally:
        server.stop()
    shown = [server.banner, submitted.text, ready.text, *filter(None, server.log)]
    assert not [text for text in shown if secret in text]


def test_no_password_or_token_in_any_answer_or_log_line_of_a_real_redis_with_requirepass(tmp_path):
    """A Redis that requires a password, a served token, debug logs: a 200, a
    401, /readyz and /metrics up, then Redis stopped (503s): the password and
    the token are in no answer, no log line and not the banner; nor in the
    one-line error of a URL that does not parse (its password once was)."""
    import sys
    from pathlib import Path

    from redis_server import RedisServer, free_port

    secret, token = "Pw-4k9-requirepass", "Tok-7q2-bearer"
    redis = RedisServer(tmp_path, password=secret).start()
    server = Served("--workers", "0", "--redis-url", redis.url, "--log-level", "debug", token=token)
    try:
        report = example("plain-visitor")[0]
        answers = [server.client.post("/v1/reports", json=report)]
        answers.append(
            httpx.post(server.url + "/v1/reports", json=report, headers={"Authorization": "Bearer not-it"}, timeout=300)
        )
        answers += [httpx.get(server.url + path, timeout=300) for path in ("/readyz", "/metrics")]
        assert [a.status_code for a in answers] == [200, 401, 200, 200]
        redis.stop()
        down = [server.client.post("/v1/reports", json=report), server.client.get(f"/v1/visitors/{report['visitorId']}/recovery")]
        down += [httpx.get(server.url + path, timeout=300) for path in ("/readyz", "/metrics")]
        assert [a.status_code for a in down] == [503, 503, 503, 200]
        assert "redis://***@127.0.0.1:" in down[0].text and "redis://***@127.0.0.1:" in server.banner
        server.wait_log(lambda l: "storeUnavailable" in l)
    finally:
        server.stop()
        redis.stop()
    unparsed = subprocess.run(  # a `#` or `/` left unencoded in the password: the URL parser cuts it where it should not
        [
            str(Path(sys.executable).with_name("chat-recovery")),
            "serve",
            "--port",
            str(free_port()),
            "--redis-url",
            f"redis://:{secret}#x@127.0.0.1:1/0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert unparsed.returncode == 1 and "not a Redis URL: 'redis://***@127.0.0.1:1/0'" in unparsed.stderr
    shown = [server.banner, *(a.text for a in answers + down), *filter(None, server.log), unparsed.stdout, unparsed.stderr]
    assert not [text for text in shown if secret in text or token in text or secret[:4] in text]
