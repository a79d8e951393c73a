"""Folding one checked report into the held state. The state records what
each source said (its latest word per value); it picks nothing, so that the
pick can stay independent of arrival order. `render` picks.

A visitor may have several chats (an agent keeps an ended chat's window
while the visitor is already in a new one: the seed's Client rule 1), so the
state holds chats by id, each with its own messages, sources and props
slots; which one is the visitor's current chat is `render`'s choice."""

from __future__ import annotations

from typing import Any

from .. import timeutil
from ..diagnostics import RecoveryError, ReportError
from ..json_identity import canonical_json
from ..paths import json_path
from ..policy.model import Policy
from ..signing import MessageKeys
from .screening import Rejection, screen
from .sources import source_key

STATE_FORMAT = 2
CHAT_PATH = "$.chat"  # props slots are held under their rule's path, `$.chat.props.<name>`
WITHHELD = "(withheld)"  # held in place of a value the policy reads from no report (e.g. ssoId)


def empty_state(visitor_id: str) -> dict[str, Any]:
    return {
        "format": STATE_FORMAT,
        "visitorId": visitor_id,
        "now": None,
        "seq": 0,
        "visitorSeen": False,
        "slots": {},
        "maps": {},
        "chats": {},  # chat id -> {id, messages, sources, slots}
        "visitorChat": None,  # {id, sentAt}: the chat the visitor's latest report holding one holds
        "wrapups": {},
    }


def upgrade_state(state: dict[str, Any]) -> dict[str, Any]:
    """A held state in the current format. Format 1 (one `chat`, its props in
    the visitor's `slots`) is what live documents and servers' held states
    were written in until format 2; it is read as its one chat by id. The
    given state is not changed."""
    found = state.get("format")
    if found == STATE_FORMAT:
        return state
    if found != 1:
        raise RecoveryError(f"held state format {found!r} is not one this version reads (1 or {STATE_FORMAT})")
    old = state.get("chat")
    slots = {path: slot for path, slot in state["slots"].items() if not _in_chat(path)}
    new = {k: v for k, v in state.items() if k != "chat"}
    new.update(format=STATE_FORMAT, slots=slots, chats={}, visitorChat=None)
    if old is not None:
        chat_slots = {path: slot for path, slot in state["slots"].items() if _in_chat(path)}
        # format 1 kept no report's sentAt of its own (a source was just `true`):
        # each source's latest word in the chat stands for it
        said = {src: _latest_word(src, old["messages"], chat_slots) for src in old["sources"]}
        sources = {src: sent if sent is not None else True for src, sent in said.items()}
        new["chats"] = {old["id"]: {"rejected": {}, **old, "sources": sources, "slots": chat_slots}}
        if "visitor" in old["sources"]:
            new["visitorChat"] = {"id": old["id"], "sentAt": said["visitor"]}
    return new


def _latest_word(src: str, *tables: dict[str, Any]) -> str | None:
    """The latest sentAt of what `src` said in these slots, None when nothing."""
    times = [slot[src]["sentAt"] for table in tables for slot in table.values() if src in slot]
    return max(times, key=timeutil.sort_key) if times else None


def _in_chat(path: str) -> bool:
    return path.startswith(CHAT_PATH) and path[len(CHAT_PATH) : len(CHAT_PATH) + 1] in (".", "[")


def _newer(sent_at: str, value: Any, held: dict[str, Any]) -> bool:
    """Within one source the later sentAt wins; equal times fall back to the
    value itself, so the result never depends on arrival order."""
    mine, theirs = timeutil.sort_key(sent_at), timeutil.sort_key(held["sentAt"])
    if mine != theirs:
        return mine > theirs
    return canonical_json(value) > canonical_json(held["value"])


def _offer_at(slots: dict[str, Any], path: str, src: str, value: Any, sent_at: str, seq: int) -> None:
    """`_offer` into the slot at `path`, copied before it is written (a
    source's first word on a value, the common case, is one new dict)."""
    slot = slots.get(path)
    if slot is None:
        slots[path] = {src: {"value": value, "sentAt": sent_at, "firstSeq": seq, "firstValue": value}}
    else:
        slot = slots[path] = dict(slot)
        _offer(slot, src, value, sent_at, seq)


def _offer(slot: dict[str, Any], src: str, value: Any, sent_at: str, seq: int) -> None:
    held = slot.get(src)
    if held is None:
        slot[src] = {"value": value, "sentAt": sent_at, "firstSeq": seq, "firstValue": value}
    elif _newer(sent_at, value, held):
        slot[src] = {**held, "value": value, "sentAt": sent_at}


