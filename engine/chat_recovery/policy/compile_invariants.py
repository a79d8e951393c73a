"""Meaning checks and compilation of `kind: invariants` (an optional file):
every status and action an invariant names must exist, else a did-you-mean
error. What each invariant means is proved later, by `invariants.py`."""
from __future__ import annotations

from typing import Optional

from .chat_model import ChatPolicy
from ..diagnostics import Code, Diagnostic, suggest
from .model import Invariant, Origin
from .files import Document

KINDS = ("terminal", "never", "reachable", "enteredOnlyBy")


def _listed(value) -> tuple:
    return tuple(value) if isinstance(value, list) else (value,)


def compile_invariants(docs: list[Document], statuses: tuple, chat: ChatPolicy, contract_actions: tuple,
                       problems: list[Diagnostic]) -> tuple:
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


def _one(doc: Document, name: str, spec: dict, statuses: tuple, actions: list, problems: list) -> Optional[Invariant]:
    at = ("invariants", name)
    bad = len(problems)
    kind = next(k for k in KINDS if k in spec)
    body = spec[kind]
    if kind == "never":
        named = {"from": _listed(body["from"]), "to": _listed(body["to"])}
    elif kind == "enteredOnlyBy":
        named = {"status": (body["status"],)}
    else:
        named = {None: _listed(body)}
    for key, values in named.items():
        for i, status in enumerate(values):
            path = at + (kind,) + ((key,) if key else ()) + ((i,) if isinstance(_raw(body, key), list) else ())
            if status not in statuses:
                problems.append(doc.diag(path, f"unknown status '{status}'{suggest(status, list(statuses))}", Code.UNKNOWN_STATUS))
    allowed = tuple(body["actions"]) if kind == "enteredOnlyBy" else ()
    for i, action in enumerate(allowed):
        if action not in actions:
            problems.append(doc.diag(at + (kind, "actions", i), f"no action rule handles '{action}' and the contract has no such action{suggest(action, actions)}", Code.UNKNOWN_ACTION))
    if len(problems) > bad:
        return None
    line, col = doc.doc.at(at, key=True)
    first = named.get("from") or named.get("status") or named.get(None)
    return Invariant(name, kind, tuple(first), tuple(named.get("to", ())), frozenset(allowed), Origin(doc.file, line, col))


def _raw(body, key):
    return body if key is None else body[key]
