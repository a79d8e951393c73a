"""What two policies recover differently from the same reports: each case
is recovered under both, and every path whose value differs is listed.
Pure: cases come in as data, results go out as data."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ...api import recover
from ...diagnostics import RecoveryError, ReportError
from ...json_identity import canonical_json
from ...paths import json_path
from ...policy.model import Policy

DEFAULT_NOW = "2026-11-24T09:00:30Z"  # the examples' time; never the clock, so a diff is reproducible


class _Absent:
    """A path one recovery has and the other lacks."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT = _Absent()


def _dotted(dotted: str) -> Callable[[Any], str]:
    def key(item: Any) -> str:
        for part in dotted.split("."):
            item = item.get(part) if isinstance(item, dict) else None
        return str(item)

    return key


def _directive_key(item: dict) -> str:
    """`visitor keepHeartbeat`, `agent a-7 restoreWrapup`, `visitor deliverMessage m-2`."""
    to = item.get("to") or {}
    parts = [to.get("type"), to.get("id"), item.get("do"), (item.get("message") or {}).get("id")]
    return " ".join(str(p) for p in parts if p)


def _set_aside_key(item: dict) -> str:
    """`m-3 held by visitor`: a message may have several rejected copies, one per holder."""
    held = ", ".join(" ".join(str(v) for v in (h.get("type"), h.get("id")) if v) for h in item.get("heldBy") or ())
    return f"{(item.get('message') or {}).get('id')} held by {held}"


# Lists compared item by item, by key, so one item more is one change (not a
# shifted list).
KEYED_LISTS: dict[tuple, Callable[[Any], str]] = {
    ("chat", "messages"): _dotted("id"),
    ("setAside",): _set_aside_key,
    ("conflicts",): _dotted("path"),
    ("withheld",): _dotted("path"),
    ("directives",): _directive_key,
    ("otherChats",): _dotted("id"),
    ("otherChats", "*", "messages"): _dotted("id"),
    ("otherChats", "*", "setAside"): _dotted("message.id"),
    ("otherChats", "*", "directives"): _directive_key,
}


def _shape(path: tuple) -> tuple:
    """A path as KEYED_LISTS names it: list positions as `*`."""
    return tuple("*" if isinstance(part, int) else part for part in path)


IGNORED = ("explain", "policy")  # explain holds rule locations, policy the digest: they differ by design


@dataclass(frozen=True)
class Case:
    """One visitor's reports to recover under both policies."""

    name: str  # as shown, e.g. corpus/transfer-accepted
    reports: tuple
    now: str = DEFAULT_NOW
    where: str = ""  # file:line of a suite case, or the set's folder


@dataclass(frozen=True)
class ValueChange:
    path: str
    old: Any
    new: Any

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "old": None if self.old is ABSENT else self.old,
            "new": None if self.new is ABSENT else self.new,
            "oldAbsent": self.old is ABSENT,
            "newAbsent": self.new is ABSENT,
        }


@dataclass(frozen=True)
class CaseDiff:
    case: Case
    changes: tuple[ValueChange, ...] = field(default_factory=tuple)


def outcome(policy: Policy, case: Case) -> dict:
    """The recovery, or {"rejected": why} when the policy refuses the reports."""
    try:
        return recover(policy, case.reports, case.now)
    except (ReportError, RecoveryError) as exc:
        return {"rejected": str(exc)}


def compare(old: Policy, new: Policy, cases: Iterable[Case]) -> list[CaseDiff]:
    """Every case with the paths whose value differs (empty when none does)."""
    return [CaseDiff(case, tuple(diff_recoveries(outcome(old, case), outcome(new, case)))) for case in cases]


def diff_recoveries(old: dict, new: dict) -> list[ValueChange]:
    if "rejected" in old or "rejected" in new:
        if old == new:
            return []
        say = lambda r: f"rejected: {r['rejected']}" if "rejected" in r else "recovered"  # noqa: E731
        return [ValueChange("$", say(old), say(new))]
    out: list[ValueChange] = []
    _walk((), _normal(old, ()), _normal(new, ()), out)
    return out


def _normal(value: Any, path: tuple) -> Any:
    """Recovery data as compared: rule locations dropped, keyed lists as maps."""
    if isinstance(value, dict):
        return {k: _normal(v, path + (k,)) for k, v in value.items() if k != "rule" and not (not path and k in IGNORED)}
    if isinstance(value, list) and _shape(path) in KEYED_LISTS:
        key_of = KEYED_LISTS[_shape(path)]
        out = _Keyed()
        for i, item in enumerate(value):
            key = key_of(item)
            while key in out:  # two items with one key: keep both
                key += "+"
            out[key] = _normal(item, path + (i,))
        return out
    return value


class _Keyed(dict):
    """A list shown by key: `$.chat.messages['m-1']`."""


def _leaf(path: tuple) -> bool:
    """A conflict's decision and its sources read best whole, one line each."""
    return len(path) == 3 and path[0] == "conflicts"


def _walk(path: tuple, old: Any, new: Any, out: list) -> None:
    if isinstance(old, dict) and isinstance(new, dict) and isinstance(old, _Keyed) == isinstance(new, _Keyed) and not _leaf(path):
        for key in [*old, *(k for k in new if k not in old)]:
            _walk(path + (key,), old.get(key, ABSENT), new.get(key, ABSENT), out)
        return
    if old is ABSENT or new is ABSENT or canonical_json(old) != canonical_json(new):
        out.append(ValueChange(json_path(path) if path else "$", _plain(old), _plain(new)))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return list(map(_plain, value.values())) if isinstance(value, _Keyed) else {k: _plain(v) for k, v in value.items()}
    return value


def show_value(value: Any) -> str:
    return "(absent)" if value is ABSENT else canonical_json(value)


def _decision(decided: Any) -> str:
    """A conflict's decision as a person reads it: `"dep-billing" (agentOverrideVisitor, agent a-7)`."""
    if not isinstance(decided, dict):
        return show_value(decided)
    source = decided.get("source") or {}
    who = " ".join(str(source[k]) for k in ("type", "id") if source.get(k))
    how = ", ".join(p for p in (decided.get("strategy"), who) if p)
    return f"{canonical_json(decided.get('value'))} ({how})"


def show_change(change: ValueChange) -> tuple[str, str]:
    """Old and new as text; a conflict's decision in one short phrase."""
    if change.path.startswith("$.conflicts[") and change.path.endswith("].decided"):
        return _decision(change.old), _decision(change.new)
    return show_value(change.old), show_value(change.new)


def deduplicate(cases: Iterable[Case]) -> list[Case]:
    """One case per distinct (reports, now), the first name kept."""
    seen: set = set()
    out = []
    for case in cases:
        key = canonical_json([list(case.reports), case.now])
        if key not in seen:
            seen.add(key)
            out.append(case)
    return out
