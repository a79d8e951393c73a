"""The compiled engine: the same recoveries as the plain-Python matcher and
durable_rules, explain included, on random logs under the shipped policy
and under a policy whose rules test several fields at several priorities;
and `auto` takes it, saying so once, where durable_rules does not import."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

import chat_recovery as cr
from chat_recovery.replay import durable_available, engine_for, make_engine
from chat_recovery.replay.compiled_engine import CompiledEngine
from conftest import NOW, ROOT, cli, edit
from test_chat_laws import report_sets

SHIPPED = cr.load_policy()
ENGINES = ["compiled", "python"] + (["durable"] if durable_available() else [])

# Rules for one action at three priorities, testing a message field, a data
# field, the state and the status at once, so the compiled `if` chains fall
# through in order and a message can match none of them.
LAYERED = """
  fileFromFirstAgent:
    on: agentSendFile
    priority: 1
    when: {sender.id: a-1, data.fileId: [f-1], state.chatType: [null]}
    set: {chatType: layered}
  fileWhileChatting:
    on: agentSendFile
    priority: 2
    when: {status: [chatting, null], sender.type: {not: [visitor, bot]}}
    add: {currentAgents: $data.agentId | nobody}
  frenchVisitor:
    on: visitorMessage
    when: {data.language: fr, state.translation: [{"enabled": false}]}
    set: {translation.enabled: true}
  agentSendFile:
    on: agentSendFile
    priority: 3
    when: {data.name: x.pdf}"""


@pytest.fixture(scope="module")
def layered(tmp_path_factory):
    import shutil

    rules = tmp_path_factory.mktemp("layered") / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / "chat-actions.yaml"
    text = path.read_text()
    start = text.index("  agentSendFile:\n    on: agentSendFile\n")
    path.write_text(text[:start] + LAYERED.lstrip("\n") + "\n" + text[start + len("  agentSendFile:\n    on: agentSendFile\n") :])
    return cr.load_policy(rules)


def recoveries(policy, reports):
    return {engine: cr.recover(policy, reports, NOW, engine=engine, explain=True) for engine in ENGINES}


@settings(max_examples=300, deadline=None)
@given(report_sets())
def test_every_engine_recovers_random_logs_alike_under_the_shipped_policy(reports):
    found = recoveries(SHIPPED, reports)
    assert all(found[e] == found["python"] for e in ENGINES), [e for e in ENGINES if found[e] != found["python"]]


def test_the_layered_policy_has_rules_that_fall_through(layered):
    rules = [layered.chat.rules[i] for i in layered.chat.by_action["agentSendFile"]]
    assert [(r.name, r.priority, len(r.conditions)) for r in rules] == [
        ("fileFromFirstAgent", 1, 3),
        ("fileWhileChatting", 2, 2),
        ("agentSendFile", 3, 1),
    ]


@settings(max_examples=300, deadline=None)
@given(report_sets())
def test_every_engine_recovers_random_logs_alike_under_layered_rules(layered, reports):
    found = recoveries(layered, reports)
    assert all(found[e] == found["python"] for e in ENGINES), [e for e in ENGINES if found[e] != found["python"]]


def test_layered_rules_fire_in_priority_order_on_the_compiled_engine(layered):
    def sent(i, sender_id, **data):
        return {
            "id": f"m-{i}",
            "time": f"2026-11-24T08:0{i}:00Z",
            "action": "agentSendFile",
            "sender": {"type": "agent", "id": sender_id},
            "data": data,
        }

    messages = [
        {"id": "m-0", "time": "2026-11-24T08:00:00Z", "action": "visitorRequestChat", "sender": {"type": "visitor"}},
        sent(1, "a-2", fileId="f-1", name="x.pdf", agentId="a-5"),  # waitingForChat: the third rule
        sent(2, "a-1", fileId="f-1"),  # the first
        sent(3, "a-1", fileId="f-1", agentId="a-7"),  # chatType set: the second fails on status, none
    ]
    report = {
        "visitorId": "v-1",
        "source": {"type": "agent", "id": "a-1"},
        "sentAt": "2026-11-24T09:00:00Z",
        "chat": {"id": "c-1", "messages": messages},
    }
    got = cr.recover(layered, [report], NOW, engine="compiled", explain=True)
    assert got["chat"]["state"]["chatType"] == "layered"
    assert got == cr.recover(layered, [report], NOW, engine="python", explain=True)


def test_the_generated_source_is_plain_python_one_entry_per_action(policy):
    engine = make_engine(policy.chat, "compiled")
    assert isinstance(engine, CompiledEngine) and engine.name == "compiled"
    for action in policy.chat.by_action:
        assert f"    {action!r}:" in engine.source
    session = engine.open()
    assert session.fire({"action": "noSuchAction"}) is None
    session.close()


def test_engines_are_kept_per_policy_and_name(policy):
    assert engine_for(policy, "compiled") is engine_for(policy, "compiled")
    assert engine_for(policy, "compiled") is not engine_for(policy, "python")
    assert engine_for(policy, "compiled") is not engine_for(cr.load_policy(), "compiled")


@pytest.mark.parametrize("folder", sorted(p.name for p in (ROOT / "examples").iterdir() if p.is_dir()))
def test_recover_on_the_compiled_engine_prints_what_python_prints(folder):
    files = sorted((ROOT / "examples" / folder).glob("*.json"))
    outs = [cli("recover", "--now", NOW, "--explain", "--engine", engine, *files) for engine in ("compiled", "python")]
    assert [o.returncode for o in outs] == [0, 0], outs[0].stderr
    assert outs[0].stdout == outs[1].stdout and outs[0].stderr == b""


def test_shipped_suites_pass_with_full_coverage_on_the_compiled_engine():
    run = cli("policy", "test", "rules", "--engine", "compiled", "--min-coverage", "100", cwd=ROOT)
    assert run.returncode == 0, run.stdout.decode() + run.stderr.decode()
    assert b" 0 failed" in run.stdout


def test_the_manifest_can_choose_the_compiled_engine(rules_copy):
    edit(rules_copy / "policy.yaml", "engine: auto", "engine: compiled")
    assert cr.load_policy(rules_copy).engine == "compiled"
    edit(rules_copy / "policy.yaml", "engine: compiled", "engine: compield")
    run = cli("policy", "check", rules_copy)
    assert run.returncode != 0 and b"compield" in run.stdout + run.stderr


# --- `auto` where durable_rules does not import -------------------------------------------


def _without_durable(tmp_path: Path) -> dict:
    """An environment in which `import durable` fails as it does on 3.13
    (a package of that name that raises first on the path); on 3.13 itself
    it changes nothing."""
    shadow = tmp_path / "shadow" / "durable"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('undefined symbol: _PyUnicode_Ready (as on Python 3.13)')\n")
    return {**os.environ, "PYTHONPATH": str(shadow.parent)}


def test_auto_without_durable_rules_uses_the_compiled_engine_and_says_so_once_on_stderr(tmp_path):
    env = _without_durable(tmp_path)
    exe = Path(sys.executable).with_name("chat-recovery")
    files = sorted((ROOT / "examples").glob("*/*.json"))[:3]
    done = subprocess.run([str(exe), "recover", "--now", NOW, *files], capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.decode().splitlines()
    assert lines == [
        "chat-recovery: warning: durable_rules does not import on this Python (it works on 3.11 and 3.12): "
        "action rules run on the compiled engine, which gives the same recoveries"
    ]
    compiled = cli("recover", "--now", NOW, "--engine", "compiled", *files)
    assert done.stdout == compiled.stdout
    suites = subprocess.run([str(exe), "policy", "test", "rules"], capture_output=True, env=env, timeout=120, cwd=ROOT)
    assert suites.returncode == 0, suites.stdout
    assert suites.stderr.decode().count("warning: durable_rules does not import") == 1  # once for every case, not per case


def test_asking_for_durable_where_it_does_not_import_names_the_engine_that_works(tmp_path):
    exe = Path(sys.executable).with_name("chat-recovery")
    files = sorted((ROOT / "examples").glob("*/*.json"))[:1]
    done = subprocess.run(
        [str(exe), "recover", "--now", NOW, "--engine", "durable", *files],
        capture_output=True,
        env=_without_durable(tmp_path),
        timeout=300,
    )
    assert done.returncode != 0
    assert (
        done.stderr.decode()
        == "chat-recovery: durable_rules does not import on this Python (it works on 3.11 and 3.12); use --engine compiled\n"
    )


LIBRARY = """
import json, sys, warnings
warnings.simplefilter("always")
import chat_recovery as cr
reports = [json.load(open(p)) for p in sys.argv[2:]]
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    for root in (None, sys.argv[1]):          # two policies, many recoveries: one warning
        policy = cr.load_policy(root)
        for _ in range(3):
            out = cr.recover(policy, reports, "2026-11-24T09:00:30Z")
