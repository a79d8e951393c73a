"""Invariants (`kind: invariants`): names checked with did-you-mean (the
messages are data: tests/golden/compile-errors/invariant-*), each invariant proved against the action rules, the shortest counterexample
printed, and every counterexample the prover finds replayed through
`recover` to show it happens in the real engine."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chat_recovery as cr
from chat_recovery.authoring.check.invariants import prove
from chat_recovery.authoring.check.statespace import SENDER_TYPES, Space
from conftest import NOW, ROOT, cli, edit, report


def check(*args):
    done = cli("policy", "check", *args)
    assert not done.stderr, done.stderr
    return done.returncode, done.stdout.decode().splitlines()


def line_of(path, needle):
    """The first line holding `needle` outside a comment."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line and not line.lstrip().startswith("#"):
            return number, line.index(needle.strip()) + 1
    raise AssertionError(needle)


def add_invariants(policy_dir, text):
    path = policy_dir / "invariants.yaml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


# --- the file kind ----------------------------------------------------------------


def test_shipped_invariants_are_proved(policy):
    assert [(i.name, i.kind) for i in policy.invariants] == [
        ("everyChatRelatedStatusIsReachable", "reachable"),
        ("chatEndedOnlyBySystem", "enteredOnlyBy"),
        ("refusedByAgentOnlyByARefusal", "enteredOnlyBy"),
        ("waitingOnlyByARequest", "enteredOnlyBy"),
        ("transferringOnlyByATransfer", "enteredOnlyBy"),
        ("invitationByWindowOnlyByInvitationText", "enteredOnlyBy"),
        ("chatEndedIsTerminal", "terminal"),
        ("refusedNeverWaitsAgain", "never"),
    ]
    space = Space(policy.chat)
    assert all(prove(i, space).holds for i in policy.invariants)


def test_a_policy_without_invariants_still_loads(rules_copy):
    (rules_copy / "invariants.yaml").unlink()
    assert cr.load_policy(rules_copy).invariants == ()
    assert check(rules_copy) == (0, [f"{rules_copy}: ok (69 visitor properties, 5 chat props, 14 statuses, 0 invariants proved)"])


# --- the seed-implied invariants the shipped rules break -----------------------------


def places(policy_dir, file):
    """name -> where `  name:` is written in the file, as diagnostics show it."""
    return lambda name: "{}/{}:{}:{}".format(policy_dir, file, *line_of(policy_dir / file, f"  {name}:"))


CHATTING_ONLY_BY_AN_ACCEPT = """\
  chattingOnlyByAnAccept:
    enteredOnlyBy: {status: chatting, actions: [visitorAcceptChat, agentAcceptChat]}
"""


def test_the_guards_are_what_make_the_shipped_invariants_hold(rules_copy):
    """Drop the status guard of two shipped rules: policy check must find the
    shortest log that breaks each invariant and name the rule to blame."""
    edit(
        rules_copy / "chat-actions.yaml",
        "    on: agentAcceptChat\n    when: {status: {not: [chatEnded, refusedByAgent]}}\n",
        "    on: agentAcceptChat\n",
    )
    edit(
        rules_copy / "chat-actions.yaml",
        "    on: requestChatToBot\n    when: {status: {not: [chatEnded, refusedByAgent]}}\n",
        "    on: requestChatToBot\n",
    )
    code, lines = check(rules_copy)
    rules, at = places(rules_copy, "chat-actions.yaml"), places(rules_copy, "invariants.yaml")
    assert code == 1 and lines == [
        f"{at('chatEndedIsTerminal')}: error[invariant-fails]: invariant 'chatEndedIsTerminal' fails: systemChatEnded [chatEnded] -> agentAcceptChat [chatting]; "
        f"rule 'agentAcceptChat' ({rules('agentAcceptChat')}) turns chatEnded into chatting",
        f"{at('refusedNeverWaitsAgain')}: error[invariant-fails]: invariant 'refusedNeverWaitsAgain' fails: agentRefuseChat [refusedByAgent] -> requestChatToBot [waitingForChat]; "
        f"rule 'requestChatToBot' ({rules('requestChatToBot')}) turns refusedByAgent into waitingForChat",
    ]


