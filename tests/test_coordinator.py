"""The coordinator as a server uses it: reports one at a time, the recovery so
far, who is still awaited, the window, late and repeated reports."""

import json

import pytest

import chat_recovery as cr
from chat_recovery.live import Coordinator, MemoryStore
from chatlog import chat_report, log
from conftest import ROOT, report

T = "2026-11-24T09:01:{:02d}Z"


def example(name):
    return [json.loads(p.read_text()) for p in sorted((ROOT / "examples" / name).glob("*.json"))]


class Clock:
    """A store clock the test moves by hand (seconds)."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def coord(policy, clock):
    return Coordinator(policy, MemoryStore(clock), window=60, retain=600)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "examples").iterdir() if p.is_dir()))
def test_each_submit_returns_the_recovery_of_the_reports_so_far(policy, coord, name):
    reports = example(name)
    for n in range(1, len(reports) + 1):
        now = T.format(n)
        got = coord.submit(reports[n - 1], now=now)
        assert got["recovery"] == cr.recover(policy, reports[:n], now)
        assert got["reports"] == n
        assert got["receipt"] == {"late": False, "duplicate": False}
    assert coord.get(reports[0]["visitorId"], now=T.format(9))["recovery"] == got["recovery"]


def test_the_visitor_and_the_agents_holding_the_chat_are_awaited_until_they_report(coord):
    messages = log("visitorRequestChat", ("agentAcceptChat", "agent", "a-7"), ("agentJoinChat", "agent", "a-9"))
    first = coord.submit(chat_report(messages, side="visitor", status="chatting"), now=T.format(1))
    assert first["awaiting"] == [{"type": "agent", "id": "a-7"}, {"type": "agent", "id": "a-9"}]
    assert first["complete"] is False
    second = coord.submit(chat_report(messages, agent="a-9"), now=T.format(2))
    assert second["awaiting"] == [{"type": "agent", "id": "a-7"}]
    third = coord.submit(chat_report(messages, agent="a-7"), now=T.format(3))
    assert third["awaiting"] == [] and third["complete"] is True
    assert [e["source"] for e in third["reported"]] == [
        {"type": "agent", "id": "a-7"},
        {"type": "agent", "id": "a-9"},
        {"type": "visitor"},
    ]


def test_an_agent_report_alone_awaits_the_visitor(coord):
    got = coord.submit(example("plain-visitor")[1], now=T.format(1))
    assert got["awaiting"] == [{"type": "visitor"}]


def test_a_visitor_the_policy_does_not_recover_is_not_awaited(coord):
    got = coord.submit(report("agent", visitor={"status": "outOfSite"}), now=T.format(1))
    assert got["recovery"]["visitor"] is None
    assert got["awaiting"] == [] and got["complete"] is True


def test_the_same_report_twice_changes_nothing(coord):
    first, second = example("chat-ended")
    coord.submit(first, now=T.format(1))
    once = coord.submit(second, now=T.format(2))
    again = coord.submit(json.loads(json.dumps(second)), now=T.format(3))
    assert again["receipt"] == {"late": False, "duplicate": True}
    assert again["reports"] == 2
    assert again["recovery"] == once["recovery"]


def test_the_window_closes_and_a_late_report_is_applied_and_says_so(policy, coord):
    first, second = example("chat-refused")
    opened = coord.submit(first, now="2026-11-24T09:01:00Z")
    assert opened["closesAt"] == "2026-11-24T09:02:00Z" and opened["final"] is False
    assert coord.get(first["visitorId"], now="2026-11-24T09:02:00Z")["final"] is True
    late = coord.submit(second, now="2026-11-24T09:05:00Z")
    assert late["receipt"] == {"late": True, "duplicate": False}
    assert late["final"] is True and late["lateReports"] == 1 and late["reports"] == 2
    assert late["recovery"] == cr.recover(policy, [first, second], "2026-11-24T09:05:00Z")
    agent = [e for e in late["reported"] if e["source"]["type"] == "agent"][0]
    assert agent["late"] is True and agent["receivedAt"] == "2026-11-24T09:05:00Z"


def test_a_recovery_is_forgotten_retain_seconds_after_its_window(coord, clock):
    first = example("plain-visitor")[0]
    coord.submit(first, now="2026-11-24T09:01:00Z")
    clock.t += 60 + 600 - 1
    assert coord.get("v-1001") is not None
    clock.t += 2
    assert coord.get("v-1001") is None


def test_a_late_report_does_not_extend_the_retention(coord, clock):
    first, second = example("chat-ended")
    coord.submit(first, now="2026-11-24T09:01:00Z")
    clock.t += 300
    coord.submit(second, now="2026-11-24T09:06:00Z")  # late: the window closed at 09:02
    clock.t += 60 + 600 - 300 + 1  # past opened + window + retain
    assert coord.get(first["visitorId"]) is None


def test_a_bad_report_changes_nothing(policy, coord):
    good = example("plain-visitor")[0]
    coord.submit(good, now=T.format(1))
    bad = {**example("plain-visitor")[1], "sentAt": "yesterday"}
    with pytest.raises(cr.ReportError) as err:
        coord.submit(bad, now=T.format(2))
    assert err.value.path == "$.sentAt"
    held = coord.get("v-1001", now=T.format(3))
    assert held["reports"] == 1 and held["recovery"] == cr.recover(policy, [good], T.format(1))
    with pytest.raises(cr.ReportError):
        coord.submit({"visitorId": "v-9"}, now=T.format(2))
    assert coord.get("v-9") is None


def test_a_report_for_another_chat_is_recovered_beside_the_held_one(coord):
    """Several chats per visitor (issue 15): the first chat id seen locks nothing."""
    messages = log("visitorRequestChat", ("agentAcceptChat", "agent", "a-7"))
    first = coord.submit(chat_report(messages, side="visitor"), now=T.format(1))
    other = chat_report(messages, agent="a-9")
    other["chat"]["id"] = "c-2"
    got = coord.submit(other, now=T.format(2))
    assert got["reports"] == 2 and got["recovery"]["chat"] == first["recovery"]["chat"]
    assert [c["id"] for c in got["recovery"]["otherChats"]] == ["c-2"]


def test_an_older_upload_arriving_later_keeps_the_newer_time_in_reported(coord):
    newer = report("agent", sent="2026-11-24T09:00:20Z", agent="a-7", visitor={"info": {"name": "Ann"}})
    older = report("agent", sent="2026-11-24T09:00:10Z", agent="a-7", visitor={"info": {"name": "Bob"}})
    coord.submit(newer, now=T.format(1))
    got = coord.submit(older, now=T.format(2))
    entry = got["reported"][0]
    assert entry["sentAt"] == "2026-11-24T09:00:20Z" and entry["receivedAt"] == T.format(2)
    assert got["recovery"]["visitor"]["info"]["name"] == "Ann"


def test_now_that_is_not_a_time_is_blamed_on_now_not_the_report(coord):
    with pytest.raises(ValueError, match="^now: 'soon' is not an RFC 3339 time") as caught:
        coord.submit(example("plain-visitor")[0], now="soon")
    assert not isinstance(caught.value, cr.ReportError)


def test_the_clock_is_read_only_when_now_is_not_given(policy):
    coord = Coordinator(policy, clock=lambda: "2026-11-24T10:00:00Z")
    got = coord.submit(example("plain-visitor")[0])
    assert got["openedAt"] == "2026-11-24T10:00:00Z"


def test_a_window_must_be_positive(policy):
    with pytest.raises(ValueError):
        Coordinator(policy, window=0)


def test_every_progress_validates_against_the_live_recovery_schema(coord):
    from chat_recovery.policy import bundled
    from chat_recovery.policy.contract import load_contract

    schema = load_contract(bundled.schemas_dir()).validator("live-recovery.schema.json")
    for name in ("agents-disagree", "chat-refused"):
        for n, one in enumerate(example(name), 1):
            got = coord.submit(one, now=T.format(n))
            assert [e.message for e in schema.iter_errors(got)] == []
    late = coord.submit(example("chat-ended")[0], now="2026-11-24T09:30:00Z")
    assert [e.message for e in schema.iter_errors(late)] == []
    assert list(schema.iter_errors({**late, "awaiting": [{"type": "agnet"}]}))
