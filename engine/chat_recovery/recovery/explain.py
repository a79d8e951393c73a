"""Explain entries for `recover --explain`: for each recovered value the rule,
strategy and report that decided it, the value kept, and every other
source's value with why it lost, in words a product owner reads. For each
message, the action rule that fired or why none did.

`render` talks to an `Explainer` when explain is asked for and to `Silent`
otherwise, chosen once per recovery, so explain costs nothing when off."""

from __future__ import annotations

import json  # stdlib: explain texts show values spaced (", "), as the goldens pin; orjson cannot
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .. import timeutil
from ..jsonio import loads
from ..paths import json_path
from ..policy.chat_model import ActionRule, ChatPolicy
from ..policy.model import PropertyRule, StatusRule, Strategy
from .chat import ChatResult
from .picks import PICKS, Loss
from .sources import side_of, source_of

if TYPE_CHECKING:  # render imports this module
    from .render import Status


def who(src: str) -> str:
    """'visitor' or 'agent a-7': a source key as people say it."""
    side, _, ident = src.partition(":")
    return f"{side} {ident}" if ident else side


def _sides(strategy: Strategy) -> str:
    if not strategy.sides:
        return "no reports"
    return " or ".join(f"{side}" for side in strategy.sides) + " reports only"


def _at(time: str, other: str) -> str:
    """A time short enough to read beside another: the clock alone when both
    fall on one day."""
    if time[:10] == other[:10]:
        return time[11:].rstrip("Z")
    return time


def why_lost(strategy: Strategy, winner: str | None, candidates: Mapping[str, Any], src: str) -> str:
    """Why `src`'s value was not the one kept, as one sentence."""
    name, mine = strategy.name, candidates[src]
    if side_of(src) not in strategy.sides:
        return f"{who(src)}: not read, strategy {name} reads {_sides(strategy)}"
    if winner is None:
        return f"{who(src)}: not kept"
    theirs = candidates[winner]
    assert strategy.pick is not None  # a value kept from a side was picked: only computed values have no pick
    return PICKS[strategy.pick].lost(
        Loss(
            who=who(src),
            strategy=name,
            prefers=f"{name} prefers the {side_of(winner)}'s value",
            ranks_differ=strategy.rank(side_of(src)) != strategy.rank(side_of(winner)),
            older=timeutil.sort_key(mine["sentAt"]) < timeutil.sort_key(theirs["sentAt"]),
            same_time=mine["sentAt"] == theirs["sentAt"],
            sent=f"sent {_at(mine['sentAt'], theirs['sentAt'])}, the winner {_at(theirs['sentAt'], mine['sentAt'])}",
        )
    )


def _lost(strategy: Strategy, winner: str | None, candidates: Mapping[str, Any]) -> list[Any]:
    return [
        {"source": source_of(src), "sentAt": c["sentAt"], "value": c["value"], "why": why_lost(strategy, winner, candidates, src)}
        for src, c in sorted(candidates.items())
        if src != winner
    ]


def _shown(value: Any) -> str:
    return "none" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class Decided(Protocol):
    """A strategy's choice, as render's pick makes it."""

    value: Any
    src: str | None
    sent_at: str | None


class Silent:
    """Explain turned off: every call does nothing."""

    entries: dict[str, Any] = {}

    def decided(self, *args: Any) -> None:
        pass

    def not_recovered(self, *args: Any) -> None:
        pass

    def excluded(self, *args: Any) -> None:
        pass

    def withheld(self, *args: Any) -> None:
        pass

    def not_set(self, *args: Any) -> None:
        pass

    def status(self, *args: Any) -> None:
        pass

    def computed(self, *args: Any) -> None:
        pass

    def chat(self, *args: Any) -> None:
        pass

    def directives(self, *args: Any) -> None:
        pass


