"""Reading a request body as a person would want it judged: the token first,
then the size (counted while reading, not taken from Content-Length on
trust), then the media type, then the JSON (strictly: a duplicate key, a non-finite
number or a lone surrogate is a 422 naming its path)."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import ClientDisconnect, Request

from ..recovery.strict_json import BadJson, loads
from .errors import HttpError


def require_token(request: Request, token: str | None) -> None:
    if token is None:
        return
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise HttpError(
            401,
            "unauthorized",
            "a bearer token is required: Authorization: Bearer <token>" if not given else "the bearer token is not the service's",
            headers={"WWW-Authenticate": 'Bearer realm="chat-recovery"'},
        )


async def read_json(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HttpError(413, "tooLarge", f"the body is larger than {limit} bytes")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise HttpError(415, "notJson", f"send JSON (Content-Type: application/json), not {media or 'no media type'}")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HttpError(413, "tooLarge", f"the body is larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # nobody reads the answer; it is said so that no traceback is logged
        raise HttpError(400, "incompleteBody", f"the client closed the connection after {size} bytes of the body") from None
    raw = b"".join(chunks)
    request.state.bodyBytes = size  # admission weighs a request by its bytes too
    try:
        return loads(raw.decode("utf-8"))
    except BadJson as exc:  # JSON no report may hold: the contract refuses it, with its path, as any violation
        raise HttpError(422, "invalidJson", exc.message, exc.path) from None
    except RecursionError:
        raise HttpError(400, "invalidJson", "the JSON nests too deep") from None
    except UnicodeDecodeError as exc:
        raise HttpError(400, "invalidJson", f"the body is not UTF-8 (byte {exc.start})") from None
    except ValueError as exc:
        raise HttpError(400, "invalidJson", f"the body is not JSON: {exc}") from None
