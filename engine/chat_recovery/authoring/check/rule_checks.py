"""Warnings about rules that compile but do nothing: action rules that never
fire, statuses nothing reaches, client rules that never match, and action
names one letter away from the contract's. Each points at the rule."""

from __future__ import annotations

from ...diagnostics import Code, Diagnostic, did_you_mean, suggest
from ...jsonio import loads
from ...paths import json_path
from ...policy.chat_model import SENDER_TYPES, ActionRule
from ...policy.model import Origin
from .statespace import MAX_STATES, MAX_STEPS


def warn(origin: Origin, message: str, code: Code, path: tuple) -> Diagnostic:
    """A diagnostic at the rule's place; its severity is the code's (these are warnings)."""
    return Diagnostic(origin.file, origin.line, origin.col, message, code, json_path(path))


def _names(rules) -> str:
    return ", ".join(f"'{r.name}' ({r.origin.line}:{r.origin.col})" for r in rules)


def never_fire(subject) -> list[Diagnostic]:
    chat, space = subject.policy.chat, subject.space
    if not space.complete:
        first = chat.rules[0].origin if chat.rules else Origin(subject.policy.root, 0, 0)
        return [
            warn(
                Origin(first.file, 0, 0),
                f"the action rules reach more than {MAX_STATES} states (or {MAX_STEPS} steps) of the tested state fields: which rules never fire was not checked, and no invariant was proved",
                Code.NOT_PROVED,
                ("rules",),
            )
        ]
    fired = space.fired()
    out = []
    for index, rule in enumerate(chat.rules):
        if index not in fired:
            out.append(
                warn(
                    rule.origin, f"rule '{rule.name}' never fires: {_why(subject, rule)}", Code.NEVER_FIRES, ("rules", rule.name)
                )
            )
    return out


def _why(subject, rule: ActionRule) -> str:
    chat, space = subject.policy.chat, subject.space
    instead = set()
    for key, edges in space.edges.items():
        for edge in edges:
            if edge.rule is not None and space.matches(rule, key, space.events[edge.event]):
                instead.add(edge.rule)
    if instead:
        rules = sorted((chat.rules[i] for i in instead), key=lambda r: (r.origin.line, r.name))
        which = f"rule {_names(rules)} comes" if len(rules) == 1 else f"rules {_names(rules)} come"
        return (
            f"{which} first for action '{rule.action}' and match{'es' if len(rules) == 1 else ''} every message it matches; "
            "narrow the earlier rule's `when` or give this rule a lower `priority`"
        )
    for condition in rule.conditions:
        if condition.field == "sender.type" and not any(f'"{t}"' in condition.values for t in SENDER_TYPES):
            named = sorted(condition.values)[0].strip('"')
            return f"sender.type is never '{named}'{suggest(named, SENDER_TYPES)}; it is one of {', '.join(SENDER_TYPES)}"
    tested = [c for c in rule.conditions if c.field == "status" or c.field.startswith("state.")]
    if tested:
        reached = sorted(str(s) for s in space.reached_statuses() if s is not None)
        shown = "; ".join(f"{c.field}: {', '.join(_plain(v) for v in sorted(c.values))}" for c in tested)
        statuses = (
            f" (the statuses logs reach: {', '.join(reached) or 'none'})" if any(c.field == "status" for c in tested) else ""
        )
        return f"its `when` ({shown}) never holds in any message log{statuses}"
    return "no message of any log satisfies its conditions"


def _plain(canonical: str) -> str:
    value = loads(canonical)
    return value if isinstance(value, str) else canonical


def recovered_statuses(subject) -> set:
    """Every status a recovery can show: the log's, or an uploaded contract
    status as it is recovered."""
    statuses = subject.policy.statuses
    uploaded = {statuses[s].recover_as for s in subject.contract.statuses if s in statuses}
    return ({s for s in subject.space.reached_statuses()} | uploaded) - {None}


