"""What changed between two compiled policies, rule by rule, as sentences a
product owner reads in review. Works on `Policy` and `ChatPolicy`, never on
the YAML, so descriptions, comments and key order cannot show up here."""

from __future__ import annotations

import json  # stdlib: values shown to people, spaced (", "), which orjson cannot write
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from ...policy.chat_model import ActionRule, ChatPolicy, ClientRule
from ...policy.model import Origin, Policy, PropertyRule, StatusRule, Strategy

BEHAVIOUR, CHECK, COSMETIC = "behaviour", "check", "cosmetic"


@dataclass(frozen=True, order=True)
class Change:
    """One structural change: where (in NEW, or in OLD for a removal), what
    it is about, and a sentence. `kind`: behaviour (recoveries may differ),
    check (what `policy check` proves) or cosmetic (no recovery differs)."""

    file: str
    line: int
    col: int
    subject: str
    message: str
    area: str = ""
    kind: str = BEHAVIOUR

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.line else self.file

    def __str__(self) -> str:
        return f"{self.where()}: {self.subject}: {self.message}"

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "area": self.area,
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
        }


def show(value: Any) -> str:
    """A value as the policy author wrote it: JSON, with lists unquoted names."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(value) + "]"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class _Collect:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def add(self, origin: Origin | None, area: str, subject: str, message: str, kind: str = BEHAVIOUR, file: str = "") -> None:
        if origin is None or not origin.file:
            self.changes.append(Change(file, 0, 0, subject, message, area, kind))
        else:
            self.changes.append(Change(origin.file, origin.line, origin.col, subject, message, area, kind))


def diff_policies(old: Policy, new: Policy) -> list[Change]:
    """Every structural change from OLD to NEW, in file:line order."""
    out = _Collect()
    renamed = _strategies(out, old, new)
    _properties(out, "visitor info", old.info, new.info, renamed)
    _properties(out, "chat props", old.chat_props, new.chat_props, renamed)
    _properties(out, "uploaded status", (old.status,), (new.status,), renamed)
    _statuses(out, old.statuses, new.statuses)
    if old.chat is not None and new.chat is not None:
        _chat(out, old.chat, new.chat)
    _invariants(out, getattr(old, "invariants", ()) or (), getattr(new, "invariants", ()) or (), new.root)
    _manifest(out, old, new)
    return sorted(out.changes)


def _manifest(out: _Collect, old: Policy, new: Policy) -> None:
    """The manifest's name, version and engine: stamped on recoveries, but
    no recovered value depends on them (both engines are checked to agree)."""
    for field_name, noun in (("name", "policy name"), ("version", "policy version"), ("engine", "rule engine")):
        was, now = getattr(old, field_name, None), getattr(new, field_name, None)
        if was != now:
            out.add(None, "manifest", field_name, f"{noun} {show(was)} -> {show(now)}", COSMETIC, new.root)


# -- strategies and properties ---------------------------------------------


def describe_strategy(s: Strategy) -> str:
    if s.value is not None:
        return f"value {s.value}"
    if not s.sides:
        return "from [] (recovers nothing)"
    return f"from {show(s.sides)}, pick {s.pick}"


def _same_strategy(a: Strategy, b: Strategy) -> bool:
    return (a.sides, a.pick, a.value) == (b.sides, b.pick, b.value)


def _users(policy: Policy, name: str) -> list[str]:
    rules = [*policy.info, *policy.chat_props, policy.status]
    return [("the uploaded status" if r.target == "visitor" else r.name) for r in rules if r.strategy.name == name]


def _strategies(out: _Collect, old: Policy, new: Policy) -> dict:
    """Strategy changes; returns {old name: new name} for renames with the
    same definition, so the properties that follow one are not flagged."""
    gone = {n: s for n, s in old.strategies.items() if n not in new.strategies}
    came = {n: s for n, s in new.strategies.items() if n not in old.strategies}
    renamed = {}
    for name, s in list(gone.items()):
        twin = next((n for n, t in came.items() if _same_strategy(s, t)), None)
        if twin is not None:
            renamed[name] = twin
            out.add(came.pop(twin).origin, "strategy", twin, f"renamed from {name} (same definition)", COSMETIC)
            del gone[name]
    for name, s in gone.items():
        out.add(s.origin, "strategy", name, f"strategy removed (was {describe_strategy(s)})", COSMETIC)
    for name, s in came.items():
        users = _users(new, name)
        out.add(
            s.origin,
            "strategy",
            name,
            f"new strategy: {describe_strategy(s)}" + (f"; used by {', '.join(users)}" if users else " (not used yet)"),
            BEHAVIOUR if users else COSMETIC,
        )
    for name, s in new.strategies.items():
        before = old.strategies.get(name)
        if before is not None and not _same_strategy(before, s):
            users = _users(new, name)
            affects = f"; affects {len(users)}: {', '.join(users)}" if users else " (not used)"
            out.add(
                s.origin,
                "strategy",
                name,
                f"{describe_strategy(before)} -> {describe_strategy(s)}{affects}",
                BEHAVIOUR if users else COSMETIC,
            )
    return renamed


def _when(statuses: frozenset | None) -> str:
    return "in every status" if statuses is None else "only when the status is " + " or ".join(sorted(statuses))


def _properties(out: _Collect, area: str, old: Iterable[PropertyRule], new: Iterable[PropertyRule], renamed: dict) -> None:
    before = {r.name: r for r in old}
    after = {r.name: r for r in new}
    for name, r in before.items():
        if name not in after:
            out.add(r.origin, area, name, f"property removed (was strategy {r.strategy.name}): no longer recovered")
    for name, r in after.items():
        was = before.get(name)
        if was is None:
            out.add(r.origin, area, name, f"new property, strategy {r.strategy.name} ({describe_strategy(r.strategy)})")
            continue
        if was.strategy.name != r.strategy.name:
            same = renamed.get(was.strategy.name) == r.strategy.name
            text = f"strategy {was.strategy.name} -> {r.strategy.name}"
            if same or _same_strategy(was.strategy, r.strategy):
                out.add(r.origin, area, name, text + " (same definition)", COSMETIC)
            else:
                out.add(r.origin, area, name, f"{text} ({describe_strategy(was.strategy)} -> {describe_strategy(r.strategy)})")
        if was.when_status != r.when_status:
            out.add(r.origin, area, name, f"recovered {_when(was.when_status)} -> {_when(r.when_status)}")
        if was.per_key != r.per_key:
            out.add(
                r.origin,
                area,
                name,
                "now merged key by key" if r.per_key else "no longer merged key by key (one report's whole map wins)",
            )


# -- statuses ----------------------------------------------------------------


def _recovered(rule: StatusRule) -> str:
    return rule.recover_as if rule.recover_as is not None else "nothing (no visitor)"


def _statuses(out: _Collect, old: Mapping[str, StatusRule], new: Mapping[str, StatusRule]) -> None:
    area = "status"
    for name, r in old.items():
        if name not in new:
            out.add(r.origin, area, name, f"status removed (was recovered as {_recovered(r)}): reports with it are now refused")
    for name, r in new.items():
        was = old.get(name)
        if was is None:
            out.add(r.origin, area, name, f"new status, recovered as {_recovered(r)}")
            continue
        if was.recover_as != r.recover_as:
            out.add(r.origin, area, name, f"recovered as {_recovered(was)} -> {_recovered(r)}")
        for prop in sorted(set(dict(r.sets)) - set(dict(was.sets))):
            out.add(r.origin, area, name, f"now sets {prop} to {dict(r.sets)[prop]}")
        for prop in sorted(set(dict(was.sets)) - set(dict(r.sets))):
            out.add(r.origin, area, name, f"no longer sets {prop}")
        if was.chat_related != r.chat_related:
            out.add(r.origin, area, name, "chat-related: no -> yes" if r.chat_related else "chat-related: yes -> no")


# -- chat: state, trust, action rules, client rules ----------------------------


def _section(
    out: _Collect, area: str, old: ChatPolicy, new: ChatPolicy, before: Mapping, after: Mapping, say: Callable[[Any], str]
) -> None:
    """A keyed table of the chat policy (initial state, trust), field by field."""
    file = next(iter(new.origins.values())).file if new.origins else ""
    for key in sorted(set(before) | set(after)):
        here = new.origins.get(f"{area}.{key}") or old.origins.get(f"{area}.{key}")
        subject = f"{area}.{key}"
        if key not in after:
            out.add(here, area, subject, f"removed (was {say(before[key])})", file=file)
        elif key not in before:
            out.add(here, area, subject, f"new: {say(after[key])}", file=file)
        elif say(before[key]) != say(after[key]):
            out.add(here, area, subject, f"{say(before[key])} -> {say(after[key])}", file=file)


def _chat(out: _Collect, old: ChatPolicy, new: ChatPolicy) -> None:
    _section(out, "state", old, new, old.initial_state, new.initial_state, lambda v: "starts as " + show(v))
    if old.trust_mode != new.trust_mode:
        here = new.origins.get("trust.mode") or next(iter(new.origins.values()), None)
        out.add(here, "trust", "trust.mode", f"{old.trust_mode} -> {new.trust_mode}", file=here.file if here else "")
    _section(out, "trust", old, new, old.trust, new.trust, lambda v: "believed from " + show(sorted(v)) + " reports")
    _section(out, "actors", old, new, old.actors, new.actors, lambda v: "done by " + str(v))
    if old.signed != new.signed:  # with message keys, which actor types' copies must verify
        file = next(iter(new.origins.values())).file if new.origins else ""
        out.add(None, "signatures", "signatures.required", f"{show(sorted(old.signed))} -> {show(sorted(new.signed))}", file=file)
    _keyed(out, "action rule", {r.name: r for r in old.rules}, {r.name: r for r in new.rules}, _action_facts)
    _keyed(out, "client rule", {r.name: r for r in old.client}, {r.name: r for r in new.client}, _client_facts)
    order_old = [r.name for r in old.client if r.name in {c.name for c in new.client}]
    order_new = [r.name for r in new.client if r.name in set(order_old)]
    if order_old != order_new and new.client:
        out.add(
            new.client[0].origin,
            "client rule",
            "order",
            f"client rules run {show(order_old)} -> {show(order_new)}; directives are listed in rule order",
        )


def _action_facts(r: ActionRule) -> dict:
    """(noun, label) -> value: what a rule is, so two versions compare fact by fact."""
    when = "; ".join(c.describe() for c in r.conditions) if r.conditions else "always"
    facts = {
        ("", "on"): r.action,
        ("", "when"): when,
        ("", "priority"): str(r.priority),
        ("", "status"): r.status or "none (status unchanged)",
        ("", "trust"): show(sorted(r.trust)) if r.trust is not None else "by sender type",
    }
    for e in r.effects:
        facts[("effect", f"{e.op} {'.'.join(e.field)}")] = e.source
    return facts


def _client_facts(r: ClientRule) -> dict:
    when = {
        "status": sorted(r.statuses) if r.statuses is not None else None,
        "action": r.action,
        "missingFrom": r.missing_from,
        "wrapup": r.wrapup or None,
    }
    facts = {("", "when"): show({k: v for k, v in when.items() if v is not None})}
    for d in r.directives:
        label = f"to {d['to']}: {d['do']}"
        while ("directive", label) in facts:
            label += " (again)"
        facts[("directive", label)] = " ".join(f"{k} {v}" for k, v in sorted(d.items()) if k not in ("to", "do"))
    return facts


def _keyed(out: _Collect, area: str, before: dict, after: dict, facts: Callable[[Any], dict]) -> None:
    """Rules matched by name; a rule renamed with nothing else changed is cosmetic."""
    gone = {n: r for n, r in before.items() if n not in after}
    came = {n: r for n, r in after.items() if n not in before}
    for name, r in list(gone.items()):
        twin = next((n for n, t in came.items() if facts(t) == facts(r)), None)
        if twin is not None:
            out.add(came.pop(twin).origin, area, twin, f"renamed from {name} (same rule)", COSMETIC)
            del gone[name]
    for name, r in gone.items():
        out.add(r.origin, area, name, "rule removed (was " + _summary(facts(r)) + ")")
    for name, r in came.items():
        out.add(r.origin, area, name, "new rule: " + _summary(facts(r)))
    for name, r in after.items():
        if name in before:
            was, now = facts(before[name]), facts(r)
            for key in [*was, *(k for k in now if k not in was)]:
                if was.get(key) != now.get(key):
                    out.add(r.origin, area, name, _fact_change(key, was.get(key), now.get(key)))


def _fact_change(key: tuple, was: str | None, now: str | None) -> str:
    noun, label = key
    if was is None:
        return f"new {noun}: {label} {now}".rstrip()
    if now is None:
        return f"{noun} removed: {label} {was}".rstrip()
    return f"{label} {was} -> {now}"


DEFAULT_FACTS = {"when": "always", "priority": "0", "status": "none (status unchanged)", "trust": "by sender type"}


def _summary(facts: dict) -> str:
    """A whole rule in one line, defaults left out."""
    return "; ".join(f"{label} {value}".rstrip() for (_, label), value in facts.items() if DEFAULT_FACTS.get(label) != value)


# -- invariants (an optional Policy field) ---------------------------------------


def essence(value: Any) -> Any:
    """Plain data for comparing compiled objects: origins and functions left
    out, sets sorted, so moving a rule or editing its description is no change."""
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: essence(getattr(value, f.name))
            for f in fields(value)
            if f.name not in ("origin", "description") and not callable(getattr(value, f.name))
        }
    if isinstance(value, Mapping):
        return {str(k): essence(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((essence(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, (list, tuple)):
        return [essence(v) for v in value]
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def _invariants(out: _Collect, old: Iterable, new: Iterable, root: str) -> None:
    def name(inv: Any) -> str:
        return str(getattr(inv, "name", None) or json.dumps(essence(inv), sort_keys=True))

    before = {name(i): i for i in old}
    after = {name(i): i for i in new}
    for key, inv in before.items():
        if key not in after:
            out.add(
                getattr(inv, "origin", None),
                "invariant",
                key,
                "invariant removed: `policy check` no longer proves it",
                CHECK,
                root,
            )
    for key, inv in after.items():
        if key not in before:
            out.add(getattr(inv, "origin", None), "invariant", key, "new invariant: `policy check` proves it", CHECK, root)
            continue
        was, now = essence(before[key]), essence(inv)
        if not (isinstance(was, dict) and isinstance(now, dict)):
            was, now = {"": was}, {"": now}
        for field_name in sorted(set(was) | set(now)):
            if was.get(field_name) != now.get(field_name):
                out.add(
                    getattr(inv, "origin", None),
                    "invariant",
                    key,
                    f"{field_name} {json.dumps(was.get(field_name), ensure_ascii=False)} -> {json.dumps(now.get(field_name), ensure_ascii=False)}".lstrip(),
                    CHECK,
                    root,
                )
