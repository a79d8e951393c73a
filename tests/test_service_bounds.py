"""Bounded work per request and per visitor, through a real `serve` process
(issue 16 items 4 and 5): a list longer than --max-list is refused whole; a
list cannot take every admission place; a list answers receipts and
summaries, not a recovery per report; a visitor past a limit is refused
with the limit named and nothing written."""

import concurrent.futures
import contextlib
import os
import signal
from pathlib import Path

import httpx
import pytest

from service import Served, serve_refused


def sent(i):
    return "2026-11-24T09:%02d:%02d.%03dZ" % ((i // 60000) % 60, (i // 1000) % 60, i % 1000)


def visitor_report(i, visitor_id="v-hot", message=False):
    """The visitor's i-th upload; with `message`, its log has grown by one line."""
    out = {"visitorId": visitor_id, "source": {"type": "visitor"}, "sentAt": sent(i), "visitor": {"status": "chatting"}}
    if message:
        line = {"id": f"m-{i:06d}", "time": sent(i), "action": "visitorMessage", "sender": {"type": "visitor"}, "text": "hi"}
        out["chat"] = {"id": "c-1", "messages": [line]}
    return out


def metric(server, name):
    """A sample's value from /metrics (the first line for `name`, labels included)."""
    text = httpx.get(server.url + "/metrics", timeout=300).text
    return float(next(line for line in text.splitlines() if line.startswith(name + " ")).rsplit(" ", 1)[1])


def rss_kib(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def test_a_list_longer_than_max_list_is_413_naming_the_limit_and_nothing_is_applied():
    server = Served("--workers", "0", "--max-list", "3")
    try:
        got = server.client.post("/v1/reports", json=[visitor_report(i, f"v-list-{i}") for i in range(4)])
        assert got.status_code == 413
        error = got.json()["error"]
        assert (
            error["code"] == "listTooLong" and "4 reports" in error["message"] and "limit of 3 (--max-list)" in error["message"]
        )
        assert all(server.client.get(f"/v1/visitors/v-list-{i}/recovery").status_code == 404 for i in range(4))
        assert server.client.post("/v1/reports", json=[visitor_report(i, f"v-list-{i}") for i in range(3)]).status_code == 200
    finally:
        server.stop()


def test_a_visitor_past_its_reports_limit_is_422_naming_it_and_nothing_is_written():
    server = Served("--workers", "0", env={"CHAT_RECOVERY_MAX_VISITOR_REPORTS": "3"})
    try:
        for i in range(3):
            assert server.client.post("/v1/reports", json=visitor_report(i)).status_code == 200
        before = server.client.get("/v1/visitors/v-hot/recovery").json()
        got = server.client.post("/v1/reports", json=visitor_report(3))
        assert got.status_code == 422
        error = got.json()["error"]
        assert error["code"] == "visitorTooLarge"
        assert error["message"] == (
            "visitor 'v-hot' would hold 4 reports, more than the limit of 3 (--max-visitor-reports): "
            "this report was not applied (nothing was written)"
        )
        assert server.client.get("/v1/visitors/v-hot/recovery").json() == before
        assert metric(server, 'chat_recovery_reports_total{outcome="refused"}') == 1
        assert "visitorTooLarge" in server.wait_log(lambda line: "visitorTooLarge" in line)
        listed = server.client.post("/v1/reports", json=[visitor_report(4), visitor_report(0, "v-other")])
        assert listed.status_code == 207
        assert [r["status"] for r in listed.json()["results"]] == [422, 200]
        assert listed.json()["results"][0]["error"]["code"] == "visitorTooLarge"
    finally:
        server.stop()


def test_a_visitor_past_its_bytes_is_refused_naming_the_flag():
    server = Served("--workers", "0", "--max-visitor-bytes", "4000")
    try:
        got = server.client.post("/v1/reports", json={**visitor_report(0), "chat": {"id": "c-1", "messages": []}})
        assert got.status_code == 200
        big = visitor_report(1)
        big["visitor"]["info"] = {"customVariables": {"notes": "x" * 5000}}
        got = server.client.post("/v1/reports", json=big)
        assert got.status_code == 422 and got.json()["error"]["code"] == "visitorTooLarge"
        assert "bytes of JSON, more than the limit of 4000 (--max-visitor-bytes)" in got.json()["error"]["message"]
    finally:
        server.stop()


def _worker_pid(pid):
    """serve's one replay worker (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    (worker,) = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    return worker


def test_a_second_client_is_served_while_a_long_list_is_applied():
    """The list's first replay is held (its worker stopped), so the list is in
    flight for as long as the test needs: /metrics says when. A report that
    needs no replay (a duplicate) is then admitted beside it, where before a
    40-report list took every one of the 8 places and it got 429."""
    # the held replay must outlast neither the deadline nor the hung-worker timeout, however busy the machine
    server = Served("--workers", "1", "--max-in-flight", "8", "--deadline", "300", "--worker-timeout", "300")
    try:
        probe = visitor_report(0, "v-probe")
        assert server.client.post("/v1/reports", json=probe).status_code == 200
        worker = _worker_pid(server.proc.pid)
        os.kill(worker, signal.SIGSTOP)
        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                listed = pool.submit(server.client.post, "/v1/reports", json=[visitor_report(i, f"v-l{i}") for i in range(40)])
                while metric(server, "chat_recovery_reports_in_flight") < 40:
                    assert not listed.done(), listed.result().text
                got = server.client.post("/v1/reports", json=probe)
                assert got.status_code == 200, got.text
                assert got.json()["receipt"]["duplicate"] is True
                assert not listed.done()  # the list was still in flight
                os.kill(worker, signal.SIGCONT)
                answer = listed.result()
        finally:
            with contextlib.suppress(ProcessLookupError):  # replaced, if it was held past the hung-worker timeout
                os.kill(worker, signal.SIGCONT)
        assert answer.status_code == 200 and len(answer.json()["results"]) == 40
    finally:
        server.stop()


def test_a_3000_report_list_for_one_visitor_answers_small_and_leaves_the_server_small():
    """3,000 reports of one visitor from 60 agents (the reports and list bounds
    raised so that all are applied). Each answer once carried the visitor's
    whole progress, `reported` 60 sources long: 3,000 of them. Now a receipt
    per report and one summary."""
    server = Served("--workers", "0", "--window", "3600", "--max-list", "3000", "--max-visitor-reports", "3000")
    try:
        before = rss_kib(server.proc.pid)
        agents = [{**visitor_report(i), "source": {"type": "agent", "id": f"a-{i % 60}"}} for i in range(3000)]
        got = server.client.post("/v1/reports", json=agents)
        assert got.status_code == 200
        assert len(got.content) < 250_000  # measured: 242 KB, 78 bytes a receipt and an 8 KB summary
        summary = got.json()["visitors"]["v-hot"]
        assert summary["reports"] == 3000 and len(summary["reported"]) == 60 and "recovery" not in summary
        assert rss_kib(server.proc.pid) - before < 50 * 1024
    finally:
        server.stop()


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["--max-list", "0"], {}, "--max-list must be 1 or more, not 0"),
        ([], {"CHAT_RECOVERY_MAX_VISITOR_SOURCES": "-1"}, "--max-visitor-sources must be 1 or more, not -1"),
        (["--max-visitor-bytes", "16MB"], {}, "--max-visitor-bytes: '16MB' is not a whole number"),
    ],
)
def test_bad_bounds_are_said_before_serve_starts(args, env, message):
    done = serve_refused(args, env)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
