"""`chat-recovery policy docs`: the policy as the seed's tables, and the
committed docs/policy.md kept fresh."""

import re

import yaml

from conftest import ROOT, cli, edit

DOCS = ROOT / "docs" / "policy.md"
REGENERATE = "chat-recovery policy docs rules --out docs/policy.md"


def docs_of(directory=None):
    done = cli("policy", "docs", *([directory] if directory else []))
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8")


def test_committed_docs_are_fresh():
    fresh = docs_of(ROOT / "rules")
    assert DOCS.read_text(encoding="utf-8") == fresh, f"docs/policy.md is stale: run `{REGENERATE}` at the repository root"


def test_the_default_policy_and_its_directory_give_the_same_page():
    assert docs_of() == docs_of(ROOT / "rules") == docs_of(f"{ROOT / 'rules'}/")


def test_tables_in_the_seed_shape_with_both_languages(policy):
    page = docs_of()
    for heading in (
        "## Strategies",
        "## Visitor info (`visitor.info`)",
        "## Chat props (`chat.props`)",
        "## Visitor statuses",
        "## Action rules",
        "## Client rules",
    ):
        assert heading in page
    assert "| property | seed | strategy | when | description zh | en |" in page
    assert (
        "| `customVariables` | custom variable | `visitorOverrideAgent` | merged key by key | 访客的变量, 按照每一个具体的变量覆盖 |"
        in page
    )
    assert "| `systemProcessing` | system processing | waitingForChat |" in page
    assert "| `outOfSite` | out of site | (not recovered) |" in page
    assert (
        "| `agentAcceptTransfer` | `agentAcceptTransfer` | status not in [chatEnded, refusedByAgent] | transferBeginTime = null; currentAgents -= $data.fromAgentId; currentAgents += $sender.id | chatting |"
        in page
    )
    rows = set(re.findall(r"^\| `(\w+)` \|", page, re.M))
    missing = [r.name for r in (*policy.info, *policy.chat_props)] + list(policy.statuses) + [r.name for r in policy.chat.rules]
    assert [name for name in missing if name not in rows] == []


def test_a_changed_strategy_shows_in_the_docs(rules_copy):
    edit(rules_copy / "visitor-info.yaml", "  browser:\n    strategy: any", "  browser:\n    strategy: visitorOnly")
    assert "| `browser` | browser | `visitorOnly` |" in docs_of(rules_copy)


def test_check_passes_on_a_fresh_copy_and_fails_on_a_stale_one(tmp_path, rules_copy):
    out = tmp_path / "policy.md"
    assert cli("policy", "docs", rules_copy, "--out", out).returncode == 0
    written = out.read_bytes()
    fresh = cli("policy", "docs", rules_copy, "--out", out, "--check")
    assert fresh.returncode == 0 and fresh.stdout.decode() == f"{out}: up to date\n"
    edit(rules_copy / "chat-props.yaml", "strategy: agentOnly", "strategy: visitorOnly")
    stale = cli("policy", "docs", rules_copy, "--out", out, "--check")
    assert stale.returncode == 1
    assert stale.stderr.decode() == (
        f"{out}: stale: the policy changed since it was generated; "
        f"regenerate it with `chat-recovery policy docs {rules_copy} --out {out}`\n"
    )
    assert out.read_bytes() == written  # --check writes nothing


def test_check_on_a_missing_file_fails(tmp_path):
    done = cli("policy", "docs", "--out", tmp_path / "nowhere.md", "--check")
    assert done.returncode == 1 and ": missing: " in done.stderr.decode()


def test_check_needs_out():
    done = cli("policy", "docs", "--check")
    assert done.returncode == 2 and "--check needs --out FILE" in done.stderr.decode()


def test_a_broken_policy_writes_nothing_and_says_where(tmp_path, rules_copy):
    edit(rules_copy / "visitor-info.yaml", "  browser:\n    strategy: any", "  browser:\n    strategy: anny")
    out = tmp_path / "policy.md"
    done = cli("policy", "docs", rules_copy, "--out", out)
    assert done.returncode == 3 and not out.exists()
    assert re.search(
        r"visitor-info\.yaml:\d+:\d+: error\[unknown-strategy\]: unknown strategy 'anny' \(did you mean 'any'\?\)",
        done.stderr.decode(),
    )
    assert "Traceback" not in done.stderr.decode()


def test_an_optional_kind_the_policy_lacks_is_left_out(rules_copy):
    assert "## Policy\n" in docs_of(rules_copy)
    (rules_copy / "policy.yaml").unlink()
    page = docs_of(rules_copy)
    assert "## Policy\n" not in page and "## Strategies" in page


def test_invariants_read_as_sentences():
    page = cli("policy", "docs").stdout.decode()
    assert "| `chatEndedIsTerminal` | `chatEnded`: once reached, no later message changes the status |" in page
    assert "| `refusedNeverWaitsAgain` | once `refusedByAgent`, never `waitingForChat` after |" in page


def test_each_reading_names_rules_that_exist():
    """docs/policy.md "Readings" (rules/readings.md): every row names the
    rules that make its reading, and each named rule is in its rule file."""
    readings = (ROOT / "rules" / "readings.md").read_text(encoding="utf-8")
    rows = [line for line in readings.splitlines() if line.startswith("| ") and not line.startswith(("| reading |", "| - |"))]
    assert len(rows) >= 10
    named = {}
    for row in rows:
        refs = re.findall(r"`([\w-]+\.yaml)#(\w+)`", row)
        assert refs, f"a reading that names no rule: {row[:80]}"
        for file, name in refs:
            named.setdefault(file, set()).add(name)
    for file, names in named.items():
        data = yaml.safe_load((ROOT / "rules" / file).read_text(encoding="utf-8"))
        defined = {key for section in data.values() if isinstance(section, dict) for key in section}
        assert names - defined == set(), file
    assert "## Readings" in docs_of()
