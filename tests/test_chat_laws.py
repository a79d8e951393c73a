"""Laws of the chat rebuild on random logs: shuffling messages within and
across reports or duplicating reports changes nothing, and both rule engines
agree on every recovery."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chat_recovery as cr
from chat_recovery.replay import durable_available
from chatlog import msg
from conftest import NOW

POLICY = cr.load_policy()
ACTIONS = sorted({r.action for r in POLICY.chat.rules} | {"visitorMessage", "agentMessage", "unknownAction"})
SENDER = {"visitor": "visitor", "agent": "agent", "bot": "bot", "system": "system", "request": "visitor", "unknown": "agent"}
DATA = st.fixed_dictionaries(
    {},
    optional={
        "fileId": st.sampled_from(["f-1", "f-2"]),
        "fromAgentId": st.sampled_from(["a-1", "a-2"]),
        "agentId": st.sampled_from(["a-1", "a-5"]),
        "language": st.sampled_from(["fr", "de"]),
        "name": st.just("x.pdf"),
        "departmentId": st.just("d-1"),
    },
)


@st.composite
def chat_logs(draw):
    n = draw(st.integers(1, 25))
    out = []
    for i in range(n):
        action = draw(st.sampled_from(ACTIONS))
        sender = next((SENDER[p] for p in SENDER if action.startswith(p)), "agent")
        m = msg(i + 1, action, sender, draw(st.sampled_from(["a-1", "a-2", "a-3"])) if sender == "agent" else None, **draw(DATA))
        m["time"] = f"2026-11-24T08:{draw(st.integers(0, 5)):02d}:00Z"  # ties are common: then the id orders
        out.append(m)
    return out


@st.composite
def report_sets(draw):
    messages = draw(chat_logs())
    sources = draw(
        st.lists(
            st.sampled_from([{"type": "visitor"}, {"type": "agent", "id": "a-1"}, {"type": "agent", "id": "a-2"}]),
            min_size=1,
            max_size=3,
            unique_by=str,
        )
    )
    reports = []
    for i, source in enumerate(sources):
        held = [m for m in messages if draw(st.booleans())] if i else list(messages)
        reports.append(
            {"visitorId": "v-1", "source": source, "sentAt": f"2026-11-24T09:00:0{i}Z", "chat": {"id": "c-1", "messages": held}}
        )
    return reports


@settings(max_examples=200, deadline=None)
@given(report_sets(), st.randoms(use_true_random=False), st.data())
def test_shuffles_and_duplicates_change_nothing(reports, rnd, data):
    expected = cr.recover(POLICY, reports, NOW, engine="python")
    shuffled = []
    for r in reports:
        copy = {**r, "chat": {**r["chat"], "messages": list(r["chat"]["messages"])}}
        rnd.shuffle(copy["chat"]["messages"])
        shuffled.append(copy)
    rnd.shuffle(shuffled)
    shuffled.append(data.draw(st.sampled_from(shuffled)))
    assert cr.recover(POLICY, shuffled, NOW, engine="python") == expected


@pytest.mark.skipif(not durable_available(), reason="durable_rules does not import on this Python")
@settings(max_examples=300, deadline=None)
@given(report_sets())
def test_durable_rules_and_python_agree(reports):
    assert cr.recover(POLICY, reports, NOW, engine="durable", explain=True) == cr.recover(
        POLICY, reports, NOW, engine="python", explain=True
    )
