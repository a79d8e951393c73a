"""State -> recovery: each value picked by its rule's strategy, every
disagreement listed, every decision explainable.

The status is decided first and once (`decide_status`, the message log's
word included), because the visitor's info, the directives and the explain
entries depend on it; then the visitor, the chat and the directives are
recovered by one function each, which a test can call alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..json_identity import all_same_json
from ..paths import json_path
from ..policy.model import Policy, PropertyRule, StatusRule, Strategy
from ..replay import Engine
from .chat import ChatResult, rebuild
from .conflicts import conflict
from .directives import directives
from .explain import Explainer, Silent
from .picks import PICKS
from .sources import side_of, source_of


class _Decision:
    __slots__ = ("value", "src", "sent_at")

    def __init__(self, value: Any, src: str | None, sent_at: str | None):
        self.value, self.src, self.sent_at = value, src, sent_at


def pick(strategy: Strategy, candidates: dict[str, Any], now: str) -> _Decision | None:
    """The strategy's choice among what each source said, or None."""
    if strategy.value == "now":
        return _Decision(now, None, None)
    if not strategy.sides:  # read from no report: not recovered (and no pick)
        return None
    assert strategy.pick is not None  # a strategy that reads sides has a pick (the compile refuses one without)
    how = PICKS[strategy.pick]  # the schema admits only the table's names (tests/test_closed_sets.py)
    if len(candidates) < 2:  # the common cases: nobody said it, or one source did
        if not candidates:
            return None
        ((src, held),) = candidates.items()
        if side_of(src) not in strategy.sides:
            return None
        return _Decision(held[how.keeps], src, held["sentAt"])
    best = how.choose(strategy.ranks, candidates)
    if best is None:
        return None
    src, held = best
    return _Decision(held[how.keeps], src, held["sentAt"])


@dataclass(frozen=True)
class Status:
    """The visitor's status, decided before anything is written: the
    strategy's pick among the uploaded statuses, what that status's rule
    makes of it, and the message log's word, which beats both."""

    candidates: Mapping[str, dict[str, Any]]  # source key -> the status it uploaded
    picked: _Decision | None  # the strategy's pick among them
    rule: StatusRule | None  # the picked status's rule (its `set:` applies even when the log decides)
    value: str | None  # the recovered status
    log: ChatResult | None = None  # the rebuilt chat, when its message log decided

    @property
    def uploaded(self) -> str | None:
        return self.picked.value if self.picked else None

    @property
    def drops_visitor(self) -> bool:
        """The picked status is one its rule does not recover (recoverAs: null)."""
        return self.rule is not None and self.value is None

    def decided(self, rule: PropertyRule) -> dict[str, Any]:
        """How it was decided, as a conflict between the uploads records it."""
        if self.log is not None:
            assert self.log.status_rule is not None  # the log decided: a rule set the status
            return {"rule": str(self.log.status_rule.origin), "strategy": "messageLog", "value": self.value, "source": None}
        return _decided(rule, rule.strategy, self.picked)


def decide_status(policy: Policy, state: dict[str, Any], rebuilt: ChatResult | None) -> Status:
    """The status of a held state (`rebuilt`: its chat, None without one)."""
    candidates = state["slots"].get(policy.status.path, {})
    picked = pick(policy.status.strategy, candidates, state["now"])
    uploaded = picked.value if picked else None
    rule = policy.statuses.get(uploaded) if uploaded is not None else None
    if rebuilt is not None and rebuilt.status is not None:
        return Status(candidates, picked, rule, rebuilt.status, rebuilt)
    return Status(candidates, picked, rule, rule.recover_as if rule else uploaded)


def _decided(rule: PropertyRule, strategy: Strategy, decision: _Decision | None) -> dict[str, Any]:
    return {
        "rule": str(rule.origin),
        "strategy": strategy.name,
        "value": decision.value if decision else None,
        "source": source_of(decision.src) if decision and decision.src else None,
    }


def _disagree(candidates: Mapping[str, dict[str, Any]]) -> bool:
    return len(candidates) > 1 and not all_same_json([c["value"] for c in candidates.values()])


class Findings:
    """What render writes beside the values: the conflicts, in the order the
    values are decided, and the explain entries (to a silent explainer when
    explain is off, chosen once per recovery)."""

    def __init__(self, now: str, explain: bool):
        self.now = now
        self.explaining = explain
        self.explain = Explainer() if explain else Silent()
        self.conflicts: list[Any] = []

    def status(self, rule: PropertyRule, status: Status) -> None:
        """The status's conflict and explain entry, each written once."""
        if _disagree(status.candidates):
            self.conflicts.append(conflict(rule.path, status.candidates, status.decided(rule)))
        self.explain.status(rule, status)

    def decide(self, rule: PropertyRule, path: str, candidates: dict[str, Any]) -> _Decision | None:
        """One value: the rule's strategy picks, a disagreement is listed."""
        strategy = rule.strategy
        decision = pick(strategy, candidates, self.now)
        if self.explaining:
            if decision is not None:
                self.explain.decided(rule, path, strategy, candidates, decision)
            elif candidates:
                self.explain.not_recovered(rule, path, strategy, candidates)
        if _disagree(candidates):
            self.conflicts.append(conflict(path, candidates, _decided(rule, strategy, decision)))
        return decision


