"""Screening one copy of a message as its report is folded: the one place a
copy is judged on its own, before any merge. A copy that fails is set aside
(listed in `setAside`) whoever holds it, and never reaches the merged log.
A copy is malformed when its sender.type is not its action's actor. With
verification keys, a copy whose actor type the policy says must be signed
and that does not verify is set aside, and so is a copy that carries a
signature that does not verify, whoever sent it. Without keys no signature
is checked (the seed: every copy counts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..policy.chat_model import ChatPolicy
from ..signing import REJECTION_CODES, MessageKeys, verify_message

# Why a copy did not count, for machines: the recovery schema's setAside
# code enum (tests/test_closed_sets.py holds the two together).
SET_ASIDE_CODES = {
    "malformed": "its sender.type is not its action's actor",
    "untrusted": "trust mode senders: only reports of untrusted sides held it",
    **REJECTION_CODES,
}


@dataclass(frozen=True)
class Rejection:
    """Why a copy is set aside: a short machine code and the words for people."""

    code: str  # one of SET_ASIDE_CODES
    reason: str

    def __post_init__(self) -> None:
        assert self.code in SET_ASIDE_CODES, self.code


def screen(chat: ChatPolicy, chat_id: str, message: dict[str, Any], keys: MessageKeys | None = None) -> Rejection | None:
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
    if keys is not None and ("signature" in message or (actor or sender) in chat.signed):
        failed = verify_message(message, chat_id, keys)
        if failed is not None:
            return Rejection(failed.code, failed.reason)
    return None
