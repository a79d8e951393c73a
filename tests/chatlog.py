"""Building message logs and chat reports for the chat tests."""

from conftest import report

T0 = "2026-11-24T08:50:{:02d}Z"


def msg(n, action, sender="agent", sender_id=None, **data):
    sender_obj = {"type": sender}
    if sender_id or sender == "agent":
        sender_obj["id"] = sender_id or "a-7"
    m = {"id": f"m-{n:03d}", "time": T0.format(n), "action": action, "sender": sender_obj}
    if data:
        m["data"] = data
    return m


def log(*steps):
    """steps: (action, sender, sender_id, data) tuples or actions; numbered in order."""
    out = []
    for n, step in enumerate(steps, 1):
        if isinstance(step, str):
            step = (step,)
        action, *rest = step
        sender = (
            rest[0]
            if rest
            else (
                "visitor"
                if action.startswith("visitor")
                else "system"
                if action.startswith("system")
                else "bot"
                if action.startswith("bot")
                else "agent"
                if action.startswith("agent")
                else "visitor"
            )
        )
        sender_id = rest[1] if len(rest) > 1 else None
        data = rest[2] if len(rest) > 2 else {}
        out.append(msg(n, action, sender, sender_id, **data))
    return out


def chat_report(messages, side="agent", agent="a-7", sent="2026-11-24T09:00:00Z", status=None, **extra):
    sections = {"chat": {"id": "c-1", "messages": messages}, **extra}
    if status:
        sections["visitor"] = {"status": status}
    return report(side, sent, agent=agent, **sections)


def at(n):
    return T0.format(n)