def test_chatting_is_entered_by_more_than_the_seeds_accept_actions(rules_copy):
    """Kept out of the shipped invariants on purpose (see invariants.yaml)."""
    add_invariants(rules_copy, CHATTING_ONLY_BY_AN_ACCEPT)
    code, lines = check(rules_copy)
    rules, at = places(rules_copy, "chat-actions.yaml"), places(rules_copy, "invariants.yaml")
    assert code == 1 and lines == [
        f"{at('chattingOnlyByAnAccept')}: error[invariant-fails]: invariant 'chattingOnlyByAnAccept' fails: agentAcceptTransfer [chatting]; "
        f"rule 'agentAcceptTransfer' ({rules('agentAcceptTransfer')}) turns no status into chatting",
    ]


# --- a guarded policy with holes: the prover against the real engine ---------------

GUARDED_ACTIONS = """\
# yaml-language-server: $schema=../schemas/policy-chat-actions.schema.json
kind: chatActions
state: {requestTime: null, chatType: null, currentAgents: [], transferBeginTime: null, topic: null}
trust: {mode: senders, sides: {visitor: [visitor, agent], agent: [agent], bot: [visitor, agent], system: [visitor, agent]}}
rules:
  request:
    on: visitorRequestChat
    when: {status: null}
    set: {requestTime: $time, topic: $data.topic}
    status: waitingForChat
  retry:                      # hole: a visitor's retry after a refusal waits again
    on: visitorRequestChat
    priority: 1
    when: {status: refusedByAgent}
    status: waitingForChat
  botTakes:
    on: botAcceptChat
    when: {status: waitingForChat}
    set: {chatType: bot}
    status: chatting
  agentTakes:
    on: agentAcceptChat
    when: {status: [waitingForChat, transferring]}
    set: {chatType: agent}
    add: {currentAgents: $sender.id}
    status: chatting
  handOver:                   # hole: a bot chat about billing is transferred by anyone
    on: agentTransferDepartment
    when: {state.chatType: bot, state.topic: billing}
    set: {transferBeginTime: $time}
    status: transferring
  refuse:
    on: agentRefuseChat
    when: {status: waitingForChat, sender.type: agent}
    status: refusedByAgent
  end:
    on: systemChatEnded
    when: {status: [chatting, transferring]}
    status: chatEnded
  reopen:                     # hole: a system message can reopen an ended chat
    on: systemMessage
    when: {status: chatEnded, data.reopen: true}
    status: chatting
"""

GUARDED_INVARIANTS = """\
# yaml-language-server: $schema=../schemas/policy-invariants.schema.json
kind: invariants
invariants:
  chatEndedIsTerminal:
    terminal: chatEnded
  refusedNeverWaitsAgain:
    never: {from: refusedByAgent, to: waitingForChat}
  transferOnlyOnAcceptedTransfer:
    enteredOnlyBy: {status: transferring, actions: [agentAcceptTransfer]}
  invitationsReachable:
    reachable: [chatting, manualInvitationByWindow]
  chattingNeverWaitsAgain:
    never: {from: chatting, to: [waitingForChat, refusedByAgent]}
  endedOnlyByTheSystem:
    enteredOnlyBy: {status: chatEnded, actions: [systemChatEnded]}
  transferringIsTerminal:
    terminal: transferring
"""


LISTS_ACTIONS = """\
# yaml-language-server: $schema=../schemas/policy-chat-actions.schema.json
kind: chatActions
state: {currentAgents: [], lastSender: null}
trust: {mode: senders, sides: {visitor: [visitor, agent], agent: [agent], bot: [visitor, agent], system: [visitor, agent]}}
rules:
  request:
    on: visitorRequestChat
    when: {status: null}
    status: waitingForChat
  accept:
    on: agentAcceptChat
    when: {status: [waitingForChat, chatting]}
    add: {currentAgents: $sender.id}
    set: {lastSender: $sender.id}
    status: chatting
  stop:
    on: agentStopChat
    remove: {currentAgents: $sender.id}
  alone:                      # hole: a visitor talking to nobody waits again
    on: visitorMessage
    when: {status: chatting, state.currentAgents: [[]]}
    status: waitingForChat
  supervisor:                 # hole: the supervisor's acceptance ends the chat
    on: agentMessage
    when: {state.lastSender: a-boss, status: chatting}
    status: chatEnded
"""

LISTS_INVARIANTS = """\
# yaml-language-server: $schema=../schemas/policy-invariants.schema.json
kind: invariants
invariants:
  chattingNeverWaitsAgain:
    never: {from: chatting, to: waitingForChat}
  endedOnlyByTheSystem:
    enteredOnlyBy: {status: chatEnded, actions: [systemChatEnded]}
"""


