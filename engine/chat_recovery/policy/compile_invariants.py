"""Meaning checks and compilation of `kind: invariants` (an optional file):
every status and action an invariant names must exist, else a did-you-mean
error. What each kind means (its proof and its sentence in the docs) is the
table in `authoring/check/invariants.py`; this reads every kind alike."""

from __future__ import annotations

from typing import Any

from ..diagnostics import Code, Diagnostic, suggest
from .chat_model import ChatPolicy
from .files import Document
from .model import Invariant, Origin

NOT_THE_FORM = ("seed", "description")  # an invariant's other keys; the one left is its kind


def _listed(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def compile_invariants(
    docs: list[Document],
    statuses: tuple[Any, ...],
    chat: ChatPolicy,
    contract_actions: tuple[Any, ...],
    problems: list[Diagnostic],
) -> tuple[Any, ...]:
    found = [d for d in docs if d.kind == "invariants"]
    for extra in found[1:]:
        problems.append(extra.diag(("kind",), f"a second invariant file; the first is {found[0].file}", Code.DUPLICATE_FILE))
    if not found:
        return ()
    doc = found[0]
    actions = list(dict.fromkeys([*chat.by_action, *contract_actions]))
    out = []
    for name, spec in doc.doc.data["invariants"].items():
        invariant = _one(doc, name, spec, statuses, actions, problems)
        if invariant is not None:
            out.append(invariant)
    return tuple(out)


def _one(
    doc: Document, name: str, spec: dict[str, Any], statuses: tuple[str, ...], actions: list[str], problems: list[Diagnostic]
) -> Invariant | None:
    """Any form, read the one way the schema writes them all: a status or a
    list of them, or an object whose `actions` names message actions and
    whose every other key names statuses. So this knows no kind by name."""
    at = ("invariants", name)
    bad = len(problems)
    kind = next(k for k in spec if k not in NOT_THE_FORM)  # the schema's oneOf: exactly one
    body = spec[kind]
    parts = body if isinstance(body, dict) else {"": body}
    named = tuple((role, _listed(value)) for role, value in parts.items() if role != "actions")
    for role, values in named:
        for i, status in enumerate(values):
            path = at + (kind,) + ((role,) if role else ()) + ((i,) if isinstance(parts[role], list) else ())
            if status not in statuses:
                problems.append(
                    doc.diag(path, f"unknown status '{status}'{suggest(status, list(statuses))}", Code.UNKNOWN_STATUS)
                )
    allowed = tuple(parts.get("actions", ()))
    for i, action in enumerate(allowed):
        if action not in actions:
            problems.append(
                doc.diag(
                    at + (kind, "actions", i),
                    f"no action rule handles '{action}' and the contract has no such action{suggest(action, actions)}",
                    Code.UNKNOWN_ACTION,
                )
            )
    if len(problems) > bad:
        return None
    line, col = doc.doc.at(at, key=True)
    return Invariant(name, kind, named, frozenset(allowed), Origin(doc.file, line, col))
