"""The guards in the shipped action rules: an ended chat stays ended, and a
refused chat only ends. Written as `when: {status: {not: [...]}}`, which the
compiler turns into the list of every other status."""

import pytest

import chat_recovery as cr
from chatlog import log
from conftest import NOW, edit, report


def chat_report(messages, side="visitor"):
    return report(side, chat={"id": "c-1", "messages": messages}, visitor={"status": "chatting"})


@pytest.fixture(params=["python", "durable"])
def engine(request):
    if request.param == "durable":
        pytest.importorskip("durable.engine", exc_type=ImportError)
    return request.param


def test_a_message_after_the_end_changes_nothing(policy, engine):
    messages = log("visitorRequestChat", "agentAcceptChat", "systemChatEnded", ("agentAcceptChat", "agent", "a-9"))
    result = cr.recover(policy, [chat_report(messages), chat_report(messages, "agent")], NOW, explain=True, engine=engine)
    assert result["visitor"]["status"] == "chatEnded"
    assert result["chat"]["state"]["currentAgents"] == ["a-7"]
    why = result["explain"]["$.chat.messages['m-004']"]["why"]
    assert "no rule's `when` held" in why and "agentAcceptChat" in why and "chatEnded" in why


def test_a_refused_chat_does_not_wait_again_but_may_still_end(policy, engine):
    refused = log("visitorRequestChat", "agentRefuseChat", "visitorRequestChat")
    assert cr.recover(policy, [chat_report(refused)], NOW, engine=engine)["visitor"]["status"] == "refusedByAgent"
    ended = log("visitorRequestChat", "agentRefuseChat", "systemChatEnded")
    assert cr.recover(policy, [chat_report(ended)], NOW, engine=engine)["visitor"]["status"] == "chatEnded"


def test_not_lists_every_other_status_null_included(rules_copy):
    policy = cr.load_policy(rules_copy)
    (rule,) = [r for r in policy.chat.rules if r.name == "agentAcceptChat"]
    (condition,) = rule.conditions
    assert condition.field == "status"
    assert "null" in condition.values and '"chatting"' in condition.values
    assert '"chatEnded"' not in condition.values and '"refusedByAgent"' not in condition.values


def test_not_on_an_open_field_or_an_unknown_status_is_an_error(rules_copy):
    actions = rules_copy / "chat-actions.yaml"
    edit(
        actions,
        "    on: agentAcceptChat\n    when: {status: {not: [chatEnded, refusedByAgent]}}",
        "    on: agentAcceptChat\n    when: {status: {not: [chatEnded, refusedByAgnet]}, data.kind: {not: [x]}}",
    )
    with pytest.raises(cr.PolicyError) as caught:
        cr.load_policy(rules_copy)
    messages = [d.message for d in caught.value.diagnostics]
    assert "unknown status 'refusedByAgnet' under `not` (did you mean 'refusedByAgent'?)" in messages
    assert "`not` needs a field with a closed set of values (status, sender.type); 'data.kind' has none" in messages
