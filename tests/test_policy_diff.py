"""`policy diff OLD NEW`: rule changes named at file:line, and the recorded
cases whose recovery changes, end to end through the CLI."""

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from jsonschema import Draft202012Validator

import chat_recovery as cr
from chat_recovery.authoring.diff.compare import cases_from_suites, diff
from chat_recovery.recovery.reports import parse_bytes
from conftest import NOW, ROOT, cli, edit, without_fallback_note

CORPUS_SETS = sorted(p.name for p in (ROOT / "corpus").iterdir() if p.is_dir())


def run_diff(*args, suites=False):
    """The command from the repository root; the test suites left out
    unless asked for, so the case counts here are the corpus's."""
    done = cli("policy", "diff", *args, *(() if suites else ("--no-suites",)), cwd=ROOT)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def where(path: Path, text: str) -> str:
    """file:line:col of the first line holding `text` (col: its first non-space)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return f"{path}:{number}:{len(line) - len(line.lstrip()) + 1}"
    raise AssertionError(f"{text!r} not in {path}")


def test_identical_policies_change_nothing(rules_copy):
    code, out, err = run_diff("rules", rules_copy, "--corpus", "corpus", "--corpus", "examples", "--exit-code")
    assert (code, without_fallback_note(err)) == (0, "")
    total = len(CORPUS_SETS) + len(list((ROOT / "examples").iterdir()))
    assert out.splitlines()[-1] == f"no behaviour change: no rule changes meaning, and {total} of {total} cases recover the same"


def test_a_changed_strategy_names_the_property_its_line_and_the_cases(rules_copy):
    info = rules_copy / "visitor-info.yaml"
    edit(info, "  departmentId:\n    strategy: agentOverrideVisitor", "  departmentId:\n    strategy: visitorOverrideAgent")
    code, out, _ = run_diff("rules", rules_copy, "--corpus", "examples")
    assert code == 0
    assert f"{where(info, 'departmentId:')}: departmentId: strategy agentOverrideVisitor -> visitorOverrideAgent" in out
    assert 'examples/agents-disagree: $.visitor.info.departmentId: "dep-billing" -> "dep-support"' in out
    assert 'examples/prechat-visitor: $.visitor.info.departmentId: "dep-enterprise" -> "dep-sales"' in out
    assert "examples/plain-visitor:" not in out
    assert out.splitlines()[-1] == "behaviour changes: 1 rule change, 3 of 6 cases recover differently (6 values)"
    assert run_diff("rules", rules_copy, "--corpus", "examples", "--exit-code")[0] == 1


def test_a_changed_strategy_definition_lists_every_property_it_affects(rules_copy):
    strategies = rules_copy / "strategies.yaml"
    edit(
        strategies,
        "  agentOnly:\n    seed: agent only\n    from: [agent]",
        "  agentOnly:\n    seed: agent only\n    from: [agent, visitor]",
    )
    code, out, _ = run_diff("rules", rules_copy)
    line = next(l for l in out.splitlines() if ": agentOnly: " in l)
    assert line.startswith(
        where(strategies, "agentOnly:")
        + ": agentOnly: from [agent], pick priority -> from [agent, visitor], pick priority; affects 24: "
    )
    assert "ticketId" in line and "ifEnterQueue" in line


def test_a_changed_action_rule_is_named_and_chat_cases_change(rules_copy):
    actions = rules_copy / "chat-actions.yaml"
    edit(
        actions,
        "    add: {currentAgents: $sender.id}\n    status: chatting\n",
        "    add: {currentAgents: $sender.id}\n    status: transferring\n",
    )
    edit(
        actions,
        "    on: agentStopChat\n    remove: {currentAgents: $sender.id}",
        "    on: agentStopChat\n    set: {assignee: $sender.id}",
    )
    code, out, _ = run_diff("rules", rules_copy, "--corpus", "corpus", "--exit-code")
    assert code == 1
    assert f"{where(actions, 'agentAcceptChat:')}: agentAcceptChat: status chatting -> transferring" in out
    stop = where(actions, "agentStopChat:")
    assert f'{stop}: agentStopChat: effect removed: remove currentAgents "$sender.id"' in out
    assert f'{stop}: agentStopChat: new effect: set assignee "$sender.id"' in out
    assert 'corpus/chatting-with-agent: $.visitor.status: "chatting" -> "transferring"' in out
    assert 'corpus/ended-two-wrapups: $.chat.state.currentAgents: ["a-1"] -> ["a-1","a-2"]' in out
    assert 'corpus/ended-two-wrapups: $.chat.state.assignee: null -> "a-2"' in out
    assert "corpus/transfer-refused:" not in out  # a later rule decides its status


def test_description_comment_and_order_edits_change_no_behaviour(rules_copy):
    info = rules_copy / "visitor-info.yaml"
    edit(info, "en: the visitor's browser", "en: which browser the visitor uses")
    edit(info, "  zh: 访客的浏览器", "  zh: 访客使用的浏览器")
    edit(rules_copy / "chat-actions.yaml", "# The chat state before the first message.", "# Where every chat starts.")
    strategies = rules_copy / "strategies.yaml"
    text = strategies.read_text(encoding="utf-8")
    head, _, rest = text.partition("  specify:\n")
    specify, _, others = rest.partition("  any:\n")
    strategies.write_text(head + "  any:\n" + others.rstrip("\n") + "\n  specify:\n" + specify, encoding="utf-8")
    assert cr.load_policy(rules_copy).digest != cr.load_policy().digest
    code, out, _ = run_diff("rules", rules_copy, "--corpus", "corpus", "--exit-code")
    assert code == 0, out
    assert "Rule changes that change behaviour" not in out and "Recoveries that differ" not in out
    for name in ("chat-actions.yaml", "strategies.yaml", "visitor-info.yaml"):
        assert f"{rules_copy}/{name}: file: descriptions, comments or order edited; no rule changed" in out
    assert out.splitlines()[-1].startswith("no behaviour change:")


def test_a_renamed_strategy_with_the_same_definition_is_no_behaviour_change(rules_copy):
    edit(rules_copy / "strategies.yaml", "  agentOnly:\n", "  agentSideOnly:\n")
    edit(rules_copy / "visitor-info.yaml", "strategy: agentOnly", "strategy: agentSideOnly", count=22)
    edit(rules_copy / "chat-props.yaml", "strategy: agentOnly", "strategy: agentSideOnly", count=2)
    code, out, _ = run_diff("rules", rules_copy, "--exit-code")
    assert code == 0, out
    assert "agentSideOnly: renamed from agentOnly (same definition)" in out
    assert "ticketId: strategy agentOnly -> agentSideOnly (same definition)" in out


def test_a_report_one_policy_refuses_is_a_changed_case(rules_copy, tmp_path):
    edit(rules_copy / "visitor-status.yaml", "statuses:\n", "statuses:\n  onHold:\n    recoverAs: inSite\n")
    corpus = tmp_path / "uploads" / "on-hold"
    corpus.mkdir(parents=True)
    (corpus / "1-visitor.yaml").write_text(
        "visitorId: v-1\nsource: {type: visitor}\nsentAt: '2026-11-24T09:00:00Z'\nvisitor: {status: onHold}\n"
    )
    code, out, _ = run_diff("rules", rules_copy, "--corpus", tmp_path / "uploads", "--format", "json")
    data = json.loads(out)
    assert [c["message"] for c in data["structural"]] == ["new status, recovered as inSite"]
    (case,) = data["cases"]
    (change,) = case["changes"]
    assert change["path"] == "$" and change["new"] == "recovered"
    assert change["old"].startswith("rejected: ") and "onHold" in change["old"]


def test_json_is_plain_data_with_counts(rules_copy):
    client = rules_copy / "client.yaml"
    edit(client, "do: keepHeartbeat, seconds: 180}", "do: keepHeartbeat, seconds: 300}")
    code, out, _ = run_diff("rules", rules_copy, "--corpus", "examples", "--format", "json")
    data = json.loads(out)
    assert data["summary"] == {
        "behaviourChanges": 1,
        "otherChanges": 0,
        "cases": 6,
        "casesChanged": 1,
        "valuesChanged": 1,
        "behaviourChanged": True,
    }
    file, line, col = where(client, "  chatEnded:").rsplit(":", 2)
    assert data["structural"] == [
        {
            "file": file,
            "line": int(line),
            "col": int(col),
            "area": "client rule",
            "kind": "behaviour",
            "subject": "chatEnded",
            "message": "to visitor: keepHeartbeat seconds 180 -> seconds 300",
        }
    ]
    ended = next(c for c in data["cases"] if c["name"] == "examples/chat-ended")
    assert ended["changes"] == [
        {"path": "$.directives['visitor keepHeartbeat'].seconds", "old": 180, "new": 300, "oldAbsent": False, "newAbsent": False}
    ]
    assert all(c["changes"] == [] for c in data["cases"] if c is not ended)


def test_markdown_for_a_pull_request(rules_copy):
    edit(
        rules_copy / "visitor-status.yaml",
        "  systemProcessing:\n    recoverAs: waitingForChat",
        "  systemProcessing:\n    recoverAs: inSite",
    )
    code, out, _ = run_diff("rules", rules_copy, "--corpus", "corpus", "--format", "markdown")
    assert out.startswith(f"### Policy diff: `rules` -> `{rules_copy}`\n\n**behaviour changes: 1 rule change, 0 of 11 cases")
    assert "| where | what | change |" in out
    assert "| systemProcessing | recovered as waitingForChat -> inSite |" in out


def test_a_broken_new_policy_exits_3_with_its_positions(rules_copy):
    edit(rules_copy / "visitor-info.yaml", "strategy: agentOverrideVisitor", "strategy: agentOverideVisitor")
    code, out, err = run_diff("rules", rules_copy, "--corpus", "corpus")
    assert (code, out) == (3, "")
    assert f"{rules_copy}/visitor-info.yaml:" in err and "did you mean 'agentOverrideVisitor'" in err
    assert re.match(rf"{re.escape(str(rules_copy))}/visitor-info.yaml:\d+:\d+: error\[unknown-strategy\]: unknown strategy", err)


def test_a_bad_corpus_or_now_is_named(tmp_path):
    assert run_diff("rules", "rules", "--corpus", tmp_path / "nowhere")[::2] == (
        1,
        f"chat-recovery: {tmp_path}/nowhere: no such corpus directory\n",
    )
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "1-visitor.json").write_text("{not json")
    code, _, err = run_diff("rules", "rules", "--corpus", tmp_path / "set")
    assert code == 1 and err.startswith(f"chat-recovery: {tmp_path}/set/1-visitor.json: invalid JSON at line 1")
    assert run_diff("rules", "rules", "--now", "yesterday")[0] == 1


def test_suite_cases_are_compared_through_the_seam(rules_copy):
    """The shape `policy_tests.load_suites` returns: suites holding cases."""
    edit(
        rules_copy / "visitor-info.yaml",
        "  name:\n    strategy: visitorOverrideAgent",
        "  name:\n    strategy: agentOverrideVisitor",
    )
    reports = [
        {
            "visitorId": "v-1",
            "source": {"type": "visitor"},
            "sentAt": "2026-11-24T09:00:00Z",
            "visitor": {"info": {"name": "Ann"}},
        },
        {
            "visitorId": "v-1",
            "source": {"type": "agent", "id": "a-1"},
            "sentAt": "2026-11-24T09:00:01Z",
            "visitor": {"info": {"name": "Bob"}},
        },
    ]
    case = SimpleNamespace(
        name="name: the visitor wins", file="rules/tests/info.test.yaml", line=12, reports=reports, now=NOW, expect={}
    )
    cases = cases_from_suites([SimpleNamespace(cases=[case])])
    result = diff(cr.load_policy(), cr.load_policy(rules_copy), cases)
    (changed,) = result.changed_cases
    assert changed.case.name == "rules/tests/info.test.yaml:12: name: the visitor wins"
    assert [(c.path, c.old, c.new) for c in changed.changes][0] == ("$.visitor.info.name", "Ann", "Bob")


@pytest.mark.parametrize("name", CORPUS_SETS)
def test_every_corpus_set_is_valid_and_recovers(name, report_schema, policy):
    folder = ROOT / "corpus" / name
    files = sorted(p for p in folder.iterdir() if p.suffix in (".json", ".yaml"))
    assert files and (folder / "README").read_text().strip()
    validator = Draft202012Validator(report_schema)
    reports = []
    for path in files:
        report = parse_bytes(path.read_bytes(), path.name)
        assert not list(validator.iter_errors(report)), path
        reports.append(report)
    recovery = cr.recover(policy, reports, NOW)
    assert recovery["chat"] is not None and recovery["visitor"]["status"]


def test_the_policy_test_suites_are_cases_too(rules_copy):
    """The shipped suites are cases of the diff, beside the corpus."""
    edit(
        rules_copy / "visitor-info.yaml",
        "  departmentId:\n    strategy: agentOverrideVisitor",
        "  departmentId:\n    strategy: visitorOverrideAgent",
    )
    code, out, err = run_diff("rules", rules_copy, "--format", "json", suites=True)
    assert (code, without_fallback_note(err)) == (0, "")
    cases = json.loads(out)["cases"]
    assert any(".test.yaml:" in c["name"] for c in cases)
    changed = {c["name"]: c["changes"] for c in cases if c["changes"]}
    assert any(
        "visitor-info.test.yaml:" in name
        and "department id (departmentId): agent override visitor" in name
        and {"path": "$.visitor.info.departmentId", "old": "support", "new": "sales", "oldAbsent": False, "newAbsent": False}
        in changes
        for name, changes in changed.items()
    ), changed


def test_an_invariant_change_is_listed_apart_from_behaviour(rules_copy):
    invariants = rules_copy / "invariants.yaml"
    edit(invariants, "actions: [visitorRequestChat, requestChatToBot]", "actions: [visitorRequestChat]")
    code, out, _ = run_diff("rules", rules_copy, "--corpus", "corpus", "--exit-code")
    assert code == 0, out
    assert "Invariant changes (what `policy check` proves):\n" in out
    assert (
        f'{where(invariants, "waitingOnlyByARequest:")}: waitingOnlyByARequest: actions ["requestChatToBot", "visitorRequestChat"] -> ["visitorRequestChat"]'
        in out
    )
    assert out.splitlines()[-1].startswith("no behaviour change:")


def test_a_new_version_in_the_manifest_is_no_behaviour_change(rules_copy):
    manifest = rules_copy / "policy.yaml"
    edit(manifest, 'version: "2026.11.24"', 'version: "2026.11.25"')
    code, out, _ = run_diff("rules", rules_copy, "--corpus", "corpus", "--exit-code")
    assert code == 0, out
    at = where(manifest, 'version: "2026')
    assert f'{at}: version: policy version "2026.11.24" -> "2026.11.25"' in out
    assert f"{manifest}: file:" not in out
    assert out.splitlines()[-1].startswith("no behaviour change:")


def test_other_chats_compare_by_id_without_rule_locations(rules_copy):
    """A copy of the policy in another directory changes nothing, though each
    other chat's directives name client.yaml by its path; a changed client rule
    is named in the other chat it changes."""
    code, out, err = run_diff("rules", rules_copy, "--exit-code", suites=True)
    assert (code, without_fallback_note(err)) == (0, ""), out
    edit(rules_copy / "client.yaml", "      - {to: agents, do: recoverChat}\n", "")
    code, out, _ = run_diff("rules", rules_copy, suites=True)
    assert "$.otherChats['c-old'].directives['agent a-7 recoverChat']: " in out, out
