"""The compiled policy: frozen, indexed, and not the YAML's shape. The merge
reads only these types. Plain data: no engine, cache or other runtime object
(the engines that replay a policy live beside it, in `replay`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # both import this module, for Origin
    from .chat_model import ChatPolicy
    from .contract import ReportValidator

SIDES = ("visitor", "agent")


@dataclass(frozen=True)
class Origin:
    """Where a rule was written: shown in explain output and errors."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Strategy:
    name: str
    sides: tuple[str, ...]  # highest priority first; empty: not recovered
    pick: str | None  # a pick strategy ("first", ...), None for computed values
    value: str | None  # a computed value ("now"), None when read from reports
    origin: Origin
    ranks: Mapping[str, int] = field(init=False, compare=False, repr=False)  # side -> rank, 0 first

    def __post_init__(self) -> None:
        object.__setattr__(self, "ranks", frozen_map({side: i for i, side in enumerate(self.sides)}))

    def rank(self, side: str) -> int:
        return self.ranks[side]


@dataclass(frozen=True)
class PropertyRule:
    target: str  # "visitor.info", "chat.props", "visitor"
    name: str
    path: str  # JSONPath of the recovered value
    strategy: Strategy
    per_key: bool
    when_status: frozenset[str] | None
    origin: Origin


@dataclass(frozen=True)
class StatusRule:
    status: str
    recover_as: str | None  # None: not recovered
    sets: tuple[tuple[str, str], ...]  # (info property, computed value)
    chat_related: bool
    origin: Origin


@dataclass(frozen=True)
class Invariant:
    """A property of the chat's status machine that `policy check` proves."""

    name: str
    kind: str  # a key of authoring.check.invariants.KINDS (the schema's forms)
    named: tuple[
        tuple[str, tuple[str, ...]], ...
    ]  # (role, statuses) pairs as written: role "" for a bare status or list, else the key (from, to, status)
    actions: frozenset[str] = frozenset()  # the form's `actions`: message actions it names
    origin: Origin = Origin("", 0, 0)

    def statuses(self, role: str = "") -> tuple[str, ...]:
        """The statuses the form names under `role` ("" for a bare one)."""
        return dict(self.named).get(role, ())


@dataclass(frozen=True)
class Policy:
    """What `load_policy` returns; apply it with `recover` or `apply`."""

    root: str
    digest: str
    strategies: Mapping[str, Strategy]
    info: tuple[PropertyRule, ...]
    chat_props: tuple[PropertyRule, ...]
    status: PropertyRule  # picks one uploaded status
    statuses: Mapping[str, StatusRule]
    per_key_info: frozenset[str]  # info properties merged key by key
    validate_report: ReportValidator  # problems of a report, and a quick yes
    time_fields: frozenset[str]  # visitor.info keys holding times
    chat: ChatPolicy  # action and client rules
    name: str | None = None  # from the optional manifest (policy.yaml)
    version: str | None = None
    engine: str = "auto"  # the manifest's choice; callers may override
    invariants: tuple[Invariant, ...] = ()  # what `policy check` proves
    unread_info: frozenset[str] = frozenset()  # info properties read from no report (none): held without their value


def frozen_map(d: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))
