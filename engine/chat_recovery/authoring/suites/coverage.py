"""Which rules the test cases exercised, read from what the recoveries really
used: explain entries (the rule and strategy behind each value, the action
rule of each message, the client rule of each directive), the property rows
that had a value to decide, and the status row of the uploaded status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ...policy.model import Origin, Policy
from ...recovery.render import pick
from .runner import CaseResult


@dataclass(frozen=True)
class Item:
    """One rule or table row that a test can exercise."""

    kind: str  # property | status | strategy | action rule | client rule
    name: str
    origin: Origin

    def __str__(self) -> str:
        return f"{self.origin}: not covered: {self.kind} '{self.name}'"


@dataclass(frozen=True)
class Coverage:
    items: tuple
    covered: frozenset  # origin strings

    @property
    def missing(self) -> list:
        return [i for i in self.items if str(i.origin) not in self.covered]

    @property
    def percent(self) -> float:
        if not self.items:
            return 100.0
        return 100.0 * (len(self.items) - len(self.missing)) / len(self.items)

    def to_dict(self) -> dict:
        return {
            "percent": round(self.percent, 1),
            "total": len(self.items),
            "covered": len(self.items) - len(self.missing),
            "missing": [
                {"file": i.origin.file, "line": i.origin.line, "col": i.origin.col, "kind": i.kind, "name": i.name}
                for i in self.missing
            ],
        }


def items(policy: Policy) -> tuple:
    """Every rule of the policy, in file order."""
    found = [Item("strategy", s.name, s.origin) for s in policy.strategies.values()]
    found += [Item("property", f"{r.target}.{r.name}", r.origin) for r in (*policy.info, *policy.chat_props)]
    found.append(Item("status", "status strategy", policy.status.origin))
    found += [Item("status", s.status, s.origin) for s in policy.statuses.values()]
    found += [Item("action rule", r.name, r.origin) for r in policy.chat.rules]
    found += [Item("client rule", r.name, r.origin) for r in policy.chat.client]
    return tuple(sorted(found, key=lambda i: (i.origin.file, i.origin.line, i.origin.col)))


def used(policy: Policy, result: CaseResult) -> set:
    """Origins of the rules one case's recovery used."""
    recovery, state = result.recovery, result.state
    if recovery is None or state is None:
        return set()
    out = set()
    for entry in recovery.get("explain", {}).values():
        if entry.get("rule"):
            out.add(entry["rule"])
        strategy = policy.strategies.get(entry.get("strategy"))
        if strategy is not None:
            out.add(str(strategy.origin))
    told = [*recovery.get("directives", []), *(d for chat in recovery.get("otherChats", []) for d in chat["directives"])]
    out.update(d["rule"] for d in told if d.get("rule"))
    held = [state.get("slots", {}), state.get("maps", {})] + [chat["slots"] for chat in state.get("chats", {}).values()]
    for rule in _consulted(policy, recovery):
        if any(slots.get(rule.path) for slots in held):
            out.update((str(rule.origin), str(rule.strategy.origin)))
    uploaded = pick(policy.status.strategy, state.get("slots", {}).get(policy.status.path, {}), state["now"])
    if uploaded is not None and uploaded.value in policy.statuses:
        out.add(str(policy.statuses[uploaded.value].origin))
    return out


def _consulted(policy: Policy, recovery: dict) -> Iterable:
    """The property rules a recovery asked to decide: a row with a value to
    decide and nothing kept (strategy none, a side it does not read) has no
    explain entry, yet the recovery used it."""
    yield policy.status
    visitor = recovery.get("visitor")
    if visitor is not None:
        for rule in policy.info:
            if rule.when_status is None or visitor.get("status") in rule.when_status:
                yield rule
    if recovery.get("chat") is not None or recovery.get("otherChats"):
        yield from policy.chat_props


def measure(policy: Policy, results: list[CaseResult]) -> Coverage:
    covered: set = set()
    for result in results:
        covered |= used(policy, result)
    every = items(policy)
    return Coverage(every, frozenset(covered & {str(i.origin) for i in every}))
