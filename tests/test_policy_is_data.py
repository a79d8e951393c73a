"""A product owner changes the policy in YAML alone and the recovery follows:
no Python is edited in any of these tests."""

import chat_recovery as cr
from conftest import NOW, edit, report

V_FIRST = [
    report("visitor", "2026-11-24T09:00:01Z", visitor={"info": {"browser": "Firefox"}}),
    report("agent", "2026-11-24T09:00:02Z", visitor={"info": {"browser": "Chrome"}}),
]


def browser(policy, reports=V_FIRST):
    return cr.recover(policy, reports, NOW)["visitor"]["info"].get("browser")


def entry(text: str, name: str) -> tuple[int, int]:
    start = text.index(f"\n  {name}:\n") + 1
    end = text.index("\n  ", start + 1)
    while text[end + 3] == " ":
        end = text.index("\n  ", end + 1)
    return start, end + 1


def test_changing_browser_from_any_to_agent_only(policy, rules_copy):
    assert browser(policy) == "Firefox"
    info = rules_copy / "visitor-info.yaml"
    text = info.read_text(encoding="utf-8")
    start, end = entry(text, "browser")
    info.write_text(text[:start] + text[start:end].replace("strategy: any", "strategy: agentOnly") + text[end:], encoding="utf-8")
    assert browser(cr.load_policy(rules_copy)) == "Chrome"
    assert browser(cr.load_policy(rules_copy), V_FIRST[:1]) is None


def test_a_new_strategy_written_in_yaml(rules_copy):
    """'newest wins' is not in the seed: a product owner adds it as data."""
    (rules_copy / "strategies.yaml").write_text(
        (rules_copy / "strategies.yaml").read_text(encoding="utf-8")
        + "  newestWins:\n    from: [visitor, agent]\n    pick: latest\n"
        "    description: {zh: 最新的值优先, en: The most recently sent value wins.}\n",
        encoding="utf-8",
    )
    info = rules_copy / "visitor-info.yaml"
    text = info.read_text(encoding="utf-8")
    start, end = entry(text, "departmentId")
    info.write_text(
        text[:start] + text[start:end].replace("strategy: agentOverrideVisitor", "strategy: newestWins") + text[end:],
        encoding="utf-8",
    )
    policy = cr.load_policy(rules_copy)
    older_agent = [
        report("agent", "2026-11-24T09:00:01Z", visitor={"info": {"departmentId": "d-agent"}}),
        report("visitor", "2026-11-24T09:00:09Z", visitor={"info": {"departmentId": "d-visitor"}}),
    ]
    result = cr.recover(policy, older_agent, NOW, explain=True)
    assert result["visitor"]["info"]["departmentId"] == "d-visitor"
    assert result["explain"]["$.visitor.info.departmentId"]["strategy"] == "newestWins"
    assert cr.recover(cr.load_policy(), older_agent, NOW)["visitor"]["info"]["departmentId"] == "d-agent"


def test_a_new_status_written_in_yaml(rules_copy):
    """A client that uploads a status the seed does not know, and a rule for it."""
    (rules_copy / "visitor-status.yaml").write_text(
        (rules_copy / "visitor-status.yaml").read_text(encoding="utf-8")
        + "  inQueueForCallback:\n    recoverAs: offlineMessage\n    set: {latestOfflineMessageTime: now}\n"
        "    description: {zh: 等待回拨, en: Waiting for a call back; handled as an offline message.}\n",
        encoding="utf-8",
    )
    policy = cr.load_policy(rules_copy)
    result = cr.recover(policy, [report(visitor={"status": "inQueueForCallback"})], NOW)
    assert result["visitor"]["status"] == "offlineMessage"
    assert result["visitor"]["info"]["latestOfflineMessageTime"] == NOW
    edit(
        rules_copy / "visitor-status.yaml",
        "  inQueueForCallback:\n    recoverAs: offlineMessage",
        "  inQueueForCallback:\n    recoverAs: inQueueForCallback",
    )
    kept = cr.recover(cr.load_policy(rules_copy), [report(visitor={"status": "inQueueForCallback"})], NOW)
    from test_schemas import RECOVERY

    assert kept["visitor"]["status"] == "inQueueForCallback"
    assert [e.message for e in RECOVERY.iter_errors(kept)] == []  # the recovery schema admits statuses a policy adds
    try:
        cr.recover(cr.load_policy(), [report(visitor={"status": "inQueueForCallback"})], NOW)
    except cr.ReportError as exc:
        assert exc.path == "$.visitor.status"
    else:
        raise AssertionError("the default policy must refuse a status it does not know")


def test_system_processing_recovered_as_something_else(rules_copy):
    edit(
        rules_copy / "visitor-status.yaml",
        "recoverAs: waitingForChat\n    seed: system processing",
        "recoverAs: inSite\n    seed: system processing",
    )
    result = cr.recover(cr.load_policy(rules_copy), [report(visitor={"status": "systemProcessing"})], NOW)
    assert result["visitor"]["status"] == "inSite"
