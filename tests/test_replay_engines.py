"""The guards around durable_rules: what it would swallow, we refuse."""

import pytest

from chat_recovery.replay import ReplayError, durable_available, engine_for, make_engine

pytestmark = pytest.mark.skipif(not durable_available(), reason="durable_rules does not import on this Python")


def event_for(policy, action):
    index = policy.chat.by_action[action][0]
    return index, {"action": action, **{f"c{i}": "null" for i, _ in enumerate(policy.chat.condition_fields)}}


def test_a_session_is_deleted_only_after_its_finalize_action_ran(policy, monkeypatch):
    """Deleting a session where no action ran crashes durable_rules (the
    note); if the finalize rule did not fire, the engine says so instead."""
    from chat_recovery.replay import durable_engine

    def without_finalize(chat):
        ruleset = dict(original(chat))
        ruleset[durable_engine.FINALIZE] = {"all": [{"m": {"finalize": 2}}]}  # matches nothing we post
        return ruleset

    original = durable_engine.ruleset_for
    monkeypatch.setattr(durable_engine, "ruleset_for", without_finalize)
    engine = durable_engine.DurableEngine(policy.chat)
    session = engine.open()
    with pytest.raises(ReplayError, match="finalize event with \\[\\]"):
        session.close()


def test_the_durable_engine_names_the_rule_durable_rules_chose(policy):
    """Every action rule, fired alone: the index that comes back is that rule's."""
    engine = make_engine(policy.chat, "durable")
    for action, indexes in policy.chat.by_action.items():
        rule = policy.chat.rules[indexes[0]]
        if rule.conditions:
            continue
        session = engine.open()
        assert (
            session.fire({"action": action, **{f"c{i}": "null" for i, _ in enumerate(policy.chat.condition_fields)}})
            == indexes[0]
        )
        session.close()


def test_sessions_are_opened_one_at_a_time_and_reused(policy):
    engine = make_engine(policy.chat, "durable")
    index, event = event_for(policy, "agentAcceptChat")
    for _ in range(3000):  # far past durable_rules' 1,024 live sessions: each is closed
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
    thread = threading.Thread(target=lambda: seen.append(engine_for(policy, "durable")))
    thread.start()
    thread.join()
    assert seen[0] is not engine_for(policy, "durable")
    assert engine_for(policy, "durable") is engine_for(policy, "durable")
