"""Times: one UTC spelling out, and an ordering that never disagrees with the
clock (a later sentAt must win even when one time has fractional seconds)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chat_recovery import timeutil

STAMPS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.replace(tzinfo=UTC))


@given(STAMPS, STAMPS)
def test_sort_key_orders_like_the_clock(a, b):
    ka, kb = timeutil.sort_key(timeutil.format_time(a)), timeutil.sort_key(timeutil.format_time(b))
    assert (ka < kb) == (a < b) and (ka == kb) == (a == b)


def test_canonical_spelling():
    assert timeutil.canonical("2026-11-24T09:00:05.500+00:00") == "2026-11-24T09:00:05.5Z"
    assert timeutil.canonical("2026-11-24T09:00:05.000Z") == "2026-11-24T09:00:05Z"
    assert timeutil.sort_key("2026-11-24T09:00:05Z") < timeutil.sort_key("2026-11-24T09:00:05.000001Z")
    later = datetime(2026, 11, 24, 9, 0, 5, tzinfo=UTC) + timedelta(microseconds=1)
    assert timeutil.format_time(later) == "2026-11-24T09:00:05.000001Z"


def test_a_year_before_1000_is_written_with_four_digits():
    """Found by fuzzing the service: strftime wrote 0019 as '19', so the
    recovery held a time its own schema refuses."""
    from chat_recovery import timeutil

    assert timeutil.canonical("0019-10-01T02:59:48Z") == "0019-10-01T02:59:48Z"
    assert timeutil.canonical("0019-10-01T02:59:48.500+00:00") == "0019-10-01T02:59:48.5Z"