print(json.dumps([[w.category.__name__, str(w.message)] for w in seen]))
"""


def test_the_library_warns_once_per_process_when_auto_falls_back(tmp_path):
    files = sorted((ROOT / "examples").glob("*/*.json"))[:2]
    done = subprocess.run(
        [sys.executable, "-c", LIBRARY, str(ROOT / "rules"), *map(str, files)],
        capture_output=True,
        env=_without_durable(tmp_path),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        [
            "EngineFallbackWarning",
            "durable_rules does not import on this Python (it works on 3.11 and 3.12): "
            "action rules run on the compiled engine, which gives the same recoveries",
        ]
    ]


def test_a_batch_in_two_processes_says_so_once_and_matches_the_compiled_engine(tmp_path):
    env = _without_durable(tmp_path)
    exe = Path(sys.executable).with_name("chat-recovery")
    lines = [json.dumps(json.loads(p.read_text())) for p in sorted((ROOT / "examples").glob("*/*.json"))]
    (tmp_path / "reports.ndjson").write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [str(exe), "recover", "--now", NOW, "--batch", tmp_path / "reports.ndjson", "--jobs", "2"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().count("warning: durable_rules does not import") == 1, done.stderr
    compiled = cli("recover", "--now", NOW, "--batch", tmp_path / "reports.ndjson", "--engine", "compiled")
    assert done.stdout == compiled.stdout and len(done.stdout.splitlines()) > 3
