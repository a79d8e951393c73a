"""How admission weighs a request: by its reports, or its bytes when they
say more, and never more than a quarter of the places (issue 16 item 4)."""

import pytest

from chat_recovery.service.admission import Admission


@pytest.mark.parametrize(
    "limit, reports, size, weight",
    [
        (64, 1, 2_000, 1),  # one ordinary report
        (64, 3, 200 * 1024, 4),  # three reports of 200 KiB: their bytes say more than their count
        (64, 1, 1024 * 1024, 16),  # one report of a MiB is 16 reports' work, a quarter of 64
        (64, 1, 16 * 1024 * 1024, 16),  # 16 MiB: still a quarter
        (64, 500, 50_000, 16),  # the longest list: a quarter
        (8, 40, 4_000, 2),
        (2, 40, 4_000, 1),  # a quarter of 2 is at least 1
        (1, 1, 0, 1),
    ],
)
def test_a_request_weighs_its_reports_or_bytes_at_most_a_quarter(limit, reports, size, weight):
    assert Admission(limit).weigh(reports, size) == weight


def test_a_long_list_leaves_three_quarters_of_the_places_to_others():
    admission = Admission(64)
    heavy = admission.weigh(500, 50_000)
    assert admission.try_admit(heavy)
    admitted = 0
    while admission.try_admit(admission.weigh(1, 2_000)):
        admitted += 1
    assert admitted == 48 and admission.held == 64
    admission.release(heavy)
    assert admission.try_admit(heavy) and not admission.try_admit(1)