class Explainer:
    """Collects explain entries, JSONPath -> entry, while render decides."""

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}

    def decided(
        self, rule: PropertyRule, path: str, strategy: Strategy, candidates: Mapping[str, Any], decision: Decided
    ) -> None:
        self.entries[path] = {
            "rule": str(rule.origin),
            "strategy": strategy.name,
            "source": source_of(decision.src) if decision.src else None,
            "sentAt": decision.sent_at,
            "value": decision.value,
            "lost": _lost(strategy, decision.src, candidates),
        }

    def not_recovered(self, rule: PropertyRule, path: str, strategy: Strategy, candidates: Mapping[str, Any]) -> None:
        """Reports supplied a value the strategy does not read."""
        why = f"not recovered: strategy {strategy.name} reads {_sides(strategy)}"
        self.entries[path] = _unrecovered(rule, strategy.name, why, _lost(strategy, None, candidates))

    def excluded(self, rule: PropertyRule, path: str, why: str) -> None:
        """A property whose `when: status` did not hold, that no report supplied."""
        self.entries[path] = _unrecovered(rule, rule.strategy.name, why, [])

    def withheld(self, rule: PropertyRule, path: str, candidates: Mapping[str, Any], why: str) -> None:
        """Reports supplied a value the policy withholds: who sent it and
        when, never the value."""
        lost = [
            {"source": source_of(src), "sentAt": c["sentAt"], "why": f"{who(src)}: {why}"}
            for src, c in sorted(candidates.items())
        ]
        self.entries[path] = _unrecovered(rule, rule.strategy.name, why, lost)

    def not_set(self, prop: str, rule: StatusRule, why: str) -> None:
        """A status rule's `set:` that did not apply (the status did not
        stand): the value the reports gave, if any, is kept and says so."""
        path = json_path(["visitor", "info", prop])
        said = f"status rule {rule.status} ({rule.origin}) sets {prop} to now: {why}"
        entry = self.entries.get(path)
        if entry is not None and entry.get("recovered") is not False:
            entry["why"] = f"kept from the reports; {said}"
            return
        self.entries[path] = {
            **(entry or {}),
            **{
                "rule": str(rule.origin),
                "strategy": "specify",
                "source": None,
                "sentAt": None,
                "value": None,
                "recovered": False,
                "why": said,
                "lost": (entry or {}).get("lost", []),
            },
        }

    def status(self, rule: PropertyRule, status: Status) -> None:
        """The status's entry, written once: the message log's word when it
        decided, else the uploads' pick and what its status rule made of it."""
        path, candidates, picked = rule.path, status.candidates, status.picked
        if status.log is not None:
            self.entries[path] = _from_log(status)
        elif picked is not None:
            self.decided(rule, path, rule.strategy, candidates, picked)
            if status.rule is not None:
                self.entries[path].update(_recovered_as(status.rule, status.uploaded, status.value))
        elif candidates:
            self.not_recovered(rule, path, rule.strategy, candidates)

    def computed(self, prop: str, rule: StatusRule, now: str) -> None:
        self.entries[json_path(["visitor", "info", prop])] = {
            "rule": str(rule.origin),
            "strategy": "specify",
            "source": None,
            "sentAt": None,
            "value": now,
            "lost": [],
            "why": f"set to now by status rule {rule.status}",
        }

    def chat(self, chat: ChatPolicy, rebuilt: ChatResult) -> None:
        """Each message (the rule that fired, or why none did) and each
        chat state field (the last rule that changed it)."""
        # a message the log holds but did not replay (trust mode senders); a
        # rejected copy of a message that counted elsewhere is not its story
        set_aside = {
            item["message"]["id"]: item["reason"] for item in rebuilt.set_aside if item["message"]["id"] not in rebuilt.fired
        }
        last: dict[str, Any] = {}
        for message in rebuilt.messages:
            path = json_path(["chat", "messages", message["id"]])
            self.entries[path] = _message(chat, rebuilt, message, set_aside.get(message["id"]))
            rule = rebuilt.fired.get(message["id"])
            for effect in rule.effects if rule is not None else ():
                last[effect.field[0]] = (rule, message)
        for field, value in rebuilt.state.items():
            path = json_path(["chat", "state", field])
            if field in last:
                rule, message = last[field]
                self.entries[path] = {
                    "rule": str(rule.origin),
                    "strategy": "messageLog",
                    "source": None,
                    "sentAt": None,
                    "value": value,
                    "lost": [],
                    "why": f"last changed by message {message['id']} ({message['action']}): rule {rule.name}",
                }
            else:
                self.entries[path] = {
                    "rule": None,
                    "strategy": "initial",
                    "source": None,
                    "sentAt": None,
                    "value": value,
                    "lost": [],
                    "why": "the initial value (`state:` of the action rules): no message changed it",
                }

    def directives(self, chat: ChatPolicy, told: list[Any]) -> None:
        """Each directive's client rule (so test coverage sees it fire)."""
        names = {str(rule.origin): rule.name for rule in chat.client}
        for i, item in enumerate(told):
            name = names.get(item.get("rule"), "client rule")
            self.entries[json_path(["directives", i])] = {
                "rule": item.get("rule"),
                "strategy": name,
                "source": None,
                "sentAt": None,
                "value": item["do"],
                "lost": [],
                "why": f"client rule {name} asks it",
            }


