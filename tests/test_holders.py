"""Every holder's copy counts (issue 15, cases 1-3): the merged log is every
report's well-formed copies; a copy whose sender.type is not its action's
actor is set aside whoever holds it; a sender's own report that lacks its
message is a conflict; the old sides-based trust is an opt-in mode."""

import json

import pytest

import chat_recovery as cr
from chat_recovery.live import Coordinator
from chat_recovery.policy import bundled
from chat_recovery.policy.contract import load_contract
from chatlog import at, chat_report, msg
from conftest import NOW, cli, edit
from service import Served

LATER = "2026-11-24T09:00:10Z"

# Case 1: a-1 accepts and transfers to billing, a-2 accepts the transfer and
# writes. The visitor holds all of it; a-1's console (its log ends at the
# transfer, sent later) reports; a-2 has not reported.
TRANSFER = [
    msg(1, "visitorRequestChat", "visitor"),
    msg(2, "agentAcceptChat", "agent", "a-1"),
    msg(3, "agentTransferDepartment", "agent", "a-1", departmentId="billing"),
    msg(4, "agentAcceptTransfer", "agent", "a-2", fromAgentId="a-1"),
    msg(5, "agentMessage", "agent", "a-2"),
]
CASE_1 = [
    chat_report(TRANSFER, "visitor", status="chatting"),
    chat_report(TRANSFER[:3], agent="a-1", sent=LATER, status="transferring"),
]
A_2 = chat_report(TRANSFER, agent="a-2", sent=LATER, status="chatting")

# Case 2: the visitor holds a-7's accept; a-9 (also on the chat) reports without it; a-7 has not.
ACCEPTED = [msg(1, "visitorRequestChat", "visitor"), msg(2, "agentAcceptChat", "agent", "a-7")]
CASE_2 = [chat_report(ACCEPTED, "visitor", status="chatting"), chat_report(ACCEPTED[:1], agent="a-9", status="waitingForChat")]

# Case 3: a visitor's report forges agent facts by writing sender.type visitor.
FORGED = [
    msg(3, "agentJoinChat", "visitor", "a-evil"),
    msg(4, "agentStopChat", "visitor", "a-7"),
    msg(5, "agentAcceptTransfer", "visitor", "a-evil", fromAgentId="a-7"),
]
CASE_3 = [chat_report(ACCEPTED + FORGED, "visitor", status="chatting"), chat_report(ACCEPTED, agent="a-7", sent=LATER)]


def recover_cli(tmp_path, reports):
    files = []
    for i, body in enumerate(reports):
        files.append(tmp_path / f"r{i}.json")
        files[-1].write_text(json.dumps(body), encoding="utf-8")
    done = cli("recover", "--now", NOW, *files)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def agents(result):
    return result["chat"]["state"]["currentAgents"]


def assert_case_1(result):
    assert result["visitor"]["status"] == "chatting" and agents(result) == ["a-2"]
    assert result["setAside"] == [] and [m["id"] for m in result["chat"]["messages"]] == [m["id"] for m in TRANSFER]


def assert_case_2(result):
    assert result["visitor"]["status"] == "chatting" and agents(result) == ["a-7"] and result["setAside"] == []


def assert_case_3(result):
    assert result["visitor"]["status"] == "chatting" and agents(result) == ["a-7"]
    assert [(s["message"]["id"], s["code"], s["heldBy"]) for s in result["setAside"]] == [
        (m["id"], "malformed", [{"type": "visitor"}]) for m in FORGED
    ]
    assert (
        "is an agent action" in result["setAside"][0]["reason"] and "sender.type is 'visitor'" in result["setAside"][0]["reason"]
    )
    assert [m["id"] for m in result["chat"]["messages"]] == ["m-001", "m-002"]  # a forged copy never reaches the log


@pytest.mark.parametrize(
    "reports, check", [(CASE_1, assert_case_1), (CASE_2, assert_case_2), (CASE_3, assert_case_3)], ids=["case1", "case2", "case3"]
)
def test_issue_cases_through_the_cli(tmp_path, reports, check):
    """`chat-recovery recover` merges every holder's copies and sets forged ones aside."""
    check(recover_cli(tmp_path, reports))


@pytest.fixture(scope="module")
def served():
    server = Served("--workers", "1", "--window", "60")
    yield server
    server.stop()


