"""Every row of the seed's two action tables, pinned through the public API on
both rule engines: a log goes in, the recovered chat state and status come out."""

import pytest

import chat_recovery as cr
from chat_recovery.replay import durable_available
from chatlog import at, chat_report, log
from conftest import NOW
from seed_tables import ACTION_STATE, ACTION_STATUS

ENGINES = [
    "python",
    pytest.param(
        "durable", marks=pytest.mark.skipif(not durable_available(), reason="durable_rules does not import on this Python")
    ),
]


@pytest.fixture(params=ENGINES)
def chat(request, policy):
    def run(*steps, **kw):
        result = cr.recover(policy, [chat_report(log(*steps), **kw)], NOW, engine=request.param)
        return result["chat"]["state"], result["visitor"]["status"] if result["visitor"] else None, result

    return run


def test_request_time_and_waiting(chat):
    state, status, _ = chat("visitorRequestChat")
    assert state["requestTime"] == at(1) and state["timeBeginWaiting"] == at(1) and status == "waitingForChat"


def test_request_chat_to_bot_begins_waiting(chat):
    state, status, _ = chat("requestChatToBot")
    assert state["timeBeginWaiting"] == at(1) and state["requestTime"] is None and status == "waitingForChat"


def test_agent_accept_chat_starts_an_agent_chat(chat):
    state, status, _ = chat("visitorRequestChat", ("agentAcceptChat", "agent", "a-7"))
    assert (state["startTime"], state["chatType"], state["currentAgents"], status) == (at(2), "agent", ["a-7"], "chatting")


def test_bot_start_and_accept(chat):
    state, status, _ = chat("requestChatToBot", "botStartChat", "botAcceptChat")
    assert (state["startTime"], state["chatType"], status) == (at(2), "bot", "chatting")


def test_visitor_accept_chat_is_chatting(chat):
    assert chat(("agentAddInvitationText", "agent", "a-7"), "visitorAcceptChat")[1] == "chatting"


def test_current_agents_accept_join_stop(chat):
    state, _, _ = chat(
        ("agentAcceptChat", "agent", "a-7"),
        ("agentJoinChat", "agent", "a-8"),
        ("agentJoinChat", "agent", "a-8"),
        ("agentStopChat", "agent", "a-7"),
    )
    assert state["currentAgents"] == ["a-8"]


def test_transfer_begins_and_is_refused(chat):
    state, status, _ = chat(
        ("agentAcceptChat", "agent", "a-7"), ("agentTransferDepartment", "agent", "a-7", {"departmentId": "d-2"})
    )
    assert state["transferBeginTime"] == at(2) and status == "transferring"
    state, status, _ = chat(
        ("agentAcceptChat", "agent", "a-7"),
        ("agentTransferDepartment", "agent", "a-7", {"departmentId": "d-2"}),
        ("agentRefuseTransfer", "agent", "a-9"),
    )
    assert state["transferBeginTime"] is None and status == "chatting" and state["currentAgents"] == ["a-7"]


def test_transfer_accepted_moves_the_chat(chat):
    state, status, _ = chat(
        ("agentAcceptChat", "agent", "a-7"),
        ("agentTransferDepartment", "agent", "a-7", {"departmentId": "d-2"}),
        ("agentAcceptTransfer", "agent", "a-9", {"fromAgentId": "a-7"}),
    )
    assert state["currentAgents"] == ["a-9"] and status == "chatting" and state["transferBeginTime"] is None


def test_assignee_from_invitation_text(chat):
    state, status, _ = chat(("agentAddInvitationText", "agent", "a-7", {"agentId": "a-5"}))
    assert state["assignee"] == "a-5" and status == "manualInvitationByWindow"
    assert chat(("agentAddInvitationText", "agent", "a-7"))[0]["assignee"] == "a-7"  # the sender when data lacks it


