"""The service's endpoints, in process (Starlette's TestClient over the real
app, stores and runner): every route it serves is in its OpenAPI document,
every status it answers is documented for that path, and every documented
status is one it can be made to answer."""

import asyncio
import json
import re
import warnings

import pytest
from starlette.requests import Request

with warnings.catch_warnings():
    # Starlette 1.x would rather its test client ran on httpx2; the test extra
    # has httpx (the live tests and schemathesis use it), which still works.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

from chat_recovery.service.app import create_app
from chat_recovery.service.config import ServeConfig
from chat_recovery.service.errors import HttpError
from chat_recovery.service.server import build
from conftest import ROOT
from redis_server import free_port

TOKEN = "s3cret-token"
MAX_BODY = 16 * 1024
REPORT = json.loads((ROOT / "examples" / "plain-visitor" / "1-visitor.json").read_text())
JSON = {"Content-Type": "application/json"}


class App:
    """One app over its own service; `client` sends the token, `anonymous` does not."""

    def __init__(self, policy, **settings):
        self.service, self.close = build(ServeConfig(workers=0, token=TOKEN, max_body=MAX_BODY, **settings), policy)
        self.app = create_app(self.service)
        self.client = TestClient(self.app, headers={"Authorization": f"Bearer {TOKEN}"})
        self.anonymous = TestClient(self.app)


