"""The Starlette app: routes over a Coordinator. Everything the app uses is
handed to `create_app`, so a test (or a second app in one process) gets its
own store, metrics and limits."""
from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..authoring.check import check_policy
from ..diagnostics import RecoveryError, ReportError
from ..live import Coordinator, StoreUnavailable
from ..policy import bundled
from .admission import Admission
from .errors import HttpError, error_response
from .logs import event
from .metrics import Metrics
from .openapi import document
from .requests import read_json, require_token

log = logging.getLogger("chat_recovery.service")
POLICY_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml$")


@dataclass
class Service:
    coordinator: Coordinator
    token: str | None
    admission: Admission
    metrics: Metrics
    max_body: int
    ready: Callable[[], None]          # raises when the store does not answer


def _unavailable(exc: StoreUnavailable) -> HttpError:
    return HttpError(503, "storeUnavailable", str(exc), headers={"Retry-After": "1"})


def _submit_one(service: Service, report: Any) -> tuple[int, dict]:
    """(status, body) for one report; never raises for the caller's input."""
    metrics = service.metrics
    started = time.perf_counter()
    try:
        progress = service.coordinator.submit(report)
    except ReportError as exc:
        metrics.reports.labels("invalid").inc()
        return 422, HttpError(422, "invalidReport", exc.message, exc.path or None).body()
    except RecoveryError as exc:
        metrics.reports.labels("failed").inc()
        event(log, logging.ERROR, "cannotRecover", visitorId=_visitor_of(report), cause=str(exc))
        return 422, HttpError(422, "cannotRecover", str(exc)).body()
    except StoreUnavailable as exc:
        metrics.reports.labels("unavailable").inc()
        event(log, logging.WARNING, "storeUnavailable", visitorId=_visitor_of(report), cause=str(exc))
        return 503, _unavailable(exc).body()
    metrics.latency.observe(time.perf_counter() - started)
    receipt = progress["receipt"]
    outcome = "duplicate" if receipt["duplicate"] else "late" if receipt["late"] else "applied"
    metrics.reports.labels(outcome).inc()
    if not receipt["duplicate"]:
        if progress["reports"] == 1:
            metrics.recoveries.inc()
        metrics.conflicts.inc(len(progress["recovery"].get("conflicts") or ()))
    return 200, progress


def _visitor_of(report: Any) -> str | None:
    visitor = report.get("visitorId") if isinstance(report, dict) else None
    return visitor if isinstance(visitor, str) else None


def create_app(service: Service) -> Starlette:
    openapi = document(bundled.schemas_dir())

    async def post_reports(request: Request) -> Response:
        require_token(request, service.token)
        body = await read_json(request, service.max_body)
        if isinstance(body, list):
            if not body:
                raise HttpError(422, "invalidReport", "an empty list: send a report or a list of reports", "$")
            items = body
        elif isinstance(body, dict):
            items = [body]
        else:
            raise HttpError(422, "invalidReport", f"a report is an object (or a list of them), not {type(body).__name__}", "$")
        visitors = {_visitor_of(item) for item in items}
        if len(visitors) == 1:          # the access log names the visitor when the request is about one
            request.state.visitorId = visitors.pop()
        if not service.admission.try_admit(len(items)):
            service.metrics.reports.labels("rejected").inc(len(items))
            seconds = service.admission.retry_seconds()
            raise HttpError(429, "tooManyReports", f"{service.admission.limit} reports are being applied; retry in {seconds} s",
                            headers={"Retry-After": str(seconds)})
        service.metrics.in_flight.inc(len(items))
        try:
            results = await anyio.to_thread.run_sync(lambda: [_submit_one(service, item) for item in items])
        finally:
            service.metrics.in_flight.dec(len(items))
            service.admission.release(len(items))
        if isinstance(body, dict):
            status, payload = results[0]
            headers = {"Retry-After": "1"} if status == 503 else None
            return JSONResponse(payload, status_code=status, headers=headers)
        out = []
        for index, (status, payload) in enumerate(results):
            if status == 200:
                out.append({"status": status, "progress": payload})
            else:
                out.append({"status": status, "error": {**payload["error"], "index": index}})
        return JSONResponse({"results": out}, status_code=200 if all(s == 200 for s, _ in results) else 207)

    async def get_recovery(request: Request) -> Response:
        require_token(request, service.token)
        visitor_id = request.state.visitorId = request.path_params["visitorId"]
        try:
            progress = await anyio.to_thread.run_sync(service.coordinator.get, visitor_id)
        except StoreUnavailable as exc:
            event(log, logging.WARNING, "storeUnavailable", visitorId=visitor_id, cause=str(exc))
            raise _unavailable(exc) from None
        if progress is None:
            raise HttpError(404, "notFound", f"no report is held for visitor '{visitor_id}' (never sent, or forgotten after its window)")
        return JSONResponse(progress)

    async def post_policy_check(request: Request) -> Response:
        require_token(request, service.token)
        body = await read_json(request, service.max_body)
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, dict) or not files or set(body) != {"files"}:
            raise HttpError(422, "invalidPolicy", 'send {"files": {"<name>.yaml": "<text>", ...}}', "$.files")
        for name, text in files.items():
            if not POLICY_FILE.match(name):
                raise HttpError(422, "invalidPolicy", f"'{name}' is not a rule file name (name.yaml, no folders)", f"$.files['{name}']")
            if not isinstance(text, str):
                raise HttpError(422, "invalidPolicy", f"the text of '{name}' must be a string", f"$.files['{name}']")
        if len(files) > 64:
            raise HttpError(422, "invalidPolicy", "at most 64 files", "$.files")
        return JSONResponse(await anyio.to_thread.run_sync(_check_files, files))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        try:
            await anyio.to_thread.run_sync(service.ready)
        except StoreUnavailable as exc:
            return error_response(503, "notReady", str(exc))
        return JSONResponse({"status": "ready"})

    async def metrics(request: Request) -> Response:
        payload, media = service.metrics.exposition()
        return Response(payload, media_type=media)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    async def http_error(request: Request, exc: HttpError) -> Response:
        return exc.response()

    async def starlette_error(request: Request, exc: HTTPException) -> Response:
        code = {404: "notFound", 405: "methodNotAllowed"}.get(exc.status_code, "httpError")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    async def unexpected(request: Request, exc: Exception) -> Response:
        event(log, logging.ERROR, "unexpectedError", exc_info=(type(exc), exc, exc.__traceback__), method=request.method, path=request.url.path)
        return error_response(500, "internal", "an unexpected error; nothing was written for this request")

    routes = [
        Route("/v1/reports", post_reports, methods=["POST"]),
        Route("/v1/visitors/{visitorId}/recovery", get_recovery, methods=["GET"]),
        Route("/v1/policy/check", post_policy_check, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
    ]
    # Any: starlette types each handler as taking Exception, not the class it is registered for
    handlers: dict[Any, Any] = {HttpError: http_error, HTTPException: starlette_error, Exception: unexpected}
    return Starlette(routes=routes, exception_handlers=handlers)


def _check_files(files: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="chat-recovery-check-") as work:
        for name, text in files.items():
            (Path(work) / name).write_text(text, encoding="utf-8")
        _, problems = check_policy(work)
        out = []
        for problem in problems:
            item = problem.to_dict()
            if isinstance(item.get("file"), str):
                item["file"] = item["file"].replace(work + "/", "").replace(work, "")
            if isinstance(item.get("message"), str):
                item["message"] = item["message"].replace(work + "/", "")
            out.append(item)
    return {"ok": not any(p["severity"] == "error" for p in out), "problems": out}