def test_translation_on_and_off(chat):
    assert chat(("agentEnableTranslation", "agent", "a-7", {"language": "fr"}))[0]["translation"] == {
        "enabled": True,
        "language": "fr",
    }
    assert chat(("agentEnableTranslation", "agent", "a-7", {"language": "fr"}), "agentDisableTranslation")[0]["translation"] == {
        "enabled": False
    }


@pytest.mark.parametrize("who", ["agent", "visitor"])
@pytest.mark.parametrize("kind", ["Audio", "Video"])
def test_audio_video_request(chat, who, kind):
    state, _, _ = chat(f"{who}Request{kind}Chat")
    assert state["audioVideo"] == {"kind": kind.lower(), "requestedBy": who, "state": "requested", "time": at(1)}


@pytest.mark.parametrize("who", ["agent", "visitor"])
@pytest.mark.parametrize("verb,outcome", [("Accept", "accepted"), ("Refuse", "refused"), ("Cancel", "cancelled")])
@pytest.mark.parametrize("kind", ["Audio", "Video"])
def test_audio_video_answer(chat, who, verb, outcome, kind):
    other = "visitor" if who == "agent" else "agent"
    state, _, _ = chat(f"{other}Request{kind}Chat", f"{who}{verb}{kind}Chat")
    assert state["audioVideo"] == {"kind": kind.lower(), "requestedBy": other, "state": outcome, "by": who, "time": at(2)}


@pytest.mark.parametrize(
    "answer,outcome",
    [
        ("visitorAcceptCobrowse", "accepted"),
        ("visitorRefuseCobrowse", "refused"),
        ("agentCancelCobrowse", "cancelled"),
        ("agentEndCobrowse", "ended"),
        ("visitorEndCobrowse", "ended"),
    ],
)
def test_cobrowse(chat, answer, outcome):
    state, _, _ = chat(("agentRequestCobrowse", "agent", "a-7"), answer)
    assert state["cobrowse"]["state"] == outcome and state["cobrowse"]["requestedBy"] == "a-7"
    assert chat(("agentRequestCobrowse", "agent", "a-7"))[0]["cobrowse"]["state"] == "requested"


@pytest.mark.parametrize("kind", ["File", "Image"])
def test_files_sending_then_sent(chat, kind):
    state, _, _ = chat((f"agentSend{kind}", "agent", "a-7", {"fileId": "f-1", "name": "a.pdf"}))
    assert [(f["fileId"], f["state"]) for f in state["files"]] == [("f-1", "sending")]
    state, _, _ = chat(
        (f"agentSend{kind}", "agent", "a-7", {"fileId": "f-1", "name": "a.pdf"}),
        (f"agentSent{kind}", "agent", "a-7", {"fileId": "f-1", "name": "a.pdf", "url": "https://f/1"}),
    )
    assert [(f["fileId"], f["state"], f["url"]) for f in state["files"]] == [("f-1", "sent", "https://f/1")]


def test_refused_by_agent_and_chat_ended(chat):
    assert chat("visitorRequestChat", "agentRefuseChat")[1] == "refusedByAgent"
    assert chat("visitorRequestChat", "agentAcceptChat", "systemChatEnded")[1] == "chatEnded"


def test_plain_messages_change_nothing(chat):
    before, status, _ = chat("visitorRequestChat")
    after, status2, result = chat("visitorRequestChat", "visitorMessage", "agentMessage", "botMessage", "systemMessage")
    assert before == after and status == status2 and len(result["chat"]["messages"]) == 5


def test_every_seed_action_has_a_rule(policy):
    handled = {r.action for r in policy.chat.rules}
    for actions in (*ACTION_STATE.values(), *ACTION_STATUS.values()):
        assert set(actions) <= handled


def test_the_log_status_beats_the_uploaded_one(chat):
    _, status, result = chat("visitorRequestChat", "agentAcceptChat", status="waitingForChat")
    assert status == "chatting"
