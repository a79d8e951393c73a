"""Live recovery of one visitor at a time: each report is folded into the
visitor's held state as it arrives, on whichever node it arrives, and the
recovery so far is returned with who has reported and who is still awaited.

The window opens with a visitor's first report. Until it closes the recovery
is provisional; after it the recovery is final, and a report that still
arrives is applied all the same and marked late (a report is never dropped).
The document is forgotten `retain` seconds after the window closes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import timeutil
from ..api import check_report
from ..json_identity import canonical_json
from ..policy.model import Policy
from ..recovery.sources import source_key, source_of
from . import limits
from .arrival import check_arrival
from .limits import VisitorTooLarge, held_messages, size_bound
from .runner import InProcessRunner, Runner
from .store import MemoryStore, Store

LIVE_FORMAT = 1


def utc_now() -> str:
    return timeutil.format_time(datetime.now(UTC))


def _later(now: str, seconds: float) -> str:
    return timeutil.format_time(timeutil.parse(now) + timedelta(seconds=seconds))


def _seconds(start: str, end: str) -> float:
    return (timeutil.parse(end) - timeutil.parse(start)).total_seconds()


def report_digest(report: dict) -> str:
    """Identity of a checked report: the same upload sent twice (or retried
    after a timeout) has the same digest and changes nothing."""
    return _digest(canonical_json(report))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Coordinator:
    """`submit(report)` and `get(visitorId)` over a store. Thread-safe as far
    as the store is: every change is one atomic store update."""

    def __init__(
        self,
        policy: Policy,
        store: Store | None = None,
        *,
        window: float = 120.0,
        retain: float = 3600.0,
        runner: Runner | None = None,
        clock: Callable[[], timeutil.Instant] = utc_now,
        max_clock_skew: float | None = None,  # seconds a sentAt may be ahead of now; None: any
        max_reports: int = limits.MAX_REPORTS,
        max_sources: int = limits.MAX_SOURCES,
        max_messages: int = limits.MAX_MESSAGES,
        max_document_bytes: int = limits.MAX_DOCUMENT_BYTES,
    ):
        if window <= 0 or retain < 0:
            raise ValueError("window must be positive and retain not negative")
        if min(max_reports, max_sources, max_messages, max_document_bytes) < 1:
            raise ValueError("every per-visitor limit must be 1 or more")
        self.policy = policy
        self.store = store if store is not None else MemoryStore()
        self.window = float(window)
        self.retain = float(retain)
        self.runner = runner if runner is not None else InProcessRunner(policy)
        self._clock = clock
        self.max_clock_skew = max_clock_skew
        self.limits = {
            "reports": max_reports,
            "sources": max_sources,
            "messages": max_messages,
            "documentBytes": max_document_bytes,
        }

    def _now(self, now: timeutil.Instant | None) -> str:
        return timeutil.given_now(now if now is not None else self._clock())

    def submit(
        self, report: Any, now: timeutil.Instant | None = None, *, deadline: float | None = None, owned: bool = False
    ) -> dict:
        """Apply one report and return the visitor's progress (see `progress`)
        with `receipt: {late, duplicate}` for this report. A bad report raises
        ReportError and changes nothing; StoreUnavailable or RunnerUnavailable
        means retry; a report that would take the visitor past one of its
        limits raises VisitorTooLarge and changes nothing. `deadline`
        (time.monotonic()): nothing is written after it (the store's and the
        runner's wait ends there). `owned`: the caller parsed `report` for this
        call alone (the service, from the request's body), so a valid one is
        checked in place and held, not copied first (as `apply` takes it)."""
        now = self._now(now)
        checked = check_report(self.policy, report, owned)
        check_arrival(checked, now, self.max_clock_skew)
        text = canonical_json(checked)
        digest = _digest(text)
        visitor_id = checked["visitorId"]

        def change(doc: dict | None):
            if doc is not None and digest in doc["digests"]:
                return None, (doc, {"late": False, "duplicate": True})
            late = doc is not None and now >= doc["closesAt"]
            if doc is not None:  # the counts first: refused before any replay
                self._within(visitor_id, "reports", doc["reports"] + 1)
                self._within(visitor_id, "sources", len(doc["reported"]) + (source_key(checked["source"]) not in doc["reported"]))
            state, recovery = self.runner.step(doc["state"] if doc else None, checked, now, deadline=deadline)
            self._within(visitor_id, "messages", held_messages(state))
            new = self._record(doc, visitor_id, state, recovery, checked, digest, now, late)
            new["sizeBound"] = size_bound(doc, new, len(text), self.limits["documentBytes"])
            self._within(visitor_id, "documentBytes", new["sizeBound"])
            return new, (new, {"late": late, "duplicate": False})

        doc, receipt = self.store.update(visitor_id, change, lambda new: self._lifetime(new, now), deadline=deadline)
        return {**progress(doc, now), "receipt": receipt}

    def get(self, visitor_id: str, now: timeutil.Instant | None = None) -> dict | None:
        """The visitor's progress, or None when no report is held (never sent,
        or forgotten after the window and `retain`)."""
        doc = self.store.get(visitor_id)
        return None if doc is None else progress(doc, self._now(now))

    def _within(self, visitor_id: str, limit: str, would: int) -> None:
        if would > self.limits[limit]:
            raise VisitorTooLarge(visitor_id, limit, self.limits[limit], would)

    def _lifetime(self, doc: dict, now: str) -> float:
        """Seconds from `now` until the document is forgotten: `retain` after
        its window closes, whatever arrives meanwhile (at least one second,
        so a late report is still readable right after it is applied)."""
        return max(1.0, _seconds(now, doc["closesAt"]) + self.retain)

    def _record(
        self, doc: dict | None, visitor_id: str, state: dict, recovery: dict, report: dict, digest: str, now: str, late: bool
    ) -> dict:
        if doc is None:
            doc = {
                "format": LIVE_FORMAT,
                "visitorId": visitor_id,
                "openedAt": now,
                "closesAt": _later(now, self.window),
                "digests": [],
                "reported": {},
                "reports": 0,
                "lateReports": 0,
            }
        source = report["source"]
        key = source_key(source)
        seen = doc["reported"].get(key)
        entry = {"source": source_of(key), "sentAt": report["sentAt"], "receivedAt": now, "late": late}
        if seen is not None and seen["sentAt"] > report["sentAt"]:
            entry = {**seen, "receivedAt": now}  # an older upload: keep the newer word's time
        return {
            **doc,
            "state": state,
            "recovery": recovery,
            "updatedAt": now,
            "digests": doc["digests"] + [digest],
            "reported": {**doc["reported"], key: entry},
            "reports": doc["reports"] + 1,
            "lateReports": doc["lateReports"] + int(late),
        }


def awaited(doc: dict) -> list:
    """Who is still expected to report: the visitor (unless the policy
    recovered no visitor), and every agent the merged chat puts on it that
    has not reported yet: current and monitoring agents, and every agent
    that sent a counted message (screening set aside any copy whose
    sender.type is not its action's actor, so an agent sender here sent an
    agent action). Until such an agent reports, what the chat says it did
    rests on other holders' copies, so the recovery is not complete."""
    recovery, reported = doc["recovery"], doc["reported"]
    out = []
    if "visitor" not in reported and recovery.get("visitor") is not None:
        out.append({"type": "visitor"})
    chat = recovery.get("chat") or {}
    agents = list((chat.get("state") or {}).get("currentAgents") or [])
    agents += [a for a in (chat.get("props") or {}).get("monitorAgents") or [] if a not in agents]
    senders = sorted(
        {m["sender"]["id"] for m in chat.get("messages") or () if m["sender"]["type"] == "agent" and m["sender"].get("id")}
    )
    agents += [a for a in senders if a not in agents]
    out += [{"type": "agent", "id": a} for a in agents if f"agent:{a}" not in reported]
    return out


def progress(doc: dict, now: str) -> dict:
    """What a server sees of a live recovery (schemas/live-recovery.schema.json)."""
    waiting = awaited(doc)
    return {
        "visitorId": doc["visitorId"],
        "recovery": doc["recovery"],
        "reported": sorted(doc["reported"].values(), key=lambda e: source_key(e["source"])),
        "awaiting": waiting,
        "complete": not waiting,
        "final": now >= doc["closesAt"],
        "openedAt": doc["openedAt"],
        "closesAt": doc["closesAt"],
        "reports": doc["reports"],
        "lateReports": doc["lateReports"],
    }
