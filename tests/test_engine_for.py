"""The compiled policy is plain data; the engines that replay it live beside
it, in `replay`, made on first use per policy, thread and name."""

import chat_recovery as cr
from chat_recovery.replay import engine_for
from conftest import NOW, report


def test_a_policy_is_plain_data_and_its_engines_live_beside_it(policy):
    """Replaying changes nothing on the policy: it holds no engine, cache or untyped value."""
    import typing
    from dataclasses import fields

    from chat_recovery.policy.chat_model import ChatPolicy
    from chat_recovery.policy.contract import ReportValidator

    held = {f.name: getattr(policy, f.name) for f in fields(policy)}
    cr.recover(policy, [report(visitor={"status": "chatting"})], NOW, engine="python")
    assert {f.name: getattr(policy, f.name) for f in fields(policy)} == held
    assert set(vars(policy)) == set(held)
    hints = typing.get_type_hints(type(policy), localns={"ChatPolicy": ChatPolicy, "ReportValidator": ReportValidator})
    assert [name for name, hint in hints.items() if typing.Any in (hint, *typing.get_args(hint))] == []


def test_engines_go_when_their_policy_goes():
    """A reloaded policy's engines are not kept for the life of the process."""
    import gc
    import weakref

    policy = cr.load_policy()
    engine = weakref.ref(engine_for(policy, "python"))
    assert engine() is not None
    del policy
    gc.collect()
    assert engine() is None
