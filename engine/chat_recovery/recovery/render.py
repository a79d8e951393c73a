"""State -> recovery: each value picked by its rule's strategy, every
disagreement listed, every decision explainable.

The status is decided first and once (`decide_status`, the message log's
word included), because the visitor's info, the directives and the explain
entries depend on it; then the visitor, the chat and the directives are
recovered by one function each, which a test can call alone.

Of a visitor's several chats, `chat` is the current one (`current_chat`);
every other chat a console holds is recovered beside it (`otherChats`) by
the same replay, with the client rules' directives for its own log status
addressed to the agents holding it: the visitor is in its current chat, so
directives to the visitor come from the current chat alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import timeutil
from ..json_identity import all_same_json
from ..paths import json_path
from ..policy.model import Policy, PropertyRule, StatusRule, Strategy
from ..replay import Engine
from .chat import ChatResult, rebuild
from .conflicts import conflict
from .directives import directives
from .explain import Explainer, Silent
from .fold import upgrade_state
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
    if not strategy.sides or not candidates:  # read from no report (not recovered, no pick), or nobody said it
        return None
    assert strategy.pick is not None  # a strategy that reads sides has a pick (the compile refuses one without)
    how = PICKS[strategy.pick]  # the schema admits only the table's names (tests/test_closed_sets.py)
    if len(candidates) == 1:  # the common case: one source said it
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
    rule: StatusRule | None  # the picked status's rule (its `set:` applies only where that status stands)
    value: str | None  # the recovered status
    log: ChatResult | None = None  # the rebuilt chat, when its message log decided

    @property
    def uploaded(self) -> str | None:
        return self.picked.value if self.picked else None

    @property
    def stands(self) -> bool:
        """The picked status's rule gave the recovered status: the message log
        did not replace it, so its `set:` side effects apply."""
        return self.rule is not None and self.value is not None and self.value == self.rule.recover_as

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
    if len(candidates) < 2:
        return False
    values = [c["value"] for c in candidates.values()]
    first = values[0]
    if type(first) is str:  # most values: text, compared right here
        for value in values:
            if type(value) is not str:
                return not all_same_json(values)
            if value != first:
                return True
        return False
    return not all_same_json(values)


def _reads(strategy: Strategy) -> str:
    return f"strategy {strategy.name} reads " + (
        " or ".join(strategy.sides) + " reports only" if strategy.sides else "no reports"
    )


class Findings:
    """What render writes beside the values: the conflicts, in the order the
    values are decided, the withheld paths, and the explain entries (to a
    silent explainer when explain is off, chosen once per recovery)."""

    def __init__(self, now: str, explain: bool):
        self.now = now
        self.explaining = explain
        self.explain = Explainer() if explain else Silent()
        self.conflicts: list[Any] = []
        self.withheld: list[Any] = []

    def withhold(self, rule: PropertyRule, path: str, candidates: Mapping[str, Any], why: str) -> None:
        """Reports supplied a value at `path` and the policy recovers none of
        it: the path is named with the rule and who supplied it, never the
        value (so a bot that needs an sso id asks the visitor to sign in)."""
        self.withheld.append(
            {
                "path": path,
                "rule": str(rule.origin),
                "strategy": rule.strategy.name,
                "sources": [source_of(src) for src in sorted(candidates)],
                "why": why,
            }
        )
        self.explain.withheld(rule, path, candidates, why)

    def status(self, rule: PropertyRule, status: Status) -> None:
        """The status's conflict and explain entry, each written once."""
        if _disagree(status.candidates):
            self.conflicts.append(conflict(rule.path, status.candidates, status.decided(rule)))
        self.explain.status(rule, status)

    def decide(self, rule: PropertyRule, path: str, candidates: dict[str, Any]) -> _Decision | None:
        """One value: the rule's strategy picks, a disagreement is listed."""
        strategy = rule.strategy
        decision = pick(strategy, candidates, self.now)
        if decision is None:
            if candidates:  # supplied, and read from no side that supplied it: withheld, no value listed anywhere
                self.withhold(rule, path, candidates, f"withheld: {_reads(strategy)}")
            return None
        if self.explaining:
            self.explain.decided(rule, path, strategy, candidates, decision)
        if _disagree(candidates):
            self.conflicts.append(conflict(path, candidates, _decided(rule, strategy, decision)))
        return decision


