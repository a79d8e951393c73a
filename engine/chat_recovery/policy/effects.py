"""The effect ops an action rule may use (`set:`, `remove:`, `add:`,
`upsert:` in chat-actions.yaml), one entry each: whether it needs a list
field, how its value is compiled, how it changes the chat state, how the
generated docs write it, and what it means. The table's order is the order
a rule's effects run in (remove before add: a transfer accepted by its own
agent keeps it).

Here, below the compile and the replay, because both read it: the compile
for the order and the shapes, `recovery.chat` (and `policy check`'s state
space) to apply it. A new op is one entry here plus its key in the rule
schema (schemas/policy-chat-actions.schema.json); tests/test_closed_sets.py
holds the two to the same names."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .expressions import MISSING, compile_value


@dataclass(frozen=True)
class EffectOp:
    name: str
    list_only: bool  # the field must start as a list (and not be nested)
    compile: Callable[[Any], tuple[Callable[[dict[str, Any]], Any], str | None]]  # as written -> (message -> value, item key)
    apply: Callable[[dict[str, Any], str, Any, str | None], None]  # (parent, field, value, item key): changes the parent
    written: Callable[[str, Any, Callable[[Any], str]], str]  # (field, as written, literal) -> how the docs show it
    doc: str


def _plain(template: Any) -> tuple[Callable[[dict[str, Any]], Any], str | None]:
    return compile_value(template), None


def _keyed(template: Any) -> tuple[Callable[[dict[str, Any]], Any], str | None]:
    return compile_value(template["value"]), template["by"]


def _set(target: dict[str, Any], last: str, value: Any, key: str | None) -> None:
    # a copy of a list or mapping: a later effect may write inside it, and
    # the message it came from is shared with the held state
    target[last] = None if value is MISSING else (copy.deepcopy(value) if isinstance(value, (dict, list)) else value)


def _remove(target: dict[str, Any], last: str, value: Any, key: str | None) -> None:
    if value is not MISSING:
        target[last] = [item for item in target[last] if item != value]


def _add(target: dict[str, Any], last: str, value: Any, key: str | None) -> None:
    if value is MISSING:
        return
    items = target[last]
    if value not in items:
        items.append(value)


def _upsert(target: dict[str, Any], last: str, value: Any, key: str | None) -> None:
    if value is MISSING:
        return
    items = target[last]
    wanted = value.get(key)
    for i, item in enumerate(items):
        if wanted is not None and isinstance(item, dict) and item.get(key) == wanted:
            items[i] = {**item, **value}
            return
    items.append(value)


EFFECT_OPS: Mapping[str, EffectOp] = MappingProxyType(
    {
        op.name: op
        for op in (
            EffectOp(
                "set",
                False,
                _plain,
                _set,
                lambda field, v, literal: f"{field} = {literal(v)}",
                "`field = value`: sets a state field (dotted for nested); a reference to an absent field sets null",
            ),
            EffectOp(
                "remove",
                True,
                _plain,
                _remove,
                lambda field, v, literal: f"{field} -= {literal(v)}",
                "`field -= value`: removes the value from a list field",
            ),
            EffectOp(
                "add",
                True,
                _plain,
                _add,
                lambda field, v, literal: f"{field} += {literal(v)}",
                "`field += value`: appends the value to a list field unless it is already there",
            ),
            EffectOp(
                "upsert",
                True,
                _keyed,
                _upsert,
                lambda field, v, literal: f"{field} upsert by {v['by']}: {literal(v['value'])}",
                "`field upsert by key: item`: replaces the item of a list field whose `key` matches, else appends it",
            ),
        )
    }
)
