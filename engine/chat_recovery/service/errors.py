"""Every error the service answers is JSON naming what is wrong and, for a
field, where: {"error": {"code", "message", "path"?}}."""

from __future__ import annotations

from starlette.responses import JSONResponse


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
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return HttpError(status, code, message, headers=headers).response()
