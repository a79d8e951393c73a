"""A product owner's session, scripted: copy rules/, change one strategy,
and see what each policy tool says about it, through the installed command."""

import re

from conftest import ROOT, cli, edit


def test_copy_change_a_strategy_check_test_and_diff(rules_copy, tmp_path):
    info = rules_copy / "visitor-info.yaml"
    edit(info, "  departmentId:\n    strategy: agentOverrideVisitor", "  departmentId:\n    strategy: visitorOverrideAgent")
    line = info.read_text(encoding="utf-8").splitlines().index("  departmentId:") + 1

    check = cli("policy", "check", "--strict", rules_copy, cwd=tmp_path)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()  # still a valid policy

    test = cli("policy", "test", rules_copy, "--engine", "python", cwd=tmp_path)
    assert test.returncode == 1
    (failed,) = [l for l in test.stdout.decode().splitlines() if ": error[test-failed]: " in l]
    assert "visitor-info.test.yaml:" in failed and "department id (departmentId): agent override visitor" in failed
    assert (
        f'$.visitor.info.departmentId: expected "support", got "sales"; decided by {rules_copy}/visitor-info.yaml:{line}:3 (strategy visitorOverrideAgent, from visitor'
        in failed
    )

    diff = cli("policy", "diff", ROOT / "rules", rules_copy, cwd=tmp_path)
    assert diff.returncode == 0, diff.stderr.decode()
    assert re.search(
        rf"^{re.escape(str(rules_copy))}/visitor-info.yaml:{line}:3: departmentId: strategy agentOverrideVisitor -> visitorOverrideAgent",
        diff.stdout.decode(),
        re.M,
    ), diff.stdout.decode()
