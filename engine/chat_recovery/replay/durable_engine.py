"""durable_rules behind the Engine interface, used as the measured note
(shared/notes/durable-rules.md) says is safe: no timer threads, rulesets as
data, one event posted at a time with a unique id, a finalize event before
every delete, one live session at a time, JSON-safe values only."""
from __future__ import annotations

import copy
import itertools
from typing import Optional

from durable import engine as durable

from ..chat_model import ChatPolicy
from . import ReplayError

RULESET = "chat"


class _QuietHost(durable.Host):
    """A Host that starts no timer threads: the threads are what crashed
    after a session was deleted, and they ran actions on other threads."""

    def __init__(self, actions: dict):
        self._actions = actions
        super().__init__()

    def _run(self) -> None:
        pass

    def get_action(self, name: str):
        return self._actions[name]


class DurableEngine:
    name = "durable"

    def __init__(self, chat: ChatPolicy):
        fields = {f: f"c{i}" for i, f in enumerate(chat.condition_fields)}
        self._fired: list = []
        self._handled = frozenset(rule.action for rule in chat.rules)  # no other action is posted
        actions = {"finalize": lambda c: None}
        ruleset = {"finalize": {"all": [{"m": {"finalize": 1}}], "run": "finalize"}}
        for index, rule in enumerate(chat.rules):
            terms = [{"action": rule.action}]
            for condition in rule.conditions:
                options = [{fields[condition.field]: value} for value in sorted(condition.values)]
                terms.append(options[0] if len(options) == 1 else {"$or": options})
            pattern = terms[0] if len(terms) == 1 else {"$and": terms}
            name = f"r{index}"
            ruleset[name] = {"all": [{"m": pattern}], "pri": rule.priority, "run": name}
            actions[name] = self._recorder(index)
        self._host = _QuietHost(actions)
        self._host.set_rulesets(copy.deepcopy({RULESET: ruleset}))  # set_rulesets consumes `run`
        self._sessions = itertools.count()
        self._events = itertools.count()
        self._live: Optional[str] = None

    def _recorder(self, index: int):
        fired = self._fired

        def run(c):  # exactly one parameter: two would make durable_rules treat it as async
            fired.append(index)
        return run

    def open(self) -> "DurableEngine":
        if self._live is not None:
            raise ReplayError("a durable_rules session is still open: replays run one at a time")
        self._live = f"s{next(self._sessions)}"
        return self

    def fire(self, event: dict) -> Optional[int]:
        if event["action"] not in self._handled:
            return None  # no rule names this action: durable_rules could only say "not handled"
        self._fired.clear()
        posted = {**event, "sid": self._live, "id": f"e{next(self._events)}"}
        try:
            self._host.post(RULESET, posted)
        except durable.MessageNotHandledException:
            return None
        if len(self._fired) != 1:
            raise ReplayError(f"durable_rules fired {len(self._fired)} rules for one message (action '{event['action']}')")
        return self._fired[0]

    def close(self) -> None:
        sid, self._live = self._live, None
        self._host.post(RULESET, {"sid": sid, "id": f"e{next(self._events)}", "finalize": 1})
        state = self._host.get_state(RULESET, sid)
        self._host.delete_state(RULESET, sid)
        if "exception" in state:
            raise ReplayError(f"durable_rules reported an error inside an action: {state['exception']}")
