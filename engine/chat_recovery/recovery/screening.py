"""Screening one copy of a message as its report is folded: the one place a
copy is judged on its own, before any merge. A copy that fails is set aside
(listed in `setAside`) whoever holds it, and never reaches the merged log.
Today a copy is malformed when its sender.type is not its action's actor;
message signatures, where configured, are checked here too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..policy.chat_model import ChatPolicy


@dataclass(frozen=True)
class Rejection:
    """Why a copy is set aside: a short machine code and the words for people."""

    code: str  # e.g. "malformed"
    reason: str


def screen(chat: ChatPolicy, chat_id: str, message: dict[str, Any]) -> Rejection | None:
    """None when the copy may count; else why it may not. `chat_id` is the
    chat the report holds it in (a signature binds a message to its chat)."""
    actor = chat.actors.get(message["action"])
    sender = message["sender"]["type"]
    if actor is not None and sender != actor:
        article = "an" if actor[0] in "aeiou" else "a"
        return Rejection(
            "malformed",
            f"'{message['action']}' is {article} {actor} action (rules: actors), but this copy's sender.type is '{sender}'",
        )
    return None
