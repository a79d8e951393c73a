"""`chat-recovery policy test` end to end: the shipped suites pass on both
engines and cover the seed and every rule; a changed policy, a broken suite
and low coverage each fail the way a product owner or CI needs to see."""

import functools
import json
import re
import shutil

import pytest

from chat_recovery.authoring.suites import SuiteError, load_suites, measure, run_suites
from conftest import ROOT, cli, edit
from seed_tables import ACTION_STATE, ACTION_STATUS, CHAT_PROPS, CLIENT, STATUSES, VISITOR_INFO

SUITES = ROOT / "rules" / "tests"

ONE_CASE = """\
# yaml-language-server: $schema=../../schemas/policy-test.schema.json
kind: policyTests
defaults: {now: "2026-11-24T09:00:30Z", visitorId: v-1}
tests:
  - name: "name: the visitor's value beats the agent's"
    seed: "visitor info: name"
    reports:
      - {source: {type: visitor}, sentAt: "2026-11-24T09:00:01Z", visitor: {info: {name: Ann}}}
      - {source: {type: agent, id: a-1}, sentAt: "2026-11-24T09:00:05Z", visitor: {info: {name: Bob}}}
    expect:
      $.visitor.info.name: Ann
"""


def only_suite(rules, text, name="mine.test.yaml"):
    """Replace a copied policy's suites with one suite file."""
    shutil.rmtree(rules / "tests")
    (rules / "tests").mkdir()
    (rules / "tests" / name).write_text(text, encoding="utf-8")
    return rules / "tests" / name


def out(run):
    return run.stdout.decode() + run.stderr.decode()


def test_shipped_suites_pass_with_full_coverage_on_the_python_engine():
    run = cli("policy", "test", "rules", "--engine", "python", "--min-coverage", "100", cwd=ROOT)
    assert run.returncode == 0, out(run)
    assert re.search(r"^rules/tests: (\d+) passed, 0 failed \(\1 cases in \d+ suites\)$", run.stdout.decode(), re.M)
    assert "coverage: 100.0% (" in run.stdout.decode()


def test_shipped_suites_pass_on_durable_rules():
    pytest.importorskip("durable.engine", exc_type=ImportError)
    run = cli("policy", "test", "rules", "--engine", "durable", cwd=ROOT)
    assert run.returncode == 0, out(run)


def test_without_a_directory_the_bundled_policy_and_its_suites_are_tested(tmp_path):
    run = cli("policy", "test", cwd=tmp_path)
    assert run.returncode == 0, out(run)
    assert " 0 failed " in run.stdout.decode()


@functools.cache
def seed_references() -> frozenset:
    refs = set()
    for suite in load_suites(SUITES):
        for case in suite.cases:
            refs.update(case.seed)
    return frozenset(refs)


@pytest.mark.parametrize(
    "table,rows",
    [
        ("visitor info", VISITOR_INFO),
        ("visitor status", STATUSES),
        ("chat props", CHAT_PROPS),
        ("chat state", ACTION_STATE),
        ("chat status", ACTION_STATUS),
        ("client", CLIENT),
    ],
)
def test_every_seed_row_is_named_by_a_shipped_case(table, rows):
    missing = [row for row in rows if f"{table}: {row}" not in seed_references()]
    assert missing == []


def test_every_seed_reference_names_a_real_row():
    tables = {
        "visitor info": VISITOR_INFO,
        "visitor status": STATUSES,
        "chat props": CHAT_PROPS,
        "chat state": ACTION_STATE,
        "chat status": ACTION_STATUS,
        "client": CLIENT,
    }
    for ref in seed_references():
        table, _, row = ref.partition(": ")
        assert row in tables.get(table, ()), ref


def test_shipped_suites_exercise_every_rule(policy):
    coverage = measure(policy, run_suites(policy, load_suites(SUITES), "python"))
    assert [str(i) for i in coverage.missing] == [] and coverage.percent == 100.0


def test_suites_are_not_read_as_rule_files_and_name_their_schema(rules_copy):
    (rules_copy / "tests" / "broken.test.yaml").write_text("kind: [\n", encoding="utf-8")
    assert cli("policy", "check", rules_copy).returncode == 0
    for suite in SUITES.glob("*.test.yaml"):
        first = suite.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../schemas/policy-test.schema.json"


def test_a_changed_strategy_fails_naming_expected_actual_and_the_deciding_rule(rules_copy, tmp_path):
    info = rules_copy / "visitor-info.yaml"
    edit(info, "  name:\n    strategy: visitorOverrideAgent", "  name:\n    strategy: agentOverrideVisitor")
    line = info.read_text(encoding="utf-8").splitlines().index("  name:") + 1
    assert cli("policy", "check", rules_copy).returncode == 0  # a valid policy, with other behaviour
    run = cli("policy", "test", rules_copy, "--engine", "python", cwd=tmp_path)
    assert run.returncode == 1, out(run)
    failed = [l for l in run.stdout.decode().splitlines() if ": error[test-failed]: " in l]
    assert len(failed) == 1, failed
    assert re.match(
        r"^.*/rules/tests/visitor-info\.test\.yaml:\d+:7: error\[test-failed\]: name: visitor override agent", failed[0]
    )
    assert (
        f'$.visitor.info.name: expected "Ann", got "Bob"; decided by {rules_copy}/visitor-info.yaml:{line}:3 (strategy agentOverrideVisitor, from agent a-1'
        in failed[0]
    )
    assert re.search(r": \d+ passed, 1 failed \(", run.stdout.decode())


