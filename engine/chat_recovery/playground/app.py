"""The playground's Starlette app: the built page (committed under static/,
so no Node at run time) and the small JSON API it calls. Loopback only: a
request naming another host (DNS rebinding) or a POST that is not JSON (a
form from another site) is refused before it reaches the workspace."""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..json_answer import JsonAnswer
from ..jsonio import loads
from .vocabulary import glossary, vocabulary
from .workspace import Refused, Workspace

log = logging.getLogger("chat_recovery.playground")

MAX_BODY = 8 * 1024 * 1024  # 64 reports of 1 MiB would not fit; the page's sets are a few KiB
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
# Nothing from elsewhere: scripts, styles, fonts and requests all stay on this origin.
# CodeMirror writes its styles into <style> elements, hence 'unsafe-inline' for styles only.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def create_app(workspace: Workspace, local_only: bool = True) -> Starlette:
    """`local_only`: answer only requests naming this machine (the
    `playground` command, which has no token); `serve --playground` passes
    False and puts the app behind the token instead (gate.py)."""
    known = vocabulary()
    checks = anyio.CapacityLimiter(2)  # checks at once: more wait, and the server's other work goes on

    def api(work, method: str = "POST", download: str = ""):
        async def endpoint(request: Request) -> Response:
            problem = _foreign(request, local_only)
            if problem:
                return _error(403, problem)
            try:
                body = await _json_body(request) if method == "POST" else dict(request.query_params)
                answer = await anyio.to_thread.run_sync(work, body, limiter=checks)
            except Refused as exc:
                return _error(422, str(exc))
            except Exception:  # a bug is a message in the page and a log line, never a traceback
                log.exception("playground request failed: %s", request.url.path)
                return _error(500, "an unexpected error in the playground (its terminal has the details)")
            if download:
                media = "application/zip" if download.endswith(".zip") else "text/x-diff; charset=utf-8"
                disposition = {"Content-Disposition": f'attachment; filename="{download}"'}
                return Response(answer, media_type=media, headers={**HEADERS, **disposition})
            return JsonAnswer(answer, headers=HEADERS)

        return endpoint

    routes = [
        Route("/", _static("index.html", local_only)),
        *(Route(f"/{name}", _static(name, local_only)) for name in STATIC),
        Route("/api/files", api(lambda _: _files(workspace), "GET")),
        # The schemas' keys and values by file kind, and under "names" what the policy's own
        # properties, statuses and actions mean (zh + en), from its rule files as last saved.
        Route("/api/vocabulary", api(lambda _: {**known, "names": glossary(workspace.original)}, "GET")),
        Route("/api/report-sets", api(lambda _: {"sets": workspace.report_sets()}, "GET")),
        Route("/api/report-set", api(lambda q: workspace.report_set(q.get("name")), "GET")),
        Route("/api/case", api(lambda q: workspace.case(q.get("name")), "GET")),
        Route(
            "/api/check",
            api(lambda b: workspace.check_and_recover(b.get("files"), b.get("reports"), b.get("now"))),
            methods=["POST"],
        ),
        Route("/api/changes", api(lambda b: workspace.changes(b.get("files"))), methods=["POST"]),
        Route("/api/suites", api(lambda b: workspace.suites(b.get("files"))), methods=["POST"]),
        Route(
            "/api/suite-case",
            api(lambda b: workspace.suite_case(b.get("files"), b.get("reports"), b.get("now"), b.get("name"))),
            methods=["POST"],
        ),
        Route("/api/patch", api(lambda b: workspace.patch(b.get("files")), download="policy.patch"), methods=["POST"]),
        Route("/api/zip", api(lambda b: workspace.archive(b.get("files")), download="policy.zip"), methods=["POST"]),
        Route("/api/save", api(lambda b: workspace.save(b.get("files"))), methods=["POST"]),
    ]
    return Starlette(routes=routes)


def _files(workspace: Workspace) -> dict:
    return {
        "directory": str(workspace.directory),
        "writable": workspace.writable,
        "files": [{"name": name, "text": text} for name, text in workspace.original.items()],
    }


def _static(name: str, local_only: bool):
    async def endpoint(request: Request) -> Response:
        problem = _foreign(request, local_only)
        if problem:
            return _error(403, problem)
        data = resources.files(__package__).joinpath("static", name).read_bytes()
        return Response(data, media_type=STATIC[name], headers=HEADERS)

    return endpoint


def _foreign(request: Request, local_only: bool = True) -> str:
    """Why a request is not from a page this playground served, or ''."""
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if local_only and name not in LOCAL_HOSTS:
        return f"the playground answers only on this machine (127.0.0.1 or localhost), not '{host}'"
    if request.method == "POST" and request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return "send JSON (Content-Type: application/json)"
    return ""


async def _json_body(request: Request) -> dict:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(f"the request is larger than {MAX_BODY // (1024 * 1024)} MiB")
        chunks.append(chunk)
    try:
        body: Any = loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise Refused("the request is not JSON") from None
    if not isinstance(body, dict):
        raise Refused("send a JSON object")
    return body


def _error(status: int, message: str) -> Response:
    return JsonAnswer({"error": message}, status_code=status, headers=HEADERS)
