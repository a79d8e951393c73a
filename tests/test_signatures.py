"""Provenance by signature (issue 15): with message keys, only copies the
chat server signed replay; a copy that does not verify is set aside alone,
with its reason, through the API, the CLI (one visitor, a directory,
--batch with workers) and the service. Without keys every copy counts."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chat_recovery as cr
from chatlog import chat_report, log
from conftest import NOW, cli, ndjson
from service import Served

SECRET = "known-secret-for-the-grep-0123456789"
OTHER = "second-key-in-force-for-rotation-42"
KEYS = {"k-2026-11": SECRET, "k-2026-12": OTHER}


def signed(messages, chat_id="c-1", key_id="k-2026-11"):
    return [cr.sign_message(m, chat_id, key_id, KEYS[key_id]) for m in messages]


def genuine():
    """A chat an agent accepted, with text and data, every message signed
    (the first two with the old key, the rest with the new: rotation)."""
    messages = log(
        "visitorRequestChat", "agentAcceptChat", "agentMessage", ("agentEnableTranslation", "agent", "a-7", {"language": "fr"})
    )
    messages[2]["text"] = "Bonjour, ça va ?"
    return signed(messages[:2]) + signed(messages[2:], key_id="k-2026-12")


def reports(visitor_messages, agent_messages=None):
    agent_messages = genuine() if agent_messages is None else agent_messages
    return [
        chat_report(visitor_messages, side="visitor", status="chatting"),
        chat_report(agent_messages, sent="2026-11-24T09:00:01Z", status="chatting"),
    ]


def _byte(text: str) -> str:
    return text[:-1] + chr(ord(text[-1]) + 1)


TAMPERED = {  # name -> (what it does to the visitor's copy of message m-003 or m-004, the code)
    "text": (lambda m: {**m, "text": _byte(m["text"])} if "text" in m else m, "badSignature", "m-003"),
    "data": (lambda m: {**m, "data": {"language": _byte(m["data"]["language"])}} if "data" in m else m, "badSignature", "m-004"),
    "dropped": (lambda m: {k: v for k, v in m.items() if k != "signature"} if m["id"] == "m-003" else m, "unsigned", "m-003"),
    "unknown-key": (
        lambda m: {**m, "signature": {**m["signature"], "keyId": "k-1999"}} if m["id"] == "m-004" else m,
        "unknownKey",
        "m-004",
    ),
}


def tampered(name):
    change, code, target = TAMPERED[name]
    visitor = [change(m) if m["id"] == target else m for m in genuine()]
    return visitor, code, target


def another_chats(target="m-003"):
    """The visitor's copy of `target` is the genuine text, signed for chat c-9."""
    messages = log(
        "visitorRequestChat", "agentAcceptChat", "agentMessage", ("agentEnableTranslation", "agent", "a-7", {"language": "fr"})
    )
    messages[2]["text"] = "Bonjour, ça va ?"
    visitor = [signed([m], chat_id="c-9")[0] if m["id"] == target else g for m, g in zip(messages, genuine(), strict=True)]
    return visitor, "badSignature", target


CASES = {**{name: (lambda name=name: tampered(name)) for name in TAMPERED}, "another-chat": another_chats}


@pytest.fixture
def keyfile(tmp_path):
    path = tmp_path / "message-keys.yaml"
    path.write_text(f"k-2026-11: {SECRET}\nk-2026-12: base64:{base64.b64encode(OTHER.encode()).decode()}\n")
    return path


def _set_aside_alone(recovery, visitor, code, target):
    """Exactly the visitor's copy of `target` is set aside, with `code`; the
    agent's genuine copy replays, so the chat is the genuine one."""
    (entry,) = recovery["setAside"]
    assert entry["code"] == code and entry["heldBy"] == [{"type": "visitor"}] and entry["reason"]
    assert entry["message"] == next(m for m in visitor if m["id"] == target)
    assert recovery["chat"]["messages"] == genuine()
    assert recovery["chat"]["state"]["currentAgents"] == ["a-7"]
    assert recovery["chat"]["state"]["translation"]["language"] == "fr"


