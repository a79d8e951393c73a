"""`now` is RFC 3339 text or a timezone-aware datetime wherever the API takes
it, and a bad `now` is blamed on `now`, never on a report."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

import chat_recovery as cr
from chat_recovery.live.coordinator import Coordinator
from chat_recovery.policy import bundled
from conftest import report

PRECHAT = report(visitor={"status": "preChat"})  # latestPrechatTime is the recovery's now
TEXT = "2026-11-24T09:00:30.25Z"
AWARE = [
    datetime(2026, 11, 24, 9, 0, 30, 250000, tzinfo=UTC),
    datetime(2026, 11, 24, 10, 0, 30, 250000, tzinfo=timezone(timedelta(hours=1))),
    datetime(2026, 11, 24, 3, 30, 30, 250000, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
]
BAD = [
    (
        datetime(2026, 11, 24, 9, 0, 30),
        ValueError,
        "now: 2026-11-24T09:00:30 has no timezone; give an aware datetime, e.g. datetime(..., tzinfo=timezone.utc)",
    ),
    ("yesterday", ValueError, "now: 'yesterday' is not an RFC 3339 time such as 2026-11-24T09:00:00Z"),
    (1764000000, TypeError, "now: expected RFC 3339 text or a timezone-aware datetime, not int"),
]


@pytest.mark.parametrize("now", AWARE, ids=["utc", "plus-1", "minus-5-30"])
def test_an_aware_datetime_is_the_same_instant_as_text(policy, now):
    by_text = cr.recover(policy, [PRECHAT], TEXT)
    assert by_text["visitor"]["info"]["latestPrechatTime"] == TEXT
    assert cr.recover(policy, [PRECHAT], now=now) == by_text
    assert cr.render(policy, cr.apply(policy, None, PRECHAT, now)) == by_text
    assert cr.LivePolicy(bundled.rules_dir()).recover([PRECHAT], now) == by_text


@pytest.mark.parametrize("now, kind, message", BAD, ids=["naive", "bad-text", "wrong-type"])
def test_a_bad_now_is_blamed_on_now_not_on_a_report(policy, now, kind, message):
    for call in (
        lambda: cr.recover(policy, [PRECHAT], now),
        lambda: cr.recover(policy, [{"not": "a report"}], now),
        lambda: cr.apply(policy, None, PRECHAT, now),
        lambda: Coordinator(policy).submit(PRECHAT, now=now),
    ):
        with pytest.raises(kind) as caught:
            call()
        assert not isinstance(caught.value, cr.ReportError)
        assert str(caught.value) == message


def test_the_live_coordinator_takes_an_aware_datetime(policy):
    by_text = Coordinator(policy).submit(PRECHAT, now=TEXT)
    by_datetime = Coordinator(policy).submit(PRECHAT, now=AWARE[1])
    assert by_datetime == by_text and by_text["recovery"]["visitor"]["info"]["latestPrechatTime"] == TEXT
