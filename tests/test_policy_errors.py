"""A broken policy is refused with every problem as file:line:col and, where a
name is close, a did-you-mean; a good one compiles into a frozen object."""
import dataclasses

import pytest

import chat_recovery as cr
from conftest import edit


def problems(directory):
    with pytest.raises(cr.PolicyError) as caught:
        cr.load_policy(directory)
    return [str(d) for d in caught.value.diagnostics]


def line_of(path, needle):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number, line.index(needle.strip()) + 1
    raise AssertionError(needle)


def test_bundled_policy_loads_and_is_frozen(policy):
    assert len(policy.info) >= 60
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.root = "elsewhere"
    with pytest.raises(TypeError):
        policy.strategies["any"] = None


def test_the_seeds_misspelled_strategy_gets_a_did_you_mean(rules_copy):
    info = rules_copy / "visitor-info.yaml"
    text = info.read_text(encoding="utf-8")
    start = text.index("  navigations:")
    offset = text.index("strategy: visitorOnly", start)
    info.write_text(text[:offset] + "strategy: vistior only" + text[offset + len("strategy: visitorOnly"):], encoding="utf-8")
    line = text[:offset].count("\n") + 1
    col = offset - text.rfind("\n", 0, offset) + len("strategy: ")  # 1-based column of the value
    assert problems(rules_copy) == [
        f"{rules_copy}/visitor-info.yaml:{line}:{col}: error: unknown strategy 'vistior only' (did you mean 'visitorOnly'?)"]


def test_misspelled_camel_case_strategy(rules_copy):
    edit(rules_copy / "chat-props.yaml", "strategy: agentOnly", "strategy: agnetOnly")
    (found,) = problems(rules_copy)
    assert "chat-props.yaml:" in found and "unknown strategy 'agnetOnly' (did you mean 'agentOnly'?)" in found


def test_property_named_twice_is_a_duplicate_key_naming_both_places(rules_copy):
    info = rules_copy / "visitor-info.yaml"
    first, _ = line_of(info, "  browser:")
    info.write_text(info.read_text(encoding="utf-8") + "  browser:\n    strategy: none\n", encoding="utf-8")
    last = len(info.read_text(encoding="utf-8").splitlines()) - 1
    assert problems(rules_copy) == [
        f"{rules_copy}/visitor-info.yaml:{last}:3: error: duplicate key 'browser' (first defined at {first}:3)"]


def test_contract_property_without_a_strategy(rules_copy):
    info = rules_copy / "visitor-info.yaml"
    text = info.read_text(encoding="utf-8")
    start = text.index("  ticketId:\n")
    end = text.index("\n  ", text.index("\n", start) + 1)
    while text[end + 3] == " ":  # skip the entry's own nested lines
        end = text.index("\n  ", end + 1)
    info.write_text(text[:start] + text[end + 1:], encoding="utf-8")
    (found,) = problems(rules_copy)
    assert found.endswith("error: contract property 'ticketId' of visitor.info has no strategy")
    assert found.startswith(f"{rules_copy}/visitor-info.yaml:")


def test_property_not_in_the_contract_gets_a_did_you_mean(rules_copy):
    edit(rules_copy / "visitor-info.yaml", "  browser:", "  browswer:")
    found = problems(rules_copy)
    assert any("'browswer' is not a property of visitor.info in the contract (did you mean 'browser'?)" in f for f in found)


def test_unknown_key_in_a_strategy_gets_a_did_you_mean(rules_copy):
    edit(rules_copy / "strategies.yaml", "    pick: first", "    pik: first")
    found = problems(rules_copy)
    assert any("unknown key 'pik' (did you mean 'pick'?)" in f and "strategies.yaml:" in f for f in found)


def test_bad_pick_value_lists_the_choices(rules_copy):
    edit(rules_copy / "strategies.yaml", "    pick: first", "    pick: frist")
    (found,) = problems(rules_copy)
    assert "'frist' is not one of: first, priority, latest (did you mean 'first'?)" in found


def test_yaml_syntax_error_has_a_position(rules_copy):
    (rules_copy / "chat-props.yaml").write_text("kind: properties\ntarget: [chat.props\n", encoding="utf-8")
    (found,) = problems(rules_copy)
    assert found.startswith(f"{rules_copy}/chat-props.yaml:3:1: error: invalid YAML")


def test_unknown_status_in_a_condition(rules_copy):
    edit(rules_copy / "visitor-info.yaml", "status: [waitingForChat]", "status: [waitingForChta]")
    (found,) = problems(rules_copy)
    assert "unknown status 'waitingForChta' (did you mean 'waitingForChat'?)" in found


def test_status_side_effect_on_an_unknown_property(rules_copy):
    edit(rules_copy / "visitor-status.yaml", "set: {latestPrechatTime: now}", "set: {latestPreChatTme: now}")
    (found,) = problems(rules_copy)
    assert "'latestPreChatTme' is not a visitor.info property (did you mean 'latestPrechatTime'?)" in found


def test_unknown_file_kind(rules_copy):
    (rules_copy / "extra.yaml").write_text("kind: strategy\n", encoding="utf-8")
    (found,) = problems(rules_copy)
    assert found.startswith(f"{rules_copy}/extra.yaml:1:7: error: unknown rule file kind 'strategy' (did you mean 'strategies'?)")


def test_every_problem_is_reported_at_once_sorted(rules_copy):
    edit(rules_copy / "chat-props.yaml", "strategy: agentOnly", "strategy: agnetOnly")
    edit(rules_copy / "visitor-info.yaml", "strategy: agentOnly", "strategy: agentonly")
    found = problems(rules_copy)
    assert len(found) == 2 and found == sorted(found)


def test_missing_directory(tmp_path):
    (found,) = problems(tmp_path / "nope")
    assert "no such policy directory" in found
