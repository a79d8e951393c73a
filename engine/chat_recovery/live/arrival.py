"""What the live service refuses of a report the contract accepts, because
of where it arrives: a visitor id the GET route cannot be asked for, and a
`sentAt` from the future. Both are ReportErrors with the field's path (422,
nothing written); the batch and the CLI, which have no URL and no clock of
their own, take such reports as the contract does."""

from __future__ import annotations

from datetime import timedelta

from .. import timeutil
from ..diagnostics import ReportError

# Every client normalises these path segments away before sending (curl,
# browsers and Node's fetch even when written %2E%2E), so no GET reaches them.
DOT_SEGMENTS = frozenset((".", ".."))


def check_arrival(report: dict, now: str, max_skew: float | None) -> None:
    """ReportError when `report` (already checked against the contract)
    cannot be held live: see the module's docstring."""
    if report["visitorId"] in DOT_SEGMENTS:
        raise ReportError(
            f"visitorId '{report['visitorId']}' is a dot segment, which no HTTP client sends in a URL path, "
            "so its recovery could never be read back",
            "$.visitorId",
        )
    if max_skew is None:
        return
    sent, limit = timeutil.parse(report["sentAt"]), timeutil.parse(now) + timedelta(seconds=max_skew)
    if sent > limit:
        raise ReportError(
            f"sentAt {report['sentAt']} is more than {max_skew:g} s after the server's clock ({now}): "
            "a report from the future would stay the latest of its side for good; check the client's clock",
            "$.sentAt",
        )
