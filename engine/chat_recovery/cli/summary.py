"""`recover --format summary`: a recovery in three lines for a person who
wants the outcome, not the document (visitor, status, chat and its agents,
what each client must do, where reports disagreed), and a fourth when
consoles hold other chats of the visitor. `make demo` prints it
and keeps the full JSON in files."""

from __future__ import annotations

import textwrap

from .explain_table import who

WIDTH = 100


def _chat(chat: dict | None) -> str:
    if not chat:
        return "no chat"
    state = chat.get("state") or {}
    count = len(chat.get("messages") or ())
    agents = state.get("currentAgents") or ()
    monitors = ", ".join(state.get("monitorAgents") or ())
    held = f"agent{'s' if len(agents) > 1 else ''} {', '.join(agents)}" if agents else "no agent"
    return f"chat {chat.get('id')} ({count} message{'s' if count != 1 else ''}), {held}" + (
        f", monitored by {monitors}" if monitors else ""
    )


# The one figure that matters to a directive, by its `do`; others show the verb alone.
_FIGURE = {
    "keepHeartbeat": lambda d: f" {d.get('seconds')} s",
    "deliverMessage": lambda d: f" {(d.get('message') or {}).get('id')}",
}


def _step(directive: dict) -> str:
    figure = _FIGURE.get(directive["do"])
    return directive["do"] + (figure(directive) if figure else "")


def _directives(directives: list) -> str:
    by_client: dict[str, list[str]] = {}
    for directive in directives:
        by_client.setdefault(who(directive.get("to")), []).append(_step(directive))
    return "; ".join(f"{client}: {', '.join(steps)}" for client, steps in by_client.items()) or "none"


def _conflicts(conflicts: list) -> str:
    if not conflicts:
        return "none"
    return f"{len(conflicts)}: " + ", ".join(c["path"].removeprefix("$.") for c in conflicts)


def _others(others: list) -> str:
    """Each other chat: its id, status and what its agents must do."""
    return "; ".join(f"{c.get('id')} {c.get('status') or 'no status'} ({_directives(c.get('directives') or [])})" for c in others)


def _rejected(set_aside: list) -> str:
    """The copies that did not count (setAside), with why and who held them."""
    return ", ".join(f"{s['message']['id']} ({s['code']}; {', '.join(who(h) for h in s['heldBy'])})" for s in set_aside)


def summary(recovery: dict, width: int = WIDTH) -> str:
    visitor = recovery.get("visitor") or {}
    lines = [f"{recovery.get('visitorId')}  {visitor.get('status') or 'no visitor recovered'}  {_chat(recovery.get('chat'))}"]
    parts = [
        ("directives", _directives(recovery.get("directives") or [])),
        ("conflicts ", _conflicts(recovery.get("conflicts") or [])),
    ]
    rejected = _rejected(recovery.get("setAside") or [])
    if rejected:
        parts.append(("set aside ", rejected))
    if recovery.get("otherChats"):
        parts.append(("otherChats", _others(recovery["otherChats"])))
    for label, text in parts:
        lines.append(
            textwrap.fill(text, width, initial_indent=f"  {label}  ", subsequent_indent=" " * 14, break_on_hyphens=False)
        )
    return "\n".join(lines) + "\n"
