"""The hand-written reference merge gives the engine's recovery: on a storm
(both rule engines), on the bundled examples, and its hand-written input
check refuses what the report schema refuses."""

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import chat_recovery as cr
from chat_recovery.bench import reference
from chat_recovery.bench.reference_check import check as hand_check
from chat_recovery.bench.storm import NOW, StormSpec, by_visitor, storm
from chat_recovery.replay import durable_available

ROOT = Path(__file__).resolve().parent.parent
# What only a policy can give (see bench/reference.py): the stamp, and the rule positions.
POLICY_ONLY = {"policy"}


def comparable(recovery: dict) -> dict:
    """The engine's recovery without what names rule files."""
    out = json.loads(json.dumps(recovery))
    for key in POLICY_ONLY:
        out.pop(key)
    for directive in [*out["directives"], *(d for chat in out["otherChats"] for d in chat["directives"])]:
        directive.pop("rule")
    for entry in out["conflicts"]:
        entry["decided"].pop("rule")
    for entry in out.get("withheld", ()):
        entry.pop("rule")
    return out


@pytest.fixture(scope="module")
def storm_groups():
    return by_visitor(storm(StormSpec(visitors=300, seed=11)))


ENGINES = [
    "python",
    "compiled",
    pytest.param(
        "durable", marks=pytest.mark.skipif(not durable_available(), reason="durable_rules does not import on this Python")
    ),
]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_reference_recovers_a_storm_as_the_engine_does(policy, storm_groups, engine):
    """Every visitor of a 300-visitor storm: status, info, chat props, state, log, directives, set-aside, wrap-ups, conflicts."""
    differ = []
    for visitor_id, reports in storm_groups.items():
        mine = reference.recover(reports, NOW)
        theirs = comparable(cr.recover(policy, reports, NOW, engine=engine))
        if mine != theirs:
            differ.append((visitor_id, sorted(k for k in theirs if theirs[k] != mine.get(k))))
    assert differ == []


def several_chats(groups):
    """The storm's visitors with several chats: one agent of each visitor
    keeps its window on a chat of another id (the seed's Client rule 1), and
    every third visitor's own reports are lost (the current chat is then the
    one with the latest message)."""
    out = {}
    for n, (visitor_id, reports) in enumerate(sorted(groups.items())):
        reports = copy.deepcopy(reports)
        if n % 3 == 0:
            reports = [r for r in reports if r["source"]["type"] != "visitor"] or reports
        keeping = [r for r in reports if r["source"]["type"] == "agent" and r.get("chat")]
        if keeping:
            keeping[0]["chat"]["id"] += "-kept"
        out[visitor_id] = reports
    return out


@pytest.mark.parametrize("engine", ENGINES)
def test_the_reference_recovers_several_chats_as_the_engine_does(policy, storm_groups, engine):
    differ, others = [], 0
    for visitor_id, reports in several_chats(storm_groups).items():
        mine = reference.recover(reports, NOW)
        theirs = comparable(cr.recover(policy, reports, NOW, engine=engine))
        others += bool(theirs["otherChats"])
        if mine != theirs:
            differ.append((visitor_id, sorted(k for k in theirs if theirs[k] != mine.get(k))))
    assert differ == [] and others > 50


def test_the_storm_exercises_what_the_comparison_covers(storm_groups):
    """The differential test means something only if the storm reaches each kind of outcome."""
    seen = {"chat": 0, "conflicts": 0, "setAside": 0, "directives": 0, "wrapups": 0, "noVisitor": 0}
    statuses = set()
    for reports in storm_groups.values():
        r = reference.recover(reports, NOW)
        seen["chat"] += r["chat"] is not None
        seen["conflicts"] += bool(r["conflicts"])
        seen["setAside"] += bool(r["setAside"])
        seen["directives"] += bool(r["directives"])
        seen["wrapups"] += bool(r["unfinishedWrapups"])
        seen["noVisitor"] += r["visitor"] is None
        statuses.add((r["visitor"] or {}).get("status"))
    assert all(count > 0 for count in seen.values()), seen
    assert {"inSite", "preChat", "waitingForChat", "chatting", "chatEnded", "refusedByAgent", None} <= statuses


@pytest.mark.parametrize("folder", sorted(p.name for p in (ROOT / "examples").iterdir() if p.is_dir()))
def test_the_reference_recovers_each_example_as_the_engine_does(policy, folder):
    reports = [json.loads(p.read_text()) for p in sorted((ROOT / "examples" / folder).glob("*.json"))]
    assert reference.recover(reports, NOW) == comparable(cr.recover(policy, reports, NOW))


