"""Every error the service answers is JSON naming what is wrong and, for a
field, where: {"error": {"code", "message", "path"?}}. A 5xx also says
`Connection: close`: the server is not in a state to promise the next
request on this connection, and a client must not learn that from a reset."""

from __future__ import annotations

from typing import Any

from ..json_answer import JsonAnswer

CLOSE = {"Connection": "close"}

# Every `code` an error answer can carry, and what it means: the OpenAPI
# document's enum (tests/test_error_codes.py holds it to the codes raised).
CODES = {
    "invalidJson": "the body is not JSON (400), or JSON no report may hold: a duplicate key, a non-finite number, a lone surrogate (422)",
    "incompleteBody": "the client closed the connection before the body ended (400)",
    "badHttp": "the request is not HTTP/1.1 the server can read: refused by the parser, before the app (400)",
    "headersTooLarge": "the request line and headers are over 16 KiB (431)",
    "unauthorized": "no bearer token, or not the service's (401)",
    "notFound": "no such path, or no report held for the visitor (404)",
    "methodNotAllowed": "the path does not take this method (405)",
    "httpError": "another refusal by the router (4xx)",
    "tooLarge": "the body is over --max-body (413)",
    "listTooLong": "a list of reports longer than --max-list; nothing of it applied (413)",
    "notJson": "the media type is not JSON (415)",
    "invalidReport": "the report breaks the contract; `path` names the field (422)",
    "cannotRecover": "the report is valid but the policy cannot recover it (422)",
    "visitorTooLarge": "the report would take its visitor past a per-visitor limit (--max-visitor-*); nothing written (422)",
    "invalidPolicy": "the policy check's files are not a policy directory (422)",
    "tooManyReports": "more reports are in flight than --max-in-flight; retry after Retry-After (429)",
    "internal": "an unexpected error; nothing was written (500)",
    "storeUnavailable": "the store does not answer; retry after Retry-After (503)",
    "deadlinePassed": "the report could not be applied within --deadline; nothing was written, retry after Retry-After (503)",
    "outcomeUnknown": "the write was sent and no answer came: it may or may not be applied; a retry is safe, duplicates count once (503)",
    "replayUnavailable": "no replay worker could be started; nothing was written, retry after Retry-After (503)",
    "notReady": "the store does not answer, or the policy is not loaded (503)",
}


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, path: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.path, self.headers = status, code, message, path, headers or {}

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.path:
            error["path"] = self.path
        return {"error": error}

    def response(self) -> JsonAnswer:
        headers = {**self.headers, **CLOSE} if self.status >= 500 else self.headers
        return JsonAnswer(self.body(), status_code=self.status, headers=headers)


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JsonAnswer:
    return HttpError(status, code, message, headers=headers).response()


class CloseOnServerError:
    """ASGI middleware: any 5xx a handler answers (a 503 built as a plain
    JSON answer too) carries `Connection: close`, so uvicorn ends the
    keep-alive connection after it, as the header says."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 500:
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, sending)
