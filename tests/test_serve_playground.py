"""`serve --playground`: the playground at /playground of a real `serve`,
behind the service's token (a login form trades it for a session cookie),
never changing the policy in force."""

import io
import json

import httpx
import pytest

from chat_recovery.cli import main
from conftest import ROOT
from service import TOKEN, Served

NOW = "2026-11-24T09:00:30Z"
VISITOR_INFO = (ROOT / "rules" / "visitor-info.yaml").read_text()
EDITED = VISITOR_INFO.replace(
    "  departmentId:\n    strategy: agentOverrideVisitor", "  departmentId:\n    strategy: visitorOverrideAgent"
)
TRANSFERRED = sorted((ROOT / "examples" / "chat-transferred").glob("*.json"))


@pytest.fixture(scope="module")
def served():
    server = Served("--workers", "0", "--playground")
    yield server
    server.stop()


def browser(served) -> httpx.Client:
    """A client as a browser is: no Authorization header, cookies kept, redirects not followed."""
    return httpx.Client(base_url=served.url, timeout=300)


def signed_in(served) -> httpx.Client:
    client = browser(served)
    got = client.post("/playground/login", data={"token": TOKEN})
    assert got.status_code == 303 and got.headers["location"] == "/playground/"
    return client


def test_the_banner_says_where_the_playground_is(served):
    assert served.banner.endswith(f"; playground on http://127.0.0.1:{served.port}/playground/ (sign in with the token)")


def test_without_the_token_the_page_sends_to_the_login_and_its_api_is_401(served):
    client = browser(served)
    assert client.get("/playground").headers["location"].endswith("/playground/")
    page = client.get("/playground/")
    assert page.status_code == 303 and page.headers["location"] == "/playground/login"
    login = client.get("/playground/login")
    assert login.status_code == 200 and 'name="token"' in login.text and TOKEN not in login.text
    for path in ("/playground/app.js", "/playground/api/files", "/playground/api/report-sets"):
        assert client.get(path).status_code == 401, path
    refused = client.post("/playground/api/check", json={"files": {"visitor-info.yaml": EDITED}})
    assert refused.status_code == 401 and "sign in" in refused.json()["error"]


def test_a_wrong_token_gets_no_session(served):
    client = browser(served)
    got = client.post("/playground/login", data={"token": TOKEN + "x"})
    assert got.status_code == 401 and "not the service's token" in got.text
    assert "set-cookie" not in got.headers
    assert client.get("/playground/api/files").status_code == 401
    forged = browser(served)
    forged.cookies.set("chat_recovery_playground", "made-up", domain="127.0.0.1", path="/playground")
    assert forged.get("/playground/api/files").status_code == 401


def test_the_session_cookie_is_httponly_strict_and_only_for_the_playground(served):
    got = browser(served).post("/playground/login", data={"token": TOKEN})
    cookie = got.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/playground;" in cookie
    session = cookie.split(";")[0]
    # /v1 takes the bearer token only: the playground's session opens nothing there
    v1 = httpx.post(f"{served.url}/v1/reports", json=json.loads(TRANSFERRED[0].read_text()), headers={"Cookie": session})
    assert v1.status_code == 401


def test_signed_in_the_page_and_its_api_work_and_sign_out_ends_it(served):
    client = signed_in(served)
    page = client.get("/playground/")
    assert page.status_code == 200 and '<script src="app.js">' in page.text
    assert client.get("/playground/app.js").status_code == 200
    assert "examples/chat-transferred" in client.get("/playground/api/report-sets").json()["sets"]
    assert client.post("/playground/logout").headers["location"] == "/playground/login"
    assert client.get("/playground/api/files").status_code == 401


def test_a_script_may_send_the_bearer_token_instead(served):
    got = served.client.get("/playground/api/files")
    assert got.status_code == 200 and got.json()["writable"] is False


def test_edits_are_checked_and_recovered_but_the_policy_in_force_does_not_change(served):
    client = signed_in(served)
    reports = [{"name": p.name, "text": p.read_text()} for p in TRANSFERRED]
    checked = client.post("/playground/api/check", json={"files": {"visitor-info.yaml": EDITED}, "reports": reports, "now": NOW})
    assert checked.status_code == 200 and checked.json()["ok"] is True
    assert checked.json()["recovery"]["visitor"]["info"]["departmentId"] == "dep-support"
    typo = EDITED.replace("strategy: visitorOverrideAgent", "strategy: visitorOverideAgent")
    wrong = client.post("/playground/api/check", json={"files": {"visitor-info.yaml": typo}}).json()
    assert wrong["ok"] is False and any("did you mean 'visitorOverrideAgent'" in p["message"] for p in wrong["problems"])
    saved = client.post("/playground/api/save", json={"files": {"visitor-info.yaml": EDITED}})
    assert saved.status_code == 422 and "does not write" in saved.json()["error"]
    assert (ROOT / "rules" / "visitor-info.yaml").read_text() == VISITOR_INFO

    for path in TRANSFERRED:
        got = served.client.post("/v1/reports", json=json.loads(path.read_text()))
        assert got.status_code == 200
    recovery = got.json()["recovery"]
    assert recovery["visitor"]["info"]["departmentId"] == "dep-billing"  # the loaded policy's agentOverrideVisitor
    assert recovery["policy"]["version"] == "2026.11.24"


def test_without_the_flag_there_is_no_playground():
    server = Served("--workers", "0")
    try:
        assert "playground" not in server.banner
        for client in (server.client, httpx.Client(base_url=server.url)):
            assert client.get("/playground/").status_code == 404
            assert client.get("/playground/login").status_code == 404
            assert client.post("/playground/api/check", json={}).status_code == 404
    finally:
        server.stop()


def test_the_variable_turns_it_on_or_off_and_names_a_word_it_does_not_take(monkeypatch):
    monkeypatch.setenv("CHAT_RECOVERY_PLAYGROUND", "maybe")
    err = io.StringIO()
    assert main(["serve"], stdout=io.StringIO(), stderr=err) == 2
    assert err.getvalue() == (
        "chat-recovery serve: CHAT_RECOVERY_PLAYGROUND: 'maybe' is not on or off (1, true, yes, on / 0, false, no, off)\n"
    )
    server = Served("--workers", "0", env={"CHAT_RECOVERY_PLAYGROUND": "yes"})
    try:
        assert server.banner.endswith("(sign in with the token)")
        assert server.client.get("/playground/api/files").status_code == 200
    finally:
        server.stop()
    server = Served("--workers", "0", env={"CHAT_RECOVERY_PLAYGROUND": "off"})
    try:
        assert server.client.get("/playground/api/files").status_code == 404
    finally:
        server.stop()


def test_without_a_token_it_answers_only_requests_naming_this_machine():
    """No token (loopback only): no login, but a page from another site that
    rebinds its name to 127.0.0.1 is refused, as by the `playground` command."""
    server = Served("--workers", "0", "--playground", token=None)
    try:
        assert server.banner.endswith("/playground/ (this machine only, no token)")
        assert server.client.get("/playground/api/files").status_code == 200
        rebound = server.client.get("/playground/api/files", headers={"Host": "attacker.example"})
        assert rebound.status_code == 403 and "only on this machine" in rebound.json()["error"]
    finally:
        server.stop()
