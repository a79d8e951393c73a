"""Several chats per visitor (issue 15, case 6): an agent keeps an ended chat's
window while the visitor is already in a new chat (the seed's Client rule 1),
so reports about different chat ids are normal. `chat` is the visitor's
current chat; every other chat a console holds is recovered beside it
(`otherChats`), with directives to the agents holding it."""

import json
import random

import pytest

import chat_recovery as cr
from conftest import NOW, ROOT, cli, ndjson, report

VISITOR = {"type": "visitor"}


def said(message_id, time, action, sender, **extra):
    return {"id": message_id, "time": f"2026-11-24T{time}Z", "action": action, "sender": sender, **extra}


def agent(agent_id):
    return {"type": "agent", "id": agent_id}


OLD_LOG = [
    said("o-1", "08:50:01", "visitorRequestChat", VISITOR),
    said("o-2", "08:50:02", "agentAcceptChat", agent("a-7")),
    said("o-3", "08:50:04", "systemChatEnded", {"type": "system"}),
]
NEW_LOG = [
    said("n-1", "08:55:00", "visitorRequestChat", VISITOR),
    said("n-2", "08:55:05", "agentAcceptChat", agent("a-9")),
]
# case 6: the visitor is in c-new; a-7 still holds the ended c-old in an open window
IN_NEW = report(sent="2026-11-24T09:00:01Z", visitor={"status": "chatting"}, chat={"id": "c-new", "messages": NEW_LOG})
KEEPS_OLD = report(
    "agent", "2026-11-24T09:00:02Z", agent="a-7", chat={"id": "c-old", "props": {"source": "web"}, "messages": OLD_LOG}
)


def without_rule(directives):
    return [{k: v for k, v in d.items() if k != "rule"} for d in directives]


def check_case_6(got):
    assert got["chat"]["id"] == "c-new" and got["visitor"]["status"] == "chatting"
    assert got["chat"]["state"]["currentAgents"] == ["a-9"]
    [old] = got["otherChats"]
    assert old["id"] == "c-old" and old["status"] == "chatEnded" and old["props"] == {"source": "web"}
    assert [m["id"] for m in old["messages"]] == ["o-1", "o-2", "o-3"] and old["state"]["startTime"] == "2026-11-24T08:50:02Z"
    assert without_rule(old["directives"]) == [{"to": agent("a-7"), "do": "recoverChat"}]
    assert old["setAside"] == []
    # the visitor's own directives come from its current chat alone (c-new is chatting: none)
    assert got["directives"] == []


def test_case_6_through_the_cli(tmp_path):
    (tmp_path / "1-visitor.json").write_text(json.dumps(IN_NEW))
    (tmp_path / "2-agent-a7.json").write_text(json.dumps(KEEPS_OLD))
    done = cli("recover", tmp_path / "2-agent-a7.json", tmp_path / "1-visitor.json", "--now", NOW)
    assert done.returncode == 0, done.stderr.decode()
    check_case_6(json.loads(done.stdout))
    summary = cli("recover", tmp_path / "1-visitor.json", tmp_path / "2-agent-a7.json", "--now", NOW, "--format", "summary")
    assert summary.returncode == 0, summary.stderr.decode()
    assert summary.stdout.decode().splitlines()[0] == "v-1  chatting  chat c-new (2 messages), agent a-9"
    assert summary.stdout.decode().splitlines()[3] == "  otherChats  c-old chatEnded (agent a-7: recoverChat)"


def test_case_6_through_recover_batch(tmp_path):
    """A visitor whose reports hold two chats is one line of a batch, beside a visitor with one chat."""
    one_chat = {**IN_NEW, "visitorId": "v-2"}
    done = cli("recover", "--batch", ndjson(tmp_path / "in.ndjson", [KEEPS_OLD, one_chat, IN_NEW]), "--now", NOW)
    assert done.returncode == 0, done.stderr.decode()
    first, second = map(json.loads, done.stdout.decode().splitlines())
    check_case_6(first)
    assert second["visitorId"] == "v-2" and second["otherChats"] == []


def test_case_6_through_the_api_in_either_order(policy):
    for reports in ([IN_NEW, KEEPS_OLD], [KEEPS_OLD, IN_NEW]):
        got = cr.recover(policy, reports, NOW)
        check_case_6(got)


