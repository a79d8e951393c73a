"""What every engine offers the replay: open a session, fire an event, get
the index of the rule that fired. Its own module so the engines can import
it without importing the package that chooses among them."""

from __future__ import annotations

from typing import Any, Protocol

from ..diagnostics import RecoveryError


class Session(Protocol):
    def fire(self, event: dict[str, Any]) -> int | None:
        """Index into ChatPolicy.rules of the rule that fired, or None."""

    def close(self) -> None: ...


class Engine(Protocol):
    name: str

    def open(self) -> Session: ...


class ReplayError(RecoveryError):
    """The rule engine misbehaved; the recovery fails rather than guess."""
