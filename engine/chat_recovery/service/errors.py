"""Every error the service answers is JSON naming what is wrong and, for a
field, where: {"error": {"code", "message", "path"?}}. A 5xx also says
`Connection: close`: the server is not in a state to promise the next
request on this connection, and a client must not learn that from a reset."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

CLOSE = {"Connection": "close"}


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, path: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.path, self.headers = status, code, message, path, headers or {}

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.path:
            error["path"] = self.path
        return {"error": error}

    def response(self) -> JSONResponse:
        headers = {**self.headers, **CLOSE} if self.status >= 500 else self.headers
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return HttpError(status, code, message, headers=headers).response()


class CloseOnServerError:
    """ASGI middleware: any 5xx a handler answers (a 503 built as a plain
    JSONResponse too) carries `Connection: close`, so uvicorn ends the
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
