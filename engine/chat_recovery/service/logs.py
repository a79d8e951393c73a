"""What `serve` says while it runs, through the stdlib `logging` module: one
line per event on stderr, as text (`time LEVEL event key=value ...`) or as
one JSON object a line for log shippers. The access log is written here, by
an ASGI middleware, so it never sees a header or a body: the token and the
reports cannot reach a log line."""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from typing import IO, Any

from ..jsonio import dumps_text

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
log = logging.getLogger("chat_recovery.service")


def event(logger: logging.Logger, level: int, name: str, exc_info: Any = None, **fields: Any) -> None:
    """Log event `name` with its fields (None fields are left out)."""
    logger.log(level, name, exc_info=exc_info, extra={"fields": {k: v for k, v in fields.items() if v is not None}})


class _Formatter(logging.Formatter):
    def parts(self, record: logging.LogRecord) -> dict:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        if not record.name.startswith("chat_recovery"):
            out["logger"] = record.name  # uvicorn's own warnings and errors, in our shape
        out.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0]:
            out["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
            out["traceback"] = self.formatException(record.exc_info)
        return out


class TextFormatter(_Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = self.parts(record)
        trace = out.pop("traceback", None)
        head = f"{out.pop('time')} {out.pop('level').upper()} {out.pop('event')}"
        line = " ".join([head] + [f"{k}={_text(v)}" for k, v in out.items()])
        return line + ("\n" + trace if trace else "")


class JsonFormatter(_Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return dumps_text(self.parts(record), default=str)


def _text(value: Any) -> str:
    text = str(value)
    # quoted (and so escaped) when it holds a space, quote, = or an unprintable character:
    # a path of %0D%0A or %00 must not split or garble a log line
    plain = text and text.isprintable() and not any(c in ' "=' for c in text)
    return text if plain else dumps_text(text)


def configure(level: str = "info", fmt: str = "text", stream: IO[str] | None = None) -> None:
    """Our loggers and uvicorn's write through one handler in one format.
    uvicorn's access log is off (ours replaces it) and its info chatter is
    left out (our start and shutdown lines say the same); its warnings stay."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    ours = getattr(logging, level.upper())
    for name, threshold in (("chat_recovery", ours), ("uvicorn", max(ours, logging.WARNING))):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(threshold)
        logger.propagate = False


class AccessLog:
    """ASGI middleware: one `access` line per HTTP request once it is
    answered: method, path, status, duration in ms, and the visitorId when
    the handler named one (in `request.state.visitorId`)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            visitor = (scope.get("state") or {}).get("visitorId")
            event(
                log,
                logging.INFO,
                "access",
                method=scope["method"],
                path=scope["path"],
                status=status["code"],
                durationMs=round((time.perf_counter() - started) * 1000, 1),
                visitorId=visitor,
            )
