"""What the service answers: one function per endpoint, and `ENDPOINTS`, the
table that both the Starlette routes and the OpenAPI paths are made from.
Adding an endpoint is a handler here and its row below (and its line in the
README's endpoint table). A handler is called with the Service and the
request (and the JSON body, when its row declares one); it answers a
Response or raises HttpError, so a test can call it alone."""

from __future__ import annotations

import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from ..authoring.check import check_policy
from ..diagnostics import RecoveryError, ReportError
from ..json_answer import JsonAnswer
from ..live import RunnerUnavailable, StoreUnavailable, VisitorTooLarge
from ..paths import json_path
from .endpoint import Answer, Endpoint, Service, ref
from .errors import HttpError, error_response
from .logs import event

log = logging.getLogger("chat_recovery.service")
POLICY_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml$")
LIMIT_FLAGS = {  # VisitorTooLarge.limit -> the serve flag that sets it, for the answer
    "reports": "--max-visitor-reports",
    "sources": "--max-visitor-sources",
    "messages": "--max-visitor-messages",
    "documentBytes": "--max-visitor-bytes",
}


def _unavailable(exc: StoreUnavailable | RunnerUnavailable) -> HttpError:
    """503 and Retry-After, its code saying what is known: storeUnavailable,
    deadlinePassed, replayUnavailable (nothing was written) or outcomeUnknown
    (the write was sent and no answer came: a retry is safe, duplicates count once)."""
    return HttpError(503, exc.code, str(exc), headers={"Retry-After": "1"})


async def post_reports(service: Service, request: Request, body: Any) -> Response:
    if isinstance(body, list):
        if not body:
            raise HttpError(422, "invalidReport", "an empty list: send a report or a list of reports", "$")
        if len(body) > service.max_list:
            raise HttpError(
                413,
                "listTooLong",
                f"a list of {len(body)} reports is longer than the limit of {service.max_list} (--max-list): "
                f"nothing was applied; send it in lists of {service.max_list} or fewer",
            )
        items = body
    elif isinstance(body, dict):
        items = [body]
    else:
        raise HttpError(422, "invalidReport", f"a report is an object (or a list of them), not {type(body).__name__}", "$")
    visitors = {_visitor_of(item) for item in items}
    if len(visitors) == 1:  # the access log names the visitor when the request is about one
        request.state.visitorId = visitors.pop()
    weight = service.admission.weigh(len(items), _body_bytes(request))
    if not service.admission.try_admit(weight):
        service.metrics.reports.labels("rejected").inc(len(items))
        seconds = service.admission.retry_seconds()
        raise HttpError(
            429,
            "tooManyReports",
            f"{service.admission.limit} reports are being applied; retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    service.metrics.in_flight.inc(len(items))
    try:
        if isinstance(body, dict):
            status, payload = await anyio.to_thread.run_sync(_submit_one, service, body)
        else:
            answer = await anyio.to_thread.run_sync(_submit_list, service, items)
    finally:
        service.metrics.in_flight.dec(len(items))
        service.admission.release(weight)
    if isinstance(body, dict):
        headers = {"Retry-After": "1"} if status == 503 else None
        return JsonAnswer(payload, status_code=status, headers=headers)
    return JsonAnswer(answer, status_code=200 if all(r["status"] == 200 for r in answer["results"]) else 207)


def _body_bytes(request: Request) -> int:
    """The body's size: counted while it was read (requests.read_json), else as declared."""
    counted = getattr(request.state, "bodyBytes", None)
    declared = request.headers.get("content-length", "")
    return counted if isinstance(counted, int) else int(declared) if declared.isdigit() else 0


def _submit_list(service: Service, items: list) -> dict:
    """A list's answer: each report's status and receipt (or error), and each
    visitor's summary after its last report here (its progress without the
    recovery, which a GET gives). Not a recovery per report: a list of n
    reports for one visitor would answer n recoveries of a growing chat. Each
    recovery is let go as soon as its report is applied."""
    results, visitors = [], {}
    for index, item in enumerate(items):
        status, payload = _submit_one(service, item)
        if status == 200:
            results.append({"status": status, "visitorId": payload["visitorId"], "receipt": payload["receipt"]})
            visitors[payload["visitorId"]] = {k: v for k, v in payload.items() if k not in ("recovery", "receipt")}
        else:
            results.append({"status": status, "error": {**payload["error"], "index": index}})
    return {"results": results, "visitors": visitors}


def _submit_one(service: Service, report: Any) -> tuple[int, dict]:
    """(status, body) for one report; never raises for the caller's input."""
    metrics = service.metrics
    started = time.perf_counter()
    try:
        # the report was parsed from this request's body for this call alone: checked in place, not copied
        progress = service.coordinator.submit(report, deadline=time.monotonic() + service.deadline, owned=True)
    except ReportError as exc:
        metrics.reports.labels("invalid").inc()
        return 422, HttpError(422, "invalidReport", exc.message, exc.path or None).body()
    except VisitorTooLarge as exc:
        metrics.reports.labels("refused").inc()
        event(
            log, logging.WARNING, "visitorTooLarge", visitorId=exc.visitor_id, limit=exc.limit, bound=exc.bound, would=exc.would
        )
        return 422, HttpError(422, "visitorTooLarge", exc.describe(LIMIT_FLAGS[exc.limit])).body()
    except RecoveryError as exc:
        metrics.reports.labels("failed").inc()
        event(log, logging.ERROR, "cannotRecover", visitorId=_visitor_of(report), cause=str(exc))
        return 422, HttpError(422, "cannotRecover", str(exc)).body()
    except (StoreUnavailable, RunnerUnavailable) as exc:
        metrics.reports.labels("unavailable").inc()
        event(log, logging.WARNING, exc.code, visitorId=_visitor_of(report), cause=str(exc))
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


async def get_recovery(service: Service, request: Request) -> Response:
    visitor_id = request.state.visitorId = request.path_params["visitorId"]
    try:
        progress = await anyio.to_thread.run_sync(service.coordinator.get, visitor_id)
    except StoreUnavailable as exc:
        event(log, logging.WARNING, "storeUnavailable", visitorId=visitor_id, cause=str(exc))
        raise _unavailable(exc) from None
    if progress is None:
        raise HttpError(
            404, "notFound", f"no report is held for visitor '{visitor_id}' (never sent, or forgotten after its window)"
        )
    return JsonAnswer(progress)


async def post_policy_check(service: Service, request: Request, body: Any) -> Response:
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, dict) or not files or set(body) != {"files"}:
        raise HttpError(422, "invalidPolicy", 'send {"files": {"<name>.yaml": "<text>", ...}}', "$.files")
    for name, text in files.items():
        if not POLICY_FILE.match(name):
            raise HttpError(
                422, "invalidPolicy", f"'{name}' is not a rule file name (name.yaml, no folders)", json_path(("files", name))
            )
        if not isinstance(text, str):
            raise HttpError(422, "invalidPolicy", f"the text of '{name}' must be a string", json_path(("files", name)))
    if len(files) > 64:
        raise HttpError(422, "invalidPolicy", "at most 64 files", "$.files")
    return JsonAnswer(await anyio.to_thread.run_sync(_check_files, files))


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


