"""RFC 3339 UTC times: parsed for comparison, always written with 'Z'."""

from __future__ import annotations

import re
from datetime import UTC, datetime

Instant = str | datetime  # RFC 3339 text, or a timezone-aware datetime

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def parse(text: str) -> datetime:
    """A timezone-aware UTC datetime; ValueError for anything else."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise ValueError(f"'{text}' is not an RFC 3339 time such as 2026-11-24T09:00:00Z")
    head, frac, zone = re.match(r"^(.{19})(\.\d+)?(.*)$", text).groups()  # type: ignore[union-attr]  # _RFC3339 matched
    frac = (frac or "")[:7]  # Python keeps microseconds
    stamp = datetime.fromisoformat(head + frac + ("+00:00" if zone == "Z" else zone))
    if stamp.utcoffset() != UTC.utcoffset(None):
        raise ValueError(f"'{text}' is not in UTC (use Z)")
    return stamp.astimezone(UTC)


# Already the one spelling: Z, and a fraction of 1-6 digits without a trailing zero.
_CANONICAL = re.compile(r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,5}[1-9])?Z$")


def canonical(text: str) -> str:
    """The one spelling of a time used in state and output. Most times
    arrive in it: those are only checked to be a real date and time."""
    if isinstance(text, str) and _CANONICAL.match(text):
        try:
            datetime.fromisoformat(text[:19])
            return text
        except ValueError:
            pass  # parse() words the error
    return format_time(parse(text))


def given_now(now: Instant) -> str:
    """The canonical spelling of a `now` given to the API. A caller in Python
    holds a datetime more often than text, so an aware one is taken in any
    zone; the error names `now`, since no report is at fault."""
    if isinstance(now, datetime):
        if now.utcoffset() is None:
            raise ValueError(
                f"now: {now.isoformat()} has no timezone; give an aware datetime, e.g. datetime(..., tzinfo=timezone.utc)"
            )
        return format_time(now)
    if not isinstance(now, str):
        raise TypeError(f"now: expected RFC 3339 text or a timezone-aware datetime, not {type(now).__name__}")
    try:
        return canonical(now)
    except ValueError as exc:
        raise ValueError(f"now: {exc}") from None


def format_time(stamp: datetime) -> str:
    stamp = stamp.astimezone(UTC)
    # not strftime: glibc writes year 19 as "19", which no RFC 3339 reader takes
    body = f"{stamp.year:04d}-{stamp.month:02d}-{stamp.day:02d}T{stamp.hour:02d}:{stamp.minute:02d}:{stamp.second:02d}"
    if stamp.microsecond:
        body += f".{stamp.microsecond:06d}".rstrip("0")
    return body + "Z"


def sort_key(text: str) -> str:
    """An ordering key for a time in the canonical spelling (every time in a
    checked report and in state has it): string slicing, no parsing, since
    the merge compares times on every value. '...05Z' -> '...05.0000000'."""
    return text[:19] + (text[19:-1] or ".").ljust(8, "0")