def recover_visitor(policy: Policy, state: dict[str, Any], status: Status, findings: Findings) -> dict[str, Any] | None:
    """The recovered visitor (status and info), or None: no visitor
    reported, or its status is one not recovered, and there is no chat."""
    if not (state["visitorSeen"] and not status.drops_visitor) and not state["chats"]:
        return None
    info = recover_info(policy, state, status.value, findings)
    if status.rule is not None:
        for prop, _computed in status.rule.sets:
            if status.stands:
                info[prop] = findings.now  # `now` is the only computed value the schema allows
                findings.explain.computed(prop, status.rule, findings.now)
            else:  # the log replaced the status: its side effects did not happen; an uploaded value stays
                findings.explain.not_set(prop, status.rule, _replaced_by(status))
    return {"status": status.value, "info": info}


def _replaced_by(status: Status) -> str:
    """Why a status rule's `set:` did not apply, in words."""
    if status.log is not None and status.log.status_rule is not None:
        return f"not applied: the message log decided {status.value} (rule {status.log.status_rule.name}, {status.log.status_rule.origin})"
    return f"not applied: the recovered status is {status.value}, not {status.rule.recover_as if status.rule else None}"


def recover_info(policy: Policy, state: dict[str, Any], status: str | None, findings: Findings) -> dict[str, Any]:
    """visitor.info from the reports: each property its rule admits for
    `status`, picked as a whole or key by key."""
    info: dict[str, Any] = {}
    slots = state["slots"]
    for rule in policy.info:
        if rule.when_status is not None and status not in rule.when_status:
            _exclude(rule, state, status, findings)
        elif rule.per_key:
            merged = _per_key(rule, state["maps"].get(rule.path, {}), findings)
            if merged:
                info[rule.name] = merged
        else:
            decision = findings.decide(rule, rule.path, slots.get(rule.path, {}))
            if decision is not None:
                info[rule.name] = decision.value
    return info


def _exclude(rule: PropertyRule, state: dict[str, Any], status: str | None, findings: Findings) -> None:
    """A property whose `when: status` did not hold: what reports supplied
    for it is withheld (each key of a per-key property on its own)."""
    needs = ", ".join(sorted(rule.when_status or ()))
    shown = "none" if status is None else status
    cond = f"{rule.name} is recovered only when the status is in [{needs}], it is {shown}"
    why = f"withheld: {cond}"
    if rule.per_key:
        keyed = state["maps"].get(rule.path, {})
        for key, candidates in sorted(keyed.items()):
            findings.withhold(rule, json_path(["visitor", "info", rule.name, key]), candidates, why)
        if not keyed:
            findings.explain.excluded(rule, rule.path, f"not recovered: {cond}")
        return
    candidates = state["slots"].get(rule.path, {})
    if candidates:
        findings.withhold(rule, rule.path, candidates, why)
    else:
        findings.explain.excluded(rule, rule.path, f"not recovered: {cond}")


def _per_key(rule: PropertyRule, keyed: dict[str, Any], findings: Findings) -> dict[str, Any]:
    merged = {}
    for key, candidates in sorted(keyed.items()):
        if len(candidates) == 1 and not findings.explaining:  # no conflict, no entry: the key's path is never written
            decision = pick(rule.strategy, candidates, findings.now)
            if decision is not None:
                merged[key] = decision.value
                continue
        decision = findings.decide(rule, json_path(["visitor", "info", rule.name, key]), candidates)
        if decision is not None:
            merged[key] = decision.value
    return merged


def recover_chat(
    policy: Policy, held: dict[str, Any] | None, rebuilt: ChatResult | None, findings: Findings
) -> dict[str, Any] | None:
    """A recovered chat (props, state and message log), or None without one;
    `held` is the chat as the state holds it."""
    if held is None or rebuilt is None:
        return None
    props = {}
    slots = held["slots"]
    for rule in policy.chat_props:
        decision = findings.decide(rule, rule.path, slots.get(rule.path, {}))
        if decision is not None:
            props[rule.name] = decision.value
    findings.conflicts.extend(rebuilt.conflicts)
    findings.explain.chat(policy.chat, rebuilt)
    return {"id": held["id"], "props": props, "state": rebuilt.state, "messages": rebuilt.messages}


