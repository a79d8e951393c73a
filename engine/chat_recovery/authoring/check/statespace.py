"""Every abstract state the action rules can reach, for `policy check`.

A state is the chat-related status the log yields so far (None at first)
and the value of each state field some `when` tests. An event is an action
some rule handles (and one that none handles) with every distinguishing
combination of the message fields that matter to it: those its rules test,
and those its rules copy into a tested state field. Each field takes every
value a condition accepts plus one "something else" (and "absent"). Rules
are matched and applied by the replay's own code (chat.match_event, the
plain-Python matcher, chat.apply_effect), so the abstraction cannot drift from
the engines. Set-aside messages are simply left out of a log, so every
sequence of events is a log some set of reports replays."""

from __future__ import annotations

import copy
import json  # stdlib: a value in a message, spaced as people read it (orjson has no ", ")
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

from ...json_identity import canonical_json
from ...jsonio import loads
from ...policy.chat_model import SENDER_TYPES, ActionRule, ChatPolicy
from ...policy.expressions import MISSING
from ...recovery.chat import apply_effect, match_event
from ...replay.python_engine import PythonEngine

MAX_STATES = 20000  # beyond these the search stops (about 50 us a step): nothing is claimed
MAX_STEPS = 250_000
OTHER = "other"  # "something else": a value no condition accepts
TIME, ID = "2026-01-01T00:00:00Z", "m-0"


class _Held(NamedTuple):
    """The (status, state) a state-space node stands for, as match_event reads it."""

    status: str | None
    state: dict[str, Any]


@dataclass(frozen=True)
class Event:
    action: str
    fields: tuple  # ((field, value or MISSING), ...): the values that matter; MISSING: absent

    def message(self) -> dict:
        """A real message with these values (the rest plain defaults)."""
        given = dict(self.fields)
        kind = given.get("sender.type", default_sender(self.action))
        sender = {"type": kind}
        sid = given.get("sender.id", "a-1" if kind == "agent" else MISSING)
        if sid is not MISSING:
            sender["id"] = sid
        message = {"id": ID, "time": TIME, "action": self.action, "sender": sender}
        data = {f[5:]: v for f, v in given.items() if f.startswith("data.") and v is not MISSING}
        if data:
            message["data"] = data
        if given.get("text", MISSING) is not MISSING:
            message["text"] = given["text"]
        return message

    def __str__(self) -> str:
        shown = [
            f"{f}={json.dumps(v, ensure_ascii=False)}" if v is not MISSING else f"no {f}"
            for f, v in self.fields
            if v is not MISSING or f.startswith("sender.")
        ]  # a message without data is plain
        return self.action + (f" ({', '.join(shown)})" if shown else "")


def default_sender(action: str) -> str:
    return next((t for t in SENDER_TYPES if action.startswith(t)), "visitor")


