"""A product owner adds or changes chat rules in YAML alone; a rule set the
engine could not apply unambiguously is refused at load time."""

import json

import pytest

import chat_recovery as cr
from chatlog import chat_report, log
from conftest import NOW, cli, edit


def append_rule(rules_dir, text):
    path = rules_dir / "chat-actions.yaml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    return path


@pytest.mark.parametrize("engine", ["python", "auto"])
def test_a_new_action_with_a_new_state_field(rules_copy, engine):
    edit(rules_copy / "chat-actions.yaml", "  files: []\n", "  files: []\n  priorityLevel: normal\n")
    append_rule(
        rules_copy,
        "  agentEscalateChat:\n    on: agentEscalateChat\n    set: {priorityLevel: $data.level | high}\n"
        "    seed: {zh: 升级, en: An agent escalates the chat.}\n",
    )
    messages = log("visitorRequestChat", ("agentEscalateChat", "agent", "a-7", {"level": "urgent"}))
    state = cr.recover(cr.load_policy(rules_copy), [chat_report(messages)], NOW, engine=engine)["chat"]["state"]
    assert state["priorityLevel"] == "urgent"
    assert "priorityLevel" not in cr.recover(cr.load_policy(), [chat_report(messages)], NOW)["chat"]["state"]


def test_changing_an_effect(rules_copy):
    edit(
        rules_copy / "chat-actions.yaml",
        "    on: agentStopChat\n    remove: {currentAgents: $sender.id}",
        "    on: agentStopChat\n    remove: {currentAgents: $sender.id}\n    status: chatEnded",
    )
    messages = log(("agentAcceptChat", "agent", "a-7"), ("agentStopChat", "agent", "a-7"))
    assert cr.recover(cr.load_policy(rules_copy), [chat_report(messages)], NOW)["visitor"]["status"] == "chatEnded"


def test_rules_with_conditions_and_priority(rules_copy):
    append_rule(
        rules_copy,
        "  botTakesOver:\n    on: agentStopChat\n    when: {state.chatType: bot}\n    priority: 0\n    set: {chatType: agent}\n",
    )
    edit(rules_copy / "chat-actions.yaml", "    on: agentStopChat\n", "    on: agentStopChat\n    priority: 1\n")
    policy = cr.load_policy(rules_copy)
    bot = log("requestChatToBot", "botAcceptChat", ("agentStopChat", "agent", "a-7"))
    agent = log(("agentAcceptChat", "agent", "a-7"), ("agentStopChat", "agent", "a-7"))
    for engine in ("python", "auto"):
        assert cr.recover(policy, [chat_report(bot)], NOW, engine=engine)["chat"]["state"]["chatType"] == "agent"
        assert cr.recover(policy, [chat_report(agent)], NOW, engine=engine)["chat"]["state"]["currentAgents"] == []


def test_overlapping_rules_are_refused_with_both_places(rules_copy):
    path = append_rule(
        rules_copy,
        "  joinAsMonitor:\n    on: agentJoinChat\n    when: {sender.type: agent}\n    add: {currentAgents: $sender.id}\n",
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(i for i, l in enumerate(lines, 1) if l == "  agentJoinChat:")
    second = lines.index("  joinAsMonitor:") + 1
    with pytest.raises(cr.PolicyError) as caught:
        cr.load_policy(rules_copy)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"{rules_copy}/chat-actions.yaml:{second}:3: error[overlapping-rules]: rule 'joinAsMonitor' overlaps rule 'agentJoinChat' "
        f"(defined at {first}:3) for action 'agentJoinChat': make their `when` conditions exclusive or give them different `priority`"
    ]


def test_exclusive_conditions_do_not_overlap(rules_copy):
    edit(
        rules_copy / "chat-actions.yaml",
        "    on: agentJoinChat\n",
        "    on: agentJoinChat\n    when: {data.role: [null, agent]}\n",
    )
    append_rule(rules_copy, "  joinAsMonitor:\n    on: agentJoinChat\n    when: {data.role: monitor}\n    set: {}\n")
    policy = cr.load_policy(rules_copy)
    messages = log(("agentJoinChat", "agent", "a-1"), ("agentJoinChat", "agent", "a-2", {"role": "monitor"}))
    assert cr.recover(policy, [chat_report(messages)], NOW)["chat"]["state"]["currentAgents"] == ["a-1"]


@pytest.mark.parametrize(
    "bad,message",
    [
        (
            "    on: agentJoinChat\n    add: {curentAgents: $sender.id}\n",
            "'curentAgents' is not a field of the chat state (did you mean 'currentAgents'?)",
        ),
        ("    on: agentJoinChat\n    status: chating\n", "unknown status 'chating' (did you mean 'chatting'?)"),
        ("    on: agentJoinChat\n    set: {assignee: $sender.name}\n", "unknown reference '$sender.name'"),
        ("    on: agentJoinChat\n    add: {assignee: $sender.id}\n", "add needs a list field"),
    ],
)
def test_meaning_errors_in_action_rules(rules_copy, bad, message):
    append_rule(rules_copy, "  broken:\n" + bad)
    with pytest.raises(cr.PolicyError) as caught:
        cr.load_policy(rules_copy)
    found = [str(d) for d in caught.value.diagnostics]
    assert any(message in f and "chat-actions.yaml:" in f for f in found), found


def test_an_effect_that_does_not_fit_the_state_is_an_error_of_the_recovery(rules_copy, tmp_path):
    append_rule(rules_copy, "  breaksAgents:\n    on: agentPoisonChat\n    set: {currentAgents: nobody}\n")
    messages = log(("agentPoisonChat", "agent", "a-7"), ("agentJoinChat", "agent", "a-8"))
    with pytest.raises(cr.RecoveryError, match=r"chat-actions.yaml:\d+:3: rule 'agentJoinChat' failed on message 'm-002'"):
        cr.recover(cr.load_policy(rules_copy), [chat_report(messages)], NOW)
    report_file = tmp_path / "r.json"
    report_file.write_text(json.dumps(chat_report(messages)))
    done = cli("recover", "--now", NOW, "--policy", rules_copy, report_file)
    assert done.returncode == 3 and b"Traceback" not in done.stderr and b"failed on message 'm-002'" in done.stderr
