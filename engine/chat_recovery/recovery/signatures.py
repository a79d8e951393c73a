"""Provenance by signature: with verification keys, each copy of a message
is screened once, when its report is folded. A copy whose actor type the
policy says must be signed and that does not verify is set aside, and so
is a copy that carries a signature that does not verify, whoever sent it.
Without keys nothing is screened (the seed: every copy counts)."""

from __future__ import annotations

from typing import Any

from ..policy.chat_model import ChatPolicy
from ..signing import MessageKeys, Rejection, verify_message


def actor_of(chat: ChatPolicy, message: dict[str, Any]) -> str:
    """The actor type whose signature rule applies to `message`. Until the
    policy declares an actor per action, the sender type the copy names
    (with the shipped policy every type must be signed, so the choice
    changes nothing there)."""
    actor: str = message["sender"]["type"]
    return actor


def screen_signature(chat: ChatPolicy, keys: MessageKeys, chat_id: str, message: dict[str, Any]) -> Rejection | None:
    """Why this copy of `message` in chat `chat_id` is set aside, or None."""
    if "signature" not in message and actor_of(chat, message) not in chat.signed:
        return None  # need not be signed, and is not
    return verify_message(message, chat_id, keys)
