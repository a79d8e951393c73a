"""The chat rebuilt from the merged message log: each message once, trust
applied, then replayed in log order through the action rules."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Optional

from .. import timeutil
from ..policy.chat_model import ActionRule, ChatPolicy, Effect
from ..diagnostics import RecoveryError
from ..policy.expressions import MISSING
from ..json_identity import all_same_json, canonical_json
from .conflicts import conflict
from .sources import side_of, source_of
from ..paths import json_path
from ..replay import Engine


@dataclass
class ChatResult:
    messages: list                      # merged, trusted and set-aside alike, by time then id
    state: dict
    status: Optional[str]               # chat-related visitor status, None when the log yields none
    status_rule: Optional[ActionRule]
    holders: dict                       # message id -> sorted source keys holding it
    set_aside: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)
    fired: dict = field(default_factory=dict)   # message id -> rule (or None)
    reporters: list = field(default_factory=list)  # source keys whose reports hold the chat
    unmatched: dict = field(default_factory=dict)  # message id -> the event no rule matched (for explain)


def merged_log(held: dict, conflicts: list) -> tuple[list, dict]:
    """Each message once. Copies of one id that differ: the copy from the
    latest report wins (then the larger source), and the difference is a
    conflict."""
    merged, holders = [], {}
    sort_key = timeutil.sort_key
    for message_id, copies in sorted(held.items()):   # conflicts are listed by message id
        src = max(copies, key=lambda s: (sort_key(copies[s]["sentAt"]), s))
        merged.append(copies[src]["value"])
        holders[message_id] = sorted(copies)
        if len(copies) > 1 and not _same_copies([c["value"] for c in copies.values()]):
            conflicts.append(conflict(json_path(["chat", "messages", message_id]), copies, {
                "rule": "built-in: the copy from the latest report", "strategy": "latest",
                "value": copies[src]["value"], "source": source_of(src)}))
    merged.sort(key=lambda m: (sort_key(m["time"]), m["id"]))
    return merged, holders


# The message fields that may hold something other than text (the contract,
# schemas/report.schema.json: id, time, action and text are strings, sender
# an object of strings); tests/test_schemas.py holds this to the schema.
MESSAGE_FREE_FIELDS = frozenset({"data"})


def _same_copies(copies: list) -> bool:
    """Every copy writes as the same JSON. Where no copy has a free field,
    every value is text, so Python's == is exactly that (it differs from
    JSON only on numbers, true/false and NaN), at C speed."""
    first = copies[0]
    if MESSAGE_FREE_FIELDS.isdisjoint(first):
        return all(other == first for other in copies[1:])   # a copy with a free field has other keys: unequal
    return all_same_json(copies)


def _trusted_sides(chat: ChatPolicy, message: dict) -> frozenset:
    sides = chat.trust_by_action.get(message["action"])
    if sides is None:
        sides = chat.trust.get(message["sender"]["type"], frozenset({"visitor", "agent"}))
    return sides


def rebuild(chat: ChatPolicy, held: dict, engine: Engine) -> ChatResult:
    conflicts: list = []
    messages, holders = merged_log(held["messages"], conflicts)
    reporting = {side_of(s) for s in held["sources"]}
    result = ChatResult(messages, copy.deepcopy(dict(chat.initial_state)), None, None, holders,
                        conflicts=conflicts, reporters=sorted(held["sources"]))
    session = engine.open()
    try:
        for message in messages:
            sides = _trusted_sides(chat, message)
            held_by = {side_of(s) for s in holders[message["id"]]}
            if not (held_by & sides) and (reporting & sides):
                result.set_aside.append({
                    "message": message, "heldBy": [source_of(s) for s in holders[message["id"]]],
                    "reason": f"this {message['sender']['type']} message is believed from {' or '.join(sorted(sides))} reports only, and such reports hold this chat without it"})
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
                    raise RecoveryError(f"{rule.origin}: rule '{rule.name}' failed on message '{message['id']}': {exc!r}") from None
    finally:
        session.close()
    return result


def match_event(chat: ChatPolicy, message: dict, result: ChatResult) -> dict:
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


def _apply(rule: ActionRule, message: dict, result: ChatResult) -> None:
    for effect in rule.effects:
        apply_effect(effect, message, result.state)
    if rule.status is not None:
        result.status, result.status_rule = rule.status, rule


def apply_effect(effect: Effect, message: dict, state: dict) -> None:
    value = effect.value(message)
    *parents, last = effect.field
    target = state
    for part in parents:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    if effect.op == "set":
        # a copy of a list or mapping: a later effect may write inside it, and
        # the message it came from is shared with the held state
        target[last] = None if value is MISSING else (copy.deepcopy(value) if isinstance(value, (dict, list)) else value)
        return
    if value is MISSING:
        return
    items = target[last]
    if effect.op == "remove":
        target[last] = [item for item in items if item != value]
    elif effect.op == "add":
        if value not in items:
            items.append(value)
    elif effect.op == "upsert":
        key = value.get(effect.key)
        for i, item in enumerate(items):
            if key is not None and isinstance(item, dict) and item.get(effect.key) == key:
                items[i] = {**item, **value}
                return
        items.append(value)
