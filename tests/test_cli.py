"""The installed `chat-recovery` command, run as a user runs it."""
import json

from conftest import NOW, ROOT, cli, report, without_fallback_note

EXAMPLES = ROOT / "examples"


def test_recover_prints_the_recovery_json():
    done = cli("recover", "--now", NOW, *sorted((EXAMPLES / "agents-disagree").glob("*.json")))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["visitorId"] == "v-3003"
    assert result["visitor"]["info"]["ticketId"] == "T-5521"          # a-7 sent later
    assert result["visitor"]["info"]["departmentId"] == "dep-billing"  # agent over visitor
    assert result["visitor"]["info"]["customVariables"] == {"plan": "platinum", "coupon": "WINTER10"}
    assert result["unfinishedWrapups"] == {"a-7": {"categories": ["billing"], "comment": "call back tomorrow"}}
    assert without_fallback_note(done.stderr) == b""


def test_stdin_and_yaml_reports(tmp_path):
    yaml_report = tmp_path / "agent.yaml"
    yaml_report.write_text("visitorId: v-1\nsource: {type: agent, id: a-1}\nsentAt: 2026-11-24T09:00:00Z\n"
                           "visitor:\n  info:\n    captureTime: 2026-11-24T08:00:00Z\n    ifCaptured: true\n")
    done = cli("recover", "--now", NOW, "-", yaml_report,
               input_bytes=json.dumps(report(visitor={"status": "preChat"})).encode())
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
    one_line_error(cli("recover", "--now", NOW, path), f"{path}: $.visitor.info.browsr: unknown key 'browsr' (did you mean 'browser'?)")


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
