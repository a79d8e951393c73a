"""The optional policy manifest (policy.yaml): a name and version that every
recovery carries, and the policy's choice of action-rule engine."""

import json

import chat_recovery as cr
from conftest import NOW, cli, edit, report


def test_the_shipped_policy_names_itself(policy):
    stamp = cr.recover(policy, [report(visitor={"status": "preChat"})], NOW)["policy"]
    assert stamp["name"] == "default" and stamp["version"] and stamp["digest"] == policy.digest


def test_without_a_manifest_recoveries_carry_the_digest_only(rules_copy):
    (rules_copy / "policy.yaml").unlink()
    policy = cr.load_policy(rules_copy)
    assert cr.recover(policy, [report(visitor={"status": "preChat"})], NOW)["policy"] == {"digest": policy.digest}


def test_any_rule_file_change_changes_the_digest(rules_copy):
    before = cr.load_policy(rules_copy).digest
    edit(rules_copy / "client.yaml", "seconds: 180", "seconds: 120")
    assert cr.load_policy(rules_copy).digest != before


def test_the_manifest_picks_the_engine_and_the_cli_can_override(rules_copy, tmp_path):
    edit(rules_copy / "policy.yaml", "engine: auto", "engine: python")
    assert cr.load_policy(rules_copy).engine == "python"
    edit(rules_copy / "policy.yaml", "engine: python", "engine: pyhton")
    done = cli("policy", "check", rules_copy)
    assert done.returncode == 1
    assert (
        b"policy.yaml:8:9: error[bad-value]: 'pyhton' is not one of: auto, durable, compiled, python (did you mean 'python'?)"
        in done.stdout
    )
    edit(rules_copy / "policy.yaml", "engine: pyhton", "engine: python")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report(visitor={"status": "preChat"})))
    for flag in ([], ["--engine", "durable"]):
        done = cli("recover", "--now", NOW, "--policy", rules_copy, *flag, path)
        assert done.returncode in (0, 3), done.stderr  # 3: durable_rules does not import here (3.13)
        assert done.returncode == 0 or b"durable_rules does not import" in done.stderr


def test_a_second_manifest_is_an_error(rules_copy):
    (rules_copy / "policy-copy.yaml").write_text((rules_copy / "policy.yaml").read_text())
    done = cli("policy", "check", rules_copy)
    assert done.returncode == 1 and b"a second policy manifest" in done.stdout