def test_the_reference_leaves_out_only_the_policy_stamp(policy, storm_groups):
    reports = next(iter(storm_groups.values()))
    assert set(cr.recover(policy, reports, NOW)) - set(reference.recover(reports, NOW)) == POLICY_ONLY


GOOD = {
    "visitorId": "v-1",
    "source": {"type": "agent", "id": "a-1"},
    "sentAt": "2026-11-24T09:00:00Z",
    "visitor": {"status": "chatting", "info": {"browser": "Firefox 132", "visitTimes": 3, "navigations": ["/a", {"url": "/b"}]}},
    "chat": {
        "id": "c-1",
        "props": {"monitorAgents": ["a-2"]},
        "messages": [
            {"id": "m-1", "time": "2026-11-24T08:00:00.5Z", "action": "visitorRequestChat", "sender": {"type": "visitor"}}
        ],
    },
}
BAD = {
    "unknown top key": ("$", "visitr", {}),
    "missing sentAt": ("$", "sentAt", None),
    "agent without id": ("$.source", "id", None),
    "bad source type": ("$.source", "type", "bot"),
    "time not UTC": ("$", "sentAt", "2026-11-24T09:00:00+01:00"),
    "unknown status": ("$.visitor", "status", "asleep"),
    "unknown info key": ("$.visitor.info", "browsr", "x"),
    "count as text": ("$.visitor.info", "visitTimes", "3"),
    "count as bool": ("$.visitor.info", "chatTimes", True),
    "negative count": ("$.visitor.info", "visitTimes", -1),
    "flag as number": ("$.visitor.info", "ifCaptured", 1),
    "time field not a time": ("$.visitor.info", "captureTime", "yesterday"),
    "list of numbers": ("$.visitor.info", "segments", [1]),
    "empty agent id in props": ("$.chat.props", "monitorAgents", [""]),
    "chat without id": ("$.chat", "id", None),
    "message without sender": ("$.chat.messages[0]", "sender", None),
    "message action not camelCase": ("$.chat.messages[0]", "action", "Visitor-Request"),
    "sender type unknown": ("$.chat.messages[0].sender", "type", "robot"),
    "message data not an object": ("$.chat.messages[0]", "data", []),
    "visitor source id differs": ("$.source", "type", "visitor"),
}


def _at(report, path):
    node = report
    for part in path.replace("[", ".[").split(".")[1:]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    return node


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_hand_written_check_refuses_what_the_schema_refuses(policy, report_schema, case):
    path, key, value = BAD[case]
    report = copy.deepcopy(GOOD)
    node = _at(report, path)
    if value is None:
        del node[key]
    else:
        node[key] = value
    schema_says = list(Draft202012Validator(report_schema).iter_errors(report))
    if case == "visitor source id differs":  # the one rule the schema cannot say; the engine checks it too
        assert not schema_says
        with pytest.raises(cr.ReportError):
            cr.recover(policy, [report], NOW)
    else:
        assert schema_says
    with pytest.raises(ValueError):
        hand_check(report)


def test_the_hand_written_check_accepts_a_good_report(report_schema):
    assert not list(Draft202012Validator(report_schema).iter_errors(GOOD))
    hand_check(GOOD)


LATE = [  # after the end and after a refusal: the guards of the shipped action rules
    ["visitorRequestChat", "agentAcceptChat", "systemChatEnded", "agentAcceptChat", "agentTransferDepartment", "agentRefuseChat"],
    [
        "visitorRequestChat",
        "agentRefuseChat",
        "visitorRequestChat",
        "agentAcceptChat",
        "agentRefuseChat",
        "systemChatEnded",
        "visitorRequestChat",
    ],
    ["agentAddInvitationText", "visitorAcceptChat", "systemChatEnded", "botAcceptChat", "requestChatToBot"],
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("actions", LATE, ids=["after-end", "after-refusal", "invitation-then-end"])
def test_the_reference_keeps_the_guards_as_the_engine_does(policy, engine, actions):
    messages = []
    for n, action in enumerate(actions, 1):
        sender = (
            {"type": "visitor"}
            if action.startswith("visitor")
            else {"type": "system"}
            if action.startswith("system")
            else {"type": "bot", "id": "b-1"}
            if action.startswith(("bot", "request"))
            else {"type": "agent", "id": f"a-{n}"}
        )
        messages.append({"id": f"m-{n}", "time": f"2026-11-24T08:50:0{n}Z", "action": action, "sender": sender})
    reports = [
        {
            "visitorId": "v-1",
            "source": {"type": "agent", "id": "a-1"},
            "sentAt": "2026-11-24T09:00:00Z",
            "chat": {"id": "c-1", "messages": messages},
        }
    ]
    assert reference.recover(reports, NOW) == comparable(cr.recover(policy, reports, NOW, engine=engine))
