"""`chat-recovery policy check` end to end: text, JSON and GitHub annotations;
exit 1 on errors (or on warnings with --strict); the shipped policy passes
clean. What each mistake must print is data: tests/golden/compile-errors."""

import json

import pytest

from conftest import ROOT, cli, edit


def check(*args):
    done = cli("policy", "check", *args)
    assert not done.stderr, done.stderr
    return done.returncode, done.stdout.decode().splitlines()


def add_rules(policy_dir, text):
    """Append action rules (the `rules:` mapping ends the file)."""
    path = policy_dir / "chat-actions.yaml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def line_of(path, needle):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number, line.index(needle.strip()) + 1
    raise AssertionError(needle)


def where(policy_dir, file, needle):
    line, col = line_of(policy_dir / file, needle)
    return f"{policy_dir}/{file}:{line}:{col}"


# --- the shipped policy ----------------------------------------------------


@pytest.mark.parametrize("strict", [[], ["--strict"]])
def test_shipped_policy_passes_with_no_warnings(strict):
    code, lines = check(*strict)
    assert code == 0
    assert lines == ["rules: ok (69 visitor properties, 5 chat props, 14 statuses, 8 invariants proved)"]


def test_shipped_policy_as_json_and_github():
    done = cli("policy", "check", "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout) == {"ok": True, "problems": []}
    code, lines = check("--format", "github")
    assert code == 0 and not any(line.startswith("::") for line in lines)


# --- warnings only: exit 0, or 1 with --strict -------------------------------

SHADOWED = """\
  lateAccept:
    on: agentAcceptChat
    priority: 5
    when: {sender.type: agent, status: {not: [chatEnded, refusedByAgent]}}
    status: chatting
"""


def test_strict_turns_warnings_into_a_failure_in_every_format(rules_copy):
    add_rules(rules_copy, SHADOWED)
    code, lines = check(rules_copy, "--strict")
    assert code == 1 and len(lines) == 1 and ": warning[never-fires]: rule 'lateAccept' never fires" in lines[0]
    done = cli("policy", "check", rules_copy, "--strict", "--format", "json")
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["ok"] is False
    (problem,) = report["problems"]
    line, col = line_of(rules_copy / "chat-actions.yaml", "  lateAccept:")
    assert problem == {
        "file": f"{rules_copy}/chat-actions.yaml",
        "line": line,
        "col": col,
        "severity": "warning",
        "code": "never-fires",
        "message": problem["message"],
        "path": "$.rules.lateAccept",
    }
    code, lines = check(rules_copy, "--strict", "--format", "github")
    assert code == 1 and lines == [
        f"::warning file={rules_copy}/chat-actions.yaml,line={line},col={col},title=never-fires::" + problem["message"]
    ]


def test_warnings_without_strict_still_say_ok_in_json(rules_copy):
    add_rules(rules_copy, SHADOWED)
    done = cli("policy", "check", rules_copy, "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["ok"] is True


def test_rules_that_only_fire_together_shadow_a_later_one(rules_copy):
    add_rules(
        rules_copy,
        """\
  acceptByVisitorSide:
    on: botStartChat
    priority: 1
    when: {sender.type: [visitor, bot]}
  acceptBySystem:
    on: botStartChat
    priority: 2
    when: {sender.type: [system, agent]}
  neverReached:
    on: botStartChat
    priority: 3
    when: {sender.id: b-1}
""",
    )
    edit(
        rules_copy / "chat-actions.yaml",
        "  botStartChat:\n    on: botStartChat\n",
        "  botStartChat:\n    on: botStartChat\n    when: {sender.id: b-0}\n",
    )
    code, lines = check(rules_copy)
    (line,) = [x for x in lines if "'neverReached'" in x]
    assert code == 0 and line.startswith(where(rules_copy, "chat-actions.yaml", "  neverReached:"))
    assert "rules 'acceptByVisitorSide'" in line and "'acceptBySystem'" in line and "come first for action 'botStartChat'" in line


def test_a_new_action_far_from_the_contracts_is_fine(rules_copy):
    add_rules(
        rules_copy,
        "  escalate:\n    on: agentEscalateToSupervisor\n    when: {status: {not: [chatEnded, refusedByAgent]}}\n    status: chatting\n",
    )
    edit(
        rules_copy / "chat-actions.yaml", "    - agentSentImage\n", "    - agentSentImage\n    - agentEscalateToSupervisor\n"
    )  # its actor
    assert check(rules_copy, "--strict")[0] == 0


# --- errors: exit 1 ------------------------------------------------------------


def test_a_broken_policy_in_every_format(rules_copy):
    edit(
        rules_copy / "chat-actions.yaml",
        '    set: {startTime: $time}\n    seed: {zh: "start time: bot start chat"',
        '    sett: {startTime: $time}\n    seed: {zh: "start time: bot start chat"',
    )
    at = where(rules_copy, "chat-actions.yaml", "sett:")
    code, lines = check(rules_copy)
    assert code == 1 and lines == [f"{at}: error[unknown-key]: unknown key 'sett' (did you mean 'set'?)"]
    done = cli("policy", "check", rules_copy, "--format", "json")
    assert done.returncode == 1 and json.loads(done.stdout)["ok"] is False
    file, line, col = at.rsplit(":", 2)
    assert check(rules_copy, "--format", "github") == (
        1,
        [
            f"::error file={file},line={line},col={col},title=unknown-key::unknown key 'sett' (did you mean 'set')?".replace(
                "')?", "'?)"
            )
        ],
    )


@pytest.mark.parametrize(
    "directive,message",
    [
        ("{to: visitor, do: restoreWrapup, wrapup: $wrapup}", "`wrapup: $wrapup` needs `when: {wrapup: true}`"),
        ("{to: wrapupAgent, do: restoreWrapup}", "`to: wrapupAgent` needs `when: {wrapup: true}`"),
        (
            "{to: visitor, do: deliverMessage, message: $message}",
            "`message: $message` needs `when: {action: ..., missingFrom: ...}`",
        ),
    ],
)
def test_a_directive_that_refers_to_what_its_condition_does_not_supply(rules_copy, directive, message):
    """Once a traceback in `recover` (a wrap-up directive without a wrap-up):
    now a load error, so the policy is refused before it runs."""
    edit(
        rules_copy / "client.yaml",
        "      - {to: agents, do: recoverChat}\n",
        f"      - {{to: agents, do: recoverChat}}\n      - {directive}\n",
    )
    code, lines = check(rules_copy)
    assert code == 1 and len(lines) == 1 and lines[0].endswith(": error[missing-condition]: " + message)
    assert lines[0].startswith(f"{rules_copy}/client.yaml:{line_of(rules_copy / 'client.yaml', directive)[0]}:")
    done = cli(
        "recover",
        "--now",
        "2026-11-24T09:00:30Z",
        "--policy",
        rules_copy,
        *sorted((ROOT / "examples" / "chat-ended").glob("*.json")),
    )
    assert done.returncode == 3 and b"Traceback" not in done.stderr and message.encode() in done.stderr


def test_github_annotations_escape_what_would_break_them(tmp_path):
    """A comma, colon or percent sign in a file name would end an annotation
    property early; GitHub's own escapes keep it whole."""
    import shutil

    odd = tmp_path / "my,rules:100%"
    shutil.copytree(ROOT / "rules", odd)
    edit(odd / "strategies.yaml", "    pick: first", "    pick: frist")
    code, lines = check(odd, "--format", "github")
    escaped = str(odd).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert code == 1 and len(lines) == 1
    assert (
        lines[0].startswith(f"::error file={escaped}/strategies.yaml,line=")
        and ",title=bad-value::'frist' is not one of: first" in lines[0]
    )