def test_a_signed_log_replays_and_counts_unverified_without_keys(policy):
    with_keys = cr.recover(policy, reports(genuine()), NOW, keys=KEYS)
    assert with_keys["setAside"] == [] and with_keys["visitor"]["status"] == "chatting"
    assert with_keys["chat"]["messages"] == genuine()
    visitor, _, _ = tampered("text")
    without = cr.recover(policy, [reports(visitor)[0]], NOW)  # the seed: every copy counts
    assert without["setAside"] == [] and without["chat"]["messages"][2]["text"] == _byte("Bonjour, ça va ?")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_copy_that_does_not_verify_is_set_aside_alone_with_its_reason(policy, case):
    visitor, code, target = CASES[case]()
    recovery = cr.recover(policy, reports(visitor), NOW, keys=KEYS)
    _set_aside_alone(recovery, visitor, code, target)
    assert cr.recover(policy, reversed(reports(visitor)), NOW, keys=KEYS) == recovery  # arrival order changes nothing


def test_a_copy_signed_with_its_time_spelt_otherwise_verifies_after_the_report_is_respelt(policy):
    """check() respells 09:00:05.120+00:00 as 09:00:05.12Z; the signature covers the one spelling."""
    messages = log("visitorRequestChat", "agentAcceptChat")
    messages[1]["time"] = "2026-11-24T08:50:05.120+00:00"
    visitor = signed(messages)
    recovery = cr.recover(policy, [chat_report(visitor, side="visitor")], NOW, keys=KEYS)
    assert recovery["setAside"] == [] and recovery["chat"]["messages"][1]["time"] == "2026-11-24T08:50:05.12Z"
    assert recovery["chat"]["state"]["currentAgents"] == ["a-7"]


def test_a_copy_only_the_visitor_holds_and_that_does_not_verify_does_not_replay(policy):
    visitor, _, _ = tampered("dropped")
    forged = {"id": "m-900", "time": "2026-11-24T08:50:59Z", "action": "agentStopChat", "sender": {"type": "agent", "id": "a-7"}}
    recovery = cr.recover(policy, [chat_report(genuine() + [forged], side="visitor")], NOW, keys=KEYS)
    assert [(e["message"]["id"], e["code"]) for e in recovery["setAside"]] == [("m-900", "unsigned")]
    assert recovery["chat"]["state"]["currentAgents"] == ["a-7"] and recovery["visitor"]["status"] == "chatting"


def test_a_policy_may_leave_an_actor_type_unsigned_but_a_bad_signature_is_still_set_aside(rules_copy):
    path = rules_copy / "chat-actions.yaml"
    path.write_text(path.read_text().replace("required: [visitor, agent, bot, system]", "required: [agent, bot, system]"))
    policy = cr.load_policy(rules_copy)
    visitor = [{k: v for k, v in m.items() if k != "signature"} if m["id"] == "m-001" else m for m in genuine()]
    assert cr.recover(policy, reports(visitor), NOW, keys=KEYS)["setAside"] == []  # visitorRequestChat unsigned: counts
    visitor[0] = {**genuine()[0], "signature": {"keyId": "k-2026-11", "value": "A" * 43}}
    (entry,) = cr.recover(policy, reports(visitor), NOW, keys=KEYS)["setAside"]
    assert (entry["message"]["id"], entry["code"]) == ("m-001", "badSignature")


# -- the command line --------------------------------------------------------