@pytest.fixture
def lists(rules_copy):
    (rules_copy / "chat-actions.yaml").write_text(LISTS_ACTIONS, encoding="utf-8")
    (rules_copy / "invariants.yaml").write_text(LISTS_INVARIANTS, encoding="utf-8")
    return rules_copy


@pytest.fixture
def guarded(rules_copy):
    (rules_copy / "chat-actions.yaml").write_text(GUARDED_ACTIONS, encoding="utf-8")
    (rules_copy / "invariants.yaml").write_text(GUARDED_INVARIANTS, encoding="utf-8")
    return rules_copy


def _verdicts(directory):
    policy = cr.load_policy(directory)
    space = Space(policy.chat)
    return policy, space, {i.name: prove(i, space) for i in policy.invariants}


def test_the_prover_on_a_guarded_policy(guarded):
    policy, space, verdicts = _verdicts(guarded)
    assert space.complete
    assert {name for name, v in verdicts.items() if v.holds} == {"chattingNeverWaitsAgain", "endedOnlyByTheSystem"}
    assert [str(space.events[e.event]) for e in verdicts["chatEndedIsTerminal"].path][-1] == "systemMessage (data.reopen=true)"
    assert [str(space.events[e.event]) for e in verdicts["transferOnlyOnAcceptedTransfer"].path] == [
        'visitorRequestChat (data.topic="billing")',
        "botAcceptChat",
        "agentTransferDepartment",
    ]
    assert verdicts["invitationsReachable"].unreached == ("manualInvitationByWindow",)


def test_broken_invariants_print_the_shortest_log_at_the_invariant(guarded):
    code, lines = check(guarded)
    at = lambda name: "{}/invariants.yaml:{}:{}".format(guarded, *line_of(guarded / "invariants.yaml", f"  {name}:"))  # noqa: E731
    rule = lambda name: "{}/chat-actions.yaml:{}:{}".format(guarded, *line_of(guarded / "chat-actions.yaml", f"  {name}:"))  # noqa: E731
    assert code == 1
    assert (
        f"{at('transferOnlyOnAcceptedTransfer')}: error[invariant-fails]: invariant 'transferOnlyOnAcceptedTransfer' fails: "
        'visitorRequestChat (data.topic="billing") [waitingForChat] -> botAcceptChat [chatting] -> agentTransferDepartment [transferring]; '
        f"rule 'handOver' ({rule('handOver')}) turns chatting into transferring" in lines
    )
    assert (
        f"{at('invitationsReachable')}: error[invariant-fails]: invariant 'invitationsReachable' fails: no message log reaches 'manualInvitationByWindow'"
        in lines
    )
    assert sum(": error[invariant-fails]: invariant " in line for line in lines) == 5


def test_lists_and_copied_values_in_counterexamples(lists):
    code, lines = check(lists)
    assert code == 1 and [
        line.split(": error[invariant-fails]: ", 1)[1].split("; rule")[0] for line in lines if ": error[" in line
    ] == [
        "invariant 'chattingNeverWaitsAgain' fails: visitorRequestChat [waitingForChat] -> agentAcceptChat (no sender.id) [chatting] -> visitorMessage [waitingForChat]",
        "invariant 'endedOnlyByTheSystem' fails: visitorRequestChat [waitingForChat] -> agentAcceptChat (sender.id=\"a-boss\") [chatting] -> agentMessage [chatEnded]",
    ]


def _message(n, event):
    message = event.message()
    message.update(id=f"m-{n:03d}", time=f"2026-11-24T08:50:{n:02d}Z")
    return message


