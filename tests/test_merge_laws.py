"""Laws of the merge, checked on random report sets: arrival order does not
matter (but for 'first writer wins' properties that reports disagree on),
messages included (every holder's copy, malformed ones set aside, missing own
copies listed), and a report applied twice changes nothing."""

from hypothesis import given, settings
from hypothesis import strategies as st

import chat_recovery as cr
from conftest import NOW

POLICY = cr.load_policy()
FIRST_WINS = {r.name for r in POLICY.info if r.strategy.pick == "first"}

SOURCES = [{"type": "visitor"}, {"type": "agent", "id": "a-1"}, {"type": "agent", "id": "a-2"}, {"type": "agent", "id": "a-3"}]
TIMES = [f"2026-11-24T09:00:0{i}Z" for i in range(4)]
TEXT = st.sampled_from(["x", "y", "z"])
INFO = {
    "browser": TEXT,
    "ip": TEXT,
    "campaignId": TEXT,
    "departmentId": TEXT,
    "email": TEXT,
    "ticketId": TEXT,
    "segments": st.lists(TEXT, max_size=2),
    "visitTimes": st.integers(0, 2),
    "ifCaptured": st.booleans(),
    "visitedPageUrls": st.lists(TEXT, max_size=2),
    "ssoId": TEXT,
    "customVariables": st.dictionaries(st.sampled_from(["plan", "tier", "a.b"]), st.one_of(st.none(), TEXT), max_size=3),
    "captureTime": st.sampled_from(TIMES),
    "latestPrechatTime": st.sampled_from(TIMES),
}
CHAT_IDS = st.sampled_from(["c-1", "c-1", "c-2"])
STATUS = st.sampled_from(["inSite", "preChat", "offlineMessage", "systemProcessing", "outOfSite", "chatting"])
# Actions of every actor, with senders that match their actor or not (a
# malformed copy, set aside), agents that may or may not have reported, so
# screening, set-aside copies and missing-own-copy conflicts meet the laws.
ACTIONS = [
    "visitorMessage",
    "visitorRequestChat",
    "agentAcceptChat",
    "agentJoinChat",
    "agentStopChat",
    "agentMessage",
    "botMessage",
    "systemChatEnded",
]
SENDERS = [
    {"type": "visitor"},
    {"type": "agent", "id": "a-1"},
    {"type": "agent", "id": "a-2"},
    {"type": "bot", "id": "b-1"},
    {"type": "system"},
]
MESSAGES = st.lists(
    st.builds(
        lambda i, t, a, s, x: {
            "id": f"m-{i}",
            "time": TIMES[t],
            "action": ACTIONS[a],
            "sender": SENDERS[s],
            "text": f"hello {x}",
        },
        st.integers(0, 5),
        st.integers(0, 3),
        st.integers(0, len(ACTIONS) - 1),
        st.integers(0, len(SENDERS) - 1),
        st.integers(0, 1),
    ),
    max_size=4,
    unique_by=lambda m: m["id"],
)


@st.composite
def reports(draw):
    source = draw(st.sampled_from(SOURCES))
    body = {"visitorId": "v-1", "source": source, "sentAt": draw(st.sampled_from(TIMES))}
    if draw(st.booleans()):
        info = draw(st.fixed_dictionaries({}, optional={k: st.one_of(st.none(), v) for k, v in INFO.items()}))
        body["visitor"] = {"status": draw(st.one_of(st.none(), STATUS)), "info": info}
    if draw(st.booleans()):
        body["chat"] = {
            "id": draw(CHAT_IDS),  # several chats per visitor: an agent may keep an ended chat's window
            "messages": draw(MESSAGES),
            "props": draw(st.fixed_dictionaries({}, optional={"source": TEXT, "ifEnterQueue": st.booleans()})),
        }
    if source["type"] == "agent" and draw(st.booleans()):
        body["unfinishedWrapup"] = {"comment": draw(TEXT)}
    return body


def without_first_wins(result):
    """The recovery with 'first writer wins' values (and their notes) set aside."""
    out = dict(result)
    if out["visitor"]:
        out["visitor"] = {**out["visitor"], "info": {k: v for k, v in out["visitor"]["info"].items() if k not in FIRST_WINS}}
    out["conflicts"] = [c for c in out["conflicts"] if c["path"].split(".")[-1] not in FIRST_WINS]
    return out


def first_supplied(batch, key):
    for body in batch:
        value = ((body.get("visitor") or {}).get("info") or {}).get(key)
        if value is not None:
            return value
    return None


@settings(max_examples=300, deadline=None)
@given(st.lists(reports(), min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_arrival_order_does_not_matter(batch, rnd):
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    one, two = cr.recover(POLICY, batch, NOW), cr.recover(POLICY, shuffled, NOW)
    assert without_first_wins(one) == without_first_wins(two)
    for key in FIRST_WINS:  # and 'first' means the first report that supplied one
        for order, result in ((batch, one), (shuffled, two)):
            if result["visitor"] is not None:
                assert result["visitor"]["info"].get(key) == first_supplied(order, key)


@settings(max_examples=200, deadline=None)
@given(st.lists(reports(), min_size=1, max_size=4), st.data())
def test_a_report_applied_twice_changes_nothing(batch, data):
    again = data.draw(st.sampled_from(batch))
    assert cr.recover(POLICY, batch + [again], NOW) == cr.recover(POLICY, batch, NOW)


@settings(max_examples=100, deadline=None)
@given(st.lists(reports(), min_size=1, max_size=4))
def test_recoveries_are_json_and_stable(batch):
    import json

    result = cr.recover(POLICY, batch, NOW, explain=True)
    assert json.loads(json.dumps(result)) == result
    assert cr.recover(POLICY, batch, NOW, explain=True) == result
