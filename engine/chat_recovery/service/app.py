"""The Starlette app: the endpoint table's routes over a Coordinator.
Everything the app uses is handed to `create_app`, so a test (or a second
app in one process) gets its own store, metrics and limits."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from ..policy import bundled
from .endpoint import Endpoint, Service
from .errors import CloseOnServerError, HttpError, error_response
from .handlers import ENDPOINTS
from .logs import event
from .openapi import document

log = logging.getLogger("chat_recovery.service")
ROUTER_CODES = {404: "notFound", 405: "methodNotAllowed"}  # what Starlette's router refuses


def create_app(service: Service, endpoints: Iterable[Endpoint] = ENDPOINTS) -> Starlette:
    endpoints = tuple(endpoints)
    handlers: dict[Any, Any] = {
        HttpError: _http_error,
        HTTPException: _starlette_error,
        Exception: _unexpected,
    }  # Starlette types each as Exception's
    app = Starlette(
        routes=[endpoint.route(service) for endpoint in endpoints],
        exception_handlers=handlers,
        middleware=[Middleware(CloseOnServerError)],  # inside the 500 handler, which says it itself
    )
    app.state.openapi = document(bundled.schemas_dir(), endpoints)
    return app


async def _http_error(request: Request, exc: HttpError) -> Response:
    return exc.response()


async def _starlette_error(request: Request, exc: HTTPException) -> Response:
    code = ROUTER_CODES.get(exc.status_code, "httpError")
    return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> Response:
    event(
        log,
        logging.ERROR,
        "unexpectedError",
        exc_info=(type(exc), exc, exc.__traceback__),
        method=request.method,
        path=request.url.path,
    )
    return error_response(500, "internal", "an unexpected error; nothing was written for this request")
