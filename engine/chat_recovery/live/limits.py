"""How much one visitor's live recovery may hold. A visitor's document is read,
replayed and written whole on every report, so a document that grows without
bound makes every later report slower and, past a point, no store can hold
it. A real chat stays far below each bound (one visitor, a handful of agents,
a few uploads each, at most a few thousand messages); a client that keeps
sending new reports, new sources or huge wrap-ups meets one, and its report
is refused with the limit named, nothing written.

The defaults live here, so the coordinator and the service's settings
(service/config.py) read the same numbers."""

from __future__ import annotations

from ..diagnostics import RecoveryError
from ..jsonio import dumps_text

MAX_REPORTS = 500  # distinct reports one visitor's recovery holds
MAX_SOURCES = 64  # sources (the visitor, each agent) that have reported
MAX_MESSAGES = 10_000  # distinct messages held, over all the visitor's chats
# the held document's compact JSON, UTF-8: each holder's copy of each message
# is held (about 400 bytes a copy), so a 10,000-message chat held by the
# visitor and two agents is about 16 MB
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024

# what a limit is called where a person reads it, by the name VisitorTooLarge carries
NAMES = {
    "reports": "reports",
    "sources": "sources",
    "messages": "merged messages",
    "documentBytes": "bytes of JSON",
}

_compact = dumps_text


class VisitorTooLarge(RecoveryError):
    """Applying the report would take the visitor past a limit: nothing was
    written. `limit` names which ("reports", "sources", "messages",
    "documentBytes"), `bound` is its value and `would` what the visitor
    would have held."""

    def __init__(self, visitor_id: str, limit: str, bound: int, would: int):
        self.visitor_id, self.limit, self.bound, self.would = visitor_id, limit, bound, would
        super().__init__(self.describe())

    def describe(self, setting: str = "") -> str:
        """The message, naming the `setting` that holds the limit when given (a flag)."""
        where = f" ({setting})" if setting else ""
        return (
            f"visitor '{self.visitor_id}' would hold {self.would} {NAMES[self.limit]}, more than the limit of "
            f"{self.bound}{where}: this report was not applied (nothing was written)"
        )


def document_bytes(doc: dict) -> int:
    """The size of `doc` as a store writes it (compact JSON, UTF-8). The
    encoding is skipped when the text is ASCII (str.isascii is a flag
    check), which a document mostly is."""
    text = _compact(doc)
    return len(text) if text.isascii() else len(text.encode("utf-8"))


# A document grows by at most about 10 times the bytes of a report applied to
# it (measured: a report of tiny custom variables, each held with its source's
# sentAt and sequence, 7.9 times; one message a report, 2; a new agent each,
# 2.6), plus a fixed part (its digest, its entry in `reported`).
GROWTH, FIXED = 16, 4096


def size_bound(before: dict | None, new: dict, report_bytes: int, limit: int) -> int:
    """At least the bytes of `new` (`before` with one report of `report_bytes`
    applied), and exactly them whenever it could be past `limit`. Encoding a
    document of many small objects is not cheap (1,000 one-line messages:
    27 ms, 5,000: 72 ms, as much as their replay), so it is encoded only
    when the bound carried in the document (`sizeBound`), grown by GROWTH
    times the report and FIXED, reaches the limit: a visitor far below it
    pays nothing, one near it pays the encoding."""
    held = before.get("sizeBound") if before is not None else 0
    if isinstance(held, int):
        estimate = held + GROWTH * report_bytes + FIXED
        if estimate <= limit:
            return estimate
    return document_bytes(new)


def held_messages(state: dict) -> int:
    """Distinct messages a fold state holds, counted and set aside, over all its chats."""
    total = 0
    for chat in (state.get("chats") or {}).values():
        counted, rejected = chat.get("messages") or {}, chat.get("rejected") or {}
        total += len(counted) + sum(1 for key in rejected if key not in counted)
    return total