def fold(
    policy: Policy, state: dict[str, Any] | None, report: dict[str, Any], now: str, keys: MessageKeys | None = None
) -> dict[str, Any]:
    """A new state with `report` (already checked) folded in. The given state
    is never changed: each dict on the way to a value this report offers is
    copied before it is written (copy on write); the rest is shared. With
    `keys`, each message copy's signature is verified as it comes in."""
    if state is None:
        state = empty_state(report["visitorId"])
    elif state.get("visitorId") != report["visitorId"]:
        raise ReportError(
            f"report is for visitor '{report['visitorId']}', but these reports are for '{state.get('visitorId')}'", "$.visitorId"
        )
    else:
        state = upgrade_state(state)
    chat = report.get("chat")
    seq = state["seq"]
    state = {**state, "seq": seq + 1, "now": now, "slots": dict(state["slots"])}
    src = source_key(report["source"])
    sent_at = report["sentAt"]
    slots = state["slots"]

    visitor = report.get("visitor")
    if visitor is not None:
        state["visitorSeen"] = True
        if visitor.get("status") is not None:
            _offer_at(slots, policy.status.path, src, visitor["status"], sent_at, seq)
        per_key, unread = policy.per_key_info, policy.unread_info
        for name, value in (visitor.get("info") or {}).items():
            if value is None:
                continue
            if name in per_key and isinstance(value, dict):
                _offer_keys(state, _info_path(name), value, src, sent_at, seq)
            else:  # withheld (unread): who sent it counts, the value is never held
                _offer_at(slots, _info_path(name), src, WITHHELD if name in unread else value, sent_at, seq)
    if chat:
        _fold_chat(policy, state, chat, src, sent_at, seq, keys)
        if src == "visitor":
            _visitor_chat(state, chat["id"], sent_at)
    wrapup = report.get("unfinishedWrapup")
    if wrapup is not None and report["source"]["type"] == "agent":
        held = state["wrapups"].get(report["source"]["id"])
        if held is None or _newer(sent_at, wrapup, held):
            state["wrapups"] = {**state["wrapups"], report["source"]["id"]: {"value": wrapup, "sentAt": sent_at}}
    return state


_PATHS: dict[tuple[str, str], str] = {}


def _path(section: str, name: str) -> str:
    """`$.<section>.<name>` (visitor.info, chat.props), built once per name
    (the names are the policy's)."""
    path = _PATHS.get((section, name))
    if path is None:
        path = json_path([*section.split("."), name])
        if len(_PATHS) < 4096:  # bounded, whatever names reports bring
            _PATHS[section, name] = path
    return path


def _info_path(name: str) -> str:
    return _path("visitor.info", name)


def _offer_keys(state: dict[str, Any], path: str, value: dict[str, Any], src: str, sent_at: str, seq: int) -> None:
    """A per-key map: each key is its own slot (copied before it is written)."""
    maps = state["maps"] = dict(state["maps"])
    keyed = maps[path] = dict(maps.get(path, ()))
    for key, item in value.items():
        if item is not None:
            slot = keyed[key] = dict(keyed.get(key, ()))
            _offer(slot, src, item, sent_at, seq)


def _fold_chat(
    policy: Policy, state: dict[str, Any], chat: dict[str, Any], src: str, sent_at: str, seq: int, keys: MessageKeys | None
) -> None:
    """One held chat per id: this report's props and message copies join the
    chat of the same id (a new id is a new chat, never an error). Each copy
    is screened once, here, and held with the counted copies or apart."""
    chats = state["chats"] = dict(state["chats"])
    held = chats.get(chat["id"])
    if held is None:
        held = {"id": chat["id"], "messages": {}, "rejected": {}, "sources": {}, "slots": {}}
    else:
        held = {
            **held,
            "messages": dict(held["messages"]),
            "rejected": dict(held["rejected"]),
            "sources": dict(held["sources"]),
            "slots": dict(held["slots"]),
        }
    seen = held["sources"].get(src)  # the latest sentAt of this source's reports that hold the chat
    if not isinstance(seen, str) or timeutil.sort_key(sent_at) > timeutil.sort_key(seen):
        held["sources"][src] = sent_at
    chats[chat["id"]] = held
    slots = held["slots"]
    for name, value in (chat.get("props") or {}).items():
        if value is not None:
            _offer_at(slots, _path("chat.props", name), src, value, sent_at, seq)
    counted, rejected = held["messages"], held["rejected"]
    for message in chat.get("messages") or ():
        rejection = screen(policy.chat, chat["id"], message, keys)
        message_id = message["id"]
        copies = counted.get(message_id)
        if rejection is None and (copies is None or src not in copies) and src not in rejected.get(message_id, ()):
            # the common case: this source's first copy, and it counts
            copies = counted[message_id] = dict(copies) if copies else {}
            copies[src] = {"value": message, "sentAt": sent_at, "firstSeq": seq, "firstValue": message}
        else:
            _hold_copy(held, src, message, sent_at, seq, rejection)


def _hold_copy(
    held: dict[str, Any], src: str, message: dict[str, Any], sent_at: str, seq: int, rejection: Rejection | None
) -> None:
    """The source's latest copy of a message, held with the counted copies
    or, when screening rejected it, apart with the reason (one place per
    source and message, so arrival order does not matter)."""
    message_id = message["id"]
    counted, rejected = held["messages"].get(message_id, {}), held["rejected"].get(message_id, {})
    mine = counted.get(src) or rejected.get(src)
    if mine is not None and not _newer(sent_at, message, mine):
        return
    for record, copies in (("messages", counted), ("rejected", rejected)):
        if src in copies:
            rest = {k: v for k, v in copies.items() if k != src}
            if rest:
                held[record][message_id] = rest
            else:
                del held[record][message_id]
    if rejection is None:
        slot = held["messages"][message_id] = dict(held["messages"].get(message_id, ()))
        slot[src] = {"value": message, "sentAt": sent_at, "firstSeq": seq, "firstValue": message}
    else:
        slot = held["rejected"][message_id] = dict(held["rejected"].get(message_id, ()))
        slot[src] = {"value": message, "sentAt": sent_at, "code": rejection.code, "reason": rejection.reason}


def _visitor_chat(state: dict[str, Any], chat_id: str, sent_at: str) -> None:
    """The visitor's current chat is the one its latest report holds (equal
    times: the larger chat id), whatever order the reports arrive in."""
    held = state["visitorChat"]
    if (
        held is None
        or held["sentAt"] is None
        or (timeutil.sort_key(sent_at), chat_id) > (timeutil.sort_key(held["sentAt"]), held["id"])
    ):
        state["visitorChat"] = {"id": chat_id, "sentAt": sent_at}
