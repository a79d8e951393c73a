"""durable_rules behind the Engine interface, used as the measured note
(shared/notes/durable-rules.md) says is safe: rulesets as data, one event
posted at a time with a unique id, a finalize event before every delete,
one live session at a time, JSON-safe values only.

It talks to durable_rules' C extension directly: create the ruleset,
assert an event, start the action the match queued (its rule's name is
what we want), complete it. That is the protocol `durable.engine.Host`
runs for every post, minus what we never use: a timer thread per host
(the source of the crashes the note measured), a Closure and session-state
round trip through JSON per action, and actions run inside the engine
(whose exceptions it swallows). Only the rule's choice comes back here;
the effects run in plain Python (`chat.py`). The calls this relies on are
pinned by tests/test_durable_rules_characterization.py."""

from __future__ import annotations

import itertools
from typing import Any

import durable.engine  # noqa: F401  (loads the extension as the package does, and fails the same way where it cannot)
import durable_rules_engine as rules

from ..jsonio import dumps_text
from ..policy.chat_model import ChatPolicy
from .interface import ReplayError

MATCHED, NOT_HANDLED = 0, 1  # assert_event's answer: an action was queued, or no rule matched
FINALIZE = "finalize"
_rulesets = itertools.count()  # each engine its own ruleset name (a name is a key in the extension)


def ruleset_for(chat: ChatPolicy) -> dict[str, Any]:
    """The action rules as a durable_rules ruleset: rule `r{index}` matches
    the action and each condition's accepted values (canonical JSON text)."""
    fields = {f: f"c{i}" for i, f in enumerate(chat.condition_fields)}
    ruleset: dict[str, Any] = {FINALIZE: {"all": [{"m": {FINALIZE: 1}}]}}
    for index, rule in enumerate(chat.rules):
        terms: list[dict[str, Any]] = [{"action": rule.action}]
        for condition in rule.conditions:
            options = [{fields[condition.field]: value} for value in sorted(condition.values)]
            terms.append(options[0] if len(options) == 1 else {"$or": options})
        pattern = terms[0] if len(terms) == 1 else {"$and": terms}
        ruleset[f"r{index}"] = {"all": [{"m": pattern}], "pri": rule.priority}
    return ruleset


class DurableEngine:
    name = "durable"

    def __init__(self, chat: ChatPolicy):
        self._handled = frozenset(rule.action for rule in chat.rules)  # no other action is posted
        self._handle = rules.create_ruleset(f"chat{next(_rulesets)}", dumps_text(ruleset_for(chat)))
        self._sessions = itertools.count()
        self._events = itertools.count()
        self._live: str | None = None

    def open(self) -> DurableEngine:
        if self._live is not None:
            raise ReplayError("a durable_rules session is still open: replays run one at a time")
        self._live = f"s{next(self._sessions)}"
        return self

    def fire(self, event: dict[str, Any]) -> int | None:
        if event["action"] not in self._handled:
            return None  # no rule names this action: durable_rules could only say "not handled"
        fired = self._post({**event, "sid": self._live, "id": f"e{next(self._events)}"})
        if not fired:
            return None
        if len(fired) != 1 or fired[0] == FINALIZE:
            raise ReplayError(f"durable_rules fired {fired} for one message (action '{event['action']}')")
        return int(fired[0][1:])

    def close(self) -> None:
        """Finalize, then delete: deleting a session that never ran an
        action is a crash the note measured."""
        sid, self._live = self._live, None
        fired = self._post({"sid": sid, "id": f"e{next(self._events)}", FINALIZE: 1})
        if fired != [FINALIZE]:
            raise ReplayError(f"durable_rules answered the finalize event with {fired}")
        rules.delete_state(self._handle, sid)

    def _post(self, event: dict[str, Any]) -> list[Any]:
        """The names of the rules the event fired (each action started and
        completed in turn; one, or none when no rule matched)."""
        code, state = rules.assert_event(self._handle, dumps_text(event))
        if code == NOT_HANDLED:
            return []
        if code != MATCHED:
            raise ReplayError(f"durable_rules refused an event (answer {code}): {event}")
        fired = []
        started = rules.start_action_for_state(self._handle, state)
        queued = started[1] if started else None
        while queued is not None:
            fired.append(_rule_name(queued))
            queued = rules.complete_and_start_action(self._handle, state)
        return fired


def _rule_name(queued: str) -> str:
    """The first key of the queued action's JSON: `{"r12": {"m": {...}}}`.
    Our rule names are plain (r + digits, finalize), so no unescaping."""
    start = queued.index('"') + 1
    return queued[start : queued.index('"', start)]
