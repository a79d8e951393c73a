"""The Python API as an embedding server uses it: load once, apply reports as
they arrive, hold the state as JSON, render when asked."""

import copy
import json

import pytest

import chat_recovery as cr
from conftest import NOW, report

A = report(
    "agent",
    "2026-11-24T09:00:02Z",
    agent="a-7",
    visitor={"status": "inSite", "info": {"browser": "Chrome", "ticketId": "T-1"}},
    unfinishedWrapup={"categories": ["billing"], "comment": "call back"},
)
V = report("visitor", "2026-11-24T09:00:01Z", visitor={"status": "inSite", "info": {"browser": "Firefox", "ticketId": "T-x"}})


def test_incremental_apply_equals_batch_recover(policy):
    state = None
    for r in (V, A):
        state = cr.apply(policy, state, r, NOW)
        state = json.loads(json.dumps(state))  # held as JSON, e.g. in a store
    assert cr.render(policy, state) == cr.recover(policy, [V, A], NOW)


def test_apply_does_not_change_the_state_it_is_given(policy):
    state = cr.apply(policy, None, V, NOW)
    before = copy.deepcopy(state)
    cr.apply(policy, state, A, NOW)
    assert state == before


def test_a_bad_report_raises_and_leaves_the_state_usable(policy):
    state = cr.apply(policy, None, V, NOW)
    bad = {**A, "visitor": {"info": {"browser": 42}}}
    with pytest.raises(cr.ReportError) as caught:
        cr.apply(policy, state, bad, NOW)
    assert caught.value.path == "$.visitor.info.browser"
    assert cr.render(policy, cr.apply(policy, state, A, NOW))["visitor"]["info"]["ticketId"] == "T-1"


def test_reports_of_two_visitors_are_refused(policy):
    with pytest.raises(cr.ReportError, match="for visitor 'v-2'"):
        cr.recover(policy, [V, report(visitor_id="v-2")], NOW)


def test_reports_of_two_chats_are_two_chats(policy):
    got = cr.recover(policy, [report(chat={"id": "c-1"}), report("agent", chat={"id": "c-2"})], NOW)
    assert got["chat"]["id"] == "c-1" and [c["id"] for c in got["otherChats"]] == ["c-2"]  # c-1: the visitor's


def test_unfinished_wrapup_comes_from_agents_only(policy):
    from_visitor = report(unfinishedWrapup={"comment": "not mine to send"})
    assert cr.recover(policy, [from_visitor, A], NOW)["unfinishedWrapups"] == {
        "a-7": {"categories": ["billing"], "comment": "call back"}
    }


def test_later_sent_at_wins_within_a_side_whatever_the_arrival_order(policy):
    fresh = report("agent", "2026-11-24T09:00:09Z", agent="a-1", visitor={"info": {"departmentId": "new"}})
    stale = report("agent", "2026-11-24T09:00:01Z", agent="a-2", visitor={"info": {"departmentId": "old"}})
    for order in ([fresh, stale], [stale, fresh]):
        assert cr.recover(policy, order, NOW)["visitor"]["info"]["departmentId"] == "new"


def test_equal_sent_at_the_larger_source_id_wins(policy):
    one = report("agent", "2026-11-24T09:00:01Z", agent="a-1", visitor={"info": {"departmentId": "one"}})
    two = report("agent", "2026-11-24T09:00:01Z", agent="a-2", visitor={"info": {"departmentId": "two"}})
    for order in ([one, two], [two, one]):
        assert cr.recover(policy, order, NOW)["visitor"]["info"]["departmentId"] == "two"


def test_null_supplies_nothing_and_overwrites_nothing(policy):
    result = cr.recover(
        policy,
        [report("agent", visitor={"info": {"campaignId": "c-a"}}), report("visitor", visitor={"info": {"campaignId": None}})],
        NOW,
    )
    assert result["visitor"]["info"]["campaignId"] == "c-a"
    assert result["conflicts"] == []


def test_explain_names_rule_strategy_and_report(policy):
    result = cr.recover(policy, [V, A], NOW, explain=True)
    decided = result["explain"]["$.visitor.info.ticketId"]
    assert decided["strategy"] == "agentOnly"
    assert decided["source"] == {"type": "agent", "id": "a-7"}
    assert decided["sentAt"] == "2026-11-24T09:00:02Z"
    assert decided["rule"].startswith("rules/visitor-info.yaml:")
    assert cr.recover(policy, [V, A], NOW)["explain"] == {}


def test_conflicts_list_each_source_and_the_decision(policy):
    (conflict,) = [c for c in cr.recover(policy, [V, A], NOW)["conflicts"] if c["path"] == "$.visitor.info.ticketId"]
    assert conflict["values"] == [
        {"source": {"type": "agent", "id": "a-7"}, "sentAt": "2026-11-24T09:00:02Z", "value": "T-1"},
        {"source": {"type": "visitor"}, "sentAt": "2026-11-24T09:00:01Z", "value": "T-x"},
    ]
    assert conflict["decided"]["value"] == "T-1" and conflict["decided"]["strategy"] == "agentOnly"


def test_times_are_written_in_utc_with_z(policy):
    r = report("agent", "2026-11-24T09:00:02.500+00:00", visitor={"info": {"captureTime": "2026-11-24T08:00:00.000+00:00"}})
    result = cr.recover(policy, [r], "2026-11-24T09:00:30.000+00:00", explain=True)
    assert result["visitor"]["info"]["captureTime"] == "2026-11-24T08:00:00Z"
    assert result["visitor"]["info"]["latestActivityTime"] == "2026-11-24T09:00:30Z"
    assert result["explain"]["$.visitor.info.captureTime"]["sentAt"] == "2026-11-24T09:00:02.5Z"


def test_no_clock_inside_the_engine(policy):
    assert cr.recover(policy, [V], "2030-01-01T00:00:00Z")["visitor"]["info"]["latestActivityTime"] == "2030-01-01T00:00:00Z"