@pytest.fixture(scope="module")
def apps(policy):
    """The embedded store, and a Redis store on a port where nothing listens."""
    live, dead = App(policy), App(policy, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    yield {"live": live, "dead": dead}
    live.close()
    dead.close()


@pytest.fixture(scope="module")
def documented(apps):
    return apps["live"].client.get("/openapi.json").json()["paths"]


def admission_full(app):
    """Every place taken, as by reports in flight: the next request is turned away."""
    admission = app.service.admission
    assert admission.try_admit(admission.limit)
    try:
        return app.client.post("/v1/reports", json=REPORT)
    finally:
        admission.release(admission.limit)


def held(app):
    app.client.post("/v1/reports", json=REPORT)
    return app.client.get(f"/v1/visitors/{REPORT['visitorId']}/recovery")


BAD = {**REPORT, "sentAt": "not a time"}
TOO_LARGE = json.dumps({"visitorId": "v", "pad": "x" * MAX_BODY})
POLICY = {"files": {"visitor-info.yaml": (ROOT / "rules" / "visitor-info.yaml").read_text()}}

# (method, documented path, status, store, how to get it)
CASES = [
    ("POST", "/v1/reports", 200, "live", lambda a: a.client.post("/v1/reports", json=REPORT)),
    ("POST", "/v1/reports", 207, "live", lambda a: a.client.post("/v1/reports", json=[REPORT, BAD])),
    ("POST", "/v1/reports", 400, "live", lambda a: a.client.post("/v1/reports", content=b"{not json", headers=JSON)),
    ("POST", "/v1/reports", 401, "live", lambda a: a.anonymous.post("/v1/reports", json=REPORT)),
    ("POST", "/v1/reports", 413, "live", lambda a: a.client.post("/v1/reports", content=TOO_LARGE, headers=JSON)),
    (
        "POST",
        "/v1/reports",
        415,
        "live",
        lambda a: a.client.post("/v1/reports", content=b"{}", headers={"Content-Type": "text/plain"}),
    ),
    ("POST", "/v1/reports", 422, "live", lambda a: a.client.post("/v1/reports", json=BAD)),
    ("POST", "/v1/reports", 429, "live", admission_full),
    ("POST", "/v1/reports", 503, "dead", lambda a: a.client.post("/v1/reports", json=REPORT)),
    ("GET", "/v1/visitors/{visitorId}/recovery", 200, "live", held),
    ("GET", "/v1/visitors/{visitorId}/recovery", 401, "live", lambda a: a.anonymous.get("/v1/visitors/v-1001/recovery")),
    ("GET", "/v1/visitors/{visitorId}/recovery", 404, "live", lambda a: a.client.get("/v1/visitors/v-nobody/recovery")),
    ("GET", "/v1/visitors/{visitorId}/recovery", 503, "dead", lambda a: a.client.get("/v1/visitors/v-1001/recovery")),
    ("POST", "/v1/policy/check", 200, "live", lambda a: a.client.post("/v1/policy/check", json=POLICY)),
    ("POST", "/v1/policy/check", 400, "live", lambda a: a.client.post("/v1/policy/check", content=b"{", headers=JSON)),
    ("POST", "/v1/policy/check", 401, "live", lambda a: a.anonymous.post("/v1/policy/check", json=POLICY)),
    ("POST", "/v1/policy/check", 413, "live", lambda a: a.client.post("/v1/policy/check", content=TOO_LARGE, headers=JSON)),
    (
        "POST",
        "/v1/policy/check",
        415,
        "live",
        lambda a: a.client.post("/v1/policy/check", content=b"{}", headers={"Content-Type": "text/yaml"}),
    ),
    ("POST", "/v1/policy/check", 422, "live", lambda a: a.client.post("/v1/policy/check", json={"files": {"../x.yaml": ""}})),
    ("GET", "/healthz", 200, "dead", lambda a: a.anonymous.get("/healthz")),
    ("GET", "/readyz", 200, "live", lambda a: a.anonymous.get("/readyz")),
    ("GET", "/readyz", 503, "dead", lambda a: a.anonymous.get("/readyz")),
    ("GET", "/metrics", 200, "live", lambda a: a.anonymous.get("/metrics")),
    ("GET", "/openapi.json", 200, "live", lambda a: a.anonymous.get("/openapi.json")),
]


@pytest.mark.parametrize("method, path, status, store, ask", CASES, ids=[f"{m} {p} {s}" for m, p, s, _, _ in CASES])
def test_each_answer_is_documented_for_its_path(apps, documented, method, path, status, store, ask):
    got = ask(apps[store])
    assert got.status_code == status, got.text
    assert got.request.method == method and re.fullmatch(re.sub(r"{\w+}", "[^/]+", path), got.request.url.path)
    assert str(status) in documented[path][method.lower()]["responses"]
    if status >= 400:
        assert set(got.json()["error"]) >= {"code", "message"}


def test_each_documented_status_is_one_a_case_gets(documented):
    """The reverse: a documented status no request can bring about is a document that lies."""
    promised = {
        (method.upper(), path, int(status))
        for path, item in documented.items()
        for method, operation in item.items()
        for status in operation["responses"]
    }
    assert promised == {(method, path, status) for method, path, status, _, _ in CASES}


def test_every_route_the_app_serves_is_in_its_document(apps, documented):
    served = {
        (method, re.sub(r":\w+}", "}", route.path))  # a path parameter's convertor is the app's business
        for route in apps["live"].app.routes
        for method in route.methods
        if method != "HEAD"
    }
    assert served == {(method.upper(), path) for path, item in documented.items() for method in item}


def test_the_document_is_the_endpoint_table():
    from chat_recovery.policy import bundled
    from chat_recovery.service.handlers import ENDPOINTS
    from chat_recovery.service.openapi import document

    paths = document(bundled.schemas_dir(), ENDPOINTS)["paths"]
    assert [(e.method, e.path) for e in ENDPOINTS] == [(m.upper(), p) for p, item in paths.items() for m in item]
    for endpoint in ENDPOINTS:
        operation = paths[endpoint.path][endpoint.method.lower()]
        assert set(operation["responses"]) == {str(s) for s in endpoint.statuses()}
        assert ("security" in operation) == endpoint.auth and ("requestBody" in operation) == (endpoint.body is not None)


def test_a_handler_takes_the_body_exactly_when_its_row_declares_one():
    import inspect

    from chat_recovery.service.handlers import ENDPOINTS

    for endpoint in ENDPOINTS:
        takes = list(inspect.signature(endpoint.handler).parameters)
        assert takes == ["service", "request"] + (["body"] if endpoint.body is not None else []), endpoint.path


def test_the_readme_lists_each_endpoint_once():
    from chat_recovery.service.handlers import ENDPOINTS

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| endpoint | what |") :].split("\n\n")[0]
    listed = re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`", table)
    assert len(listed) == len(set(listed)) and set(listed) == {(e.method, e.path) for e in ENDPOINTS}


def request(method, path, path_params=None):
    """A Starlette Request as the router would hand it to a handler."""
    scope = {"type": "http", "method": method, "path": path, "path_params": path_params or {}, "headers": [], "query_string": b""}
    return Request(scope)


def test_a_handler_called_alone(apps):
    from chat_recovery.service.handlers import get_recovery, post_reports

    service = apps["live"].service
    asking = request("GET", "/v1/visitors/v-alone/recovery", {"visitorId": "v-alone"})
    with pytest.raises(HttpError) as raised:
        asyncio.run(get_recovery(service, asking))
    assert raised.value.status == 404 and "v-alone" in raised.value.message
    report = {**REPORT, "visitorId": "v-alone"}
    posting = request("POST", "/v1/reports")
    answer = asyncio.run(post_reports(service, posting, report))
    assert answer.status_code == 200 and json.loads(answer.body)["visitorId"] == "v-alone"
    assert posting.state.visitorId == "v-alone"  # what the access log names
    answer = asyncio.run(get_recovery(service, asking))
    assert json.loads(answer.body)["recovery"]["visitorId"] == "v-alone"
