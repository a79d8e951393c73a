"""The plain-Python matcher: for the message's action, the first rule (by
priority, then definition) whose conditions all hold."""

from __future__ import annotations

from typing import Any

from ..policy.chat_model import ChatPolicy


class PythonEngine:
    name = "python"

    def __init__(self, chat: ChatPolicy):
        self._rules = chat.rules
        self._by_action = chat.by_action
        self._fields = {f: f"c{i}" for i, f in enumerate(chat.condition_fields)}

    def open(self) -> PythonEngine:
        return self

    def fire(self, event: dict[str, Any]) -> int | None:
        for index in self._by_action.get(event["action"], ()):
            rule = self._rules[index]
            if all(event.get(self._fields[c.field]) in c.values for c in rule.conditions):
                return index
        return None

    def close(self) -> None:
        pass
