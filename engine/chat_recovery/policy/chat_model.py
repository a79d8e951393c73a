"""The compiled chat policy: action rules (state from the message log) and
client rules (directives). Frozen, indexed by action."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..jsonio import loads
from .model import Origin

SENDER_TYPES = ("visitor", "agent", "bot", "system")  # the report schema's sender types (and the actor types)
TRUST_MODES = ("holders", "senders")  # the schema's trust modes; holders is the default


@dataclass(frozen=True)
class Condition:
    field: str  # e.g. "sender.type", "data.kind", "status", "state.chatType"
    values: frozenset[str]  # canonical JSON of each accepted value
    excluded: tuple[Any, ...] | None = None  # as written with `not:` (the values it leaves out), for people

    def written(self) -> dict[str, Any]:
        """The condition as the rule file says it, for docs, diffs and explain."""
        if self.excluded is not None:
            return {"not": sorted(loads(v) for v in self.excluded)}
        return {"in": sorted((loads(v) for v in self.values), key=lambda v: (v is None, str(v)))}

    def describe(self) -> str:
        """`status not in [chatEnded]` or `sender.type in [agent]`."""
        shown: Callable[[Any], str] = lambda vs: ", ".join("null" if v is None else str(v) for v in vs)  # noqa: E731
        form = self.written()
        if "not" in form:
            return f"{self.field} not in [{shown(form['not'])}]"
        return f"{self.field} in [{shown(form['in'])}]"


@dataclass(frozen=True)
class Effect:
    op: str  # set | remove | add | upsert
    field: tuple[Any, ...]  # path into the state, e.g. ("audioVideo", "state")
    value: Callable[[dict[str, Any]], Any]  # message -> value (expressions.MISSING when absent)
    key: str | None = None  # upsert: the item key
    source: str = ""  # the value as written (canonical JSON), so two policies compare


@dataclass(frozen=True)
class ActionRule:
    name: str
    action: str
    conditions: tuple[Condition, ...]
    priority: int
    effects: tuple[Effect, ...]
    status: str | None
    trust: frozenset[str] | None  # trust mode senders: report sides that may introduce it; None: by sender type
    origin: Origin


@dataclass(frozen=True)
class ClientRule:
    name: str
    statuses: frozenset[str] | None
    action: str | None
    missing_from: str | None
    wrapup: bool
    directives: tuple[Mapping[str, Any], ...]  # {to, do, seconds?, message?, wrapup?} as written
    origin: Origin


@dataclass(frozen=True)
class ChatPolicy:
    initial_state: Mapping[str, Any]  # deep-copied before use
    actors: Mapping[str, str]  # action -> the sender type that does it (a copy from another is malformed)
    trust_mode: str  # "holders": every holder's copy counts; "senders": `trust` decides who may introduce
    trust: Mapping[str, frozenset[str]]  # senders mode: sender type -> sides (empty in holders mode)
    trust_by_action: Mapping[str, frozenset[str]]  # senders mode: a rule's own `trust`, which overrides the above
    rules: tuple[ActionRule, ...]  # in matching order: by action, then priority, then definition
    by_action: Mapping[str, tuple[int, ...]]  # action -> indexes into rules
    condition_fields: tuple[str, ...]  # every field some rule tests (event keys c0, c1, ...)
    reads_by_action: Mapping[
        str, tuple[Any, ...]
    ]  # action -> (i, kind, read) per field its rules test; kind: status | state | message
    client: tuple[ClientRule, ...]
    signed: frozenset[str] = frozenset(SENDER_TYPES)  # actor types whose copies must verify when keys are given
    origins: Mapping[str, Origin] = field(
        default_factory=dict, compare=False
    )  # "state.<field>", "trust.<sender>", "actors.<action>" -> where written
