"""The guards around durable_rules: what it would swallow, we refuse."""
import pytest

import chat_recovery as cr
from chat_recovery.replay import ReplayError, durable_available, make_engine

pytestmark = pytest.mark.skipif(not durable_available(), reason="durable_rules does not import on this Python")


def event_for(policy, action):
    index = policy.chat.by_action[action][0]
    return index, {"action": action, **{f"c{i}": "null" for i, _ in enumerate(policy.chat.condition_fields)}}


def test_an_exception_inside_a_durable_action_fails_the_replay(policy):
    from chat_recovery.replay.durable_engine import DurableEngine

    class Raising(DurableEngine):
        def _recorder(self, index):
            def run(c):
                raise RuntimeError("boom")
            return run

    engine = Raising(policy.chat)
    _, event = event_for(policy, "visitorRequestChat")
    session = engine.open()
    with pytest.raises(ReplayError, match="fired 0 rules"):
        session.fire(event)
    with pytest.raises(ReplayError, match="error inside an action.*boom"):
        session.close()


def test_sessions_are_opened_one_at_a_time_and_reused(policy):
    engine = make_engine(policy.chat, "durable")
    index, event = event_for(policy, "agentAcceptChat")
    for _ in range(3000):   # far past durable_rules' 1,024 live sessions: each is closed
        session = engine.open()
        assert session.fire(event) == index
        assert session.fire({**event, "action": "visitorMessage"}) is None
        session.close()
    engine.open()
    with pytest.raises(ReplayError, match="still open"):
        engine.open()


def test_unknown_engine_name(policy):
    with pytest.raises(ValueError, match="unknown engine 'drools'"):
        make_engine(policy.chat, "drools")


def test_engines_are_per_thread(policy):
    import threading
    seen = []
    thread = threading.Thread(target=lambda: seen.append(policy.engines.get("durable")))
    thread.start(); thread.join()
    assert seen[0] is not policy.engines.get("durable")
    assert policy.engines.get("durable") is policy.engines.get("durable")
