"""Through the API, a broken policy is refused with every problem at once, sorted;
a good one compiles into a frozen object. What each mistake must say is data:
tests/golden/compile-errors (run by tests/test_compile_errors.py)."""

import dataclasses

import pytest

import chat_recovery as cr
from conftest import edit


def problems(directory):
    with pytest.raises(cr.PolicyError) as caught:
        cr.load_policy(directory)
    return [str(d) for d in caught.value.diagnostics]


def test_bundled_policy_loads_and_is_frozen(policy):
    assert len(policy.info) >= 60
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.root = "elsewhere"
    with pytest.raises(TypeError):
        policy.strategies["any"] = None


def test_every_problem_is_reported_at_once_sorted(rules_copy):
    edit(rules_copy / "chat-props.yaml", "strategy: agentOnly", "strategy: agnetOnly")
    edit(rules_copy / "visitor-info.yaml", "strategy: agentOnly", "strategy: agentonly")
    found = problems(rules_copy)
    assert len(found) == 2 and found == sorted(found)


def test_missing_directory(tmp_path):
    (found,) = problems(tmp_path / "nope")
    assert "no such policy directory" in found