def _recovered_status(directory, tmp_path, messages):
    """The status `recover` gives for a log held by one agent report."""
    path = tmp_path / "log.json"
    path.write_text(json.dumps(report("agent", agent="a-1", chat={"id": "c-1", "messages": messages})), encoding="utf-8")
    done = cli("recover", "--now", NOW, "--policy", directory, path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["visitor"]["status"]


@pytest.mark.parametrize("policy_dir,count", [("guarded", 4), ("lists", 2)])
def test_every_counterexample_happens_in_the_real_engine(policy_dir, count, request, tmp_path):
    """The abstraction is honest: each log the prover prints, replayed by
    `recover`, passes through the statuses it claims and breaks the invariant
    (state tested by conditions, lists and message values included)."""
    guarded = request.getfixturevalue(policy_dir)
    policy, space, verdicts = _verdicts(guarded)
    broken = [v for v in verdicts.values() if v.path]
    assert len(broken) == count
    for verdict in broken:
        messages = [_message(n, space.events[e.event]) for n, e in enumerate(verdict.path, 1)]
        seen = [_recovered_status(guarded, tmp_path, messages[:n]) for n in range(1, len(messages) + 1)]
        assert seen == list(verdict.statuses), verdict.invariant.name
        inv = verdict.invariant
        if inv.kind == "terminal":
            assert seen[-2] in inv.statuses() and seen[-1] != seen[-2]
        elif inv.kind == "never":
            assert any(s in inv.statuses("from") for s in seen[:-1]) and seen[-1] in inv.statuses("to")
        else:
            assert seen[-1] in inv.statuses("status") and messages[-1]["action"] not in inv.actions


def _random_messages():
    actions = [
        "visitorRequestChat",
        "botAcceptChat",
        "agentAcceptChat",
        "agentTransferDepartment",
        "agentRefuseChat",
        "systemChatEnded",
        "systemMessage",
        "agentAcceptTransfer",
        "visitorMessage",
    ]
    data = st.fixed_dictionaries(
        {}, optional={"topic": st.sampled_from(["billing", "sales"]), "reopen": st.sampled_from([True, False, "yes"])}
    )
    step = st.tuples(st.sampled_from(actions), st.sampled_from(SENDER_TYPES), st.sampled_from(["a-1", "a-2"]), data)
    return st.lists(step, min_size=1, max_size=7)


@settings(max_examples=150, deadline=None)
@given(steps=_random_messages())
def test_proved_invariants_hold_on_random_real_logs(steps):
    """What the prover calls proved, the real engine never breaks."""
    policy = GUARDED_POLICY[0]
    messages = []
    for n, (action, sender, sender_id, data) in enumerate(steps, 1):
        message = {
            "id": f"m-{n:03d}",
            "time": f"2026-11-24T08:50:{n:02d}Z",
            "action": action,
            "sender": {"type": sender, "id": sender_id},
        }
        if data:
            message["data"] = data
        messages.append(message)
    seen = [
        cr.recover(policy, [report("agent", agent="a-1", chat={"id": "c-1", "messages": messages[:n]})], NOW, engine="python")[
            "visitor"
        ]["status"]
        for n in range(1, len(messages) + 1)
    ]
    for i, status in enumerate(seen):
        if status == "chatting":
            assert not set(seen[i:]) & {"waitingForChat", "refusedByAgent"}
        before = seen[i - 1] if i else None
        if status == "chatEnded" and before != "chatEnded":
            assert messages[i]["action"] == "systemChatEnded"


GUARDED_POLICY: list = []


@pytest.fixture(scope="module", autouse=True)
def _guarded_policy(tmp_path_factory):
    directory = tmp_path_factory.mktemp("guarded") / "rules"
    import shutil

    shutil.copytree(ROOT / "rules", directory)
    (directory / "chat-actions.yaml").write_text(GUARDED_ACTIONS, encoding="utf-8")
    (directory / "invariants.yaml").write_text(GUARDED_INVARIANTS, encoding="utf-8")
    GUARDED_POLICY[:] = [cr.load_policy(directory)]


def test_a_state_space_too_large_to_search_claims_nothing(rules_copy):
    """A list that grows with every message (an upsert without its key) has
    no end: the search stops at its bound and says so, proving nothing."""
    path = rules_copy / "chat-actions.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + "  firstFile:\n    on: agentMessage\n    when: {state.files: [[]]}\n    status: chatting\n",
        encoding="utf-8",
    )
    code, lines = check(rules_copy)
    assert code == 0 and lines == [
        f"{rules_copy}/chat-actions.yaml: warning[not-proved]: the action rules reach more than 20000 states (or 250000 steps) of the tested state fields: "
        "which rules never fire was not checked, and no invariant was proved",
        f"{rules_copy}: ok (69 visitor properties, 5 chat props, 14 statuses, 0 invariants proved, 1 warning)",
    ]
    assert check(rules_copy, "--strict")[0] == 1


def test_never_means_after_so_from_and_to_may_be_the_same(guarded):
    """`never: {from: S, to: S}`: once S is left, it is not entered again."""
    add_invariants(guarded, "  chattingOnce:\n    never: {from: chatting, to: chatting}\n")
    policy, space, verdicts = _verdicts(guarded)
    verdict = verdicts["chattingOnce"]
    assert not verdict.holds and verdict.statuses[-1] == "chatting" and verdict.statuses.count("chatting") == 2
