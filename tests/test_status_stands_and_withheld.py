"""Issue 15, cases 4, 5 and 7, as a chat server sees them through the CLI and
through the service: a status rule's `set:` happens only where that status
stands; latestWaitingForChatTime is now for every recovered visitor (the
seed's row has no condition); values the policy withholds are named by path
and rule, never shown."""

import json

import pytest

from chatlog import log
from conftest import NOW, cli, report
from service import Served

OLD_PRECHAT = "2026-11-24T08:40:00Z"
SSO = "sso-3c9f0e1d-unique"  # grepped for: it must appear nowhere in what comes out
LOCATION = {"lat": 48.8566, "lon": 2.3522, "tag": "location-5b7e2a-unique"}
SF_ERROR = "sf-error-81d4c6-unique"


def prechat_then_ended():
    """Case 4: the visitor uploads preChat, but its log ends the chat."""
    messages = log("visitorRequestChat", "systemChatEnded")
    return [
        report(
            "visitor",
            visitor={"status": "preChat", "info": {"latestPrechatTime": OLD_PRECHAT}},
            chat={"id": "c-1", "messages": messages},
        )
    ]


def offline_then_requested():
    """Case 4: the visitor uploads offlineMessage, but its log holds a request."""
    return [report("visitor", visitor={"status": "offlineMessage"}, chat={"id": "c-1", "messages": log("visitorRequestChat")})]


def withheld_reports():
    """Case 7: values the policy does not recover (strategy none), and one an
    agent-only property got from the visitor alone."""
    visitor_info = {"ssoId": SSO, "location": LOCATION, "errorMessageSfChatEnded": SF_ERROR, "sfUrl": "https://sf.example/v"}
    return [
        report("visitor", visitor={"status": "inSite", "info": {**visitor_info, "browser": "Firefox 132"}}),
        report("agent", "2026-11-24T09:00:05Z", agent="a-7", visitor={"info": {"ssoId": "sso-agent-copy-unique"}}),
    ]


def by_cli(tmp_path, reports, *flags):
    files = []
    for i, item in enumerate(reports):
        files.append(tmp_path / f"{i}.json")
        files[-1].write_text(json.dumps(item))
    done = cli("recover", "--now", NOW, *flags, *files)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def served():
    server = Served("--workers", "1", "--window", "60", "--log-level", "debug")
    yield server
    server.stop()


def by_service(served, reports, visitor_id):
    recovery = None
    for item in reports:
        got = served.client.post("/v1/reports", json={**item, "visitorId": visitor_id})
        assert got.status_code == 200, got.text
        recovery = got.json()["recovery"]
    return recovery


# case 4 ------------------------------------------------------------------


def test_cli_prechat_replaced_by_the_log_sets_no_prechat_time(tmp_path):
    recovery = json.loads(by_cli(tmp_path, prechat_then_ended(), "--explain").stdout)
    assert recovery["visitor"]["status"] == "chatEnded"
    assert recovery["visitor"]["info"]["latestPrechatTime"] == OLD_PRECHAT  # the uploaded value, not now
    why = recovery["explain"]["$.visitor.info.latestPrechatTime"]["why"]
    assert why.startswith("kept from the reports; status rule preChat (rules/visitor-status.yaml:")
    assert (
        "sets latestPrechatTime to now: not applied: the message log decided chatEnded (rule systemChatEnded, rules/chat-actions.yaml:"
        in why
    )


def test_cli_offline_message_replaced_by_a_request_sets_no_offline_time(tmp_path):
    recovery = json.loads(by_cli(tmp_path, offline_then_requested(), "--explain").stdout)
    assert recovery["visitor"]["status"] == "waitingForChat"
    assert "latestOfflineMessageTime" not in recovery["visitor"]["info"]
    entry = recovery["explain"]["$.visitor.info.latestOfflineMessageTime"]
    assert entry["recovered"] is False and entry["value"] is None
    assert "not applied: the message log decided waitingForChat" in entry["why"]


def test_cli_a_status_that_stands_still_gets_its_time(tmp_path):
    sent = [report("visitor", visitor={"status": "preChat", "info": {"latestPrechatTime": OLD_PRECHAT}})]
    recovery = json.loads(by_cli(tmp_path, sent, "--explain").stdout)
    assert recovery["visitor"]["status"] == "preChat" and recovery["visitor"]["info"]["latestPrechatTime"] == NOW
    assert recovery["explain"]["$.visitor.info.latestPrechatTime"]["why"] == "set to now by status rule preChat"


