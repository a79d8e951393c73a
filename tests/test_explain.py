"""`recover --explain`: every decision in words, as JSON and as a table at a
terminal (run under a real pseudo-terminal) or in a pipe."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import chat_recovery as cr
from chat_recovery.cli.explain_table import BENEATH, ELLIPSIS, HEADERS, table
from chatlog import chat_report, log
from conftest import NOW, ROOT, cli, edit, report, without_fallback_note
from terminal import run_on_terminal

EXAMPLES = ROOT / "examples"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def explained(tmp_path, *reports, policy=None):
    """Run `recover --explain` on the reports as files; the explain map."""
    files = []
    for i, r in enumerate(reports):
        files.append(tmp_path / f"{i}.json")
        files[-1].write_text(json.dumps(r))
    extra = ["--policy", policy] if policy else []
    done = cli("recover", "--now", NOW, "--explain", *extra, *files)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["explain"]


def whys(entry):
    return [lost["why"] for lost in entry["lost"]]


def test_priority_names_the_side_the_strategy_prefers(tmp_path):
    entry = explained(
        tmp_path,
        report("agent", "2026-11-24T09:00:09Z", agent="a-7", visitor={"info": {"campaignId": "c-agent"}}),
        report("visitor", "2026-11-24T09:00:01Z", visitor={"info": {"campaignId": "c-visitor"}}),
    )["$.visitor.info.campaignId"]
    assert entry["value"] == "c-visitor" and entry["source"] == {"type": "visitor"}
    assert entry["lost"] == [
        {
            "source": {"type": "agent", "id": "a-7"},
            "sentAt": "2026-11-24T09:00:09Z",
            "value": "c-agent",
            "why": "agent a-7: visitorOverrideAgent prefers the visitor's value",
        }
    ]


def test_same_side_names_both_times(tmp_path):
    entry = explained(
        tmp_path,
        report("agent", "2026-11-24T09:00:05Z", agent="a-7", visitor={"info": {"ticketId": "T-new"}}),
        report("agent", "2026-11-24T09:00:01Z", agent="a-9", visitor={"info": {"ticketId": "T-old"}}),
    )["$.visitor.info.ticketId"]
    assert entry["value"] == "T-new"
    assert whys(entry) == ["agent a-9: older (sent 09:00:01, the winner 09:00:05)"]


def test_a_side_the_strategy_does_not_read(tmp_path):
    explain = explained(
        tmp_path,
        report("agent", agent="a-7", visitor={"info": {"visitedPageUrls": ["/a"], "ticketId": "T-1"}}),
        report("visitor", visitor={"info": {"visitedPageUrls": ["/b"], "ticketId": "T-2"}}),
    )
    assert whys(explain["$.visitor.info.visitedPageUrls"]) == [
        "agent a-7: not read, strategy visitorOnly reads visitor reports only"
    ]
    assert whys(explain["$.visitor.info.ticketId"]) == ["visitor: not read, strategy agentOnly reads agent reports only"]


def test_a_value_no_allowed_side_supplied_is_explained_as_withheld_without_its_value(tmp_path):
    entry = explained(tmp_path, report("visitor", visitor={"info": {"ssoId": "s-1"}}))["$.visitor.info.ssoId"]
    assert entry["recovered"] is False and entry["value"] is None
    assert entry["why"] == "withheld: strategy none reads no reports"
    assert whys(entry) == ["visitor: withheld: strategy none reads no reports"]
    assert [sorted(lost) for lost in entry["lost"]] == [["sentAt", "source", "why"]]  # who and when, never the value


def test_first_report_wins_names_who_came_later(tmp_path):
    entry = explained(
        tmp_path,
        report("visitor", "2026-11-24T09:00:09Z", visitor={"info": {"browser": "Firefox"}}),
        report("agent", "2026-11-24T09:00:01Z", agent="a-7", visitor={"info": {"browser": "Chrome"}}),
    )["$.visitor.info.browser"]
    assert entry["value"] == "Firefox"
    assert whys(entry) == ["first report wins (any): agent a-7 reported later"]


def test_latest_pick_on_a_tie_names_the_preferred_side(tmp_path, rules_copy):
    edit(rules_copy / "strategies.yaml", "strategies:\n", "strategies:\n  newestWins: {from: [visitor, agent], pick: latest}\n")
    edit(
        rules_copy / "visitor-info.yaml",
        "  departmentId:\n    strategy: agentOverrideVisitor",
        "  departmentId:\n    strategy: newestWins",
    )
    entry = explained(
        tmp_path,
        report("agent", "2026-11-24T09:00:05Z", agent="a-7", visitor={"info": {"departmentId": "d-agent"}}),
        report("visitor", "2026-11-24T09:00:05Z", visitor={"info": {"departmentId": "d-visitor"}}),
        report("agent", "2026-11-24T09:00:01Z", agent="a-9", visitor={"info": {"departmentId": "d-old"}}),
        policy=rules_copy,
    )["$.visitor.info.departmentId"]
    assert entry["value"] == "d-visitor" and entry["strategy"] == "newestWins"
    assert whys(entry) == [
        "agent a-7: sent at the same time as the winner, and newestWins prefers the visitor's value",
        "agent a-9: older (sent 09:00:01, the winner 09:00:05)",
    ]


def test_status_replaced_by_its_status_rule(tmp_path, policy):
    entry = explained(tmp_path, report("visitor", visitor={"status": "systemProcessing"}))["$.visitor.status"]
    assert entry["value"] == "waitingForChat" and entry["uploaded"] == "systemProcessing"
    assert entry["rule"] == str(policy.statuses["systemProcessing"].origin)
    assert entry["why"] == "uploaded systemProcessing is recovered as waitingForChat by status rule systemProcessing"


def test_status_decided_by_the_message_log_names_rule_and_message(tmp_path, policy):
    messages = log("visitorRequestChat", "agentAcceptChat")
    entry = explained(tmp_path, chat_report(messages, status="waitingForChat"))["$.visitor.status"]
    accept = next(r for r in policy.chat.rules if r.name == "agentAcceptChat")
    assert entry["value"] == "chatting" and entry["uploaded"] == "waitingForChat" and entry["strategy"] == "messageLog"
    assert (
        entry["why"]
        == f"the message log decides: message m-002 (agentAcceptChat), rule agentAcceptChat ({accept.origin}) sets chatting"
    )
    assert whys(entry) == ["agent a-7: uploaded waitingForChat, the message log decides"]


def test_a_property_whose_when_status_did_not_hold(tmp_path, rules_copy):
    edit(
        rules_copy / "visitor-info.yaml",
        "  latestWaitingForChatTime:\n    strategy: specify\n",
        "  latestWaitingForChatTime:\n    strategy: specify\n    when: {status: [waitingForChat]}\n",
    )
    explain = explained(tmp_path, report("visitor", visitor={"status": "inSite"}), policy=rules_copy)
    entry = explain["$.visitor.info.latestWaitingForChatTime"]
    assert entry["recovered"] is False
    assert (
        entry["why"]
        == "not recovered: latestWaitingForChatTime is recovered only when the status is in [waitingForChat], it is inSite"
    )


def test_each_message_names_the_rule_that_fired_or_why_none_did(tmp_path, policy):
    messages = log("visitorRequestChat", "visitorMessage", ("agentJoinChat", "agent", "a-5"))
    explain = explained(tmp_path, chat_report(messages[:2], side="visitor"), chat_report([messages[0]], agent="a-7"))
    request = next(r for r in policy.chat.rules if r.name == "visitorRequestChat")
    fired = explain["$.chat.messages['m-001']"]
    assert (fired["rule"], fired["strategy"], fired["value"]) == (str(request.origin), "visitorRequestChat", "visitorRequestChat")
    assert fired["why"] == "rule visitorRequestChat fired and set the status to waitingForChat"
    assert fired["heldBy"] == [{"type": "agent", "id": "a-7"}, {"type": "visitor"}]
    assert explain["$.chat.messages['m-002']"]["why"] == "no rule handles action visitorMessage"


def test_a_set_aside_message_says_why(tmp_path, rules_copy):
    """Trust mode senders keeps an untrusted message in the log, not replayed: explain says why."""
    edit(
        rules_copy / "chat-actions.yaml",
        "trust:\n  mode: holders\n",
        "trust:\n  mode: senders\n  sides: {visitor: [visitor, agent], agent: [agent], bot: [visitor, agent], system: [visitor, agent]}\n",
    )
    edit(
        rules_copy / "chat-actions.yaml",
        "    status: refusedByAgent\n",
        "    trust: [agent, visitor]\n    status: refusedByAgent\n",
    )
    messages = log("visitorRequestChat", ("agentJoinChat", "agent", "a-5"))
    explain = explained(
        tmp_path, chat_report(messages, side="visitor"), chat_report(messages[:1], agent="a-7"), policy=rules_copy
    )
    entry = explain["$.chat.messages['m-002']"]
    assert entry["rule"] is None and entry["strategy"] == "set aside"
    assert entry["why"].startswith("set aside: this agent message is believed from agent reports only")


def test_a_rule_whose_when_did_not_hold_is_named_with_what_it_needed(tmp_path, rules_copy):
    edit(
        rules_copy / "chat-actions.yaml",
        "    on: agentJoinChat\n",
        "    on: agentJoinChat\n    when: {status: [chatting, transferring]}\n",
    )
    messages = log("visitorRequestChat", ("agentJoinChat", "agent", "a-7"))
    explain = explained(tmp_path, chat_report(messages), policy=rules_copy)
    assert explain["$.chat.messages['m-002']"]["why"] == (
        "no rule's `when` held: rule agentJoinChat needs status in [chatting, transferring], it was waitingForChat"
    )


def test_chat_state_fields_name_the_last_rule_that_changed_them(tmp_path):
    messages = log("visitorRequestChat", "agentAcceptChat", ("agentJoinChat", "agent", "a-8"))
    explain = explained(tmp_path, chat_report(messages))
    assert explain["$.chat.state.currentAgents"]["value"] == ["a-7", "a-8"]
    assert explain["$.chat.state.currentAgents"]["why"] == "last changed by message m-003 (agentJoinChat): rule agentJoinChat"
    assert explain["$.chat.state.assignee"]["strategy"] == "initial"


def test_explain_off_changes_nothing_else():
    files = sorted((EXAMPLES / "chat-transferred").glob("*.json"))
    plain = json.loads(cli("recover", "--now", NOW, *files).stdout)
    full = json.loads(cli("recover", "--now", NOW, "--explain", *files).stdout)
    assert plain["explain"] == {} and len(full["explain"]) > 20
    assert {**full, "explain": {}} == plain


# --- the table, where a user sees it ----------------------------------------


def on_terminal(args, columns=100, rows=60, env_extra=None):
    """What the command printed on a terminal of the given size, one string
    per screen line."""
    code, seen = run_on_terminal(args, columns, rows, env_extra, timeout=300)
    assert code == 0
    return without_fallback_note(seen.decode("utf-8").replace("\r\n", "\n")).split("\n")


TABLE_ARGS = ("recover", "--now", NOW, "--format", "table", *sorted((EXAMPLES / "chat-transferred").glob("*.json")))


def test_table_on_a_terminal_fits_its_width_and_is_coloured():
    screen = on_terminal(TABLE_ARGS, columns=100)
    text = [ANSI.sub("", line) for line in screen]
    assert max(len(line) for line in text) <= 100
    assert any(ANSI.search(line) for line in screen)
    for title in ("visitor (", "chat props (", "chat state (", "messages (", "directives (", "conflicts ("):
        assert any(line.startswith(title) for line in text), title
    at = next(i for i, line in enumerate(text) if line.startswith("status "))
    assert "chatting" in text[at] and "chat-actions.yaml:" in text[at]
    # too narrow for a readable why column beside the others: the reasons go beneath their row, wrapped, not cut
    why = next(i for i in range(at, len(text)) if text[i].startswith(BENEATH + "the message log"))
    assert "the message log decides: message m-006 (agentAcceptTransfer), rule agentAcceptTransfer" in text[why]
    assert "".join(line.strip() for line in text[why : why + 2]).endswith("(rules/chat-actions.yaml:179:3) sets chatting")
    assert any(re.match(r"m-003 +visitorMessage +- ", line) for line in text)


def test_table_on_a_narrow_terminal_still_fits():
    text = [ANSI.sub("", line) for line in on_terminal(TABLE_ARGS, columns=60)]
    assert max(len(line) for line in text) <= 60


def column(table_text, name):
    """The non-empty pieces of one column (PATH or VALUE), line by line, in
    every section: what a reader sees in it, reasons beneath a row left out."""
    pieces, span = [], None
    for line in table_text.splitlines():
        if line.startswith("PATH "):
            start = line.index(name)
            span = (start, line.index(HEADERS[HEADERS.index(name) + 1]))
        elif not line.strip():
            span = None
        elif span and not re.match(rf"^{BENEATH}(  )?\S", line) and line[span[0] : span[1]].strip():
            pieces.append(line[span[0] : span[1]].strip())
    return pieces


def whole(pieces):
    return "".join("".join(pieces).split())


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
@pytest.mark.parametrize("width", [80, 60])
def test_every_value_and_path_appears_whole_at_a_narrow_width(policy, example, width):
    """Nothing in the value or path column is cut: read down the column, it holds every value (every path) of the unlimited table."""
    recovery = cr.recover(
        policy, [json.loads(p.read_text()) for p in sorted((EXAMPLES / example).glob("*.json"))], NOW, explain=True
    )
    unlimited, narrow = table(recovery), table(recovery, width)
    assert max(map(len, narrow.splitlines())) <= width and ELLIPSIS not in narrow
    for name in ("PATH", "VALUE"):
        assert whole(column(narrow, name)) == whole(column(unlimited, name)), name
    if width == 80:  # a value as long as a time keeps its line
        short = [value for value in column(unlimited, "VALUE") if len(value) <= len("2026-11-24T09:00:30Z")]
        assert short and all(value in column(narrow, "VALUE") for value in short)


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_a_long_path_wraps_at_its_separators_at_80_columns(policy, example):
    recovery = cr.recover(
        policy, [json.loads(p.read_text()) for p in sorted((EXAMPLES / example).glob("*.json"))], NOW, explain=True
    )
    pieces = iter(column(table(recovery, 80), "PATH"))
    for path in column(table(recovery), "PATH"):
        lines = [next(pieces)]
        while "".join(lines) != path:
            lines.append(next(pieces))
        for before, after in zip(lines, lines[1:]):
            assert before[-1] in "./" or after[0] == "[", (path, lines)


def test_values_are_whole_on_a_terminal_of_80_columns():
    """Where a user sees it: a pseudo-terminal 80 columns wide."""
    text = "\n".join(ANSI.sub("", line) for line in on_terminal(TABLE_ARGS, columns=80))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    exe = Path(sys.executable).with_name("chat-recovery")
    unlimited = subprocess.run([str(exe), *map(str, TABLE_ARGS)], capture_output=True, env=env, timeout=300).stdout.decode()
    assert max(map(len, text.splitlines())) <= 80 and ELLIPSIS not in text
    assert whole(column(text, "VALUE")) == whole(column(unlimited, "VALUE"))
    assert {"chatting", "2026-11-24T09:00:30Z", "dep-billing"} <= set(column(text, "VALUE"))


def test_no_color_turns_colour_off_on_a_terminal():
    screen = on_terminal(TABLE_ARGS, env_extra={"NO_COLOR": "1"})
    assert not any(ANSI.search(line) for line in screen)
    assert any(line.startswith("visitor (") for line in screen)


def test_table_in_a_pipe_has_no_colour_and_nothing_cut():
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    exe = Path(sys.executable).with_name("chat-recovery")
    done = subprocess.run([str(exe), *map(str, TABLE_ARGS)], capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "\x1b[" not in out and "…" not in out
    assert "the message log decides: message m-006 (agentAcceptTransfer), rule agentAcceptTransfer" in out
    assert "visitor: agentOverrideVisitor prefers the agent's value" in out


def test_explain_flag_still_takes_files_after_it(tmp_path):
    done = cli("recover", "--explain", "--now", NOW, *sorted((EXAMPLES / "plain-visitor").glob("*.json")))
    assert done.returncode == 0, done.stderr
    assert "$.visitor.info.browser" in json.loads(done.stdout)["explain"]


def test_an_unknown_format_is_a_usage_error():
    done = cli("recover", "--format", "tabel", EXAMPLES / "plain-visitor" / "1-visitor.json")
    assert done.returncode == 2
    assert "invalid choice: 'tabel'" in done.stderr.decode()