def unreachable_statuses(subject) -> list[Diagnostic]:
    if not subject.space.complete:
        return []
    policy, contract = subject.policy, subject.contract
    recovered = recovered_statuses(subject)
    logged = subject.space.reached_statuses()
    out = []
    for name, rule in policy.statuses.items():
        if name not in contract.statuses and name not in recovered:
            out.append(
                warn(
                    rule.origin,
                    f"status '{name}' is never recovered: it is not a status of the contract (clients upload only those){suggest(name, list(contract.statuses))}, "
                    "no contract status recovers as it, and no action rule that fires sets it",
                    Code.UNREACHABLE_STATUS,
                    ("statuses", name),
                )
            )
        elif rule.chat_related and name not in logged:
            out.append(
                warn(
                    rule.origin,
                    f"status '{name}' is chatRelated, but no action rule that fires sets it: the message log never decides it",
                    Code.UNREACHABLE_STATUS,
                    ("statuses", name),
                )
            )
    for rule in policy.chat.rules:
        target = policy.statuses.get(rule.status) if rule.status else None
        if target is not None and not target.chat_related:
            out.append(
                warn(
                    rule.origin,
                    f"rule '{rule.name}' sets status '{rule.status}', which visitor-status.yaml does not mark `chatRelated: true`",
                    Code.NOT_CHAT_RELATED,
                    ("rules", rule.name, "status"),
                )
            )
    return out


def client_rules(subject) -> list[Diagnostic]:
    chat, contract = subject.policy.chat, subject.contract
    recovered = recovered_statuses(subject) if subject.space.complete else None
    actions = list(dict.fromkeys([*chat.by_action, *contract.actions]))
    out = []
    for rule in chat.client:
        path = ("rules", rule.name, "when")
        if recovered is not None and rule.statuses is not None:
            never = sorted(rule.statuses - recovered)
            if never:
                lead = "never matches" if len(never) == len(rule.statuses) else "has statuses that are"
                out.append(
                    warn(
                        rule.origin,
                        f"client rule '{rule.name}' {lead}: no recovery has status {', '.join(repr(s) for s in never)} (no contract status recovers as it and no action rule that fires sets it)",
                        Code.NEVER_MATCHES,
                        path + ("status",),
                    )
                )
        for i, directive in enumerate(rule.directives):
            hit = did_you_mean(directive["do"], contract.directives) if directive["do"] not in contract.directives else None
            if hit:
                out.append(
                    warn(
                        rule.origin,
                        f"client rule '{rule.name}': '{directive['do']}' is not a directive of the contract (did you mean '{hit}'?)",
                        Code.UNKNOWN_DIRECTIVE,
                        ("rules", rule.name, "directives", i, "do"),
                    )
                )
        if rule.action is not None and rule.action not in actions:
            out.append(
                warn(
                    rule.origin,
                    f"client rule '{rule.name}' never matches: no action rule handles '{rule.action}' and the contract has no such action{suggest(rule.action, actions)}",
                    Code.NEVER_MATCHES,
                    path + ("action",),
                )
            )
    return out


def action_names(subject) -> list[Diagnostic]:
    """A policy may add actions; one that is a slip of a contract action
    would silently never match the messages clients send."""
    contract = subject.contract.actions
    out = []
    for rule in subject.policy.chat.rules:
        hit: str | None = did_you_mean(rule.action, contract) if rule.action not in contract else None
        if hit:
            out.append(
                warn(
                    rule.origin,
                    f"'{rule.action}' is not an action of the contract (did you mean '{hit}'?)",
                    Code.NOT_CONTRACT_ACTION,
                    ("rules", rule.name, "on"),
                )
            )
    return out


def actors(subject) -> list[Diagnostic]:
    """A rule's action with no actor type: its copies are not screened, so a
    visitor's report could carry it as from anyone."""
    chat = subject.policy.chat
    out = []
    for rule in chat.rules:
        if rule.action not in chat.actors:
            out.append(
                warn(
                    rule.origin,
                    f"action '{rule.action}' has no actor type under `actors`: its copies are not checked (whoever a copy says sent it, it counts)",
                    Code.NO_ACTOR,
                    ("rules", rule.name, "on"),
                )
            )
    return out