def test_k_runs_only_the_cases_whose_name_contains_the_text(rules_copy):
    only_suite(
        rules_copy,
        ONE_CASE + ONE_CASE.split("tests:\n")[1].replace("beats the agent's", "is kept").replace("name: Ann\n", "name: Bob\n"),
    )
    assert cli("policy", "test", rules_copy).returncode == 1
    run = cli("policy", "test", rules_copy, "-k", "beats")
    assert run.returncode == 0 and ": 1 passed, 0 failed (1 case in 1 suite)" in run.stdout.decode()


def test_a_typo_in_a_suite_is_a_located_error_with_did_you_mean(rules_copy):
    suite = only_suite(rules_copy, ONE_CASE.replace("    expect:", "    expcet:"))
    run = cli("policy", "test", rules_copy)
    assert run.returncode == 1
    assert f"{suite}:10:5: error[unknown-key]: unknown key 'expcet' (did you mean 'expect'?)" in run.stdout.decode().splitlines()
    assert "Traceback" not in out(run)


@pytest.mark.parametrize(
    "text,where,message",
    [
        (
            ONE_CASE.replace("$.visitor.info.name: Ann", "$.visitor..name: Ann"),
            "11:7",
            "[bad-path]: expected a name after '.' in '$.visitor..name'",
        ),
        (
            ONE_CASE.replace('now: "2026-11-24T09:00:30Z", ', ""),
            "5:5",
            "[no-now]: no `now`: give it in the case or under `defaults`",
        ),
        (
            ONE_CASE.replace(
                "      - {source: {type: visitor}", "      - {file: nowhere.json}\n      - {source: {type: visitor}"
            ),
            "8:16",
            "[no-file]: cannot read report file 'nowhere.json'",
        ),
        (
            ONE_CASE + ONE_CASE.split("tests:\n")[1],
            "12:11",
            "[duplicate-case]: duplicate case name \"name: the visitor's value beats the agent's\" (first at 5:11)".replace(
                '"', "'"
            ),
        ),
        (
            ONE_CASE.replace("kind: policyTests", "kind: policyTest"),
            "2:7",
            "[no-kind]: a test suite is a mapping with `kind: policyTests`",
        ),
        ("kind: policyTests\ntests: [\n", "3:1", "[yaml-syntax]: invalid YAML"),
    ],
)
def test_suite_problems_are_located(rules_copy, text, where, message):
    suite = only_suite(rules_copy, text)
    run = cli("policy", "test", rules_copy)
    assert run.returncode == 1
    assert f"{suite}:{where}: error{message}" in run.stdout.decode(), out(run)


def test_low_coverage_fails_with_min_coverage(rules_copy):
    only_suite(rules_copy, ONE_CASE)
    assert cli("policy", "test", rules_copy).returncode == 0
    run = cli("policy", "test", rules_copy, "--min-coverage", "50")
    assert run.returncode == 1
    text = run.stdout.decode()
    assert re.search(r"^coverage: \d+\.\d% \(\d+ of \d+ rules and table rows exercised\)$", text, re.M)
    assert re.search(r"^coverage \d+\.\d% is below --min-coverage 50$", text, re.M)
    assert f"{rules_copy}/visitor-info.yaml:" in text and ": not covered: property 'visitor.info.browser'" in text
    assert f"{rules_copy}/client.yaml:" in text and "not covered: client rule 'chatEnded'" in text
    assert "not covered: property 'visitor.info.name'" not in text


def test_a_policy_that_does_not_load_exits_3(rules_copy):
    edit(rules_copy / "visitor-info.yaml", "strategy: visitorOnly", "strategy: vistiorOnly")
    run = cli("policy", "test", rules_copy)
    assert run.returncode == 3
    assert "unknown strategy 'vistiorOnly' (did you mean 'visitorOnly'?)" in run.stderr.decode()


def test_no_suites_is_a_failure_not_a_silent_pass(rules_copy):
    shutil.rmtree(rules_copy / "tests")
    run = cli("policy", "test", rules_copy)
    assert run.returncode == 1 and "no such suite file or folder" in run.stdout.decode()


