"""`recover --format summary` and `make demo`: the outcome of each example
on one screen, the full recoveries in files."""

import json
import subprocess
import sys
from pathlib import Path

from conftest import NOW, ROOT, cli

EXAMPLES = ROOT / "examples"


def test_summary_gives_status_chat_agents_directives_and_conflicts_in_three_lines():
    done = cli("recover", "--now", NOW, "--format", "summary", *sorted((EXAMPLES / "chat-ended").glob("*.json")))
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == (
        "v-6006  chatEnded  chat c-6006 (6 messages), agent a-7\n"
        "  directives  visitor: recoverChat, keepHeartbeat 180 s; agent a-7: recoverChat, restoreWrapup\n"
        "  conflicts   none\n"
    )


def test_summary_names_each_conflict_and_a_visitor_with_no_chat():
    done = cli("recover", "--now", NOW, "--format", "summary", *sorted((EXAMPLES / "agents-disagree").glob("*.json")))
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == (
        "v-3003  inSite  no chat\n"
        "  directives  agent a-7: restoreWrapup\n"
        "  conflicts   5: visitor.info.browser, visitor.info.departmentId, visitor.info.customVariables.plan,\n"
        "              visitor.info.operatorComment, visitor.info.ticketId\n"
    )


def test_make_demo_shows_one_screen_and_writes_each_full_recovery(tmp_path):
    """Six examples in well under a screen of 50 lines; each <example>.json is what `recover` prints."""
    venv = Path(sys.prefix)
    made = subprocess.run(
        ["make", "-s", "-o", f"{venv}/bin/chat-recovery", "demo", f"VENV={venv}", f"DEMO_OUT={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    folders = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
    assert len(lines) < 50 and not any(line.startswith(("{", "}", '"')) for line in lines)
    assert [line.split(":")[0] for line in lines if line.startswith("== ") and "JSON" not in line] == [f"== {f}" for f in folders]
    assert lines[-1] == f"== the full recoveries (JSON): {tmp_path}/<example>.json"
    for folder in folders:
        full = json.loads((tmp_path / f"{folder}.json").read_text())
        assert full == json.loads(cli("recover", "--now", NOW, *sorted((EXAMPLES / folder).glob("*.json"))).stdout)
        assert f"{full['visitorId']}  {full['visitor']['status']}  " in made.stdout
