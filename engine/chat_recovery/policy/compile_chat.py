"""Meaning checks and compilation of the action rules and client rules."""
from __future__ import annotations

import copy
from typing import Optional

from .chat_model import SENDER_TYPES, ActionRule, ChatPolicy, ClientRule, Condition, Effect
from ..diagnostics import Code, Diagnostic, suggest
from .expressions import ExpressionError, compile_value
from ..json_identity import canonical_json
from .model import Origin, frozen_map
from ..paths import json_path
from .files import Document

LIST_OPS = ("remove", "add", "upsert")
EFFECT_ORDER = ("set", "remove", "add", "upsert")  # remove before add: a transfer accepted by its own agent keeps it


def _origin(doc: Document, path: tuple) -> Origin:
    line, col = doc.doc.at(path, key=True)
    return Origin(doc.file, line, col)


def compile_chat(actions: Document, client: Document, statuses: tuple, problems: list[Diagnostic]) -> Optional[ChatPolicy]:
    data = actions.doc.data
    initial = data["state"]
    rules: list[ActionRule] = []
    for name, spec in data["rules"].items():
        rule = _rule(actions, name, spec, initial, statuses, problems)
        if rule is not None:
            rules.append(rule)
    _overlaps(actions, rules, problems)
    client_rules = [_client_rule(client, name, spec, statuses, problems) for name, spec in client.doc.data["rules"].items()]
    order = {rule.name: i for i, rule in enumerate(rules)}
    rules.sort(key=lambda r: (r.action, r.priority, order[r.name]))
    by_action: dict = {}
    for i, rule in enumerate(rules):
        by_action.setdefault(rule.action, []).append(i)
    fields = sorted({c.field for r in rules for c in r.conditions})
    reads = [_reader(f) for f in fields]
    position = {f: i for i, f in enumerate(fields)}
    tested: dict = {}   # action -> positions (in fields) of the fields its rules test
    for rule in rules:
        tested.setdefault(rule.action, set()).update(position[c.field] for c in rule.conditions)
    return ChatPolicy(
        initial_state=frozen_map(copy.deepcopy(initial)),
        trust=frozen_map({k: frozenset(v) for k, v in data["trust"].items()}),
        trust_by_action=frozen_map({r.action: r.trust for r in reversed(rules) if r.trust is not None}),
        rules=tuple(rules),
        by_action=frozen_map({k: tuple(v) for k, v in by_action.items()}),
        condition_fields=tuple(fields),
        reads_by_action=frozen_map({action: tuple((i, *reads[i]) for i in sorted(indexes)) for action, indexes in tested.items()}),
        client=tuple(r for r in client_rules if r is not None),
        origins=frozen_map({f"{section}.{key}": _origin(actions, (section, key)) for section in ("state", "trust") for key in data[section]}),
    )


def _rule(doc: Document, name: str, spec: dict, initial: dict, statuses: tuple, problems: list) -> Optional[ActionRule]:
    at = ("rules", name)
    bad = len(problems)
    conditions = []
    for field, accepted in (spec.get("when") or {}).items():
        if field.startswith("state.") and field[6:] not in initial:
            problems.append(doc.diag(at + ("when", field), f"condition on unknown state field '{field[6:]}'{suggest(field[6:], list(initial))}", Code.UNKNOWN_FIELD, at_key=True))
        excluded = None
        if isinstance(accepted, dict) and set(accepted) == {"not"}:
            written = accepted["not"] if isinstance(accepted["not"], list) else [accepted["not"]]
            excluded = tuple(sorted(canonical_json(v) for v in written))
            accepted = _negated(doc, at + ("when", field), field, written, statuses, problems)
        values = accepted if isinstance(accepted, list) else [accepted]
        if field == "status":
            for value in values:
                if value is not None and value not in statuses:
                    problems.append(doc.diag(at + ("when", field), f"unknown status '{value}'{suggest(str(value), list(statuses))}", Code.UNKNOWN_STATUS))
        conditions.append(Condition(field, frozenset(canonical_json(v) for v in values), excluded))
    effects = []
    for op in EFFECT_ORDER:
        for field, template in (spec.get(op) or {}).items():
            path = tuple(field.split("."))
            where = at + (op, field)
            if path[0] not in initial:
                problems.append(doc.diag(where, f"'{path[0]}' is not a field of the chat state{suggest(path[0], list(initial))}; declare it under `state`", Code.UNKNOWN_FIELD, at_key=True))
                continue
            if op in LIST_OPS and (len(path) > 1 or not isinstance(initial[path[0]], list)):
                problems.append(doc.diag(where, f"{op} needs a list field; '{field}' starts as {initial.get(path[0])!r}", Code.NOT_A_LIST, at_key=True))
                continue
            try:
                if op == "upsert":
                    effects.append(Effect(op, path, compile_value(template["value"]), template["by"], canonical_json(template)))
                else:
                    effects.append(Effect(op, path, compile_value(template), None, canonical_json(template)))
            except ExpressionError as exc:
                problems.append(doc.diag(where, str(exc), Code.BAD_REFERENCE))
    status = spec.get("status")
    if status is not None and status not in statuses:
        problems.append(doc.diag(at + ("status",), f"unknown status '{status}'{suggest(status, list(statuses))}", Code.UNKNOWN_STATUS))
    if len(problems) > bad:
        return None
    trust = spec.get("trust")
    return ActionRule(name, spec["on"], tuple(sorted(conditions, key=lambda c: c.field)), int(spec.get("priority", 0)),
                      tuple(effects), status, frozenset(trust) if trust is not None else None, _origin(doc, at))


