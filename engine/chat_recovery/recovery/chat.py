"""The chat rebuilt from the merged message log: each message once, trust
applied, then replayed in log order through the action rules."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import timeutil
from ..diagnostics import RecoveryError
from ..json_identity import all_same_json, canonical_json
from ..paths import json_path
from ..policy.chat_model import ActionRule, ChatPolicy, Effect
from ..policy.effects import EFFECT_OPS
from ..policy.expressions import MISSING
from ..replay import Engine
from .conflicts import conflict
from .sources import side_of, source_of


@dataclass
class ChatResult:
    messages: list[Any]  # merged, trusted and set-aside alike, by time then id
    state: dict[str, Any]
    status: str | None  # chat-related visitor status, None when the log yields none
    status_rule: ActionRule | None
    holders: dict[str, Any]  # message id -> sorted source keys holding it
    set_aside: list[Any] = field(default_factory=list)
    conflicts: list[Any] = field(default_factory=list)
    fired: dict[str, Any] = field(default_factory=dict)  # message id -> rule (or None)
    reporters: list[Any] = field(default_factory=list)  # source keys whose reports hold the chat
    unmatched: dict[str, Any] = field(default_factory=dict)  # message id -> the event no rule matched (for explain)
    rejected: list[Any] = field(default_factory=list)  # copies whose signature did not verify (never in `messages`)


def merged_log(held: dict[str, Any], conflicts: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Each message once. Copies of one id that differ: the copy from the
    latest report wins (then the larger source), and the difference is a
    conflict."""
    merged, holders = [], {}
    sort_key = timeutil.sort_key
    for message_id, copies in sorted(held.items()):  # conflicts are listed by message id
        src = max(copies, key=lambda s: (sort_key(copies[s]["sentAt"]), s))
        merged.append(copies[src]["value"])
        holders[message_id] = sorted(copies)
        if len(copies) > 1 and not _same_copies([c["value"] for c in copies.values()]):
            conflicts.append(
                conflict(
                    json_path(["chat", "messages", message_id]),
                    copies,
                    {
                        "rule": "built-in: the copy from the latest report",
                        "strategy": "latest",
                        "value": copies[src]["value"],
                        "source": source_of(src),
                    },
                )
            )
    merged.sort(key=lambda m: (sort_key(m["time"]), m["id"]))
    return merged, holders


# The message fields that may hold something other than text (the contract,
# schemas/report.schema.json: id, time, action and text are strings, sender
# an object of strings); tests/test_schemas.py holds this to the schema.
MESSAGE_FREE_FIELDS = frozenset({"data"})


def _same_copies(copies: list[Any]) -> bool:
    """Every copy writes as the same JSON. Where no copy has a free field,
    every value is text, so Python's == is exactly that (it differs from
    JSON only on numbers, true/false and NaN), at C speed."""
    first = copies[0]
    if MESSAGE_FREE_FIELDS.isdisjoint(first):
        return all(other == first for other in copies[1:])  # a copy with a free field has other keys: unequal
    return all_same_json(copies)


def _trusted_sides(chat: ChatPolicy, message: dict[str, Any]) -> frozenset[str]:
    sides = chat.trust_by_action.get(message["action"])
    if sides is None:
        sides = chat.trust.get(message["sender"]["type"], frozenset({"visitor", "agent"}))
    return sides


def rebuild(chat: ChatPolicy, held: dict[str, Any], engine: Engine) -> ChatResult:
    conflicts: list[Any] = []
    messages, holders = merged_log(held["messages"], conflicts)
    reporting = {side_of(s) for s in held["sources"]}
    result = ChatResult(
        messages,
        copy.deepcopy(dict(chat.initial_state)),
        None,
        None,
        holders,
        conflicts=conflicts,
        reporters=sorted(held["sources"]),
        rejected=rejected_copies(held),
    )
    session = engine.open()
    try:
        for message in messages:
            sides = _trusted_sides(chat, message)
            held_by = {side_of(s) for s in holders[message["id"]]}
            if not (held_by & sides) and (reporting & sides):
                result.set_aside.append(
                    {
                        "message": message,
                        "heldBy": [source_of(s) for s in holders[message["id"]]],
                        "reason": f"this {message['sender']['type']} message is believed from {' or '.join(sorted(sides))} reports only, and such reports hold this chat without it",
                    }
                )
                continue
            event = match_event(chat, message, result)
            index = session.fire(event)
            rule = chat.rules[index] if index is not None else None
            result.fired[message["id"]] = rule
            if rule is None:
                result.unmatched[message["id"]] = event
            else:
                try:
                    _apply(rule, message, result)
                except (TypeError, AttributeError, KeyError, ValueError) as exc:
                    raise RecoveryError(
                        f"{rule.origin}: rule '{rule.name}' failed on message '{message['id']}': {exc!r}"
                    ) from None
    finally:
        session.close()
    return result


def rejected_copies(held: dict[str, Any]) -> list[Any]:
    """The copies set aside when their report was folded (their signature did
    not verify), one entry a copy, by time, message id and holder."""
    out = []
    for copies in held.get("setAside", {}).values():
        for src, copy_ in copies.items():
            out.append({"message": copy_["value"], "heldBy": [source_of(src)], "code": copy_["code"], "reason": copy_["reason"]})
    out.sort(
        key=lambda item: (timeutil.sort_key(item["message"]["time"]), item["message"]["id"], sorted(item["heldBy"][0].items()))
    )
    return out


class Held(Protocol):
    """What match_event reads of a replay so far (a ChatResult, or the state
    space's (status, state) pair)."""

    @property
    def status(self) -> str | None: ...
    @property
    def state(self) -> dict[str, Any]: ...


def match_event(chat: ChatPolicy, message: dict[str, Any], result: Held) -> dict[str, Any]:
    """What the engine matches on: the action, and each field the action's
    rules test as canonical JSON (so null, numbers and text compare
    exactly). Fields only other actions' rules test are left out: no rule
    that could fire reads them."""
    event = {"action": message["action"]}
    for i, kind, read in chat.reads_by_action.get(message["action"], ()):
        if kind == "status":
            value = result.status
        elif kind == "state":
            value = result.state.get(read)
        else:
            value = read(message)
            value = None if value is MISSING else value
        event[f"c{i}"] = canonical_json(value)
    return event


def _apply(rule: ActionRule, message: dict[str, Any], result: ChatResult) -> None:
    for effect in rule.effects:
        apply_effect(effect, message, result.state)
    if rule.status is not None:
        result.status, result.status_rule = rule.status, rule


def apply_effect(effect: Effect, message: dict[str, Any], state: dict[str, Any]) -> None:
    value = effect.value(message)
    *parents, last = effect.field
    target = state
    for part in parents:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    EFFECT_OPS[effect.op].apply(target, last, value, effect.key)  # the schema admits only the table's ops
