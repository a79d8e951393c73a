"""The action rules compiled once, at load time, into plain Python source:
a dict from action to the index of its rule where the action alone decides,
else to a function whose `if` tests are the action's rules' conditions in
matching order. Firing a message is one dict lookup and at most a few
set-membership tests; nothing about the policy
is looked up or interpreted per event.

The accepted values are the policy's own objects (bound by name, never
re-spelled in the source), so the compiled engine compares exactly what the
plain-Python matcher compares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..policy.chat_model import ChatPolicy


def generate(chat: ChatPolicy) -> tuple[str, dict[str, Any]]:
    """Python source defining `fire(event)`, and the names it refers to."""
    keys = {f: f"c{i}" for i, f in enumerate(chat.condition_fields)}
    names: dict[str, Any] = {}
    lines: list[str] = []
    dispatch: list[str] = []
    for number, (action, indexes) in enumerate(sorted(chat.by_action.items())):
        first = chat.rules[indexes[0]]
        if not first.conditions:  # decided by the action alone: no function to call
            dispatch.append(f"    {action!r}: {indexes[0]},  # {first.name!r}")
            continue
        function = f"action_{number}"
        lines += [f"def {function}(event):  # {action!r}", "    get = event.get"]
        for index in indexes:
            rule = chat.rules[index]
            tests = []
            for j, condition in enumerate(rule.conditions):
                name = f"V{index}_{j}"
                names[name] = condition.values
                tests.append(f"get({keys[condition.field]!r}) in {name}")
            if not tests:
                lines.append(f"    return {index}  # {rule.name!r}: no condition, so later rules never fire")
                break
            lines += [f"    if {' and '.join(tests)}:  # {rule.name!r}", f"        return {index}"]
        else:
            lines.append("    return None")
        lines.append("")
        dispatch.append(f"    {action!r}: {function},")
    lines += [
        "DISPATCH = {",
        *dispatch,
        "}",
        "lookup = DISPATCH.get",
        "",
        "def fire(event):",
        "    match = lookup(event['action'])",
        "    if match is None or match.__class__ is int:",
        "        return match",
        "    return match(event)",
        "",
    ]
    return "\n".join(lines), names


class CompiledEngine:
    """Sessions are the engine itself: it holds no per-replay state, so one
    instance serves every replay (and every thread) without a lock."""

    name = "compiled"

    def __init__(self, chat: ChatPolicy):
        self.source, names = generate(chat)
        namespace = dict(names)
        exec(compile(self.source, "<compiled action rules>", "exec"), namespace)  # noqa: S102 - our own generated source
        self.fire: Callable[[dict[str, Any]], int | None] = namespace["fire"]

    def open(self) -> CompiledEngine:
        return self

    def close(self) -> None:
        pass
