"""Meaning checks and compilation of the action rules and client rules."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ..diagnostics import Code, Diagnostic, did_you_mean, suggest
from ..json_identity import canonical_json
from ..paths import json_path
from .chat_model import SENDER_TYPES, ActionRule, ChatPolicy, ClientRule, Condition, Effect
from .conditions import closed_kinds, kind_of
from .effects import EFFECT_OPS
from .expressions import ExpressionError
from .files import Document
from .model import Origin, frozen_map


def _origin(doc: Document, path: tuple[Any, ...]) -> Origin:
    line, col = doc.doc.at(path, key=True)
    return Origin(doc.file, line, col)


def compile_chat(
    actions: Document,
    client: Document,
    statuses: tuple[Any, ...],
    problems: list[Diagnostic],
    contract_actions: tuple[str, ...] = (),
) -> ChatPolicy | None:
    data = actions.doc.data
    initial = data["state"]
    trust = data.get("trust") or {"mode": "holders"}
    rules: list[ActionRule] = []
    for name, spec in data["rules"].items():
        rule = _rule(actions, name, spec, initial, statuses, problems)
        if rule is not None:
            rules.append(rule)
    _overlaps(actions, rules, problems)
    actors = _actors(actions, {*contract_actions, *(r.action for r in rules)}, problems)
    _trust_mode(actions, trust, problems)
    client_rules = [_client_rule(client, name, spec, statuses, problems) for name, spec in client.doc.data["rules"].items()]
    order = {rule.name: i for i, rule in enumerate(rules)}
    rules.sort(key=lambda r: (r.action, r.priority, order[r.name]))
    by_action: dict[str, Any] = {}
    for i, rule in enumerate(rules):
        by_action.setdefault(rule.action, []).append(i)
    fields = sorted({c.field for r in rules for c in r.conditions})
    reads = [kind_of(f).reader(f) for f in fields]  # how the replay reads each, decided once here
    position = {f: i for i, f in enumerate(fields)}
    tested: dict[str, Any] = {}  # action -> positions (in fields) of the fields its rules test
    for rule in rules:
        tested.setdefault(rule.action, set()).update(position[c.field] for c in rule.conditions)
    return ChatPolicy(
        initial_state=frozen_map(copy.deepcopy(initial)),
        actors=frozen_map(actors),
        trust_mode=trust["mode"],
        trust=frozen_map({k: frozenset(v) for k, v in (trust.get("sides") or {}).items()}),
        trust_by_action=frozen_map({r.action: r.trust for r in reversed(rules) if r.trust is not None}),
        rules=tuple(rules),
        by_action=frozen_map({k: tuple(v) for k, v in by_action.items()}),
        condition_fields=tuple(fields),
        reads_by_action=frozen_map(
            {action: tuple((i, *reads[i]) for i in sorted(indexes)) for action, indexes in tested.items()}
        ),
        client=tuple(r for r in client_rules if r is not None),
        signed=frozenset((data.get("signatures") or {}).get("required", SENDER_TYPES)),
        origins=frozen_map(
            {
                **{f"state.{key}": _origin(actions, ("state", key)) for key in initial},
                **({"trust.mode": _origin(actions, ("trust", "mode"))} if "trust" in data else {}),
                **{f"trust.{key}": _origin(actions, ("trust", "sides", key)) for key in trust.get("sides") or {}},
                **{f"actors.{action}": _origin(actions, ("actors", actor)) for action, actor in actors.items()},
            }
        ),
    )


def _actors(doc: Document, known: set[str], problems: list[Diagnostic]) -> dict[str, str]:
    """action -> actor type. An action under two actors is refused (which
    would its copies need?); one a letter away from a known action is a slip
    (a policy may add actions, so other new names pass)."""
    actors: dict[str, str] = {}
    where: dict[str, tuple[Any, ...]] = {}
    for actor, listed in (doc.doc.data.get("actors") or {}).items():
        for i, action in enumerate(listed):
            at = ("actors", actor, i)
            if action in actors:
                line, col = doc.doc.at(where[action])
                problems.append(
                    doc.diag(
                        at,
                        f"action '{action}' is listed under actor '{actors[action]}' (at {line}:{col}) and under '{actor}': an action has one actor type",
                        Code.DUPLICATE_ACTOR,
                    )
                )
                continue
            hit = did_you_mean(action, sorted(known)) if action not in known else None
            if hit:
                problems.append(
                    doc.diag(at, f"unknown action '{action}' under actor '{actor}' (did you mean '{hit}'?)", Code.UNKNOWN_ACTION)
                )
                continue
            actors[action], where[action] = actor, at
    return actors


def _trust_mode(doc: Document, trust: dict[str, Any], problems: list[Diagnostic]) -> None:
    """`sides` and a rule's own `trust` mean something only in mode senders."""
    if trust["mode"] == "senders":
        if "sides" not in trust:
            problems.append(
                doc.diag(
                    ("trust", "mode"), "`mode: senders` needs `sides`: by sender type, the report sides believed", Code.TRUST_MODE
                )
            )
        return
    if "sides" in trust:
        problems.append(
            doc.diag(
                ("trust", "sides"),
                "`sides` applies only with `mode: senders`; mode holders counts every holder's copy",
                Code.TRUST_MODE,
                at_key=True,
            )
        )
    for name, spec in doc.doc.data["rules"].items():
        if "trust" in spec:
            problems.append(
                doc.diag(
                    ("rules", name, "trust"),
                    f"rule '{name}': `trust` applies only with the file's `trust: {{mode: senders}}`; mode holders counts every holder's copy",
                    Code.TRUST_MODE,
                    at_key=True,
                )
            )


