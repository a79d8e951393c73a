"""Folding one checked report into the held state. The state records what
each source said (its latest word per value); it picks nothing, so that the
pick can stay independent of arrival order. `render` picks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import timeutil
from ..diagnostics import ReportError
from ..json_identity import canonical_json
from ..paths import json_path
from ..policy.model import Policy
from .sources import source_key

STATE_FORMAT = 1
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
        "chat": None,
        "wrapups": {},
    }


def _newer(sent_at: str, value: Any, held: dict[str, Any]) -> bool:
    """Within one source the later sentAt wins; equal times fall back to the
    value itself, so the result never depends on arrival order."""
    mine, theirs = timeutil.sort_key(sent_at), timeutil.sort_key(held["sentAt"])
    if mine != theirs:
        return mine > theirs
    return canonical_json(value) > canonical_json(held["value"])


def _offer(slot: dict[str, Any], src: str, value: Any, sent_at: str, seq: int) -> None:
    held = slot.get(src)
    if held is None:
        slot[src] = {"value": value, "sentAt": sent_at, "firstSeq": seq, "firstValue": value}
    elif _newer(sent_at, value, held):
        slot[src] = {**held, "value": value, "sentAt": sent_at}


def fold(policy: Policy, state: dict[str, Any] | None, report: dict[str, Any], now: str) -> dict[str, Any]:
    """A new state with `report` (already checked) folded in. The given state
    is never changed: each dict on the way to a value this report offers is
    copied before it is written (copy on write); the rest is shared."""
    if state is None:
        state = empty_state(report["visitorId"])
    elif state.get("visitorId") != report["visitorId"]:
        raise ReportError(
            f"report is for visitor '{report['visitorId']}', but these reports are for '{state.get('visitorId')}'", "$.visitorId"
        )
    chat = report.get("chat")
    if chat and state["chat"] and state["chat"]["id"] != chat["id"]:
        raise ReportError(
            f"chat '{chat['id']}' differs from chat '{state['chat']['id']}' already reported for this visitor", "$.chat.id"
        )
    seq = state["seq"]
    state = {**state, "seq": seq + 1, "now": now, "slots": dict(state["slots"])}
    src = source_key(report["source"])
    sent_at = report["sentAt"]
    slots = state["slots"]

    def offer(path: str, value: Any) -> None:
        slot = slots[path] = dict(slots.get(path, ()))
        _offer(slot, src, value, sent_at, seq)

    visitor = report.get("visitor")
    if visitor is not None:
        state["visitorSeen"] = True
        if visitor.get("status") is not None:
            offer(policy.status.path, visitor["status"])
        for name, value in (visitor.get("info") or {}).items():
            if value is None:
                continue
            if name in policy.per_key_info and isinstance(value, dict):
                _offer_keys(state, json_path(["visitor", "info", name]), value, src, sent_at, seq)
            elif name in policy.unread_info:  # withheld: who sent it counts, the value is never held
                offer(_path("visitor", "info", name), WITHHELD)
            else:
                offer(_path("visitor", "info", name), value)
    if chat:
        _fold_chat(state, chat, src, sent_at, seq, offer)
    wrapup = report.get("unfinishedWrapup")
    if wrapup is not None and report["source"]["type"] == "agent":
        held = state["wrapups"].get(report["source"]["id"])
        if held is None or _newer(sent_at, wrapup, held):
            state["wrapups"] = {**state["wrapups"], report["source"]["id"]: {"value": wrapup, "sentAt": sent_at}}
    return state


_PATHS: dict[tuple[str, ...], str] = {}


def _path(*parts: str) -> str:
    """A value's JSON path, built once per name (the names are the policy's)."""
    path = _PATHS.get(parts)
    if path is None:
        path = json_path(list(parts))
        if len(_PATHS) < 4096:  # bounded, whatever names reports bring
            _PATHS[parts] = path
    return path


def _offer_keys(state: dict[str, Any], path: str, value: dict[str, Any], src: str, sent_at: str, seq: int) -> None:
    """A per-key map: each key is its own slot (copied before it is written)."""
    maps = state["maps"] = dict(state["maps"])
    keyed = maps[path] = dict(maps.get(path, ()))
    for key, item in value.items():
        if item is not None:
            slot = keyed[key] = dict(keyed.get(key, ()))
            _offer(slot, src, item, sent_at, seq)


def _fold_chat(
    state: dict[str, Any], chat: dict[str, Any], src: str, sent_at: str, seq: int, offer: Callable[[str, Any], None]
) -> None:
    held = state["chat"]
    if held is None:
        held = {"id": chat["id"], "messages": {}, "sources": {}}
    else:
        held = {**held, "messages": dict(held["messages"]), "sources": dict(held["sources"])}
    held["sources"][src] = True
    state["chat"] = held
    for name, value in (chat.get("props") or {}).items():
        if value is not None:
            offer(_path("chat", "props", name), value)
    messages = held["messages"]
    for message in chat.get("messages") or ():
        slot = messages[message["id"]] = dict(messages.get(message["id"], ()))
        _offer(slot, src, message, sent_at, seq)