@pytest.mark.parametrize(
    "reports, check", [(CASE_1, assert_case_1), (CASE_2, assert_case_2), (CASE_3, assert_case_3)], ids=["case1", "case2", "case3"]
)
def test_issue_cases_through_the_service(served, reports, check):
    """The service's recovery is the same merge; case 1 and 2 await the agent the log put on the chat."""
    visitor_id = f"v-holders-{check.__name__}"
    for body in reports:
        got = served.client.post("/v1/reports", json={**body, "visitorId": visitor_id})
        assert got.status_code == 200, got.text
    progress = served.client.get(f"/v1/visitors/{visitor_id}/recovery").json()
    check(progress["recovery"])
    awaited = {
        "assert_case_1": [{"type": "agent", "id": "a-2"}],
        "assert_case_2": [{"type": "agent", "id": "a-7"}],
        "assert_case_3": [],
    }
    assert progress["awaiting"] == awaited[check.__name__] and progress["complete"] is (not awaited[check.__name__])


def test_case_1_the_coordinator_awaits_the_agent_who_took_the_transfer(policy):
    """complete stays false until a-2, whom only the visitor's copies put on the chat, reports."""
    coordinator = Coordinator(policy, clock=lambda: NOW)
    for body in CASE_1:
        progress = coordinator.submit(body)
    assert progress["awaiting"] == [{"type": "agent", "id": "a-2"}] and progress["complete"] is False
    progress = coordinator.submit(A_2)
    assert progress["awaiting"] == [] and progress["complete"] is True
    assert agents(progress["recovery"]) == ["a-2"]


def test_the_coordinator_awaits_an_agent_who_sent_a_message_and_left(policy):
    """An agent the merged log shows writing is awaited even after it left the chat."""
    left = [
        msg(1, "visitorRequestChat", "visitor"),
        msg(2, "agentAcceptChat", "agent", "a-1"),
        msg(3, "agentJoinChat", "agent", "a-3"),
        msg(4, "agentMessage", "agent", "a-3"),
        msg(5, "agentStopChat", "agent", "a-3"),
    ]
    coordinator = Coordinator(policy, clock=lambda: NOW)
    coordinator.submit(chat_report(left, "visitor", status="chatting"))
    progress = coordinator.submit(chat_report(left, agent="a-1"))
    assert agents(progress["recovery"]) == ["a-1"] and progress["awaiting"] == [{"type": "agent", "id": "a-3"}]


def test_a_malformed_copy_is_set_aside_whoever_holds_it(policy):
    """Visitor-held and agent-held copies are screened alike; another holder's good copy of the same message counts."""
    bad_agent_copy = msg(3, "visitorMessage", "agent", "a-7")  # an agent's console claims the visitor's action as its own
    good = msg(4, "agentMessage", "agent", "a-7")
    bad_visitor_copy = {**good, "sender": {"type": "visitor"}}
    result = cr.recover(
        policy,
        [
            chat_report(ACCEPTED + [bad_visitor_copy], "visitor"),
            chat_report(ACCEPTED + [bad_agent_copy, good], agent="a-7"),
        ],
        NOW,
    )
    assert [(s["message"], s["heldBy"], s["code"]) for s in result["setAside"]] == [
        (bad_agent_copy, [{"type": "agent", "id": "a-7"}], "malformed"),
        (bad_visitor_copy, [{"type": "visitor"}], "malformed"),
    ]
    assert result["chat"]["messages"] == ACCEPTED + [good]
    assert not any(c["path"].endswith("['m-004']") for c in result["conflicts"])  # a rejected copy is not a counted one


def test_a_sender_whose_own_report_lacks_its_message_is_a_conflict(policy):
    """a-7's report holds the chat but not a-7's message that the visitor holds: who holds it, who lacks it."""
    written = msg(3, "agentMessage", "agent", "a-7")
    result = cr.recover(
        policy, [chat_report(ACCEPTED + [written], "visitor"), chat_report(ACCEPTED, agent="a-7", sent=LATER)], NOW
    )
    assert written in result["chat"]["messages"]
    (found,) = [c for c in result["conflicts"] if c["path"] == "$.chat.messages['m-003']"]
    assert found["values"] == [
        {"source": {"type": "agent", "id": "a-7"}, "sentAt": LATER, "value": None},
        {"source": {"type": "visitor"}, "sentAt": "2026-11-24T09:00:00Z", "value": written},
    ]
    assert found["decided"] == {
        "rule": "built-in: every holder's copy counts",
        "strategy": "everyHolder",
        "value": written,
        "source": {"type": "visitor"},
    }


