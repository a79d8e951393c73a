"""Values in action and client rules: literals, or references into the
message ($time, $sender.id, $data.field; `a | b` falls back to b, which
may be plain text). Compiled
once at load time into plain functions of the message."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..diagnostics import suggest

MISSING = object()  # a reference to a field the message lacks
REFERENCE = re.compile(r"^\$(time|id|action|text|sender\.(?:type|id)|data\.[A-Za-z0-9_]+)$")
Getter = Callable[[dict[str, Any]], Any]


class ExpressionError(ValueError):
    pass


def _reference(text: str) -> Getter:
    if not REFERENCE.match(text):
        known = ("$time", "$id", "$action", "$text", "$sender.type", "$sender.id")
        raise ExpressionError(
            f"unknown reference '{text}'{suggest(text, known)}: use $time, $id, $action, $text, $sender.type, $sender.id or $data.<field>"
        )
    parts = text[1:].split(".")

    def get(message: dict[str, Any]) -> Any:
        value: Any = message
        for part in parts:
            if not isinstance(value, dict) or value.get(part) is None:
                return MISSING
            value = value[part]
        return value

    return get


def _literal(text: str) -> Getter:
    return lambda message: text


def compile_value(template: Any) -> Getter:
    """A function of the message giving the value (MISSING when a reference
    is absent and has no fallback). Dict templates drop missing fields."""
    if isinstance(template, str) and template.startswith("$"):
        options = [
            _reference(part.strip()) if part.strip().startswith("$") else _literal(part.strip()) for part in template.split("|")
        ]

        def first(message: dict[str, Any]) -> Any:
            for option in options:
                value = option(message)
                if value is not MISSING:
                    return value
            return MISSING

        return first
    if isinstance(template, dict):
        fields = [(key, compile_value(value)) for key, value in template.items()]

        def build(message: dict[str, Any]) -> Any:
            out = {}
            for key, get in fields:
                value = get(message)
                if value is not MISSING:
                    out[key] = value
            return out

        return build
    if isinstance(template, list):
        items = [compile_value(value) for value in template]
        return lambda message: [v for v in (get(message) for get in items) if v is not MISSING]
    return lambda message: template
