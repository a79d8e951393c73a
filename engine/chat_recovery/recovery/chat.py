"""The chat rebuilt from the merged message log: each counted message once
(copies screening rejected are listed apart), then replayed in log order
through the action rules."""

from __future__ import annotations

import copy
from collections.abc import Callable
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
    messages: list[Any]  # merged counted copies (in trust mode senders, untrusted ones too), by time then id
    state: dict[str, Any]
    status: str | None  # chat-related visitor status, None when the log yields none
    status_rule: ActionRule | None
    holders: dict[str, Any]  # message id -> sorted source keys holding it
    set_aside: list[Any] = field(default_factory=list)
    conflicts: list[Any] = field(default_factory=list)
    fired: dict[str, Any] = field(default_factory=dict)  # message id -> rule (or None)
    reporters: list[Any] = field(default_factory=list)  # source keys whose reports hold the chat
    unmatched: dict[str, Any] = field(default_factory=dict)  # message id -> the event no rule matched (for explain)


def merged_log(
    held: dict[str, Any], conflicts: list[Any], sources: dict[str, Any] | None = None
) -> tuple[list[Any], dict[str, Any]]:
    """Each message once. Copies of one id that differ: the copy from the
    latest report wins (then the larger source), and the difference is a
    conflict. So is a sender's own report (`sources`: source -> latest
    sentAt of its reports holding the chat) that lacks the message, unless
    it was sent before the message's time."""
    order, holders = [], {}
    sort_key = timeutil.sort_key
    sent_keys: dict[str, str] = {}  # a chat's copies carry the sentAt of a few reports: each keyed once
    known = sources or {}
    for message_id, copies in sorted(held.items()):  # conflicts are listed by message id
        if len(copies) == 1:
            (src,) = copies
            differ = False
        else:
            latest: tuple[str, str] | None = None  # (sentAt key, source) of the latest report's copy
            for one, copy_ in copies.items():
                sent = copy_["sentAt"]
                key = sent_keys.get(sent)
                if key is None:
                    key = sent_keys[sent] = sort_key(sent)
                if latest is None or (key, one) > latest:
                    latest = (key, one)
            assert latest is not None  # two copies or more
            src = latest[1]
            differ = not _same_copies([c["value"] for c in copies.values()])
        message = copies[src]["value"]
        at = sort_key(message["time"])
        order.append((at, message["id"], message_id, message))  # by time then id; the held key (unique) breaks ties
        holders[message_id] = sorted(copies)
        lacker = _lacker(message, at, copies, known)
        if differ or lacker is not None:
            candidates = copies if lacker is None else {**copies, lacker: {"sentAt": known[lacker], "value": None}}
            conflicts.append(
                conflict(
                    json_path(["chat", "messages", message_id]),
                    candidates,
                    {
                        "rule": "built-in: the copy from the latest report" if differ else "built-in: every holder's copy counts",
                        "strategy": "latest" if differ else "everyHolder",
                        "value": message,
                        "source": source_of(src),
                    },
                )
            )
    order.sort()
    return [message for *_, message in order], holders


def _lacker(message: dict[str, Any], at: str, copies: dict[str, Any], sources: dict[str, Any]) -> str | None:
    """The sender's own report, when it holds the chat but not this message
    and was sent at or after the message's time (it could have held it)."""
    sender = message["sender"]
    if sender["type"] == "visitor":
        own = "visitor"
    elif sender["type"] == "agent" and sender.get("id"):
        own = f"agent:{sender['id']}"
    else:
        return None
    sent = sources.get(own)
    if own in copies or not isinstance(sent, str) or timeutil.sort_key(sent) < at:  # `at`: the message's time, as a sort key
        return None
    return own


def set_aside_copies(rejected: dict[str, Any]) -> list[Any]:
    """The copies screening rejected: one entry per distinct copy and reason
    (with every source that held it), by the message's time, id, then holders."""
    entries: dict[tuple[str, str, str], dict[str, Any]] = {}
    for _message_id, copies in sorted(rejected.items()):
        for src, held in sorted(copies.items()):
            key = (canonical_json(held["value"]), held["code"], held["reason"])
            entry = entries.setdefault(
                key, {"message": held["value"], "heldBy": [], "reason": held["reason"], "code": held["code"]}
            )
            entry["heldBy"].append(source_of(src))
    sort_key = timeutil.sort_key
    return sorted(
        entries.values(),
        key=lambda e: (sort_key(e["message"]["time"]), e["message"]["id"], canonical_json(e["heldBy"]), e["code"], e["reason"]),
    )


# The message fields that may hold something other than text (the contract,
# schemas/report.schema.json: id, time, action and text are strings, sender
# an object of strings); tests/test_schemas.py holds this to the schema.
MESSAGE_FREE_FIELDS = frozenset({"data"})


def _same_copies(copies: list[Any]) -> bool:
    """Every copy writes as the same JSON. Where no copy has a free field,
    every value is text, so Python's == is exactly that (it differs from
    JSON only on numbers, true/false and NaN), at C speed."""
    first = copies[0]
    if MESSAGE_FREE_FIELDS.isdisjoint(first):  # a copy with a free field has other keys: unequal
        return copies[1] == first if len(copies) == 2 else all(other == first for other in copies[1:])
    return all_same_json(copies)


def _json_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (the initial state is the policy's,
    written as YAML): each replay writes its own; deepcopy's memo is not needed."""
    kind = type(value)
    if kind is dict:
        return {key: _json_copy(item) for key, item in value.items()}
    if kind is list:
        return [_json_copy(item) for item in value]
    return value if kind in (str, int, float, bool, type(None)) else copy.deepcopy(value)


def _trusted_sides(chat: ChatPolicy, message: dict[str, Any]) -> frozenset[str]:
    sides = chat.trust_by_action.get(message["action"])
    if sides is None:
        sides = chat.trust.get(message["sender"]["type"], frozenset({"visitor", "agent"}))
    return sides


def rebuild(chat: ChatPolicy, held: dict[str, Any], engine: Engine) -> ChatResult:
    conflicts: list[Any] = []
    sources = held["sources"]
    messages, holders = merged_log(held["messages"], conflicts, sources)
    result = ChatResult(
        messages,
        _json_copy(dict(chat.initial_state)),
        None,
        None,
        holders,
        set_aside=set_aside_copies(held["rejected"]),
        conflicts=conflicts,
        reporters=sorted(sources),
    )
    untrusted = _untrusted(chat, result, {side_of(s) for s in sources}) if chat.trust_mode == "senders" else None
    session = engine.open()
    try:
        for message in messages:
            if untrusted is not None and untrusted(message):
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


def _untrusted(chat: ChatPolicy, result: ChatResult, reporting: set[str]) -> Callable[[dict[str, Any]], bool]:
    """Trust mode senders (opt-in): a message that only reports of sides not
    trusted for it hold is kept in the log but not replayed, and listed
    (unless no trusted side reported the chat: then it is believed)."""

    def untrusted(message: dict[str, Any]) -> bool:
        sides = _trusted_sides(chat, message)
        held_by = {side_of(s) for s in result.holders[message["id"]]}
        if held_by & sides or not (reporting & sides):
            return False
        result.set_aside.append(
            {
                "message": message,
                "heldBy": [source_of(s) for s in result.holders[message["id"]]],
                "reason": f"this {message['sender']['type']} message is believed from {' or '.join(sorted(sides))} reports only, and such reports hold this chat without it",
                "code": "untrusted",
            }
        )
        return True

    return untrusted


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
