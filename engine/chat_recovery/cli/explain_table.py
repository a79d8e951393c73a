"""`recover --format table`: a recovery's explain entries as tables for a
person at a terminal. Pure: the caller says how wide and whether to colour,
so the same function serves a tty, a pipe and a test."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..jsonio import dumps_text

HEADERS = ("PATH", "VALUE", "DECIDED BY", "SOURCE", "WHY, AND WHAT LOST")
MINIMUM = (8, 8, 10, 5, 10)  # no column shrinks below this
WHY_BESIDE = 24  # a why column narrower than this goes beneath its row, across the line
BENEATH = "    "  # the indent of reasons beneath their row
GAP = "  "
ELLIPSIS = "…"

BOLD, DIM, RED, YELLOW, CYAN, RESET = "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[33m", "\x1b[36m", "\x1b[0m"

# (title, explain path prefix); the rows of a section are the explain entries under it
SECTIONS = (
    ("visitor", "$.visitor."),
    ("chat props", "$.chat.props."),
    ("chat state", "$.chat.state."),
    ("messages", "$.chat.messages"),
    ("other chats", "$.otherChats"),
)


def shown(value: Any) -> str:
    """A value on one line: text as it is, anything else as compact JSON."""
    text = value if isinstance(value, str) else dumps_text(value)
    return " ".join(text.split())


def who(source: dict | None) -> str:
    if not source:
        return "-"
    return source["type"] if source["type"] == "visitor" else f"agent {source['id']}"


def _decided_by(rule: str | None, strategy: str) -> str:
    """file:line and strategy; the policy's directory is left out (it is the
    same for every row)."""
    if rule is None:
        return "-" if strategy == "no rule for this action" else strategy
    file, line, _col = rule.rsplit(":", 2) if rule.count(":") >= 2 else (rule, "", "")
    file = file.rsplit("/", 1)[-1]
    return f"{file}:{line} {strategy}" if line else f"{rule} {strategy}"


def _entry_row(path: str, entry: dict) -> tuple[tuple, str]:
    """Cells of one explain entry, and its kind (for colour)."""
    reasons = [entry["why"]] if entry.get("why") else []
    reasons += [lost["why"] for lost in entry.get("lost", ())]
    source = who(entry.get("source"))
    if "heldBy" in entry:
        source = ", ".join(who(s) for s in entry["heldBy"])
    kind = "plain"
    if entry.get("recovered") is False:
        kind = "not recovered"
    elif entry.get("strategy") in ("set aside", "no rule for this action"):
        kind = "unmatched"
    value = "(not recovered)" if kind == "not recovered" else shown(entry.get("value"))
    return (path, value, _decided_by(entry.get("rule"), entry.get("strategy", "")), source, reasons or ["-"]), kind


def _rows(explain: dict, prefix: str) -> list:
    out = []
    for path, entry in explain.items():
        if path.startswith(prefix):
            short = path[len(prefix) :].lstrip(".") or path
            if short.startswith("['") and short.endswith("']") and "['" not in short[2:]:  # one quoted name alone
                short = short[2:-2]
            out.append(_entry_row(short, entry))
    return out


def _directive_rows(directives: Iterable[dict]) -> list:
    rows = []
    for item in directives:
        what = item["do"] + (f" {item['seconds']}s" if "seconds" in item else "")
        if "message" in item:
            what += f" {item['message'].get('id', '')}"
        rows.append(
            ((who(item["to"]), what, _decided_by(item.get("rule"), "client rule"), "-", [item.get("reason", "-")]), "plain")
        )
    return rows


def _conflict_rows(conflicts: Iterable[dict]) -> list:
    rows = []
    for item in conflicts:
        said = [f"{who(v['source'])} said {shown(v['value'])}" for v in item["values"]]
        decided = item["decided"]
        rows.append(
            (
                (
                    item["path"].removeprefix("$."),
                    shown(decided["value"]),
                    _decided_by(decided["rule"], decided["strategy"]),
                    who(decided["source"]),
                    said,
                ),
                "conflict",
            )
        )
    return rows


def _rejected_rows(set_aside: Iterable[dict]) -> list:
    """Copies left out of the merged log when their report was folded
    (malformed, or a signature that did not verify); messages set aside by
    trust mode senders stay in the log and are in the message rows already."""
    rows = []
    for item in set_aside:
        if item.get("code") != "untrusted":
            message = item["message"]
            holders = ", ".join(who(s) for s in item["heldBy"])
            rows.append(((message["id"], message["action"], item.get("code", ""), holders, [item["reason"]]), "unmatched"))
    return rows


PATH, VALUE, DECIDED, SOURCE, WHY = range(len(HEADERS))
# A line too narrow for every column: each column starts at its minimum and
# grows, in this order, up to a share of the line (but to at least the
# width given): to its widest cell that fits ("whole"), to its widest
# unbreakable piece ("piece"), or towards its natural width. The values come
# first, so they stay whole (a time, the commonest value, always does); the
# reasons, which wrap well, give way.
TIME = len("2026-11-24T09:00:30Z")
GROWTH = (
    (VALUE, "whole", 0.3, TIME),
    (SOURCE, "whole", 0.15, 0),
    (WHY, "natural", 0.25, 0),
    (PATH, "piece", 0.35, 0),
    (DECIDED, "piece", 0.3, 0),
    (VALUE, "whole", 0.45, 0),
    (PATH, "natural", 0.35, 0),
    (DECIDED, "natural", 0.3, 0),
    (WHY, "natural", 1.0, 0),
    (VALUE, "natural", 1.0, 0),
    (PATH, "natural", 1.0, 0),
    (DECIDED, "natural", 1.0, 0),
)
# Where a cell may wrap: after a space or a separator, or before `[`.
_BREAKS = re.compile(r"(?<=[\s.,/:;-])|(?=\[)")


def _widths(rows: list, width: int | None) -> list[int]:
    """Natural widths when they fit; otherwise grown from the minimums by
    GROWTH. When that leaves the why column too narrow to read, the widths
    of the first four columns alone: the reasons then go beneath their row."""
    cells = [[len(text) for text in column] for column in zip(*(_flat(row) for row, _ in rows))] or [[0]] * len(HEADERS)
    natural = [max(len(h), *lengths) for h, lengths in zip(HEADERS, cells)]
    if width is None or sum(natural) + len(GAP) * WHY <= width:
        return natural
    # the widest piece a cell breaks into: a path at its separators, any other cell at its spaces
    piece = [
        max(len(p) for row, _ in rows for p in (_BREAKS.split(_flat(row)[i]) if i == PATH else _flat(row)[i].split() or [""]))
        for i in range(len(HEADERS))
    ]
    widths = _grown(cells, natural, piece, width, len(HEADERS))
    return widths if widths[WHY] >= min(WHY_BESIDE, natural[WHY]) else _grown(cells, natural, piece, width, WHY)


def _grown(cells: list, natural: list, piece: list, width: int, columns: int) -> list[int]:
    room = width - len(GAP) * (columns - 1)
    widths = [min(n, m) for n, m in zip(natural[:columns], MINIMUM)]
    for i, want, share, at_least in GROWTH:
        if i >= columns:
            continue
        cap = max(widths[i], int(room * share), at_least)
        wanted = {"whole": max([n for n in cells[i] if n <= cap], default=0), "piece": piece[i], "natural": natural[i]}[want]
        widths[i] = max(widths[i], min(wanted, cap, widths[i] + room - sum(widths)))
    return widths


def _flat(cells: tuple) -> list[str]:
    """The cells with the reasons column as its longest line."""
    return [*cells[:-1], max(cells[-1], key=len)]


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    """`text` in lines of at most `width`, broken after spaces and separators
    (a path after `.` or `/`, before `[`); a piece wider than the column is
    cut only where it has no such place. Lines after the first start with
    `indent`. Nothing is lost: the lines hold every character but spaces."""
    if len(text) <= width:
        return [text]
    lines: list[str] = []
    line = ""
    for token in _BREAKS.split(text):
        room = max(1, width - (len(indent) if lines else 0))
        if line and len(line + token.rstrip()) > room:
            lines.append(line.rstrip())
            line, room = "", max(1, width - len(indent))
        while len(token.rstrip()) > room:
            lines.append(token[:room])
            token, room = token[room:], max(1, width - len(indent))
        line += token.lstrip() if not line else token
    lines.append(line.rstrip())
    return [lines[0], *(indent + rest for rest in lines[1:])]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + ELLIPSIS


class _Paint:
    def __init__(self, colour: bool):
        self.colour = colour

    def __call__(self, text: str, *codes: str) -> str:
        return f"{''.join(codes)}{text}{RESET}" if self.colour and codes else text


KIND_CODES = {"plain": (), "not recovered": (YELLOW,), "unmatched": (RED,), "conflict": ()}


def table(recovery: dict, width: int | None = None, colour: bool = False) -> str:
    """Every section of the recovery's explanation as aligned text; lines no
    wider than `width` (None: no limit). Cells wrap rather than being cut,
    the values keep their width first, and the reasons go beneath their row
    when a column of their own would be too narrow to read."""
    explain = recovery.get("explain") or {}
    sections = [(title, _rows(explain, prefix)) for title, prefix in SECTIONS]
    sections.append(("directives", _directive_rows(recovery.get("directives") or ())))
    sections.append(("conflicts", _conflict_rows(recovery.get("conflicts") or ())))
    rejected = _rejected_rows(recovery.get("setAside") or ())
    if rejected:  # only where a copy was malformed, or message keys were given and a copy failed them
        sections.append(("copies set aside", rejected))
    widths = _widths([row for _, rows in sections for row in rows], width)
    beside = len(widths) == len(HEADERS)  # else the reasons go beneath each row
    paint = _Paint(colour)
    limit = (lambda s: _fit(s, width)) if width else (lambda s: s)

    def line(cells: Iterable[str]) -> str:
        padded = [_fit(c, w).ljust(w) for c, w in zip(cells, widths)]  # zip: the why column only when beside
        return limit(GAP.join(padded).rstrip())  # a terminal narrower than every column's minimum

    status = (recovery.get("visitor") or {}).get("status")
    out = [paint(limit(f"recovery of visitor {recovery.get('visitorId')}: status {shown(status)}"), BOLD)]
    for title, rows in sections:
        out.append("")
        out.append(paint(limit(f"{title} ({len(rows)})"), BOLD, CYAN))
        if not rows:
            out.append(paint("  (none)", DIM))
            continue
        out.append(paint(line(HEADERS), DIM))
        if not beside:
            out.append(paint(limit(BENEATH + HEADERS[WHY]), DIM))
        for cells, kind in rows:
            # Every cell wraps in its column, none is cut: a long reason
            # most of all, since the why is what the table is read for; one
            # reason starts a line, its continuations are indented.
            columns = [_wrap(text, w) for text, w in zip(cells[:-1], widths)]
            reasons = [
                piece
                for reason in cells[-1]
                for piece in _wrap(reason, widths[-1] if beside else (width or 0) - len(BENEATH), "  ")
            ]
            if beside:
                columns.append(reasons)
            for n in range(max(map(len, columns))):
                texts = [column[n] if n < len(column) else "" for column in columns]
                codes = KIND_CODES[kind] if n == 0 or any(texts[:WHY]) else (DIM,)
                out.append(paint(line(texts), *codes))
            if not beside and cells[-1] != ["-"]:
                out.extend(paint(limit(BENEATH + reason), DIM) for reason in reasons)
    return "\n".join(out) + "\n"