class _Reads(dict):
    """A message part that notes which fields an effect reads."""

    def __init__(self, data: dict, seen: set, prefix: str = ""):
        super().__init__(data)
        self.seen, self.prefix = seen, prefix

    def get(self, key, default=None):
        self.seen.add(self.prefix + key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.seen.add(self.prefix + key)
        return super().__getitem__(key)


def _reads(rule: ActionRule, tracked: tuple) -> set:
    """The message fields a rule copies into a tested state field."""
    seen: set = set()
    probe = _Reads(
        {
            "id": ID,
            "time": TIME,
            "action": rule.action,
            "sender": _Reads({"type": "agent"}, seen, "sender."),
            "data": _Reads({}, seen, "data."),
        },
        seen,
    )
    for effect in rule.effects:
        if effect.field[0] in tracked:
            effect.value(probe)
    return {f for f in seen if f.startswith(("sender.", "data.")) and f.count(".") == 1 or f == "text"}


def _values(chat: ChatPolicy, field: str, copied: bool) -> list:
    if field == "sender.type":
        return list(SENDER_TYPES)
    accepted = {v for r in chat.rules for c in r.conditions if c.field == field for v in c.values}
    if copied:
        accepted |= {v for r in chat.rules for c in r.conditions if c.field.startswith("state.") for v in c.values}
    values = [loads(v) for v in sorted(accepted) if v != "null"]
    if not field.startswith("data."):  # sender ids and text are strings in every real message
        values = [v for v in values if isinstance(v, str)]
    other = OTHER
    while canonical_json(other) in accepted:
        other += "'"
    return [MISSING, other] + values  # plain messages first: counterexamples show only values that matter


def events(chat: ChatPolicy, tracked: tuple) -> list[Event]:
    out: list[Event] = []
    for action, indexes in sorted(chat.by_action.items()):
        rules = [chat.rules[i] for i in indexes]
        tested = {c.field for r in rules for c in r.conditions if not c.field.startswith(("state.", "status"))}
        copied = set().union(*(_reads(r, tracked) for r in rules))
        combos: list = [()]
        for field in sorted(tested | copied):
            values = _values(chat, field, field in copied)
            if field == "sender.type":
                values.sort(key=lambda t: t != default_sender(action))
            combos = [c + ((field, v),) for c in combos for v in values]
        out.extend(Event(action, combo) for combo in combos)
    unhandled = "unhandledAction"
    while unhandled in chat.by_action:
        unhandled += "X"
    out.append(Event(unhandled, ()))
    return out


@dataclass
class Edge:
    event: int  # index into Space.events
    rule: int | None  # index into ChatPolicy.rules; None: no rule fired
    target: tuple | None  # the next state's key; None: the rule's effects fail (the recovery errs)


class Space:
    """The reachable states, breadth first, so parents give shortest paths."""

    def __init__(self, chat: ChatPolicy, limit: int = MAX_STATES):
        self.chat = chat
        self.tracked = tuple(sorted({c.field[6:] for r in chat.rules for c in r.conditions if c.field.startswith("state.")}))
        self.events = events(chat, self.tracked)
        self._matcher = PythonEngine(chat)
        self.states: dict = {}  # key -> (status, tracked state)
        self.parent: dict = {}  # key -> (previous key, Edge) or None for the initial state
        self.edges: dict = {}  # key -> [Edge]
        self.complete = True
        self._explore(limit)

    def _explore(self, limit: int) -> None:
        start = (None, {f: copy.deepcopy(self.chat.initial_state[f]) for f in self.tracked})
        key = self.initial = self.key(*start)
        self.states[key], self.parent[key] = start, None
        queue = deque([key])
        while queue:
            key = queue.popleft()
            status, state = self.states[key]
            self.edges[key] = []
            if len(self.edges) * len(self.events) > MAX_STEPS:
                self.complete = False
                return
            for index, event in enumerate(self.events):
                edge, after = self._step(index, event, status, state)
                self.edges[key].append(edge)
                if edge.target is not None and edge.target not in self.states:
                    if len(self.states) >= limit:
                        self.complete = False
                        return
                    self.states[edge.target] = after
                    self.parent[edge.target] = (key, edge)
                    queue.append(edge.target)

    def _step(self, index: int, event: Event, status: str | None, state: dict) -> tuple:
        """The edge an event takes from a state, and the state it leads to."""
        message = event.message()
        fired = self._matcher.fire(match_event(self.chat, message, _Held(status, state)))
        if fired is None:
            return Edge(index, None, self.key(status, state)), (status, state)
        rule = self.chat.rules[fired]
        after = copy.deepcopy(state)
        try:
            for effect in rule.effects:
                if effect.field[0] in self.tracked:
                    apply_effect(effect, message, after)
        except (TypeError, AttributeError, KeyError, ValueError):
            return Edge(index, fired, None), None
        nxt = (rule.status if rule.status is not None else status, after)
        return Edge(index, fired, self.key(*nxt)), nxt

    @staticmethod
    def key(status: str | None, state: dict) -> tuple:
        return (status, canonical_json(state))

    def path(self, key: tuple) -> list[Edge]:
        """The shortest event sequence from the initial state to `key`."""
        out = []
        while self.parent[key] is not None:
            key, edge = self.parent[key]
            out.append(edge)
        return out[::-1]

    def matches(self, rule: ActionRule, key: tuple, event: Event) -> bool:
        """Whether a rule's own conditions hold for an event in a state,
        whichever rule the engine picks."""
        status, state = self.states[key]
        posted = match_event(self.chat, event.message(), _Held(status, state))
        slots = {f: f"c{i}" for i, f in enumerate(self.chat.condition_fields)}
        return event.action == rule.action and all(posted.get(slots[c.field]) in c.values for c in rule.conditions)

    def fired(self) -> set:
        return {e.rule for edges in self.edges.values() for e in edges if e.rule is not None}

    def reached_statuses(self) -> set:
        return {key[0] for key in self.states}