def current_chat(state: dict[str, Any], rebuilt: Mapping[str, ChatResult]) -> str | None:
    """The visitor's current chat: the one the visitor's latest report holds;
    failing that, the one whose merged log has the latest message (equal
    times, or no messages: the larger chat id). Independent of arrival order."""
    if not state["chats"]:
        return None
    held = state["visitorChat"]
    if held is not None and held["id"] in state["chats"]:
        return str(held["id"])
    return max(rebuilt, key=lambda chat_id: (_last_time(rebuilt[chat_id]), chat_id))


def _last_time(rebuilt: ChatResult) -> str:
    return timeutil.sort_key(rebuilt.messages[-1]["time"]) if rebuilt.messages else ""


def other_chat_path(chat_id: str) -> str:
    """Where another chat's values are named in conflicts and explain:
    `$.otherChats['c-1']`, the chat id always quoted (a list keyed by id, as
    `$.chat.messages['m-1']` names a message)."""
    return "$.otherChats['" + chat_id.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _rehome(path: str, at: str) -> str:
    """A path render wrote for the current chat (`$.chat...`, `$.directives...`)
    as the same place in another chat."""
    for prefix, home in (("$.chat", at), ("$.directives", at + ".directives")):
        if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in ("", ".", "["):
            return home + path[len(prefix) :]
    return path


def recover_other_chat(policy: Policy, held: dict[str, Any], rebuilt: ChatResult, findings: Findings) -> dict[str, Any]:
    """A chat other than the current one, recovered the same way: the
    chat-related status its own log yields (None when none), its own
    directives (the client rules for its log's status, to its agents only)
    and set-aside messages; its conflicts, withheld values and explain
    entries under `other_chat_path`."""
    at = other_chat_path(held["id"])
    own = Findings(findings.now, findings.explaining)
    chat = recover_chat(policy, held, rebuilt, own)
    assert chat is not None  # a held chat with its replay
    told = [d for d in directives(policy.chat, rebuilt.status, rebuilt, {}) if d["to"]["type"] != "visitor"]
    own.explain.directives(policy.chat, told)
    findings.conflicts.extend({**c, "path": _rehome(c["path"], at)} for c in own.conflicts)
    findings.withheld.extend({**w, "path": _rehome(w["path"], at)} for w in own.withheld)
    if findings.explaining:
        findings.explain.entries.update((_rehome(path, at), entry) for path, entry in own.explain.entries.items())
    return {**chat, "status": rebuilt.status, "directives": told, "setAside": rebuilt.set_aside}


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
    state = upgrade_state(state)
    chats = state["chats"]
    replays = {chat_id: rebuild(policy.chat, held, engine) for chat_id, held in sorted(chats.items())}
    current = current_chat(state, replays)
    rebuilt = replays[current] if current is not None else None
    status = decide_status(policy, state, rebuilt)
    findings = Findings(state["now"], explain)
    findings.status(policy.status, status)
    visitor = recover_visitor(policy, state, status, findings)
    chat = recover_chat(policy, chats[current] if current is not None else None, rebuilt, findings)
    wrapups = unfinished_wrapups(state)
    told = client_directives(policy, status, rebuilt, wrapups, findings)
    others = [
        recover_other_chat(policy, chats[chat_id], replay, findings) for chat_id, replay in replays.items() if chat_id != current
    ]
    return {
        "visitorId": state["visitorId"],
        "visitor": visitor,
        "chat": chat,
        "otherChats": others,
        "directives": told,
        "setAside": rebuilt.set_aside if rebuilt else [],
        "unfinishedWrapups": wrapups,
        "conflicts": findings.conflicts,
        "withheld": findings.withheld,
        "explain": findings.explain.entries if explain else {},
        "policy": _stamp(policy),
    }


def _stamp(policy: Policy) -> dict[str, Any]:
    """Which policy decided: name and version when the manifest gives them."""
    stamp: dict[str, Any] = {"digest": policy.digest}
    if policy.name is not None:
        stamp = {"name": policy.name, "version": policy.version, **stamp}
    return stamp
