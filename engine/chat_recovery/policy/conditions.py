"""The fields an action rule's `when` may test, one entry per kind: its
alternative in the schema's pattern, what the replay reads for it (the
message, or the chat's status or state before the message), the values
`{not: ...}` may leave out (None: `not` is refused) and its docs text.
The compile reads this table (`kind_of`); a new kind is one entry here plus
its alternative and example in the rule schema's `when` propertyNames
(schemas/policy-chat-actions.schema.json); tests/test_closed_sets.py holds
the two to the same names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..diagnostics import Code
from .chat_model import SENDER_TYPES
from .expressions import compile_value

FIELD = "<field>"  # in a kind's name: any field name


@dataclass(frozen=True)
class ConditionKind:
    name: str  # as the docs and the schema's examples write it, e.g. "data.<field>"
    pattern: str  # its alternative in the schema's propertyNames pattern
    reader: Callable[[str], tuple[Any, ...]]  # field -> (what the replay reads: status | state | message, how)
    universe: Callable[
        [tuple[Any, ...]], tuple[Any, ...] | None
    ]  # the policy's statuses -> every value the field may hold, or None: open
    doc: str
    unknown: Code | None = None  # the code a value outside the universe gets at compile; None: `policy check` warns instead

    @property
    def prefix(self) -> str | None:
        """'data.' for 'data.<field>'; None for a single field."""
        return self.name[: -len(FIELD)] if self.name.endswith(FIELD) else None


def _message(field: str) -> tuple[Any, ...]:
    return ("message", compile_value("$" + field))


def _open(statuses: tuple[Any, ...]) -> tuple[Any, ...] | None:
    return None


CONDITIONS: Mapping[str, ConditionKind] = MappingProxyType(
    {
        k.name: k
        for k in (
            ConditionKind(
                "status",
                "status",
                lambda field: ("status", None),
                lambda statuses: (None, *statuses),
                "the chat-related status before the message (null: none yet)",
                Code.UNKNOWN_STATUS,
            ),
            ConditionKind(
                "state.<field>",
                r"state\.[A-Za-z0-9_]+",
                lambda field: ("state", field[len("state.") :]),
                _open,
                "a field of the chat state before the message",
            ),
            ConditionKind(
                "sender.type",
                r"sender\.type",
                _message,
                lambda statuses: SENDER_TYPES,
                f"the message's sender type ({', '.join(SENDER_TYPES[:-1])} or {SENDER_TYPES[-1]})",
            ),
            ConditionKind("sender.id", r"sender\.id", _message, _open, "the message's sender id"),
            ConditionKind("data.<field>", r"data\.[A-Za-z0-9_]+", _message, _open, "a field of the message's data"),
        )
    }
)


def kind_of(field: str) -> ConditionKind:
    """The kind of a field the schema admitted."""
    exact = CONDITIONS.get(field)
    if exact is not None:
        return exact
    return next(k for k in CONDITIONS.values() if k.prefix and field.startswith(k.prefix))


def closed_kinds() -> list[str]:
    """The kinds `not` may be used on."""
    return [k.name for k in CONDITIONS.values() if k.universe(()) is not None]
