"""Requests refused below the app, by the HTTP/1.1 parser (h11): a header
block over 16 KiB, a NUL or other control byte in a header, a Content-Length
that is not a number (`-1`), a byte outside ASCII in the request target. The
app never sees them, so uvicorn answers them itself, as `text/plain`; this
protocol answers them as every other error is answered, in JSON with a code,
and closes the connection (the parser cannot find where the next request
starts). The server runs this protocol whatever else is installed: with
httptools installed uvicorn would pick it, and it refuses (and words) these
requests differently."""

from __future__ import annotations

from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE, H11Protocol

from ..jsonio import dumps

_TOO_LARGE = 431


class JsonRejects(H11Protocol):
    """uvicorn's h11 protocol; only what it answers a request it cannot parse differs."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.refused: h11.RemoteProtocolError | None = None
        parse = self.conn.next_event

        def next_event() -> Any:  # notes why h11 refused, for the answer
            try:
                return parse()
            except h11.RemoteProtocolError as exc:
                self.refused = exc
                raise

        self.conn.next_event = next_event  # type: ignore[method-assign]

    def send_400_response(self, msg: str) -> None:
        status, code, message = answer(
            self.refused, self.config.h11_max_incomplete_event_size or DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
        )
        body = dumps({"error": {"code": code, "message": message}})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self.transport.write(self.conn.send(h11.Response(status_code=status, headers=headers)) or b"")
        self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
        self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        self.transport.close()


def answer(refused: h11.RemoteProtocolError | None, limit: int) -> tuple[int, str, str]:
    """(status, code, message) for a request h11 refused: 431 for a header
    block over the limit, else 400 (h11's 501 hint, for a Transfer-Encoding
    it does not know, is the client's error too: no 5xx for bad input)."""
    if refused is not None and refused.error_status_hint == _TOO_LARGE:
        return 431, "headersTooLarge", f"the request line and headers are larger than {limit // 1024} KiB"
    reason = str(refused).split(":")[0][:80] if refused is not None else "unparsable"
    return 400, "badHttp", f"not an HTTP/1.1 request this server can read ({reason}): check the request line and headers"
