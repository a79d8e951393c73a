"""The installed `chat-recovery` command, run as a user runs it."""

import json

import pytest

from conftest import NOW, ROOT, cli, report, without_fallback_note

EXAMPLES = ROOT / "examples"


def test_recover_prints_the_recovery_json():
    done = cli("recover", "--now", NOW, *sorted((EXAMPLES / "agents-disagree").glob("*.json")))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["visitorId"] == "v-3003"
    assert result["visitor"]["info"]["ticketId"] == "T-5521"  # a-7 sent later
    assert result["visitor"]["info"]["departmentId"] == "dep-billing"  # agent over visitor
    assert result["visitor"]["info"]["customVariables"] == {"plan": "platinum", "coupon": "WINTER10"}
    assert result["unfinishedWrapups"] == {"a-7": {"categories": ["billing"], "comment": "call back tomorrow"}}
    assert without_fallback_note(done.stderr) == b""


def test_stdin_and_yaml_reports(tmp_path):
    yaml_report = tmp_path / "agent.yaml"
    yaml_report.write_text(
        "visitorId: v-1\nsource: {type: agent, id: a-1}\nsentAt: 2026-11-24T09:00:00Z\n"
        "visitor:\n  info:\n    captureTime: 2026-11-24T08:00:00Z\n    ifCaptured: true\n"
    )
    done = cli("recover", "--now", NOW, "-", yaml_report, input_bytes=json.dumps(report(visitor={"status": "preChat"})).encode())
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)["visitor"]["info"]
    assert info["captureTime"] == "2026-11-24T08:00:00Z" and info["latestPrechatTime"] == NOW


def test_explain_flag_fills_explain():
    done = cli("recover", "--now", NOW, "--explain", EXAMPLES / "plain-visitor" / "1-visitor.json")
    assert json.loads(done.stdout)["explain"]["$.visitor.info.browser"]["strategy"] == "any"


def test_policy_flag_uses_another_directory(rules_copy):
    from conftest import edit

    edit(rules_copy / "visitor-info.yaml", "strategy: any", "strategy: none")  # latestActivity.. no: first any row is browser
    done = cli("recover", "--now", NOW, "--policy", rules_copy, EXAMPLES / "plain-visitor" / "1-visitor.json")
    assert done.returncode == 0, done.stderr
    assert "browser" not in json.loads(done.stdout)["visitor"]["info"]


def one_line_error(done, *fragments):
    err = done.stderr.decode()
    assert done.returncode != 0 and done.stdout == b""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return path


def test_malformed_json(tmp_path):
    path = write(tmp_path, "r.json", b'{"visitorId": "v-1",,}')
    one_line_error(cli("recover", "--now", NOW, path), f"{path}: invalid JSON at line 1 column 21: Expecting property name")


def test_unknown_key_with_did_you_mean(tmp_path):
    path = write(tmp_path, "r.json", report(visitor={"info": {"browsr": "x"}}))
    one_line_error(
        cli("recover", "--now", NOW, path), f"{path}: $.visitor.info.browsr: unknown key 'browsr' (did you mean 'browser'?)"
    )


def test_wrong_type(tmp_path):
    path = write(tmp_path, "r.json", report(visitor={"info": {"visitTimes": "seven"}}))
    one_line_error(cli("recover", "--now", NOW, path), "$.visitor.info.visitTimes: expected a whole number")


def test_bad_enum_value(tmp_path):
    path = write(tmp_path, "r.json", report(visitor={"status": "chating"}))
    one_line_error(cli("recover", "--now", NOW, path), "$.visitor.status: 'chating' is not one of", "(did you mean 'chatting'?)")


def test_missing_visitor_id(tmp_path):
    body = report()
    del body["visitorId"]
    path = write(tmp_path, "r.json", body)
    one_line_error(cli("recover", "--now", NOW, path), f"{path}: $: missing required key 'visitorId'")


def test_two_visitors(tmp_path):
    a = write(tmp_path, "a.json", report(visitor_id="v-1"))
    b = write(tmp_path, "b.json", report("agent", visitor_id="v-2"))
    one_line_error(cli("recover", "--now", NOW, a, b), f"{b}: $.visitorId: report is for visitor 'v-2'")


def test_bad_now():
    one_line_error(cli("recover", "--now", "yesterday", EXAMPLES / "plain-visitor" / "1-visitor.json"), "--now")


def test_missing_file(tmp_path):
    one_line_error(cli("recover", "--now", NOW, tmp_path / "nope.json"), "nope.json: cannot read")


def test_broken_policy_exits_3_with_positions(rules_copy):
    from conftest import edit

    edit(rules_copy / "chat-props.yaml", "strategy: agentOnly", "strategy: agnetOnly")
    done = cli("recover", "--now", NOW, "--policy", rules_copy, EXAMPLES / "plain-visitor" / "1-visitor.json")
    assert done.returncode == 3
    assert "chat-props.yaml:" in done.stderr.decode() and "did you mean 'agentOnly'" in done.stderr.decode()


def test_policy_check_on_the_shipped_rules():
    done = cli("policy", "check")
    assert done.returncode == 0, done.stdout
    assert b"rules: ok" in done.stdout


