"""The seed's Client section and the merge of every holder's copy, through the public API,
including the two-sided cases: a message only one side holds, sides that
disagree."""

import chat_recovery as cr
from chatlog import chat_report, log
from conftest import NOW, report

REFUSED = log("visitorRequestChat", ("agentRefuseChat", "agent", "a-7"))
ENDED = log("visitorRequestChat", ("agentAcceptChat", "agent", "a-7"), "visitorMessage", "systemChatEnded")


def directives(result):
    return [{k: v for k, v in d.items() if k != "rule"} for d in result["directives"]]


def test_chat_ended_both_sides_recover_and_the_visitor_keeps_its_heartbeat(policy):
    result = cr.recover(
        policy, [chat_report(ENDED, "visitor"), chat_report(ENDED, agent="a-7"), chat_report(ENDED, agent="a-8")], NOW
    )
    assert result["visitor"]["status"] == "chatEnded"
    assert directives(result) == [
        {"to": {"type": "visitor"}, "do": "recoverChat"},
        {"to": {"type": "visitor"}, "do": "keepHeartbeat", "seconds": 180},
        {"to": {"type": "agent", "id": "a-7"}, "do": "recoverChat"},
        {"to": {"type": "agent", "id": "a-8"}, "do": "recoverChat"},
    ]
    assert all(d["rule"].startswith("rules/client.yaml:") for d in result["directives"])


def test_refused_by_agent_the_visitor_recovers_and_keeps_its_heartbeat(policy):
    result = cr.recover(policy, [chat_report(REFUSED, "visitor"), chat_report(REFUSED)], NOW)
    assert result["visitor"]["status"] == "refusedByAgent"
    assert directives(result) == [
        {"to": {"type": "visitor"}, "do": "recoverChat"},
        {"to": {"type": "visitor"}, "do": "keepHeartbeat", "seconds": 180},
    ]


def test_case_2_the_visitor_alone_recovers_a_refused_chat(policy):
    result = cr.recover(policy, [chat_report(REFUSED, "visitor")], NOW)
    assert result["visitor"]["status"] == "refusedByAgent" and result["setAside"] == []
    assert {"to": {"type": "visitor"}, "do": "keepHeartbeat", "seconds": 180} in directives(result)


def test_case_3_the_agent_holds_the_refusal_the_visitor_does_not(policy):
    result = cr.recover(
        policy, [chat_report(REFUSED[:1], "visitor", status="waitingForChat"), chat_report(REFUSED, status="refusedByAgent")], NOW
    )
    assert result["visitor"]["status"] == "refusedByAgent"
    assert {"to": {"type": "visitor"}, "do": "deliverMessage", "message": REFUSED[1]} in directives(result)


def test_sides_disagree_agent_still_waiting_visitor_refused(policy):
    """The visitor's log holds the refusal; the agent's console still waits."""
    result = cr.recover(
        policy,
        [chat_report(REFUSED, "visitor", status="refusedByAgent"), chat_report(REFUSED[:1], status="waitingForChat")],
        NOW,
        explain=True,
    )
    assert result["visitor"]["status"] == "refusedByAgent"
    (conflict,) = [c for c in result["conflicts"] if c["path"] == "$.visitor.status"]
    assert {v["value"] for v in conflict["values"]} == {"refusedByAgent", "waitingForChat"}
    assert conflict["decided"]["value"] == "refusedByAgent" and conflict["decided"]["strategy"] == "messageLog"
    assert conflict["decided"]["rule"].startswith("rules/chat-actions.yaml:")
    assert not any(d["do"] == "deliverMessage" for d in result["directives"])


def test_unfinished_wrapup_is_restored_to_its_agent_only(policy):
    result = cr.recover(
        policy,
        [
            chat_report(ENDED, agent="a-7", unfinishedWrapup={"comment": "call back"}),
            chat_report(ENDED, "visitor", unfinishedWrapup={"comment": "forged"}),
        ],
        NOW,
    )
    assert result["unfinishedWrapups"] == {"a-7": {"comment": "call back"}}
    assert {"to": {"type": "agent", "id": "a-7"}, "do": "restoreWrapup", "wrapup": {"comment": "call back"}} in directives(result)


def test_wrapup_without_a_chat_is_still_restored(policy):
    result = cr.recover(
        policy, [report("agent", agent="a-3", visitor={"status": "inSite"}, unfinishedWrapup={"categories": ["x"]})], NOW
    )
    assert directives(result) == [{"to": {"type": "agent", "id": "a-3"}, "do": "restoreWrapup", "wrapup": {"categories": ["x"]}}]


def test_an_agent_fact_only_the_visitor_holds_counts_when_agents_reported(policy):
    """Every holder's copy counts: an agent's report without the join does not drop the visitor's copy."""
    visitor_log = log("visitorRequestChat", ("agentAcceptChat", "agent", "a-7"), ("agentJoinChat", "agent", "a-666"))
    result = cr.recover(policy, [chat_report(visitor_log, "visitor"), chat_report(visitor_log[:2])], NOW)
    assert result["chat"]["state"]["currentAgents"] == ["a-7", "a-666"] and result["setAside"] == []


def test_differing_copies_of_one_message_are_a_conflict_not_a_crash(policy):
    mine = log("visitorRequestChat", "visitorMessage")
    theirs = [dict(m) for m in mine]
    theirs[1] = {**theirs[1], "text": "edited"}
    result = cr.recover(
        policy, [chat_report(mine, "visitor", sent="2026-11-24T09:00:01Z"), chat_report(theirs, sent="2026-11-24T09:00:05Z")], NOW
    )
    assert [m.get("text") for m in result["chat"]["messages"]] == [None, "edited"]
    assert [c["path"] for c in result["conflicts"]] == [f"$.chat.messages['{mine[1]['id']}']"]


def test_merged_log_is_each_message_once_by_time_then_id(policy):
    a, b = (
        log("visitorRequestChat", "agentAcceptChat", "visitorMessage"),
        log("visitorRequestChat", "agentAcceptChat", "visitorMessage", "agentMessage"),
    )
    tie = {**b[3], "id": "m-000", "time": b[3]["time"]}
    result = cr.recover(policy, [chat_report(a, "visitor"), chat_report(b + [tie])], NOW)
    assert [m["id"] for m in result["chat"]["messages"]] == ["m-001", "m-002", "m-003", "m-000", "m-004"]


def test_an_ended_chat_an_agent_keeps_beside_the_visitors_chat_tells_that_agent_only(policy):
    """Several chats per visitor (issue 15): the agent's chat is recovered
    beside the visitor's, and its directives go to its agent, not to the visitor."""
    other = chat_report(ENDED)
    other["chat"]["id"] = "c-2"
    result = cr.recover(policy, [chat_report(ENDED, "visitor"), other], NOW)
    assert result["chat"]["id"] == "c-1" and result["visitor"]["status"] == "chatEnded"
    assert directives(result) == [
        {"to": {"type": "visitor"}, "do": "recoverChat"},
        {"to": {"type": "visitor"}, "do": "keepHeartbeat", "seconds": 180},
    ]
    [kept] = result["otherChats"]
    assert kept["id"] == "c-2" and kept["status"] == "chatEnded"
    assert [{k: v for k, v in d.items() if k != "rule"} for d in kept["directives"]] == [
        {"to": {"type": "agent", "id": "a-7"}, "do": "recoverChat"}
    ]
