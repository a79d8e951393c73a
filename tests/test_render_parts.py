"""The parts of `render`, each called alone on a held state: the status
(decided once, the message log's word included), the visitor, the chat and
the directives, each with the conflicts and explain entries it writes."""

import json

import pytest

import chat_recovery as cr
from chat_recovery.recovery.chat import rebuild
from chat_recovery.recovery.render import (
    Findings,
    client_directives,
    decide_status,
    recover_chat,
    recover_info,
    recover_visitor,
    unfinished_wrapups,
)
from chat_recovery.replay import engine_for
from conftest import NOW, ROOT, edit, report


def held(policy, reports):
    """The folded state of `reports` and its rebuilt chat (None without one)."""
    state = None
    for item in reports:
        state = cr.apply(policy, state, item, NOW)
    chat = rebuild(policy.chat, one_chat(state), engine_for(policy, "python")) if state["chats"] else None
    return state, chat


def one_chat(state):
    """The held chat of a state holding one chat at most (None without one)."""
    (chat,) = state["chats"].values() or [None]
    return chat


def example(name):
    return [json.loads(path.read_text()) for path in sorted((ROOT / "examples" / name).glob("*.json"))]


@pytest.fixture
def refused(policy):
    """The visitor uploaded waitingForChat, the agent refusedByAgent; the message log says refused."""
    return held(policy, example("chat-refused"))


def test_the_message_log_decides_the_status_over_the_uploads(policy, refused):
    state, chat = refused
    status = decide_status(policy, state, chat)
    assert (status.value, status.uploaded) == ("refusedByAgent", "waitingForChat")
    assert status.log is chat and status.log.status_rule.name == "agentRefuseChat"


def test_the_status_conflict_and_explain_are_written_once_with_the_log_as_decider(policy, refused):
    state, chat = refused
    findings = Findings(NOW, explain=True)
    findings.status(policy.status, decide_status(policy, state, chat))
    [conflict] = findings.conflicts
    assert conflict["path"] == "$.visitor.status"
    assert conflict["decided"]["strategy"] == "messageLog" and conflict["decided"]["value"] == "refusedByAgent"
    entry = findings.explain.entries["$.visitor.status"]
    assert (entry["strategy"], entry["value"], entry["uploaded"]) == ("messageLog", "refusedByAgent", "waitingForChat")
    assert entry["why"].startswith("the message log decides: message ")
    recovery = cr.recover(policy, example("chat-refused"), NOW, explain=True)
    assert recovery["conflicts"][0] == conflict and recovery["explain"]["$.visitor.status"] == entry


def test_a_status_rule_recovers_the_uploaded_status_as_another(policy):
    state, chat = held(policy, [report(visitor={"status": "systemProcessing"})])
    status = decide_status(policy, state, chat)
    assert (status.uploaded, status.value, status.rule.status, status.log) == (
        "systemProcessing",
        "waitingForChat",
        "systemProcessing",
        None,
    )
    findings = Findings(NOW, explain=True)
    findings.status(policy.status, status)
    entry = findings.explain.entries["$.visitor.status"]
    assert entry["why"] == "uploaded systemProcessing is recovered as waitingForChat by status rule systemProcessing"
    assert findings.conflicts == []


def test_a_status_not_recovered_drops_the_visitor_without_a_chat(policy):
    state, chat = held(policy, [report(visitor={"status": "outOfSite", "info": {"browser": "Firefox"}})])
    status = decide_status(policy, state, chat)
    assert status.value is None and status.drops_visitor
    assert recover_visitor(policy, state, status, Findings(NOW, explain=False)) is None


def test_the_visitor_gets_the_times_its_status_rule_sets_to_now(policy):
    state, chat = held(policy, example("prechat-visitor"))
    findings = Findings(NOW, explain=True)
    visitor = recover_visitor(policy, state, decide_status(policy, state, chat), findings)
    assert visitor["status"] == "preChat" and visitor["info"]["latestPrechatTime"] == NOW
    assert findings.explain.entries["$.visitor.info.latestPrechatTime"]["why"] == "set to now by status rule preChat"


