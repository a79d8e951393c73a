"""Meaning checks and compilation of `kind: invariants` (an optional file):
every status and action an invariant names must exist, else a did-you-mean
error. What each invariant means is proved later, by `invariants.py`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..diagnostics import Code, Diagnostic, suggest
from .chat_model import ChatPolicy
from .files import Document
from .model import Origin

KINDS = ("terminal", "never", "reachable", "enteredOnlyBy")


@dataclass(frozen=True)
class Invariant:
    name: str
    kind: str                  # one of KINDS
    statuses: tuple[Any, ...]            # terminal / reachable: the statuses; never: `from`; enteredOnlyBy: (status,)
    targets: tuple[Any, ...] = ()        # never: `to`
    actions: frozenset[str] = frozenset()  # enteredOnlyBy: the actions allowed to enter the status
    origin: Origin = Origin("", 0, 0)


def _listed(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def compile_invariants(docs: list[Document], statuses: tuple[Any, ...], chat: ChatPolicy, contract_actions: tuple[Any, ...],
                       problems: list[Diagnostic]) -> tuple[Any, ...]:
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


def _one(doc: Document, name: str, spec: dict[str, Any], statuses: tuple[Any, ...], actions: list[Any], problems: list[Any]) -> Invariant | None:
    at = ("invariants", name)
    bad = len(problems)
    kind = next(k for k in KINDS if k in spec)
    body = spec[kind]
    named: dict[str | None, tuple[Any, ...]]   # the key under the kind (None: the kind's own list) -> statuses
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
    first = named.get("from") or named.get("status") or named.get(None) or ()
    return Invariant(name, kind, tuple(first), tuple(named.get("to", ())), frozenset(allowed), Origin(doc.file, line, col))


def _raw(body: Any, key: str | None) -> Any:
    return body if key is None else body[key]