def test_case_6_is_explained_under_the_other_chat(policy):
    explain = cr.recover(policy, [IN_NEW, KEEPS_OLD], NOW, explain=True)["explain"]
    assert explain["$.otherChats['c-old'].messages['o-3']"]["rule"].startswith("rules/chat-actions.yaml:")
    assert explain["$.otherChats['c-old'].directives[0]"]["why"] == "client rule chatEnded asks it"
    assert "$.chat.messages['n-2']" in explain and "$.chat.messages['o-3']" not in explain


def test_a_conflict_in_another_chat_is_named_under_it(policy):
    differs = {**OLD_LOG[1], "text": "hello"}
    a8 = report(
        "agent", "2026-11-24T09:00:03Z", agent="a-8", chat={"id": "c-old", "props": {"source": "app"}, "messages": [differs]}
    )
    got = cr.recover(policy, [IN_NEW, KEEPS_OLD, a8], NOW)
    assert sorted(c["path"] for c in got["conflicts"]) == [
        "$.otherChats['c-old'].messages['o-2']",
        "$.otherChats['c-old'].props.source",
    ]
    [old] = got["otherChats"]
    assert without_rule(old["directives"]) == [
        {"to": agent("a-7"), "do": "recoverChat"},
        {"to": agent("a-8"), "do": "recoverChat"},
    ]


def test_without_a_visitor_report_the_chat_with_the_latest_message_is_current(policy):
    newer = report("agent", "2026-11-24T09:00:01Z", agent="a-9", chat={"id": "c-new", "messages": NEW_LOG})
    for reports in ([KEEPS_OLD, newer], [newer, KEEPS_OLD]):
        got = cr.recover(policy, reports, NOW)
        assert got["chat"]["id"] == "c-new" and [c["id"] for c in got["otherChats"]] == ["c-old"]
        assert got["visitor"]["status"] == "chatting"  # from the current chat's log, not the ended one's


def test_the_visitors_report_decides_even_against_a_later_message(policy):
    # the visitor's report holds c-old; a-9's console holds a c-new with later messages
    visitor = report(sent="2026-11-24T09:00:01Z", chat={"id": "c-old", "messages": OLD_LOG})
    newer = report("agent", "2026-11-24T09:00:02Z", agent="a-9", chat={"id": "c-new", "messages": NEW_LOG})
    got = cr.recover(policy, [newer, visitor], NOW)
    assert got["chat"]["id"] == "c-old" and got["visitor"]["status"] == "chatEnded"
    [new] = got["otherChats"]
    assert new["id"] == "c-new" and new["status"] == "chatting" and new["directives"] == []


def test_equal_latest_messages_the_larger_chat_id_is_current(policy):
    log = [said("m-1", "08:55:00", "visitorRequestChat", VISITOR)]
    one = report("agent", "2026-11-24T09:00:02Z", agent="a-1", chat={"id": "c-a", "messages": log})
    two = report("agent", "2026-11-24T09:00:01Z", agent="a-2", chat={"id": "c-b", "messages": log})
    for reports in ([one, two], [two, one]):
        got = cr.recover(policy, reports, NOW)
        assert got["chat"]["id"] == "c-b" and [c["id"] for c in got["otherChats"]] == ["c-a"]


def test_the_visitors_latest_report_names_the_current_chat_whatever_the_order(policy):
    earlier = report(sent="2026-11-24T09:00:01Z", chat={"id": "c-old", "messages": OLD_LOG})
    later = report(sent="2026-11-24T09:00:05Z", chat={"id": "c-new", "messages": NEW_LOG})
    reports = [earlier, later, KEEPS_OLD]
    seen = set()
    for seed in range(6):
        random.Random(seed).shuffle(reports)
        got = cr.recover(policy, reports, NOW)
        seen.add(json.dumps(got, sort_keys=True))
        assert got["chat"]["id"] == "c-new"
    assert len(seen) == 1


def test_other_chats_are_an_empty_list_with_one_chat(policy):
    got = cr.recover(policy, [IN_NEW], NOW)
    assert got["chat"]["id"] == "c-new" and got["otherChats"] == []
    assert cr.recover(policy, [report(visitor={"status": "inSite"})], NOW)["otherChats"] == []


FORMAT_1 = json.loads((ROOT / "tests" / "states" / "format-1.json").read_text())


