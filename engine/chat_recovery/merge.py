"""Folding one checked report into the held state. The state records what
each source said (its latest word per value); it picks nothing, so that the
pick can stay independent of arrival order. `render` picks."""
from __future__ import annotations

import copy
import json
from typing import Any, Optional

from . import timeutil
from .diagnostics import ReportError
from .model import Policy
from .paths import json_path

STATE_FORMAT = 1


def source_key(source: dict) -> str:
    return "visitor" if source["type"] == "visitor" else f"agent:{source['id']}"


def source_of(key: str) -> dict:
    side, _, ident = key.partition(":")
    return {"type": "visitor"} if side == "visitor" else {"type": side, "id": ident}


def side_of(key: str) -> str:
    return key.partition(":")[0]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def empty_state(visitor_id: str) -> dict:
    return {"format": STATE_FORMAT, "visitorId": visitor_id, "now": None, "seq": 0,
            "visitorSeen": False, "slots": {}, "maps": {}, "chat": None, "wrapups": {}}


def _newer(sent_at: str, value: Any, held: dict) -> bool:
    """Within one source the later sentAt wins; equal times fall back to the
    value itself, so the result never depends on arrival order."""
    mine, theirs = timeutil.sort_key(sent_at), timeutil.sort_key(held["sentAt"])
    if mine != theirs:
        return mine > theirs
    return canonical_json(value) > canonical_json(held["value"])


def _offer(slot: dict, src: str, value: Any, sent_at: str, seq: int) -> None:
    held = slot.get(src)
    if held is None:
        slot[src] = {"value": value, "sentAt": sent_at, "firstSeq": seq, "firstValue": value}
    elif _newer(sent_at, value, held):
        slot[src] = {**held, "value": value, "sentAt": sent_at}


def fold(policy: Policy, state: Optional[dict], report: dict, now: str) -> dict:
    """A new state with `report` (already checked) folded in."""
    if state is None:
        state = empty_state(report["visitorId"])
    elif state.get("visitorId") != report["visitorId"]:
        raise ReportError(f"report is for visitor '{report['visitorId']}', but these reports are for '{state.get('visitorId')}'", "$.visitorId")
    state = copy.deepcopy(state)
    chat = report.get("chat")
    if chat and state["chat"] and state["chat"]["id"] != chat["id"]:
        raise ReportError(f"chat '{chat['id']}' differs from chat '{state['chat']['id']}' already reported for this visitor", "$.chat.id")
    seq = state["seq"]
    state["seq"] = seq + 1
    state["now"] = now
    src = source_key(report["source"])
    sent_at = report["sentAt"]
    offer = lambda path, value: _offer(state["slots"].setdefault(path, {}), src, value, sent_at, seq)  # noqa: E731

    visitor = report.get("visitor")
    if visitor is not None:
        state["visitorSeen"] = True
        if visitor.get("status") is not None:
            offer(policy.status.path, visitor["status"])
        for name, value in (visitor.get("info") or {}).items():
            if value is None:
                continue
            if name in policy.per_key_info and isinstance(value, dict):
                slots = state["maps"].setdefault(json_path(["visitor", "info", name]), {})
                for key, item in value.items():
                    if item is not None:
                        _offer(slots.setdefault(key, {}), src, item, sent_at, seq)
            else:
                offer(json_path(["visitor", "info", name]), value)
    if chat:
        held = state["chat"] or {"id": chat["id"], "messages": {}, "sources": {}}
        held["sources"][src] = True
        state["chat"] = held
        for name, value in (chat.get("props") or {}).items():
            if value is not None:
                offer(json_path(["chat", "props", name]), value)
        for message in chat.get("messages") or ():
            _offer(held["messages"].setdefault(message["id"], {}), src, message, sent_at, seq)
    wrapup = report.get("unfinishedWrapup")
    if wrapup is not None and report["source"]["type"] == "agent":
        held = state["wrapups"].get(report["source"]["id"])
        if held is None or _newer(sent_at, wrapup, held):
            state["wrapups"][report["source"]["id"]] = {"value": wrapup, "sentAt": sent_at}
    return state


def conflict(path: str, candidates: dict, decided: dict) -> dict:
    """A disagreement between reports: each source's word and the decision."""
    return {"path": path,
            "values": [{"source": source_of(s), "sentAt": c["sentAt"], "value": c["value"]}
                       for s, c in sorted(candidates.items())],
            "decided": decided}