def test_a_report_sent_before_the_message_does_not_lack_it(policy):
    """The lacker could not hold a message later than its report: no conflict."""
    written = msg(3, "visitorMessage", "visitor")
    early = chat_report(ACCEPTED + [written], agent="a-7")
    visitor = chat_report(ACCEPTED, "visitor", sent=at(2))  # sent before m-003's time
    result = cr.recover(policy, [visitor, early], NOW)
    assert written in result["chat"]["messages"] and result["conflicts"] == []
    later = chat_report(ACCEPTED, "visitor", sent=LATER)
    result = cr.recover(policy, [later, early], NOW)
    assert [c["path"] for c in result["conflicts"]] == ["$.chat.messages['m-003']"]


SENDERS = """trust:
  mode: senders
  sides: {visitor: [visitor, agent], agent: [agent], bot: [visitor, agent], system: [visitor, agent]}
"""


@pytest.fixture
def senders_policy(rules_copy):
    """The default policy with the opt-in trust mode senders (today's table and agentRefuseChat's own trust)."""
    actions = rules_copy / "chat-actions.yaml"
    edit(actions, "trust:\n  mode: holders\n", SENDERS)
    edit(actions, "    status: refusedByAgent\n", "    trust: [agent, visitor]\n    status: refusedByAgent\n")
    return cr.load_policy(rules_copy)


def test_trust_mode_senders_still_recovers_case_1_onto_the_agent_who_left(senders_policy):
    """The opt-in mode's documented cost: agent facts only the visitor holds are set aside while an agent reported."""
    result = cr.recover(senders_policy, CASE_1, NOW)
    assert result["visitor"]["status"] == "transferring" and agents(result) == ["a-1"]
    assert [(s["message"]["id"], s["code"]) for s in result["setAside"]] == [("m-004", "untrusted"), ("m-005", "untrusted")]
    assert "believed from agent reports only" in result["setAside"][0]["reason"]
    assert [m["id"] for m in result["chat"]["messages"]] == [m["id"] for m in TRANSFER]  # kept in the log, for the record


def test_trust_mode_senders_believes_the_visitor_when_no_agent_reported(senders_policy):
    result = cr.recover(senders_policy, CASE_1[:1], NOW)
    assert agents(result) == ["a-2"] and result["setAside"] == []


def test_trust_mode_senders_believes_a_refusal_only_the_visitor_holds(senders_policy):
    refused = [msg(1, "visitorRequestChat", "visitor"), msg(2, "agentRefuseChat", "agent", "a-7")]
    result = cr.recover(senders_policy, [chat_report(refused, "visitor"), chat_report(refused[:1], agent="a-7")], NOW)
    assert result["visitor"]["status"] == "refusedByAgent" and result["setAside"] == []


def test_trust_sides_without_mode_senders_are_refused(rules_copy):
    """Sides (or a rule's own trust) under mode holders would do nothing: an error at their place."""
    actions = rules_copy / "chat-actions.yaml"
    edit(actions, "trust:\n  mode: holders\n", "trust:\n  mode: holders\n  sides: {agent: [agent]}\n")
    with pytest.raises(cr.PolicyError) as caught:
        cr.load_policy(rules_copy)
    (problem,) = caught.value.diagnostics
    assert (problem.code, problem.path) == ("trust-mode", "$.trust.sides") and problem.line > 0


def test_an_action_under_two_actors_is_refused(rules_copy):
    actions = rules_copy / "chat-actions.yaml"
    edit(
        actions,
        "  bot: [botStartChat, botAcceptChat, botMessage]\n",
        "  bot: [botStartChat, botAcceptChat, botMessage, agentMessage]\n",
    )
    with pytest.raises(cr.PolicyError) as caught:
        cr.load_policy(rules_copy)
    (problem,) = caught.value.diagnostics
    assert problem.code == "duplicate-actor" and "under actor 'agent'" in problem.message and "and under 'bot'" in problem.message


def test_an_actor_action_one_slip_from_a_known_one_is_refused(rules_copy):
    actions = rules_copy / "chat-actions.yaml"
    edit(actions, "  system: [systemChatEnded, systemMessage]\n", "  system: [systemChatEnded, systemMesage]\n")
    with pytest.raises(cr.PolicyError) as caught:
        cr.load_policy(rules_copy)
    (problem,) = caught.value.diagnostics
    assert problem.code == "unknown-action" and "did you mean 'systemMessage'" in problem.message


def test_the_shipped_actors_cover_every_contract_action(policy):
    """Every action of the contract has an actor type; requestChatToBot is the visitor's (corpus/bot-chat)."""
    contract = load_contract(bundled.schemas_dir())
    assert len(contract.actions) > 40 and set(contract.actions) <= set(policy.chat.actors)
    assert policy.chat.actors["requestChatToBot"] == "visitor" and policy.chat.trust_mode == "holders"
