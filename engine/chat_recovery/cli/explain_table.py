"""`recover --format table`: a recovery's explain entries as tables for a
person at a terminal. Pure: the caller says how wide and whether to colour,
so the same function serves a tty, a pipe and a test."""
from __future__ import annotations

import json
import textwrap
from typing import Any, Iterable, Optional

HEADERS = ("PATH", "VALUE", "DECIDED BY", "SOURCE", "WHY, AND WHAT LOST")
MINIMUM = (8, 8, 12, 8, 12)       # no column shrinks below this
SHARES = (0.16, 0.16, 0.22, 0.1, 0.36)  # of a line too narrow for every column
GAP = "  "
ELLIPSIS = "…"

BOLD, DIM, RED, YELLOW, CYAN, RESET = "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[33m", "\x1b[36m", "\x1b[0m"

# (title, explain path prefix); the rows of a section are the explain entries under it
SECTIONS = (
    ("visitor", "$.visitor."),
    ("chat props", "$.chat.props."),
    ("chat state", "$.chat.state."),
    ("messages", "$.chat.messages"),
)


def shown(value: Any) -> str:
    """A value on one line: text as it is, anything else as compact JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return " ".join(text.split())


def who(source: Optional[dict]) -> str:
    if not source:
        return "-"
    return source["type"] if source["type"] == "visitor" else f"agent {source['id']}"


def _decided_by(rule: Optional[str], strategy: str) -> str:
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
            short = path[len(prefix):].lstrip(".") or path
            if short.startswith("['") and short.endswith("']"):
                short = short[2:-2]
            out.append(_entry_row(short, entry))
    return out


def _directive_rows(directives: Iterable[dict]) -> list:
    rows = []
    for item in directives:
        what = item["do"] + (f" {item['seconds']}s" if "seconds" in item else "")
        if "message" in item:
            what += f" {item['message'].get('id', '')}"
        rows.append(((who(item["to"]), what, _decided_by(item.get("rule"), "client rule"), "-", [item.get("reason", "-")]), "plain"))
    return rows


def _conflict_rows(conflicts: Iterable[dict]) -> list:
    rows = []
    for item in conflicts:
        said = [f"{who(v['source'])} said {shown(v['value'])}" for v in item["values"]]
        decided = item["decided"]
        rows.append(((item["path"].removeprefix("$."), shown(decided["value"]), _decided_by(decided["rule"], decided["strategy"]),
                      who(decided["source"]), said), "conflict"))
    return rows


def _widths(rows: list, width: Optional[int]) -> list[int]:
    """Natural widths when they fit. Otherwise each column gets up to its
    share of the line, and what is left goes back to the columns that need
    it, the last (why) first."""
    natural = [len(h) for h in HEADERS]
    for cells, _ in rows:
        natural = [max(w, len(c)) for w, c in zip(natural, _flat(cells))]
    room = None if width is None else width - len(GAP) * (len(HEADERS) - 1)
    if room is None or sum(natural) <= room:
        return natural
    widths = [max(m, min(n, int(room * share))) for n, m, share in zip(natural, MINIMUM, SHARES)]
    while sum(widths) > room and any(w > m for w, m in zip(widths, MINIMUM)):
        widest = max((i for i, w in enumerate(widths) if w > MINIMUM[i]), key=lambda i: widths[i])
        widths[widest] -= 1
    for i in reversed(range(len(widths))):
        spare = room - sum(widths)
        if spare <= 0:
            break
        widths[i] = min(natural[i], widths[i] + spare)
    return widths


def _flat(cells: tuple) -> list[str]:
    """The cells with the reasons column as its longest line."""
    return [*cells[:-1], max(cells[-1], key=len)]


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width`, continuation lines indented."""
    if len(text) <= width or width < 12:
        return [text]
    return textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False) or [text]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(0, width - 1)] + ELLIPSIS


class _Paint:
    def __init__(self, colour: bool):
        self.colour = colour

    def __call__(self, text: str, *codes: str) -> str:
        return f"{''.join(codes)}{text}{RESET}" if self.colour and codes else text


KIND_CODES = {"plain": (), "not recovered": (YELLOW,), "unmatched": (RED,), "conflict": ()}


def table(recovery: dict, width: Optional[int] = None, colour: bool = False) -> str:
    """Every section of the recovery's explanation as aligned text; lines no
    wider than `width` (None: no limit)."""
    explain = recovery.get("explain") or {}
    sections = [(title, _rows(explain, prefix)) for title, prefix in SECTIONS]
    sections.append(("directives", _directive_rows(recovery.get("directives") or ())))
    sections.append(("conflicts", _conflict_rows(recovery.get("conflicts") or ())))
    widths = _widths([row for _, rows in sections for row in rows], width)
    paint = _Paint(colour)
    limit = (lambda s: _fit(s, width)) if width else (lambda s: s)  # noqa: E731

    def line(cells: Iterable[str]) -> str:
        padded = [_fit(c, w).ljust(w) for c, w in zip(cells, widths)]
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
        for cells, kind in rows:
            # One reason a line; a long reason wraps in its column rather
            # than being cut, since the why is what the table is read for.
            first, *more = [piece for reason in cells[-1] for piece in _wrap(reason, widths[-1])]
            out.append(paint(line((*cells[:-1], first)), *KIND_CODES[kind]))
            out.extend(paint(line(("", "", "", "", reason)), DIM) for reason in more)
    return "\n".join(out) + "\n"