def _rule(
    doc: Document, name: str, spec: dict[str, Any], initial: dict[str, Any], statuses: tuple[Any, ...], problems: list[Any]
) -> ActionRule | None:
    at = ("rules", name)
    bad = len(problems)
    conditions = []
    for field, accepted in (spec.get("when") or {}).items():
        kind = kind_of(field)
        reads, state_field = kind.reader(field)
        if reads == "state" and state_field not in initial:
            problems.append(
                doc.diag(
                    at + ("when", field),
                    f"condition on unknown state field '{state_field}'{suggest(state_field, list(initial))}",
                    Code.UNKNOWN_FIELD,
                    at_key=True,
                )
            )
        excluded = None
        if isinstance(accepted, dict) and set(accepted) == {"not"}:
            written = accepted["not"] if isinstance(accepted["not"], list) else [accepted["not"]]
            excluded = tuple(sorted(canonical_json(v) for v in written))
            accepted = _negated(doc, at + ("when", field), field, written, statuses, problems)
        values = accepted if isinstance(accepted, list) else [accepted]
        universe = kind.universe(statuses) if kind.unknown else None
        if kind.unknown and universe is not None:
            for value in values:
                if value not in universe:
                    problems.append(
                        doc.diag(
                            at + ("when", field),
                            f"unknown {field} '{value}'{suggest(str(value), [u for u in universe if u])}",
                            kind.unknown,
                        )
                    )
        conditions.append(Condition(field, frozenset(canonical_json(v) for v in values), excluded))
    effects = []
    for op in EFFECT_OPS.values():  # in the table's order, which is the order effects run in
        for field, template in (spec.get(op.name) or {}).items():
            path = tuple(field.split("."))
            where = at + (op.name, field)
            if path[0] not in initial:
                problems.append(
                    doc.diag(
                        where,
                        f"'{path[0]}' is not a field of the chat state{suggest(path[0], list(initial))}; declare it under `state`",
                        Code.UNKNOWN_FIELD,
                        at_key=True,
                    )
                )
                continue
            if op.list_only and (len(path) > 1 or not isinstance(initial[path[0]], list)):
                problems.append(
                    doc.diag(
                        where,
                        f"{op.name} needs a list field; '{field}' starts as {initial.get(path[0])!r}",
                        Code.NOT_A_LIST,
                        at_key=True,
                    )
                )
                continue
            try:
                value, key = op.compile(template)
                effects.append(Effect(op.name, path, value, key, canonical_json(template)))
            except ExpressionError as exc:
                problems.append(doc.diag(where, str(exc), Code.BAD_REFERENCE))
    status = spec.get("status")
    if status is not None and status not in statuses:
        problems.append(
            doc.diag(at + ("status",), f"unknown status '{status}'{suggest(status, list(statuses))}", Code.UNKNOWN_STATUS)
        )
    if len(problems) > bad:
        return None
    trust = spec.get("trust")
    return ActionRule(
        name,
        spec["on"],
        tuple(sorted(conditions, key=lambda c: c.field)),
        int(spec.get("priority", 0)),
        tuple(effects),
        status,
        frozenset(trust) if trust is not None else None,
        _origin(doc, at),
    )


