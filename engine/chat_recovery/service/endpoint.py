"""One row of the service's endpoint table, and what the app and the OpenAPI
document both make of it. A row says what its guards are (a token, a JSON
body); the statuses those guards answer come from the same flags, so the
document lists a 401 exactly where the app checks a token and a 413 exactly
where it reads a body."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..live import Coordinator
from .admission import Admission
from .metrics import Metrics
from .requests import read_json, require_token


@dataclass
class Service:
    """What every handler is handed: the coordinator and the limits around it."""

    coordinator: Coordinator
    token: str | None
    admission: Admission
    metrics: Metrics
    max_body: int
    ready: Callable[
        [], list[str] | None
    ]  # raises when the store does not answer or a replay worker cannot start; else the store's warnings
    max_list: int = 500  # reports a list request may hold
    deadline: float = 10.0  # seconds a report's store transaction (replay included) may take; nothing is written after


@dataclass(frozen=True)
class Answer:
    """A status an endpoint can answer: what it means, and the body's JSON
    Schema (a component's name, an inline schema, or None: no body)."""

    description: str
    schema: Any = "Error"
    media: str = "application/json"

    def response(self) -> dict:
        out: dict = {"description": self.description}
        if self.schema is not None:
            out["content"] = {self.media: {"schema": _schema(self.schema)}}
        return out


# What a guard answers, wherever a row turns it on.
TOKEN_ANSWERS = {401: Answer("No token, or the wrong one")}
BODY_ANSWERS = {
    413: Answer("The body is larger than the limit"),
    415: Answer("The body is not JSON"),
    400: Answer("The body is not valid JSON"),
}

Handler = Callable[..., Awaitable[Response]]  # (service, request) or, with a body, (service, request, body)


@dataclass(frozen=True)
class Endpoint:
    """`handler(service, request)` answers `method path`; with `body` (the
    request body's JSON Schema) it is `handler(service, request, body)`,
    called with the JSON already read and judged. `auth`: the bearer token
    is checked first. `answers`: the statuses the handler itself gives."""

    method: str
    path: str
    handler: Handler
    summary: str
    answers: Mapping[int, Answer]
    auth: bool = False
    body: Any = None
    description: str = ""
    parameters: Mapping[str, dict] = field(default_factory=dict)  # a path parameter's schema, by name

    def statuses(self) -> dict[int, Answer]:
        """Every status this endpoint can answer: its own, then its guards'
        (its own description of a guard's status, when it has one, wins)."""
        guards = {**(TOKEN_ANSWERS if self.auth else {}), **(BODY_ANSWERS if self.body is not None else {})}
        return {**self.answers, **{status: answer for status, answer in guards.items() if status not in self.answers}}

    def operation(self) -> dict:
        """The OpenAPI operation object."""
        out: dict = {"summary": self.summary}
        if self.description:
            out["description"] = self.description
        if self.auth:
            out["security"] = [{"bearer": []}]
        names = re.findall(r"{(\w+)}", self.path)
        if names:
            out["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": self.parameters.get(name, {"type": "string"})}
                for name in names
            ]
        if self.body is not None:
            out["requestBody"] = {"required": True, "content": {"application/json": {"schema": _schema(self.body)}}}
        out["responses"] = {str(status): answer.response() for status, answer in self.statuses().items()}
        return out

    def route(self, service: Service) -> Route:
        """The Starlette route: the guards the row names, then the handler."""
        handler, auth, reads_body = self.handler, self.auth, self.body is not None

        async def endpoint(request: Request) -> Response:
            if auth:
                require_token(request, service.token)
            if reads_body:
                return await handler(service, request, await read_json(request, service.max_body))
            return await handler(service, request)

        endpoint.__name__ = endpoint.__qualname__ = handler.__name__
        return Route(re.sub(r"{(\w+)}", r"{\1:text}", self.path), endpoint, methods=[self.method])


class _Text(Convertor[str]):
    """A path parameter holding any non-empty text, `/` and newlines
    included. uvicorn decodes the path before routing (`%2F` is `/` by
    then), so an id sent percent-encoded, as `encodeURIComponent` or
    `quote(id, safe="")` write it, is matched whole: a visitor id the
    contract accepts can always be asked for (only `.` and `..` cannot:
    clients drop them from a path, so the live service refuses them)."""

    regex = "(?s:.+)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("text", _Text())


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _schema(schema: Any) -> Any:
    return ref(schema) if isinstance(schema, str) else schema