def test_a_format_1_state_reads_as_the_same_state_folded_today(policy):
    from chat_recovery.recovery.fold import STATE_FORMAT, upgrade_state

    old = FORMAT_1["state"]
    assert old["format"] == 1 and "chat" in old
    fresh = None
    for item in FORMAT_1["reports"]:
        fresh = cr.apply(policy, fresh, item, NOW)
    upgraded = upgrade_state(old)
    assert upgraded == fresh and upgraded["format"] == STATE_FORMAT
    assert upgraded["chats"]["c-old"]["slots"] == {"$.chat.props.source": old["slots"]["$.chat.props.source"]}
    assert old["format"] == 1 and "chat" in old  # the given state is left as it was


def test_a_format_1_state_renders_and_takes_reports_of_another_chat(policy):
    old = FORMAT_1["state"]
    assert cr.render(policy, old) == cr.recover(policy, FORMAT_1["reports"], NOW)
    newer = report(sent="2026-11-24T09:00:09Z", chat={"id": "c-new", "messages": NEW_LOG})
    state = cr.apply(policy, old, newer, NOW)
    assert state["format"] == 2
    got = cr.render(policy, state)
    assert got == cr.recover(policy, [*FORMAT_1["reports"], newer], NOW)
    assert got["chat"]["id"] == "c-new" and [c["id"] for c in got["otherChats"]] == ["c-old"]


def test_an_unknown_state_format_is_refused_in_words(policy):
    with pytest.raises(cr.RecoveryError, match="held state format 7 is not one this version reads"):
        cr.render(policy, {**FORMAT_1["state"], "format": 7})


def test_the_coordinator_awaits_the_current_chats_agents_and_takes_either_chat_later(policy):
    from chat_recovery.live import Coordinator

    coord = Coordinator(policy, window=60, retain=600)
    first = coord.submit(IN_NEW, now=NOW)
    assert first["awaiting"] == [agent("a-9")]
    second = coord.submit(KEEPS_OLD, now=NOW)
    check_case_6(second["recovery"])
    assert second["awaiting"] == [agent("a-9")]  # a-7 holds only the other chat: not awaited
    later_old = {**KEEPS_OLD, "sentAt": "2026-11-24T09:00:20Z"}
    assert coord.submit(later_old, now=NOW)["recovery"]["otherChats"][0]["id"] == "c-old"
    a9 = report("agent", "2026-11-24T09:00:21Z", agent="a-9", chat={"id": "c-new", "messages": NEW_LOG})
    done = coord.submit(a9, now=NOW)
    assert done["complete"] is True and done["recovery"]["chat"]["id"] == "c-new"
    assert [c["id"] for c in done["recovery"]["otherChats"]] == ["c-old"]


@pytest.fixture(scope="module")
def served():
    from service import Served

    server = Served("--workers", "0", "--window", "60")
    yield server
    server.stop()


def test_case_6_through_the_service_and_later_reports_of_either_chat(served):
    ours = lambda body: {**body, "visitorId": "v-6006"}  # noqa: E731
    first = served.client.post("/v1/reports", json=ours(IN_NEW))
    assert first.status_code == 200, first.text
    second = served.client.post("/v1/reports", json=ours(KEEPS_OLD))
    assert second.status_code == 200, second.text
    check_case_6(second.json()["recovery"])
    later = [
        {**KEEPS_OLD, "sentAt": "2026-11-24T09:00:20Z"},
        report(sent="2026-11-24T09:00:21Z", visitor={"status": "chatting"}, chat={"id": "c-new", "messages": NEW_LOG}),
        report("agent", "2026-11-24T09:00:22Z", agent="a-9", chat={"id": "c-new", "messages": NEW_LOG}),
    ]
    for body in later:
        got = served.client.post("/v1/reports", json=ours(body))
        assert got.status_code == 200, got.text
    held = served.client.get("/v1/visitors/v-6006/recovery").json()
    assert held["reports"] == 5 and held["complete"] is True
    check_case_6(held["recovery"])


def test_a_value_withheld_in_another_chat_is_named_under_that_chat():
    """monitorAgents is agent only: the visitor's earlier report about c-old
    supplied it, so it is withheld there, named under c-old, never shown."""
    earlier = report(
        sent="2026-11-24T08:59:00Z", chat={"id": "c-old", "props": {"monitorAgents": ["UNIQUE-7731"]}, "messages": OLD_LOG[:1]}
    )
    got = cr.recover(cr.load_policy(), [earlier, IN_NEW, KEEPS_OLD], NOW)
    assert got["chat"]["id"] == "c-new"
    paths = [w["path"] for w in got["withheld"]]
    assert "$.otherChats['c-old'].props.monitorAgents" in paths
    assert "UNIQUE-7731" not in json.dumps(got)