def _negated(
    doc: Document,
    where: tuple[Any, ...],
    field: str,
    excluded: Iterable[Any],
    statuses: tuple[Any, ...],
    problems: list[Diagnostic],
) -> list[Any]:
    """`{not: [a, b]}` on a field whose values are a closed set becomes the
    list of every other value (null included), so the engines and checks
    see one kind of condition."""
    kind = kind_of(field)
    universe = kind.universe(statuses)
    if universe is None:
        problems.append(
            doc.diag(
                where,
                f"`not` needs a field with a closed set of values ({', '.join(closed_kinds())}); '{field}' has none",
                Code.BAD_CONDITION,
                at_key=True,
            )
        )
        return []
    for value in excluded:
        if value is not None and value not in universe:
            problems.append(
                doc.diag(
                    where,
                    f"unknown {field} {value!r} under `not`{suggest(str(value), [u for u in universe if u])}",
                    kind.unknown or Code.UNKNOWN_VALUE,
                )
            )
    return [value for value in universe if value not in excluded]


def _overlaps(doc: Document, rules: list[ActionRule], problems: list[Diagnostic]) -> None:
    """Two rules for one action at one priority that some message could
    satisfy both: which fires would be up to the engine, so it is refused."""
    for i, first in enumerate(rules):
        for second in rules[i + 1 :]:
            if first.action != second.action or first.priority != second.priority:
                continue
            mine = {c.field: c.values for c in first.conditions}
            disjoint = any(c.field in mine and not (mine[c.field] & c.values) for c in second.conditions)
            if not disjoint:
                o = first.origin
                problems.append(
                    Diagnostic(
                        second.origin.file,
                        second.origin.line,
                        second.origin.col,
                        f"rule '{second.name}' overlaps rule '{first.name}' (defined at {o.line}:{o.col}) for action '{second.action}': "
                        "make their `when` conditions exclusive or give them different `priority`",
                        Code.OVERLAPPING_RULES,
                        json_path(("rules", second.name)),
                    )
                )


def _client_rule(
    doc: Document, name: str, spec: dict[str, Any], statuses: tuple[Any, ...], problems: list[Any]
) -> ClientRule | None:
    when = spec["when"]
    for i, status in enumerate(when.get("status") or ()):
        if status not in statuses:
            problems.append(
                doc.diag(
                    ("rules", name, "when", "status", i),
                    f"unknown status '{status}'{suggest(status, list(statuses))}",
                    Code.UNKNOWN_STATUS,
                )
            )
    if not when:
        problems.append(doc.diag(("rules", name, "when"), "a client rule needs a condition", Code.EMPTY_CONDITION))
    for i, directive in enumerate(spec["directives"]):
        _directive_needs(doc, ("rules", name, "directives", i), directive, when, problems)
    return ClientRule(
        name,
        frozenset(when["status"]) if "status" in when else None,
        when.get("action"),
        when.get("missingFrom"),
        bool(when.get("wrapup")),
        tuple(frozen_map(d) for d in spec["directives"]),
        _origin(doc, ("rules", name)),
    )


# What a directive refers to, and the condition that supplies it: without it
# the directive would carry nothing (or fail the recovery).
_NEEDS = (
    ("wrapup", "$wrapup", "wrapup", "`wrapup: $wrapup` needs `when: {wrapup: true}`"),
    ("to", "wrapupAgent", "wrapup", "`to: wrapupAgent` needs `when: {wrapup: true}`"),
    ("message", "$message", "action", "`message: $message` needs `when: {action: ..., missingFrom: ...}`"),
)


def _directive_needs(
    doc: Document, at: tuple[Any, ...], directive: dict[str, Any], when: dict[str, Any], problems: list[Any]
) -> None:
    for key, value, needed, message in _NEEDS:
        if directive.get(key) == value and not when.get(needed):
            problems.append(doc.diag(at + (key,), message, Code.MISSING_CONDITION))
