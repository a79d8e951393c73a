"""`policy docs`: the policy as Markdown tables in the shape of the seed's
(property | strategy | description zh | en), so product owners review the
policy in the words they wrote it in. Generated from the rule files of a
policy that loads; deterministic (no dates, no line numbers, no directory
names), so a stale copy is found by comparing text.

One function per rule-file kind, in the SECTIONS table; a kind the policy
does not have (say `invariants`) is left out."""

from __future__ import annotations

import json  # stdlib: the tables space values (", ", ": "), which orjson cannot write
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..api import load_policy
from ..policy import bundled
from ..policy.compile_invariants import NOT_THE_FORM
from ..policy.conditions import CONDITIONS
from ..policy.effects import EFFECT_OPS
from ..policy.files import Document, read_documents
from ..recovery.picks import PICKS
from .check.invariants import KINDS as INVARIANT_KINDS

COMMAND = "chat-recovery policy docs rules --out docs/policy.md"


def cell(value: Any) -> str:
    """One Markdown table cell: one line, pipes escaped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return " ".join(text.split()).replace("|", "\\|")


def literal(value: Any) -> str:
    """A value as the rule file means it: text bare, null and the rest as JSON."""
    return cell(value) if isinstance(value, str) else cell(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")))


def _text(value: Any, lang: str) -> str:
    """A `{zh, en}` text (or a plain string, taken as English)."""
    if isinstance(value, dict):
        return cell(value.get(lang))
    return cell(value) if lang == "en" else ""


def _table(headers: tuple, rows: list) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + " - |" * len(headers)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _intro(doc: Document, title: str) -> list[str]:
    data = doc.doc.data
    out = [f"## {title}", "", f"From `{Path(doc.file).name}`."]
    if data.get("description"):
        out += ["", f"- zh: {_text(data['description'], 'zh')}", f"- en: {_text(data['description'], 'en')}"]
    return out + [""]


def _manifest(doc: Document) -> list[str]:
    data = doc.doc.data
    rows = [(cell(data["name"]), cell(data["version"]), cell(data.get("engine", "auto")))]
    return _intro(doc, "Policy") + _table(("name", "version", "engine"), rows)


def _strategies(doc: Document) -> list[str]:
    rows = []
    for name, spec in doc.doc.data["strategies"].items():
        reads = f"value: {spec['value']}" if "value" in spec else (", ".join(spec.get("from", ())) or "nothing")
        rows.append(
            (
                f"`{name}`",
                cell(spec.get("seed")),
                cell(reads),
                cell(spec.get("pick")),
                _text(spec.get("description"), "zh"),
                _text(spec.get("description"), "en"),
            )
        )
    picks = [(f"`{p.name}`", cell(p.doc)) for p in PICKS.values()]
    return (
        _intro(doc, "Strategies")
        + _table(("strategy", "seed", "reads", "pick", "description zh", "en"), rows)
        + ["", "How a pick chooses among the reports that hold a value:", ""]
        + _table(("pick", "which value is kept"), picks)
    )


def _properties(doc: Document) -> list[str]:
    data = doc.doc.data
    rows = []
    for name, spec in data["properties"].items():
        notes = []
        if spec.get("merge") == "perKey":
            notes.append("merged key by key")
        if spec.get("when", {}).get("status"):
            notes.append("only when the status is " + ", ".join(spec["when"]["status"]))
        rows.append(
            (
                f"`{name}`",
                cell(spec.get("seed")),
                f"`{spec['strategy']}`",
                cell("; ".join(notes)),
                _text(spec.get("description"), "zh"),
                _text(spec.get("description"), "en"),
            )
        )
    title = {"visitor.info": "Visitor info", "chat.props": "Chat props"}.get(data["target"], data["target"])
    return _intro(doc, f"{title} (`{data['target']}`)") + _table(
        ("property", "seed", "strategy", "when", "description zh", "en"), rows
    )


def _statuses(doc: Document) -> list[str]:
    data = doc.doc.data
    rows = []
    for name, spec in data["statuses"].items():
        sets = ", ".join(f"{k} = {v}" for k, v in (spec.get("set") or {}).items())
        rows.append(
            (
                f"`{name}`",
                cell(spec.get("seed")),
                cell(spec["recoverAs"]) or "(not recovered)",
                cell(sets),
                "yes" if spec.get("chatRelated") else "",
                _text(spec.get("description"), "zh"),
                _text(spec.get("description"), "en"),
            )
        )
    head = _intro(doc, "Visitor statuses") + [f"The uploaded status is picked with strategy `{data['strategy']}`; then:", ""]
    return head + _table(("uploaded status", "seed", "recovered as", "sets", "chat-related", "description zh", "en"), rows)


def _conditions(when: dict | None) -> str:
    parts = []
    for field, accepted in (when or {}).items():
        negated = isinstance(accepted, dict) and set(accepted) == {"not"}
        if negated:
            accepted = accepted["not"]
        values = accepted if isinstance(accepted, list) else [accepted]
        parts.append(f"{field} {'not in' if negated else 'in'} [{', '.join(literal(v) for v in values)}]")
    return "; ".join(parts)


def _effects(spec: dict) -> str:
    return "; ".join(
        op.written(field, value, literal) for op in EFFECT_OPS.values() for field, value in (spec.get(op.name) or {}).items()
    )


def _actions(doc: Document) -> list[str]:
    data = doc.doc.data
    rows = []
    for name, spec in data["rules"].items():
        when = _conditions(spec.get("when"))
        if "priority" in spec:
            when = f"{when} (priority {spec['priority']})".strip()
        rows.append(
            (
                f"`{name}`",
                f"`{spec['on']}`",
                when,
                _effects(spec),
                cell(spec.get("status")),
                _text(spec.get("seed"), "zh"),
                _text(spec.get("seed"), "en"),
            )
        )
    trust = data.get("trust") or {"mode": "holders"}
    sides = [(f"`{sender}`", ", ".join(believed)) for sender, believed in (trust.get("sides") or {}).items()]
    actors = [(f"`{actor}`", ", ".join(f"`{a}`" for a in actions)) for actor, actions in (data.get("actors") or {}).items()]
    state = [(f"`{field}`", literal(value)) for field, value in data["state"].items()]
    ops = [(f"`{op.name}`", cell(op.doc)) for op in EFFECT_OPS.values()]
    tests = [(f"`{kind.name}`", cell(kind.doc)) for kind in CONDITIONS.values()]
    return (
        _intro(doc, "Action rules (the chat, from the message log)")
        + _table(("rule", "action", "conditions", "effects", "status", "seed zh", "en"), rows)
        + ["", "What a condition may test:", ""]
        + _table(("field", "what it reads"), tests)
        + ["", "Effects, in the order a rule's effects run:", ""]
        + _table(("effect", "what it does"), ops)
        + ["", "Initial chat state:", ""]
        + _table(("field", "starts as"), state)
        + ["", "Actor type per action (a copy whose sender.type is another is set aside as malformed):", ""]
        + _table(("actor", "actions"), actors)
        + ["", f"Trust mode: `{trust['mode']}`. {TRUST_MODES_TEXT[trust['mode']]}"]
        + (["", *_table(("sender", "believed from"), sides)] if trust["mode"] == "senders" else [])
        + _signatures(data.get("signatures"))
    )


TRUST_MODES_TEXT = {
    "holders": "Every holder's copy counts (the seed: the chat is the merge of every agent's and the visitor's local "
    "messages); only a malformed copy is set aside. The opt-in mode `senders` (`trust: {mode: senders, sides: ...}`) "
    "believes a message only from the report sides its sender type names; its cost: until the new agent's console "
    "reports, a transfer the visitor saw accepted recovers onto the agent who left (issue 15, case 1).",
    "senders": "Opt-in: a message that only reports of sides not trusted for it hold is kept in the log but not replayed "
    "(setAside, code `untrusted`), unless no trusted side reported the chat. Its cost: until the new agent's console "
    "reports, a transfer the visitor saw accepted recovers onto the agent who left (issue 15, case 1). "
    "Which report sides are believed, by sender type:",
}


def _signatures(section: dict | None) -> list[str]:
    """Which actor types must be signed when message keys are given (README: Message signatures)."""
    required = section["required"] if section else ["visitor", "agent", "bot", "system"]
    shown = ", ".join(f"`{t}`" for t in required) or "none"
    out = [
        "",
        f"Message signatures: with message keys, copies by {shown} must verify (others count unsigned, unless they carry a signature that does not verify).",
        "",
    ]
    if section and section.get("description"):
        out += [f"> {_text(section['description'], 'zh')}", ">", f"> {_text(section['description'], 'en')}"]
    return out


def _client(doc: Document) -> list[str]:
    rows = []
    for name, spec in doc.doc.data["rules"].items():
        when = spec["when"]
        parts = [f"status in [{', '.join(when['status'])}]"] if "status" in when else []
        if "action" in when:
            parts.append(
                f"a message with action {when['action']}"
                + (f" that the {when['missingFrom']}'s report lacks" if "missingFrom" in when else "")
            )
        if when.get("wrapup"):
            parts.append("an unfinished wrap-up")
        directives = "; ".join(
            f"{d['to']}: {d['do']}" + (f" {d['seconds']}s" if "seconds" in d else "") for d in spec["directives"]
        )
        rows.append(
            (f"`{name}`", cell("; ".join(parts)), cell(directives), _text(spec.get("seed"), "zh"), _text(spec.get("seed"), "en"))
        )
    return (
        _intro(doc, "Client rules (directives)") + _table(("rule", "when", "directives", "seed zh", "en"), rows) + SEVERAL_CHATS
    )


# The engine's reading where a visitor has several chats (the seed's Client
# rule 1 keeps an ended chat's window open; it does not say whom the rules
# then address): written beside the rules it applies to.
SEVERAL_CHATS = [
    "",
    "Several chats per visitor (the engine's reading, which the seed does not state): a rule's `status` is the"
    " visitor's recovered status, which its current chat's log decides (`chat`). Each other chat some console holds (`otherChats`) gets the directives these"
    " rules give for the status its own log yields, addressed to `agents` (the agents whose reports hold that chat)"
    " only: a directive `to: visitor` is left out there, since the visitor is in its current chat, and unfinished"
    " wrap-ups belong to agents, not chats, so `restoreWrapup` is given once, at the top level. An ended chat whose"
    " window an agent keeps thus gives that agent `recoverChat` (seed: agent可以在保持聊天窗口还在的情况下恢复聊天).",
]


def _invariant_text(spec: dict) -> str:
    """The invariant as a sentence, in the terms of its form."""
    kind = next(k for k in spec if k not in NOT_THE_FORM)
    return INVARIANT_KINDS[kind].sentence(spec[kind])


def _invariants(doc: Document) -> list[str]:
    """Each invariant as a sentence, with its description in both languages;
    `policy check` proves them."""
    rows = []
    for name, spec in (doc.doc.data.get("invariants") or {}).items():
        text = spec.get("description", spec.get("seed"))
        rows.append((f"`{name}`", _invariant_text(spec), _text(text, "zh"), _text(text, "en")))
    head = _intro(doc, "Invariants") + ["`chat-recovery policy check` proves each against the action rules.", ""]
    return head + _table(("invariant", "holds for every message log", "description zh", "en"), rows)


READINGS = "readings.md"  # beside the rule files: rows where the policy reads what the seed does not state
SECTIONS: tuple[tuple[str, Callable[[Document], list[str]]], ...] = (
    ("policy", _manifest),
    ("strategies", _strategies),
    ("properties", _properties),
    ("visitorStatus", _statuses),
    ("chatActions", _actions),
    ("clientRules", _client),
    ("invariants", _invariants),
)


def markdown(directory: str | Path | None = None) -> str:
    """The policy's Markdown; raises PolicyError when the policy does not load."""
    policy = load_policy(directory)
    path = bundled.rules_dir() if directory is None else Path(directory)
    docs, _ = read_documents(path, policy.root, bundled.contract())
    order = {"visitor.info": 0, "chat.props": 1}
    out = ["# The recovery policy", "", f"Generated from the rule files by `{COMMAND}`; edit the rule files, not this page.", ""]
    for kind, section in SECTIONS:
        found = sorted((d for d in docs if d.kind == kind), key=lambda d: (order.get(d.doc.data.get("target"), 9), d.file))
        for doc in found:
            out += section(doc) + [""]
    readings = path / READINGS
    if readings.is_file():  # the policy's readings of the seed, written by hand (no rule file holds prose tables)
        out += [readings.read_text(encoding="utf-8").strip("\n"), ""]
    return "\n".join(out).rstrip("\n") + "\n"