async def healthz(service: Service, request: Request) -> Response:
    return JsonAnswer({"status": "alive"})


async def readyz(service: Service, request: Request) -> Response:
    try:
        warnings = await anyio.to_thread.run_sync(service.ready)
    except (StoreUnavailable, RunnerUnavailable) as exc:
        return error_response(503, "notReady", str(exc))
    # ready all the same: a Redis without persistence answers, but would lose accepted reports in a restart
    return JsonAnswer({"status": "ready", **({"warnings": warnings} if warnings else {})})


async def metrics(service: Service, request: Request) -> Response:
    payload, media = service.metrics.exposition()
    return Response(payload, media_type=media)


async def openapi_json(service: Service, request: Request) -> Response:
    return JsonAnswer(request.app.state.openapi)  # built once, by create_app, from this table


ENDPOINTS = (
    Endpoint(
        "POST",
        "/v1/reports",
        post_reports,
        auth=True,
        summary="Apply one report, or a list of reports",
        body={"oneOf": [ref("Report"), {"type": "array", "items": ref("Report"), "minItems": 1}]},
        answers={
            200: Answer(
                "Applied: the visitor's recovery so far (a list: every report applied, each with its receipt, "
                "and each visitor's summary; the recovery is a GET away)",
                {"oneOf": [ref("LiveRecovery"), ref("ReportResults")]},
            ),
            207: Answer("A list where some reports were not applied: each has its status", "ReportResults"),
            413: Answer("The body is larger than --max-body, or the list longer than --max-list: nothing was applied"),
            422: Answer(
                "The report breaks the contract (the error names the field), or would take its visitor past a "
                "per-visitor limit (visitorTooLarge: the error names the limit; nothing was written)"
            ),
            429: Answer("Too many reports in flight: retry after Retry-After seconds"),
            503: Answer(
                "Not applied now, retry after Retry-After: storeUnavailable, deadlinePassed and replayUnavailable say "
                "nothing was written; outcomeUnknown says the write was sent and its outcome is unknown "
                "(a retry is safe: duplicates count once)"
            ),
        },
    ),
    Endpoint(
        "GET",
        "/v1/visitors/{visitorId}/recovery",
        get_recovery,
        auth=True,
        summary="The visitor's recovery so far",
        answers={
            200: Answer("The recovery so far", "LiveRecovery"),
            404: Answer("No report is held for this visitor"),
            503: Answer("The store is unreachable"),
        },
    ),
    Endpoint(
        "POST",
        "/v1/policy/check",
        post_policy_check,
        auth=True,
        summary="Check a policy directory's files (nothing is changed)",
        body=ref("PolicyFiles"),
        answers={
            200: Answer("The problems found (ok: no errors)", "PolicyCheck"),
            422: Answer("The files are not a policy directory (a bad name)"),
        },
    ),
    Endpoint("GET", "/healthz", healthz, summary="The process is alive", answers={200: Answer("alive", None)}),
    Endpoint(
        "GET",
        "/readyz",
        readyz,
        summary="The policy is loaded, every replay worker could start, and the store answers",
        answers={
            200: Answer(
                "ready; `warnings` (when there are any) say what an operator should fix, e.g. a Redis that keeps nothing on disk",
                {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"const": "ready"}, "warnings": {"type": "array", "items": {"type": "string"}}},
                },
            ),
            503: Answer("not ready"),
        },
    ),
    Endpoint(
        "GET",
        "/metrics",
        metrics,
        summary="Prometheus metrics",
        answers={200: Answer("The text exposition format", {"type": "string"}, media="text/plain")},
    ),
    Endpoint(
        "GET",
        "/openapi.json",
        openapi_json,
        summary="This document",
        answers={200: Answer("The OpenAPI 3.1 document, built at start-up from schemas/", {"type": "object"})},
    ),
)