def _recovered_as(rule: StatusRule, uploaded: str | None, status: str | None) -> dict[str, Any]:
    """What the uploaded status's rule made of it (added to the pick's entry)."""
    said: dict[str, Any] = {"uploaded": uploaded, "value": status}
    if status != uploaded:
        said["rule"] = str(rule.origin)
        said["why"] = (
            f"uploaded {uploaded} is recovered as {_shown(status)} by status rule {rule.status}"
            if status is not None
            else f"uploaded {uploaded} is not recovered (status rule {rule.status}: recoverAs null)"
        )
    return said


def _from_log(status: Status) -> dict[str, Any]:
    """The message log's status beats the uploaded one."""
    rebuilt = status.log
    assert rebuilt is not None and rebuilt.status_rule is not None  # called only when the log decided
    rule: ActionRule = rebuilt.status_rule
    message = next(
        (m for m in reversed(rebuilt.messages) if (r := rebuilt.fired.get(m["id"])) is not None and r.status is not None), None
    )
    said = f"message {message['id']} ({message['action']})" if message else rule.action
    why = f"the message log decides: {said}, rule {rule.name} ({rule.origin}) sets {rebuilt.status}"
    return {
        "rule": str(rule.origin),
        "strategy": "messageLog",
        "source": None,
        "sentAt": None,
        "value": rebuilt.status,
        "uploaded": status.uploaded,
        "why": why,
        "lost": [
            {
                "source": source_of(src),
                "sentAt": c["sentAt"],
                "value": c["value"],
                "why": f"{who(src)}: uploaded {_shown(c['value'])}, the message log decides",
            }
            for src, c in sorted(status.candidates.items())
        ],
    }


def _message(chat: ChatPolicy, rebuilt: ChatResult, message: dict[str, Any], set_aside: str | None) -> dict[str, Any]:
    """The rule that fired for one message, or why none did."""
    entry = {
        "rule": None,
        "strategy": "set aside",
        "source": None,
        "sentAt": None,
        "value": message["action"],
        "heldBy": [source_of(s) for s in rebuilt.holders[message["id"]]],
    }
    if set_aside is not None:
        return {**entry, "why": f"set aside: {set_aside}"}
    rule = rebuilt.fired.get(message["id"])
    if rule is not None:
        return {
            **entry,
            "rule": str(rule.origin),
            "strategy": rule.name,
            "why": f"rule {rule.name} fired" + (f" and set the status to {rule.status}" if rule.status else ""),
        }
    return {**entry, "strategy": "no rule for this action", "why": _why_none(chat, message, rebuilt.unmatched.get(message["id"]))}


def _why_none(chat: ChatPolicy, message: dict[str, Any], event: dict[str, Any] | None) -> str:
    """No rule fired: none handles the action, or each one's `when` failed."""
    indexes = chat.by_action.get(message["action"], ())
    if not indexes or event is None:
        return f"no rule handles action {message['action']}"
    slot = {field: f"c{i}" for i, field in enumerate(chat.condition_fields)}
    failed = []
    for index in indexes:
        rule = chat.rules[index]
        for condition in rule.conditions:
            seen: Any = event.get(slot[condition.field])  # canonical JSON text
            if seen not in condition.values:
                failed.append(f"rule {rule.name} needs {condition.describe()}, it was {_shown(loads(seen))}")
                break
    return "no rule's `when` held: " + "; ".join(failed)


def _unrecovered(rule: PropertyRule, strategy: str, why: str, lost: list[Any]) -> dict[str, Any]:
    """The entry of a path that recovered no value: why, and what was lost."""
    return {
        "rule": str(rule.origin),
        "strategy": strategy,
        "source": None,
        "sentAt": None,
        "value": None,
        "recovered": False,
        "why": why,
        "lost": lost,
    }
