"""The HTTP service (`chat-recovery serve`): the coordinator behind Starlette,
for chat servers written in other languages. Needs the `serve` extra.
`handlers.ENDPOINTS` is the one table of what it answers: the Starlette
routes and the OpenAPI document's paths are both made from it.

`create_app` is imported on first use, so `chat_recovery.service.config`
(stdlib only; the CLI reads it to build `serve`'s flags) loads without the extra."""

from typing import Any

from .config import ServeConfig

__all__ = ["create_app", "ServeConfig"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
