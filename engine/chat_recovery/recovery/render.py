"""State -> recovery: each value picked by its rule's strategy, every
disagreement listed, every decision explainable."""
from __future__ import annotations

from typing import Any, Optional

from ..timeutil import sort_key
from ..json_identity import all_same_json
from .conflicts import conflict
from .sources import side_of, source_of
from ..policy.model import Policy, PropertyRule, Strategy
from .chat import rebuild
from .directives import directives
from .explain import Explainer, Silent
from ..paths import json_path
from ..replay import Engine


class _Decision:
    __slots__ = ("value", "src", "sent_at")

    def __init__(self, value: Any, src: Optional[str], sent_at: Optional[str]):
        self.value, self.src, self.sent_at = value, src, sent_at


def pick(strategy: Strategy, candidates: dict, now: str) -> Optional[_Decision]:
    """The strategy's choice among what each source said, or None."""
    if strategy.value == "now":
        return _Decision(now, None, None)
    if len(candidates) < 2:  # the common cases: nobody said it, or one source did
        if not candidates:
            return None
        (src, held), = candidates.items()
        if side_of(src) not in strategy.sides:
            return None
        return _Decision(held["firstValue"] if strategy.pick == "first" else held["value"], src, held["sentAt"])
    ranks, how = strategy.ranks, strategy.pick
    best, best_key = None, None
    for src, held in candidates.items():
        rank = ranks.get(side_of(src))
        if rank is None:
            continue
        if how == "first":      # the earliest report, then the smaller source
            key = (held["firstSeq"], src)
            better = best_key is None or key < best_key
        else:
            when = sort_key(held["sentAt"])
            # latest: the later word, then the higher priority; priority: the
            # other way round (a lower rank is a higher priority); then the larger source
            key = (when, -rank, src) if how == "latest" else (-rank, when, src)
            better = best_key is None or key > best_key
        if better:
            best, best_key = (src, held), key
    if best is None:
        return None
    src, held = best
    return _Decision(held["firstValue"] if how == "first" else held["value"], src, held["sentAt"])


class _Out:
    """Collects conflicts while values are decided, and tells the explainer
    (a silent one when explain is off) how each was decided."""

    def __init__(self, now: str, explain: bool):
        self.now = now
        self.explaining = explain
        self.explain = Explainer() if explain else Silent()
        self.conflicts: list = []

    def decide(self, rule: PropertyRule, path: str, candidates: dict, strategy: Optional[Strategy] = None) -> Optional[_Decision]:
        strategy = strategy or rule.strategy
        decision = pick(strategy, candidates, self.now)
        if self.explaining:
            if decision is not None:
                self.explain.decided(rule, path, strategy, candidates, decision)
            elif candidates:
                self.explain.not_recovered(rule, path, strategy, candidates)
        if len(candidates) > 1 and not all_same_json([c["value"] for c in candidates.values()]):
            self.conflicts.append(conflict(path, candidates, {
                "rule": str(rule.origin), "strategy": strategy.name,
                "value": decision.value if decision else None,
                "source": source_of(decision.src) if decision and decision.src else None}))
        return decision


def render(policy: Policy, state: dict, engine: Engine, explain: bool = False) -> dict:
    now = state["now"]
    out = _Out(now, explain)
    slots, maps = state["slots"], state["maps"]
    chat_state = state["chat"]
    rebuilt = rebuild(policy.chat, chat_state, engine) if chat_state is not None else None

    status_decision = out.decide(policy.status, policy.status.path, slots.get(policy.status.path, {}))
    uploaded = status_decision.value if status_decision else None
    status_rule = policy.statuses.get(uploaded) if uploaded is not None else None
    status = status_rule.recover_as if status_rule else uploaded
    out.explain.status(policy.status.path, uploaded, status_rule, status)
    if rebuilt is not None and rebuilt.status is not None:
        out.explain.status_from_log(policy.status.path, rebuilt, uploaded, slots.get(policy.status.path, {}))
        status = _log_status(out, policy, rebuilt)

    recovers_visitor = state["visitorSeen"] and not (status_rule is not None and status is None)
    visitor = None
    if recovers_visitor or chat_state is not None:
        info: dict = {}
        for rule in policy.info:
            if rule.when_status is not None and status not in rule.when_status:
                out.explain.excluded(rule, rule.path, status, slots.get(rule.path, {}))
                continue
            if rule.per_key:
                merged = {}
                for key, candidates in sorted(maps.get(rule.path, {}).items()):
                    decision = out.decide(rule, json_path(["visitor", "info", rule.name, key]), candidates)
                    if decision is not None:
                        merged[key] = decision.value
                if merged:
                    info[rule.name] = merged
                continue
            decision = out.decide(rule, rule.path, slots.get(rule.path, {}))
            if decision is not None:
                info[rule.name] = decision.value
        if status_rule is not None:
            for prop, _computed in status_rule.sets:
                info[prop] = now  # `now` is the only computed value the schema allows
                out.explain.computed(prop, status_rule, now)
        visitor = {"status": status, "info": info}

    chat = None
    if chat_state is not None:
        props = {}
        for rule in policy.chat_props:
            decision = out.decide(rule, rule.path, slots.get(rule.path, {}))
            if decision is not None:
                props[rule.name] = decision.value
        chat = {"id": chat_state["id"], "props": props, "state": rebuilt.state, "messages": rebuilt.messages}
        out.conflicts.extend(rebuilt.conflicts)
        out.explain.chat(policy.chat, rebuilt)

    wrapups = {agent: held["value"] for agent, held in sorted(state["wrapups"].items())}
    told = directives(policy.chat, status, rebuilt, wrapups)
    out.explain.directives(policy.chat, told)
    return {
        "visitorId": state["visitorId"],
        "visitor": visitor,
        "chat": chat,
        "directives": told,
        "setAside": rebuilt.set_aside if rebuilt else [],
        "unfinishedWrapups": wrapups,
        "conflicts": out.conflicts,
        "explain": out.explain.entries if explain else {},
        "policy": _stamp(policy),
    }


def _log_status(out: _Out, policy: Policy, rebuilt) -> str:
    """The message log's status beats the uploaded one; a disagreement with
    the uploads stays listed, decided by the action rule."""
    rule = rebuilt.status_rule
    decided = {"rule": str(rule.origin), "strategy": "messageLog", "value": rebuilt.status, "source": None}
    for entry in out.conflicts:
        if entry["path"] == policy.status.path:
            entry["decided"] = decided
    return rebuilt.status


def _stamp(policy: Policy) -> dict:
    """Which policy decided: name and version when the manifest gives them."""
    stamp = {"digest": policy.digest}
    if policy.name is not None:
        stamp = {"name": policy.name, "version": policy.version, **stamp}
    return stamp