def _write(tmp_path: Path, items) -> list[Path]:
    paths = []
    for i, item in enumerate(items):
        path = tmp_path / f"report-{i}.json"
        path.write_text(json.dumps(item, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


@pytest.mark.parametrize("case", sorted(CASES))
def test_through_the_cli_one_visitor(tmp_path, keyfile, case):
    visitor, code, target = CASES[case]()
    done = cli("recover", "--now", NOW, "--message-keys", keyfile, *_write(tmp_path, reports(visitor)))
    assert done.returncode == 0, done.stderr
    _set_aside_alone(json.loads(done.stdout), visitor, code, target)


def test_the_summary_and_the_table_name_the_copies_set_aside_by_signature(tmp_path, keyfile):
    visitor, _, _ = tampered("dropped")
    files = _write(tmp_path, reports(visitor))
    summary = cli("recover", "--now", NOW, "--message-keys", keyfile, "--format", "summary", *files)
    assert summary.returncode == 0 and "  set aside   m-003 (unsigned; visitor)\n" in summary.stdout.decode()
    table = cli("recover", "--now", NOW, "--message-keys", keyfile, "--format", "table", *files)
    assert table.returncode == 0 and "copies set aside (1)" in table.stdout.decode()
    plain = cli("recover", "--now", NOW, "--format", "summary", *files).stdout.decode()
    assert "set aside" not in plain  # without keys nothing is verified


def test_through_the_cli_the_environment_names_the_key_file(tmp_path, keyfile, monkeypatch):
    visitor, code, target = CASES["another-chat"]()
    files = _write(tmp_path, reports(visitor))
    monkeypatch.setenv("CHAT_RECOVERY_MESSAGE_KEYS_FILE", str(keyfile))
    done = cli("recover", "--now", NOW, *files)
    _set_aside_alone(json.loads(done.stdout), visitor, code, target)
    monkeypatch.delenv("CHAT_RECOVERY_MESSAGE_KEYS_FILE")
    assert json.loads(cli("recover", "--now", NOW, *files).stdout)["setAside"] == []  # no keys: nothing verified


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_through_the_cli_batch_and_a_directory_every_case_at_once(tmp_path, keyfile, jobs):
    lines, expected = [], {}
    for case in sorted(CASES):
        visitor, code, target = CASES[case]()
        for item in reports(visitor):
            lines.append({**item, "visitorId": f"v-{case}"})
        expected[f"v-{case}"] = (visitor, code, target)
    batch = cli(
        "recover", "--now", NOW, "--message-keys", keyfile, "--batch", ndjson(tmp_path / "in.ndjson", lines), "--jobs", jobs
    )
    assert batch.returncode == 0, batch.stderr
    folder = tmp_path / "reports"
    folder.mkdir()
    _write(folder, lines)
    directory = cli("recover", "--now", NOW, "--message-keys", keyfile, "--batch", folder, "--jobs", jobs)
    for done in (batch, directory):
        recoveries = [json.loads(line) for line in done.stdout.decode().splitlines()]
        assert sorted(r["visitorId"] for r in recoveries) == sorted(expected)
        for recovery in recoveries:
            _set_aside_alone(recovery, *expected[recovery["visitorId"]])


def test_a_bad_key_file_stops_recover_and_serve_naming_it(tmp_path):
    bad = tmp_path / "keys.json"
    bad.write_text(json.dumps({"k-2026-11": "tiny-secret"}))
    report = _write(tmp_path, reports(genuine())[:1])
    done = cli("recover", "--now", NOW, "--message-keys", bad, *report)
    assert done.returncode == 2
    assert (
        done.stderr.decode()
        == f"chat-recovery recover: --message-keys {bad}: key 'k-2026-11': the secret is shorter than 16 bytes\n"
    )
    served = cli("serve", "--port", "1", "--message-keys", bad)
    assert served.returncode == 2 and f"--message-keys {bad}: key 'k-2026-11'" in served.stderr.decode()
    assert b"tiny-secret" not in done.stderr + served.stderr + done.stdout + served.stdout


# -- the service ---------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    path.write_text(json.dumps({"k-2026-11": SECRET, "k-2026-12": OTHER}))
    server = Served("--workers", "1", "--window", "60", "--message-keys", str(path), "--log-level", "debug")
    yield server
    server.stop()


@pytest.mark.parametrize("case", sorted(CASES))
def test_through_the_service(served, case):
    visitor, code, target = CASES[case]()
    items = [{**item, "visitorId": f"v-served-{case}"} for item in reports(visitor)]
    answer = served.client.post("/v1/reports", json=items)
    assert answer.status_code == 200, answer.text
    last = served.client.get(f"/v1/visitors/v-served-{case}/recovery").json()["recovery"]  # a list answers receipts
    _set_aside_alone(last, visitor, code, target)


def test_the_banner_names_the_key_ids_in_force_never_a_secret(served):
    assert "message signatures verified, key ids: k-2026-11, k-2026-12" in served.banner


# -- no forged copy held by the visitor changes what matters -----------------

ACTIONS = sorted({rule.action for rule in cr.load_policy().chat.rules})
_GENUINE_IDS = [m["id"] for m in genuine()]


@st.composite
def forged_copies(draw):
    """Copies a visitor's client could make up: any action, any sender, a new
    id or a genuine one (altered), unsigned, under an unknown key, with a
    made-up value, or with a genuine message's signature."""
    count = draw(st.integers(0, 6))
    ids = draw(
        st.lists(st.sampled_from([*_GENUINE_IDS, "f-1", "f-2", "f-3", "f-4"]), min_size=count, max_size=count, unique=True)
    )
    out = []
    for message_id in ids:
        message = {
            "id": message_id,
            "time": f"2026-11-24T08:50:{draw(st.integers(0, 59)):02d}Z",
            "action": draw(st.sampled_from(ACTIONS)),
            "sender": {
                "type": draw(st.sampled_from(["visitor", "agent", "bot", "system"])),
                "id": draw(st.sampled_from(["a-7", "a-evil", "v-1"])),
            },
        }
        if draw(st.booleans()):
            message["data"] = {"departmentId": "d-9", "language": "xx", "fromAgentId": "a-7", "fileId": "f", "name": "n"}
        how = draw(st.sampled_from(["unsigned", "unknownKey", "madeUp", "copied"]))
        if how == "unknownKey":
            message["signature"] = {"keyId": "k-stolen", "value": "A" * 43}
        elif how == "madeUp":
            message["signature"] = {
                "keyId": "k-2026-11",
                "value": draw(st.text("ABCDEFabcdef0123456789-_", min_size=43, max_size=43)),
            }
        elif how == "copied":
            message["signature"] = draw(st.sampled_from(genuine()))["signature"]
        out.append(message)
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(forged=forged_copies(), wrapup=st.booleans(), agent_reports=st.booleans())
def test_with_keys_no_forged_visitor_copies_change_agents_assignee_status_or_wrapups(policy, forged, wrapup, agent_reports):
    agent = chat_report(genuine(), sent="2026-11-24T09:00:01Z", unfinishedWrapup={"comment": "call back"} if wrapup else None)
    forged_ids = {m["id"] for m in forged}
    kept = [m for m in genuine() if m["id"] not in forged_ids]  # a visitor can always withhold a copy: not what is tested
    honest_visitor = chat_report(kept, side="visitor")
    lying_visitor = chat_report(kept + forged, side="visitor")

    def what_matters(visitor_report):
        sent = [visitor_report, agent] if agent_reports else [visitor_report]
        recovery = cr.recover(policy, sent, NOW, keys=KEYS, engine="compiled")
        state = recovery["chat"]["state"]
        return state["currentAgents"], state["assignee"], recovery["visitor"]["status"], recovery["unfinishedWrapups"]

    assert what_matters(lying_visitor) == what_matters(honest_visitor)


# -- keys never show --------------------------------------------------------


def test_the_secrets_appear_in_no_output_explain_log_or_error(tmp_path, keyfile, served):
    secrets = [s.encode() for s in (SECRET, OTHER)]
    secrets += [base64.b64encode(s) for s in secrets] + [base64.urlsafe_b64encode(s).rstrip(b"=") for s in secrets]
    visitor, _, _ = tampered("unknown-key")
    files = _write(tmp_path, reports(visitor))
    seen = []
    for fmt in ("json", "table", "summary"):
        done = cli("recover", "--now", NOW, "--message-keys", keyfile, "--explain", "--format", fmt, *files)
        assert done.returncode == 0, done.stderr
        seen += [done.stdout, done.stderr]
    done = cli(
        "recover",
        "--now",
        NOW,
        "--message-keys",
        keyfile,
        "--batch",
        ndjson(tmp_path / "in.ndjson", reports(visitor)),
        "--jobs",
        "2",
    )
    seen += [done.stdout, done.stderr]
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"k-2026-11: [{SECRET}\n")
    done = cli("recover", "--now", NOW, "--message-keys", broken, *files)
    assert done.returncode == 2
    seen += [done.stdout, done.stderr]
    answers = [served.client.post("/v1/reports", json=item) for item in reports(visitor)]
    answers.append(served.client.post("/v1/reports", json={"visitorId": "v-bad"}))
    answers.append(served.client.get("/v1/visitors/v-1/recovery"))
    seen += [a.content for a in answers] + [served.banner.encode()]
    served.wait_log(lambda line: "v-bad" in line)
    seen += [line.encode() for line in served.log if line]
    everything = b"\n".join(seen)
    assert b"k-2026-11" in everything  # key ids may show
    for secret in secrets:
        assert secret not in everything