def test_expect_error_passes_only_for_the_named_error(rules_copy):
    bad = ONE_CASE.replace("visitor: {info: {name: Ann}}", "visitor: {info: {nmae: Ann}}").replace(
        "    expect:\n      $.visitor.info.name: Ann\n", "    expectError: \"unknown key 'nmae' (did you mean 'name'?)\"\n"
    )
    only_suite(rules_copy, bad)
    assert cli("policy", "test", rules_copy).returncode == 0
    suite = only_suite(rules_copy, bad.replace("(did you mean 'name'?)", "(did you mean 'email'?)"))
    run = cli("policy", "test", rules_copy)
    assert run.returncode == 1 and f"{suite}:10:5: error[test-failed]: " in run.stdout.decode()
    assert "got error \"mine.test.yaml:8: $.visitor.info.nmae: unknown key 'nmae'" in run.stdout.decode().replace(
        str(suite.parent) + "/", ""
    )
    suite = only_suite(
        rules_copy, ONE_CASE.replace("    expect:\n      $.visitor.info.name: Ann\n", "    expectError: refused\n")
    )
    run = cli("policy", "test", rules_copy)
    assert run.returncode == 1 and 'expected an error containing "refused", got the reports recovered' in run.stdout.decode()


def test_recorded_reports_by_file_relative_to_the_suite(tmp_path):
    suite = tmp_path / "suites" / "recorded.test.yaml"
    suite.parent.mkdir()
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    suite.write_text(
        """\
kind: policyTests
defaults: {now: "2026-11-24T09:00:30Z"}
tests:
  - name: a refusal the visitor missed is delivered to it
    reports:
      - file: ../examples/chat-refused/1-visitor.json
      - file: ../examples/chat-refused/2-agent-a3.json
    expect:
      $.visitor.status: refusedByAgent
      $.directives[2].do: deliverMessage
""",
        encoding="utf-8",
    )
    run = cli("policy", "test", "--suites", "suites", cwd=tmp_path)
    assert run.returncode == 0, out(run)
    (case,) = load_suites(suite)[0].cases
    assert (case.name, case.file, case.line, case.now) == (
        "a refusal the visitor missed is delivered to it",
        str(suite),
        4,
        "2026-11-24T09:00:30Z",
    )
    assert case.reports[0]["source"] == {"type": "visitor"} and case.expect == {
        "$.visitor.status": "refusedByAgent",
        "$.directives[2].do": "deliverMessage",
    }


def test_load_suites_raises_every_problem_with_its_place(tmp_path):
    (tmp_path / "a.test.yaml").write_text(ONE_CASE.replace("    expect:", "    expcet:"), encoding="utf-8")
    with pytest.raises(SuiteError) as caught:
        load_suites(tmp_path)
    assert [(d.line, d.col, d.code) for d in caught.value.diagnostics] == [(10, 5, "unknown-key")]


def test_a_rule_position_is_compared_only_where_the_expectation_writes_it(rules_copy):
    case = ONE_CASE.replace("visitor: {info: {name: Ann}}", "visitor: {status: chatEnded}").replace(
        "$.visitor.info.name: Ann", "$.directives[0]: {to: {type: visitor}, do: recoverChat}"
    )
    only_suite(rules_copy, case)
    assert cli("policy", "test", rules_copy).returncode == 0
    only_suite(rules_copy, case.replace("do: recoverChat}", "do: recoverChat, rule: nowhere.yaml:1:1}"))
    run = cli("policy", "test", rules_copy)
    assert run.returncode == 1 and f"decided by {rules_copy}/client.yaml:" in run.stdout.decode()


def test_json_format_carries_failures_and_coverage(rules_copy):
    only_suite(rules_copy, ONE_CASE.replace("name: Ann\n", "name: Bob\n"))
    run = cli("policy", "test", rules_copy, "--format", "json", "--coverage")
    assert run.returncode == 1
    doc = json.loads(run.stdout)
    assert doc["ok"] is False and doc["summary"] == {"passed": 0, "failed": 1, "cases": 1, "suites": 1}
    (problem,) = doc["problems"]
    assert (problem["line"], problem["col"], problem["code"], problem["path"]) == (11, 7, "test-failed", "$.visitor.info.name")
    assert doc["coverage"]["total"] > doc["coverage"]["covered"] > 0 and doc["coverage"]["missing"][0]["file"].startswith(
        str(rules_copy)
    )


def test_github_format_annotates_the_failing_line(rules_copy):
    suite = only_suite(rules_copy, ONE_CASE.replace("name: Ann\n", "name: Bob\n"))
    run = cli("policy", "test", rules_copy, "--format", "github")
    assert run.stdout.decode().startswith(f"::error file={suite},line=11,col=7,title=test-failed::")


def test_recover_explain_names_the_client_rule_of_each_directive(tmp_path):
    run = cli(
        "recover",
        "--explain",
        "--now",
        "2026-11-24T09:00:30Z",
        *sorted((ROOT / "examples" / "chat-ended").glob("*.json")),
        cwd=ROOT,
    )
    recovery = json.loads(run.stdout)
    assert recovery["directives"]
    for i, directive in enumerate(recovery["directives"]):
        entry = recovery["explain"][f"$.directives[{i}]"]
        assert entry["rule"] == directive["rule"] and entry["rule"].startswith("rules/client.yaml:")
        assert entry["strategy"] in {"chatEnded", "unfinishedWrapup"}