def test_service_sets_status_times_only_where_the_status_stands(served):
    ended = by_service(served, prechat_then_ended(), "v-case4-pre")
    assert ended["visitor"]["status"] == "chatEnded" and ended["visitor"]["info"]["latestPrechatTime"] == OLD_PRECHAT
    waiting = by_service(served, offline_then_requested(), "v-case4-off")
    assert waiting["visitor"]["status"] == "waitingForChat" and "latestOfflineMessageTime" not in waiting["visitor"]["info"]


# case 5 ------------------------------------------------------------------


@pytest.mark.parametrize("status", ["inSite", "chatting", "preChat"])
def test_cli_latest_waiting_for_chat_time_is_now_whatever_the_status(tmp_path, status):
    sent = [report("visitor", visitor={"status": status, "info": {"latestWaitingForChatTime": "2026-11-24T08:00:00Z"}})]
    recovery = json.loads(by_cli(tmp_path, sent).stdout)
    assert recovery["visitor"]["info"]["latestWaitingForChatTime"] == recovery["visitor"]["info"]["latestActivityTime"] == NOW


def test_service_latest_waiting_for_chat_time_is_now_whatever_the_status(served):
    sent = [report("visitor", visitor={"status": "inSite", "info": {"latestWaitingForChatTime": "2026-11-24T08:00:00Z"}})]
    info = by_service(served, sent, "v-case5")["visitor"]["info"]
    assert info["latestWaitingForChatTime"] == info["latestActivityTime"] != "2026-11-24T08:00:00Z"


# case 7 ------------------------------------------------------------------

WITHHELD = [
    ("$.visitor.info.sfUrl", "agentOnly", [{"type": "visitor"}], "withheld: strategy agentOnly reads agent reports only"),
    (
        "$.visitor.info.ssoId",
        "none",
        [{"type": "agent", "id": "a-7"}, {"type": "visitor"}],
        "withheld: strategy none reads no reports",
    ),
    ("$.visitor.info.errorMessageSfChatEnded", "none", [{"type": "visitor"}], "withheld: strategy none reads no reports"),
    ("$.visitor.info.location", "none", [{"type": "visitor"}], "withheld: strategy none reads no reports"),
]


def named(recovery):
    return sorted((w["path"], w["strategy"], w["sources"], w["why"]) for w in recovery["withheld"])


def never_shown(text):
    for secret in (SSO, "sso-agent-copy-unique", LOCATION["tag"], SF_ERROR, "https://sf.example/v"):
        assert secret not in text


def test_cli_names_withheld_values_and_never_shows_them(tmp_path):
    done = by_cli(tmp_path, withheld_reports(), "--explain")
    recovery = json.loads(done.stdout)
    assert named(recovery) == sorted(WITHHELD)
    assert all(w["rule"].startswith("rules/visitor-info.yaml:") for w in recovery["withheld"])
    assert recovery["visitor"]["info"]["browser"] == "Firefox 132"
    assert not {"ssoId", "location", "errorMessageSfChatEnded", "sfUrl"} & set(recovery["visitor"]["info"])
    assert not [
        c for c in recovery["conflicts"] if c["path"] == "$.visitor.info.ssoId"
    ]  # two sources disagreed: withheld, not listed
    assert recovery["explain"]["$.visitor.info.ssoId"]["why"] == "withheld: strategy none reads no reports"
    never_shown(done.stdout.decode() + done.stderr.decode())


def test_cli_explain_table_never_shows_withheld_values(tmp_path):
    done = by_cli(tmp_path, withheld_reports(), "--format", "table")
    assert b"ssoId" in done.stdout
    never_shown(done.stdout.decode() + done.stderr.decode())


def test_service_names_withheld_values_and_never_shows_or_logs_them(served):
    recovery = by_service(served, withheld_reports(), "v-case7")
    assert named(recovery) == sorted(WITHHELD)
    held = served.client.get("/v1/visitors/v-case7/recovery")
    never_shown(held.text)
    assert (
        served.wait_log(lambda line: "/v1/visitors/v-case7/recovery" in line) is not None
    )  # the log holds this visitor's requests
    never_shown("".join(line for line in served.log if line))


def test_the_held_state_keeps_who_sent_a_withheld_value_but_not_the_value(policy):
    """The live state (what `apply` returns and a store keeps) holds no value
    the policy reads from no report, only that a source sent one."""
    import chat_recovery as cr

    state = None
    for item in withheld_reports():
        state = cr.apply(policy, state, item, NOW)
    held = json.dumps(state)
    for secret in (SSO, "sso-agent-copy-unique", LOCATION["tag"], SF_ERROR):
        assert secret not in held
    assert sorted(state["slots"]["$.visitor.info.ssoId"]) == ["agent:a-7", "visitor"]
    assert named(cr.render(policy, state)) == sorted(WITHHELD)