def recover_visitor(policy: Policy, state: dict[str, Any], status: Status, findings: Findings) -> dict[str, Any] | None:
    """The recovered visitor (status and info), or None: no visitor
    reported, or its status is one not recovered, and there is no chat."""
    if not (state["visitorSeen"] and not status.drops_visitor) and state["chat"] is None:
        return None
    info = recover_info(policy, state, status.value, findings)
    if status.rule is not None:
        for prop, _computed in status.rule.sets:
            info[prop] = findings.now  # `now` is the only computed value the schema allows
            findings.explain.computed(prop, status.rule, findings.now)
    return {"status": status.value, "info": info}


def recover_info(policy: Policy, state: dict[str, Any], status: str | None, findings: Findings) -> dict[str, Any]:
    """visitor.info from the reports: each property its rule admits for
    `status`, picked as a whole or key by key."""
    info: dict[str, Any] = {}
    slots = state["slots"]
    for rule in policy.info:
        if rule.when_status is not None and status not in rule.when_status:
            findings.explain.excluded(rule, rule.path, status, slots.get(rule.path, {}))
        elif rule.per_key:
            merged = _per_key(rule, state["maps"].get(rule.path, {}), findings)
            if merged:
                info[rule.name] = merged
        else:
            decision = findings.decide(rule, rule.path, slots.get(rule.path, {}))
            if decision is not None:
                info[rule.name] = decision.value
    return info


def _per_key(rule: PropertyRule, keyed: dict[str, Any], findings: Findings) -> dict[str, Any]:
    merged = {}
    for key, candidates in sorted(keyed.items()):
        decision = findings.decide(rule, json_path(["visitor", "info", rule.name, key]), candidates)
        if decision is not None:
            merged[key] = decision.value
    return merged


def recover_chat(policy: Policy, state: dict[str, Any], rebuilt: ChatResult | None, findings: Findings) -> dict[str, Any] | None:
    """The recovered chat (props, state and message log), or None without one."""
    if rebuilt is None:
        return None
    props = {}
    slots = state["slots"]
    for rule in policy.chat_props:
        decision = findings.decide(rule, rule.path, slots.get(rule.path, {}))
        if decision is not None:
            props[rule.name] = decision.value
    findings.conflicts.extend(rebuilt.conflicts)
    findings.explain.chat(policy.chat, rebuilt)
    return {"id": state["chat"]["id"], "props": props, "state": rebuilt.state, "messages": rebuilt.messages}


def unfinished_wrapups(state: dict[str, Any]) -> dict[str, Any]:
    """Each agent's latest unfinished wrap-up, by agent id."""
    return {agent: held["value"] for agent, held in sorted(state["wrapups"].items())}


def client_directives(
    policy: Policy, status: Status, rebuilt: ChatResult | None, wrapups: dict[str, Any], findings: Findings
) -> list[Any]:
    """What each client must do next, by the client rules."""
    told = directives(policy.chat, status.value, rebuilt, wrapups)
    findings.explain.directives(policy.chat, told)
    return told


def render(policy: Policy, state: dict[str, Any], engine: Engine, explain: bool = False) -> dict[str, Any]:
    """The recovery of a held state; `engine` matches the action rules."""
    rebuilt = rebuild(policy.chat, state["chat"], engine) if state["chat"] is not None else None
    status = decide_status(policy, state, rebuilt)
    findings = Findings(state["now"], explain)
    findings.status(policy.status, status)
    visitor = recover_visitor(policy, state, status, findings)
    chat = recover_chat(policy, state, rebuilt, findings)
    wrapups = unfinished_wrapups(state)
    told = client_directives(policy, status, rebuilt, wrapups, findings)
    return {
        "visitorId": state["visitorId"],
        "visitor": visitor,
        "chat": chat,
        "directives": told,
        "setAside": rebuilt.set_aside + rebuilt.rejected if rebuilt else [],
        "unfinishedWrapups": wrapups,
        "conflicts": findings.conflicts,
        "explain": findings.explain.entries if explain else {},
        "policy": _stamp(policy),
    }


def _stamp(policy: Policy) -> dict[str, Any]:
    """Which policy decided: name and version when the manifest gives them."""
    stamp: dict[str, Any] = {"digest": policy.digest}
    if policy.name is not None:
        stamp = {"name": policy.name, "version": policy.version, **stamp}
    return stamp
