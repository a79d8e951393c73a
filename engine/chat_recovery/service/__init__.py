"""The HTTP service (`chat-recovery serve`): the coordinator behind Starlette,
for chat servers written in other languages. Needs the `serve` extra."""
from .app import create_app
from .config import ServeConfig

__all__ = ["create_app", "ServeConfig"]
