"""What each client must do next: the client rules applied to a recovery."""

from __future__ import annotations

from typing import Any

from ..json_identity import canonical_json
from ..policy.chat_model import ChatPolicy
from .chat import ChatResult
from .sources import side_of


def directives(chat: ChatPolicy, status: str | None, result: ChatResult | None, wrapups: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    agents = sorted(s.partition(":")[2] for s in (result.reporters if result else ()) if side_of(s) == "agent")
    for rule in chat.client:
        if rule.statuses is not None and status not in rule.statuses:
            continue
        matches: list[Any] = [None]
        if rule.action is not None:
            if result is None:
                continue
            matches = [
                m
                for m in result.messages
                if m["action"] == rule.action
                and m["id"] in result.fired
                and rule.missing_from not in {side_of(s) for s in result.holders[m["id"]]}
            ]
        wrapped: list[Any] = [None]
        if rule.wrapup:
            wrapped = sorted(wrapups.items())
        for message in matches:
            for wrapup in wrapped:
                for spec in rule.directives:
                    for to in _recipients(spec["to"], agents, wrapup):
                        item = {"to": to, "do": spec["do"]}
                        if "seconds" in spec:
                            item["seconds"] = spec["seconds"]
                        if spec.get("message") == "$message":
                            item["message"] = message
                        if spec.get("wrapup") == "$wrapup":
                            item["wrapup"] = wrapup[1]
                        item["rule"] = str(rule.origin)
                        out.append(item)
    unique: dict[str, dict[str, Any]] = {}
    for item in out:
        unique.setdefault(canonical_json({k: v for k, v in item.items() if k != "rule"}), item)
    return list(unique.values())


def _recipients(to: str, agents: list[Any], wrapup: tuple[str, Any] | None) -> list[Any]:
    if to == "visitor":
        return [{"type": "visitor"}]
    if to == "agents":
        return [{"type": "agent", "id": a} for a in agents]
    return [{"type": "agent", "id": wrapup[0]}] if wrapup else []