def test_info_recovered_only_for_some_statuses_follows_the_status_given(rules_copy):
    """`when: status` stays available to policies (the shipped one has none
    since the seed's row for latestWaitingForChatTime has no condition)."""
    edit(
        rules_copy / "visitor-info.yaml",
        "  latestWaitingForChatTime:\n    strategy: specify\n",
        "  latestWaitingForChatTime:\n    strategy: specify\n    when: {status: [waitingForChat]}\n",
    )
    policy = cr.load_policy(rules_copy)
    state, _ = held(
        policy, [report(visitor={"status": "waitingForChat", "info": {"latestWaitingForChatTime": "2026-11-24T08:00:00Z"}})]
    )
    assert recover_info(policy, state, "waitingForChat", Findings(NOW, explain=False))["latestWaitingForChatTime"] == NOW
    findings = Findings(NOW, explain=True)
    assert "latestWaitingForChatTime" not in recover_info(policy, state, "inSite", findings)
    why = findings.explain.entries["$.visitor.info.latestWaitingForChatTime"]["why"]
    assert why == "withheld: latestWaitingForChatTime is recovered only when the status is in [waitingForChat], it is inSite"
    (withheld,) = findings.withheld
    assert (withheld["path"], withheld["strategy"], withheld["sources"]) == (
        "$.visitor.info.latestWaitingForChatTime",
        "specify",
        [{"type": "visitor"}],
    )


def test_the_chat_alone(policy):
    state, chat = held(policy, example("chat-transferred"))
    findings = Findings(NOW, explain=True)
    recovered = recover_chat(policy, one_chat(state), chat, findings)
    assert recovered == cr.recover(policy, example("chat-transferred"), NOW)["chat"]
    assert recovered["state"]["chatType"] and recovered["messages"] == chat.messages
    assert (
        findings.explain.entries["$.chat.messages['m-001']"]["why"]
        == "rule visitorRequestChat fired and set the status to waitingForChat"
    )
    assert recover_chat(policy, one_chat(held(policy, example("plain-visitor"))[0]), None, findings) is None


def test_the_chat_lists_copies_of_a_message_that_differ(policy):
    said = {"id": "m-1", "time": "2026-11-24T08:59:00Z", "action": "visitorSendMessage", "sender": {"type": "visitor"}}
    reports = [
        report(chat={"id": "c-1", "messages": [{**said, "text": "hi"}]}),
        report("agent", "2026-11-24T09:00:02Z", chat={"id": "c-1", "messages": [{**said, "text": "hi!"}]}),
    ]
    state, chat = held(policy, reports)
    findings = Findings(NOW, explain=False)
    assert recover_chat(policy, one_chat(state), chat, findings)["messages"] == [{**said, "text": "hi!"}]
    [conflict] = findings.conflicts
    assert conflict["path"] == "$.chat.messages['m-1']" and conflict["decided"]["source"] == {"type": "agent", "id": "a-1"}


def test_the_directives_alone(policy):
    state, chat = held(policy, example("chat-ended"))
    findings = Findings(NOW, explain=True)
    wrapups = unfinished_wrapups(state)
    told = client_directives(policy, decide_status(policy, state, chat), chat, wrapups, findings)
    assert list(wrapups) == ["a-7"]
    assert [item["do"] for item in told] == ["recoverChat", "keepHeartbeat", "recoverChat", "restoreWrapup"]
    assert told[-1]["to"] == {"type": "agent", "id": "a-7"} and told[-1]["wrapup"] == wrapups["a-7"]
    assert told == cr.recover(policy, example("chat-ended"), NOW)["directives"]
    assert findings.explain.entries["$.directives[3]"]["why"].startswith("client rule ")