CLOSED_FIELDS = {"sender.type": SENDER_TYPES}  # plus status: the policy's statuses


def _negated(doc: Document, where: tuple, field: str, excluded, statuses: tuple, problems: list) -> list:
    """`{not: [a, b]}` on a field whose values are a closed set becomes the
    list of every other value (null included), so the engines and checks
    see one kind of condition."""
    universe = (None, *statuses) if field == "status" else CLOSED_FIELDS.get(field)
    if universe is None:
        problems.append(doc.diag(where, f"`not` needs a field with a closed set of values (status, sender.type); '{field}' has none", Code.BAD_CONDITION, at_key=True))
        return []
    for value in excluded:
        if value is not None and value not in universe:
            problems.append(doc.diag(where, f"unknown {field} {value!r} under `not`{suggest(str(value), [u for u in universe if u])}", Code.UNKNOWN_STATUS if field == "status" else Code.UNKNOWN_VALUE))
    return [value for value in universe if value not in excluded]


def _reader(field: str) -> tuple:
    """How the replay reads a condition field, decided once here."""
    if field == "status":
        return ("status", None)
    if field.startswith("state."):
        return ("state", field[6:])
    return ("message", compile_value("$" + field))


def _overlaps(doc: Document, rules: list[ActionRule], problems: list) -> None:
    """Two rules for one action at one priority that some message could
    satisfy both: which fires would be up to the engine, so it is refused."""
    for i, first in enumerate(rules):
        for second in rules[i + 1:]:
            if first.action != second.action or first.priority != second.priority:
                continue
            mine = {c.field: c.values for c in first.conditions}
            disjoint = any(c.field in mine and not (mine[c.field] & c.values) for c in second.conditions)
            if not disjoint:
                o = first.origin
                problems.append(Diagnostic(
                    second.origin.file, second.origin.line, second.origin.col,
                    f"rule '{second.name}' overlaps rule '{first.name}' (defined at {o.line}:{o.col}) for action '{second.action}': "
                    "make their `when` conditions exclusive or give them different `priority`",
                    Code.OVERLAPPING_RULES, json_path(("rules", second.name))))


def _client_rule(doc: Document, name: str, spec: dict, statuses: tuple, problems: list) -> Optional[ClientRule]:
    when = spec["when"]
    for i, status in enumerate(when.get("status") or ()):
        if status not in statuses:
            problems.append(doc.diag(("rules", name, "when", "status", i), f"unknown status '{status}'{suggest(status, list(statuses))}", Code.UNKNOWN_STATUS))
    if not when:
        problems.append(doc.diag(("rules", name, "when"), "a client rule needs a condition", Code.EMPTY_CONDITION))
    for i, directive in enumerate(spec["directives"]):
        _directive_needs(doc, ("rules", name, "directives", i), directive, when, problems)
    return ClientRule(
        name, frozenset(when["status"]) if "status" in when else None, when.get("action"), when.get("missingFrom"),
        bool(when.get("wrapup")), tuple(frozen_map(d) for d in spec["directives"]), _origin(doc, ("rules", name)))


# What a directive refers to, and the condition that supplies it: without it
# the directive would carry nothing (or fail the recovery).
_NEEDS = (("wrapup", "$wrapup", "wrapup", "`wrapup: $wrapup` needs `when: {wrapup: true}`"),
          ("to", "wrapupAgent", "wrapup", "`to: wrapupAgent` needs `when: {wrapup: true}`"),
          ("message", "$message", "action", "`message: $message` needs `when: {action: ..., missingFrom: ...}`"))


def _directive_needs(doc: Document, at: tuple, directive: dict, when: dict, problems: list) -> None:
    for key, value, needed, message in _NEEDS:
        if directive.get(key) == value and not when.get(needed):
            problems.append(doc.diag(at + (key,), message, Code.MISSING_CONDITION))
