"""Proving the policy's invariants against the action rules: a search of
the state space (statespace.Space) for the shortest message log that breaks
each one. A broken invariant is an error, shown as that log."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ...diagnostics import Code, Diagnostic
from ...paths import json_path
from ...policy.model import Invariant
from .statespace import Edge, Space


@dataclass(frozen=True)
class Verdict:
    invariant: Invariant
    holds: bool
    path: tuple = ()  # the counterexample: Edges from the initial state
    unreached: tuple = ()  # reachable: the statuses no log reaches
    statuses: tuple = field(default=())  # the status after each step of `path`


def _search(space: Space, arm: Callable, bad: Callable) -> list[Edge] | None:
    """Breadth first over (state, memory): the shortest path to a step where
    `bad(memory, status before, status after)`, the memory being what `arm`
    keeps of the statuses passed through before the step."""
    start = (space.initial, arm(None, space.initial[0]))
    seen: dict = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for edge in space.edges.get(node[0], ()):
            if edge.target is None:
                continue
            if bad(node[1], node[0][0], edge.target[0]):
                path = [edge]
                while seen[node] is not None:
                    node, step = seen[node]
                    path.append(step)
                return path[::-1]
            nxt = (edge.target, arm(node[1], edge.target[0]))
            if nxt not in seen:
                seen[nxt] = (node, edge)
                queue.append(nxt)
    return None


def _reachable(invariant: Invariant, space: Space) -> Verdict:
    missed = tuple(s for s in invariant.statuses() if s not in space.reached_statuses())
    return Verdict(invariant, not missed, unreached=missed)


def _entered_only_by(invariant: Invariant, space: Space) -> Verdict:
    (status,) = invariant.statuses("status")
    for key, edges in space.edges.items():  # breadth-first order: the first hit is the shortest
        for edge in edges:
            if (
                edge.target is not None
                and key[0] != status
                and edge.target[0] == status
                and space.events[edge.event].action not in invariant.actions
            ):
                return _broken(invariant, space.path(key) + [edge])
    return Verdict(invariant, True)


def _terminal(invariant: Invariant, space: Space) -> Verdict:
    final = set(invariant.statuses())
    return _broken(
        invariant,
        _search(
            space,
            lambda held, s: held if held is not None else (s if s in final else None),
            lambda held, before, after: held is not None and after != held,
        ),
    )


def _never(invariant: Invariant, space: Space) -> Verdict:
    # once a `from` status is reached, no later message leads into a `to` status
    sources, targets = set(invariant.statuses("from")), set(invariant.statuses("to"))
    return _broken(
        invariant,
        _search(
            space,
            lambda armed, s: bool(armed) or s in sources,
            lambda armed, before, after: armed and after in targets and after != before,
        ),
    )


def _broken(invariant: Invariant, path: list[Edge] | None) -> Verdict:
    if path is None:
        return Verdict(invariant, True)
    return Verdict(invariant, False, tuple(path), statuses=tuple(e.target[0] for e in path if e.target is not None))


def _names(value) -> str:
    values = value if isinstance(value, list) else [value]
    return ", ".join(f"`{v}`" for v in values)


@dataclass(frozen=True)
class InvariantKind:
    name: str
    prove: Callable[[Invariant, Space], Verdict]
    sentence: Callable[[Any], str]  # the form as written -> what holds, for the generated docs


# The invariant kinds, one entry each; a new kind is one entry here plus its
# form in schemas/policy-invariants.schema.json (tests/test_closed_sets.py
# holds the two to the same names). The compile reads every form alike.
KINDS: Mapping[str, InvariantKind] = MappingProxyType(
    {
        k.name: k
        for k in (
            InvariantKind(
                "terminal", _terminal, lambda body: f"{_names(body)}: once reached, no later message changes the status"
            ),
            InvariantKind("never", _never, lambda body: f"once {_names(body['from'])}, never {_names(body['to'])} after"),
            InvariantKind("reachable", _reachable, lambda body: f"some message log reaches each of {_names(body)}"),
            InvariantKind(
                "enteredOnlyBy",
                _entered_only_by,
                lambda body: f"{_names(body['status'])} is entered only by {_names(body['actions'])}",
            ),
        )
    }
)


def prove(invariant: Invariant, space: Space) -> Verdict:
    return KINDS[invariant.kind].prove(invariant, space)  # the schema admits only the table's kinds


def describe(verdict: Verdict, space: Space) -> str:
    """One line: the log that breaks the invariant and the rule that broke it."""
    inv = verdict.invariant
    if not verdict.path:
        return f"invariant '{inv.name}' fails: no message log reaches {', '.join(repr(s) for s in verdict.unreached)}"
    steps = [f"{space.events[e.event]} [{s}]" for e, s in zip(verdict.path, verdict.statuses)]
    last = verdict.path[-1]
    rule = space.chat.rules[last.rule]
    before = verdict.statuses[-2] if len(verdict.statuses) > 1 else None
    return (
        f"invariant '{inv.name}' fails: {' -> '.join(steps)}; "
        f"rule '{rule.name}' ({rule.origin}) turns {before or 'no status'} into {verdict.statuses[-1]}"
    )


def check(subject) -> list[Diagnostic]:
    space = subject.space
    out = []
    for invariant in subject.policy.invariants:
        o = invariant.origin
        if not space.complete:
            continue  # never_fire warns once that nothing was proved
        verdict = prove(invariant, space)
        if not verdict.holds:
            out.append(
                Diagnostic(
                    o.file,
                    o.line,
                    o.col,
                    describe(verdict, space),
                    Code.INVARIANT_FAILS,
                    json_path(("invariants", invariant.name)),
                )
            )
    return out