def test_policy_check_json_on_a_broken_policy(rules_copy):
    from conftest import edit

    edit(rules_copy / "strategies.yaml", "    pick: first", "    pick: frist")
    done = cli("policy", "check", rules_copy, "--format", "json")
    assert done.returncode == 1
    (problem,) = json.loads(done.stdout)["problems"]
    assert problem["file"].endswith("strategies.yaml") and problem["line"] > 0 and problem["code"] == "bad-value"


def test_usage_error_exits_2():
    done = cli("recover")
    assert done.returncode == 2 and b"usage:" in done.stderr


def test_chat_examples_as_the_demo_shows_them():
    def run(folder):
        done = cli("recover", "--now", NOW, *sorted((EXAMPLES / folder).glob("*.json")))
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    transferred = run("chat-transferred")
    assert transferred["visitor"]["status"] == "chatting" and transferred["chat"]["state"]["currentAgents"] == ["a-9"]
    assert [f["state"] for f in transferred["chat"]["state"]["files"]] == ["sent"]
    refused = run("chat-refused")
    assert refused["visitor"]["status"] == "refusedByAgent"
    assert [d["do"] for d in refused["directives"]] == ["recoverChat", "keepHeartbeat", "deliverMessage"]
    ended = run("chat-ended")
    assert ended["chat"]["state"]["translation"] == {"enabled": True, "language": "es"}
    assert {d["do"] for d in ended["directives"]} == {"recoverChat", "keepHeartbeat", "restoreWrapup"}


def run_main(*argv):
    """`main` with its own streams: (exit code, stdout, stderr)."""
    import io

    from chat_recovery.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_version_comes_from_the_installed_metadata():
    from importlib.metadata import version

    assert run_main("--version") == (0, f"chat-recovery {version('chat-recovery')}\n", "")
    done = cli("--version")
    assert done.returncode == 0 and done.stdout.decode() == f"chat-recovery {version('chat-recovery')}\n"


@pytest.mark.parametrize(
    "argv, said",
    [
        (
            ["recovr"],
            "unknown command 'recovr' (did you mean 'recover'?); the commands are recover, bench, serve, playground, policy",
        ),
        (["polcy", "check"], "unknown command 'polcy' (did you mean 'policy'?)"),
        (
            ["policy", "chek"],
            "chat-recovery policy: error: unknown command 'chek' (did you mean 'check'?); the commands are check, test, docs, diff",
        ),
        (["policy", "check", "--format", "jsn"], "invalid choice: 'jsn' (did you mean 'json'?)"),
        ([], "chat-recovery: error: choose a command: recover, bench, serve, playground, policy"),
        (["policy"], "chat-recovery policy: error: choose a policy command: check, test, docs, diff"),
        (
            ["serve", "--max-lst", "3"],
            "chat-recovery serve: error: unrecognized arguments: --max-lst 3 (--max-lst: did you mean '--max-list'?)",
        ),
        (
            ["recover", "--nwo", NOW, "x.json"],
            "chat-recovery recover: error: unrecognized arguments: --nwo (--nwo: did you mean '--now'?)",
        ),
        (
            ["policy", "check", "--strickt=1", "rules"],
            "unrecognized arguments: --strickt=1 (--strickt: did you mean '--strict'?)",
        ),
        (["recover", "--zzz"], "chat-recovery recover: error: unrecognized arguments: --zzz"),
    ],
)
def test_a_mistyped_or_missing_command_is_named_with_the_close_match(argv, said):
    code, out, err = run_main(*argv)
    assert code == 2 and out == "" and said in err
    assert err.startswith("usage: ") and said in err.splitlines()[-1] and "_command" not in err


def test_a_mistyped_subcommand_through_the_installed_command():
    done = cli("policy", "tset")
    assert done.returncode == 2 and b"did you mean 'test'?" in done.stderr and b"Traceback" not in done.stderr


@pytest.mark.parametrize(
    "argv, said",
    [
        (["bench", "--visitors", "many"], "argument --visitors: 'many' is not a whole number"),
        (["bench", "--seed", "x"], "argument --seed: 'x' is not a whole number"),
        (["policy", "test", "--min-coverage", "most"], "argument --min-coverage: 'most' is not a number"),
    ],
)
def test_a_value_of_the_wrong_type_is_named_in_words(argv, said):
    code, _, err = run_main(*argv)
    assert code == 2 and said in err and "invalid" not in err


@pytest.mark.parametrize(
    "argv, said",
    [
        (["recover"], "error: give report FILEs (one visitor; - reads stdin) or --batch INPUT (many visitors)\n"),
        (
            ["recover", "--batch", "in.ndjson", "a.json"],
            "error: give report FILEs (one visitor) or --batch INPUT (many visitors), not both: --batch in.ndjson with a.json\n",
        ),
        (
            ["recover", "--out", "o.ndjson", "a.json"],
            "error: --out goes with --batch; one visitor's recovery is written to stdout",
        ),
        (["recover", "--jobs", "2", "a.json"], "error: --jobs goes with --batch; one visitor is recovered in one process\n"),
        (
            ["recover", "--batch", "in.ndjson", "--format", "table"],
            "error: --format table shows one visitor; --batch writes one JSON recovery a line",
        ),
    ],
)
def test_each_recover_usage_mistake_gets_its_own_message(argv, said):
    code, out, err = run_main(*argv)
    assert code == 2 and out == "" and err.startswith("usage: chat-recovery recover") and said in err
    assert "JSON only" not in err
