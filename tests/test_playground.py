"""`chat-recovery playground` as a product owner's page uses it, through its
JSON API on a real process: diagnostics of an edited policy, the recovery of
a report set under it, bad input as messages (the server stays up), nothing
written without --write; and the committed page is the build of its sources."""

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from playground_server import Playground

pytest.importorskip("uvicorn", reason="the playground needs the serve extra")

STATIC = ROOT / "engine" / "chat_recovery" / "playground" / "static"
UI = ROOT / "playground-ui"
NOW = "2026-11-24T09:00:30Z"


def sources_hash() -> str:
    """As playground-ui/build.mjs records it in static/SOURCES.sha256."""
    names = [".npmrc", "build.mjs", "package.json", "package-lock.json"]
    names += sorted(f"src/{p.name}" for p in (UI / "src").iterdir())
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + (UI / name).read_bytes() + b"\0")
    return digest.hexdigest()


def test_the_committed_page_is_the_build_of_its_sources():
    recorded = (STATIC / "SOURCES.sha256").read_text().strip()
    assert recorded == sources_hash(), "playground-ui/ changed since the page was built: run `make ui` and commit static/"


def test_the_page_asks_nothing_of_another_machine():
    """No CDN, font or script from elsewhere: every URL in the page is this origin's."""
    html = (STATIC / "index.html").read_text()
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == ["data:,", "app.css", "app.js"]
    for name in ("app.js", "app.css"):
        urls = set(re.findall(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", (STATIC / name).read_text()))
        assert urls <= {"http://www.w3.org"}, f"{name} names {urls}"  # the SVG namespace, not a request


@pytest.fixture(scope="module")
def playground(tmp_path_factory):
    work = tmp_path_factory.mktemp("playground")
    for name in ("rules", "examples", "corpus"):
        shutil.copytree(ROOT / name, work / name)
    served = Playground("--policy", "rules", cwd=work)
    served.rules = work / "rules"
    yield served
    served.stop()


def transfer_reports(playground):
    answer = playground.client.get("/api/report-set", params={"name": "examples/chat-transferred"})
    assert answer.status_code == 200, answer.text
    return answer.json()["reports"]


def visitor_info(playground, old, new):
    text = (playground.rules / "visitor-info.yaml").read_text()
    assert old in text
    return {"visitor-info.yaml": text.replace(old, new, 1)}


DEPARTMENT = "  departmentId:\n    strategy: agentOverrideVisitor"


def test_it_prints_its_loopback_url_and_serves_the_page(playground):
    assert playground.banner.startswith("chat-recovery: playground on http://127.0.0.1:")
    assert "nothing is written to disk (no --write)" in playground.banner
    page = playground.client.get("/")
    assert page.status_code == 200 and "<title>chat-recovery policy playground</title>" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    listing = playground.client.get("/api/files").json()
    assert "visitor-info.yaml" in [f["name"] for f in listing["files"]] and listing["writable"] is False
    assert "examples/chat-transferred" in playground.client.get("/api/report-sets").json()["sets"]
    known = playground.client.get("/api/vocabulary").json()  # what the editor completes, from the schemas
    assert known["properties"]["keys"]["strategy"].startswith("Strategy: A name from strategies.yaml")
    assert {"first", "priority", "latest"} <= set(known["strategies"]["values"])
    tree = known["properties"]["tree"]  # the keys by where they stand: `*` any name
    assert set(tree["keys"]) == {"kind", "target", "description", "properties"}
    assert set(tree["children"]["properties"]["children"]["*"]["keys"]) == {"strategy", "merge", "when", "seed", "description"}


def test_an_edit_changes_the_recovery_and_names_the_deciding_rule(playground):
    reports = transfer_reports(playground)
    before = playground.check(reports=reports, now=NOW).json()
    after = playground.check(
        files=visitor_info(playground, DEPARTMENT, DEPARTMENT.replace("agentOverrideVisitor", "visitorOverrideAgent")),
        reports=reports,
        now=NOW,
    ).json()
    assert before["recovery"]["visitor"]["info"]["departmentId"] == "dep-billing"
    assert after["ok"] and after["recovery"]["visitor"]["info"]["departmentId"] == "dep-support"
    decided = after["recovery"]["explain"]["$.visitor.info.departmentId"]
    assert (decided["rule"], decided["strategy"]) == ("visitor-info.yaml:154:3", "visitorOverrideAgent")  # no temporary path


def test_edit_after_edit_each_answer_is_of_the_text_sent(playground):
    """Files are parsed and schema-checked once per text (a keystroke changes
    one file): going back to a text seen before answers for that text."""
    reports = transfer_reports(playground)
    support = visitor_info(playground, DEPARTMENT, DEPARTMENT.replace("agentOverrideVisitor", "visitorOverrideAgent"))
    unschema = visitor_info(playground, DEPARTMENT, DEPARTMENT.replace("strategy: agentOverrideVisitor", "strategy: [1]"))
    original = visitor_info(playground, DEPARTMENT, DEPARTMENT)

    def department(files):
        answer = playground.check(files=files, reports=reports, now=NOW).json()
        return answer["recovery"] and answer["recovery"]["visitor"]["info"]["departmentId"], [
            (p["file"], p["line"]) for p in answer["problems"] if p["severity"] == "error"
        ]

    for _ in range(2):
        assert department(support) == ("dep-support", [])
        assert department(unschema) == (None, [("visitor-info.yaml", 155)])
        assert department(original) == ("dep-billing", [])


def test_a_misspelt_strategy_is_an_error_at_its_line_with_the_did_you_mean(playground):
    answer = playground.check(
        files=visitor_info(playground, DEPARTMENT, DEPARTMENT.replace("agentOverrideVisitor", "agentOverideVisitor")),
        reports=transfer_reports(playground),
        now=NOW,
    ).json()
    assert not answer["ok"]
    [problem] = [p for p in answer["problems"] if p["code"] == "unknown-strategy"]
    assert (problem["file"], problem["line"]) == ("visitor-info.yaml", 155)
    assert "did you mean 'agentOverrideVisitor'?" in problem["message"]
    assert answer["recovery"] is None and "does not load" in answer["recoveryError"]


def test_what_the_change_does_over_the_report_sets_and_suites(playground):
    edited = visitor_info(playground, DEPARTMENT, DEPARTMENT.replace("agentOverrideVisitor", "visitorOverrideAgent"))
    answer = playground.client.post("/api/changes", json={"files": edited}).json()["diff"]
    assert [(c["file"], c["line"], c["subject"]) for c in answer["structural"]] == [("visitor-info.yaml", 154, "departmentId")]
    assert answer["summary"]["cases"] == 175 and answer["summary"]["casesChanged"] == 5  # as README's `policy diff` says
    transfer = next(c for c in answer["cases"] if c["name"] == "examples/chat-transferred")
    assert transfer["changes"][0] == {"path": "$.visitor.info.departmentId", "old": '"dep-billing"', "new": '"dep-support"'}
    assert any(c["name"].startswith("tests/visitor-info.test.yaml:225: ") for c in answer["cases"])  # no absolute path
    assert playground.client.post("/api/changes", json={}).json()["diff"]["summary"]["behaviourChanged"] is False
    broken = playground.client.post("/api/changes", json={"files": {"policy.yaml": "kind: [unclosed"}}).json()
    assert broken["diff"] is None and "does not load" in broken["message"]


def test_a_suite_case_that_changes_opens_with_its_reports_and_now(playground):
    """A suite case named by "what my change does" comes back as a report set
    does, so the page recovers it under the edit: the value its suite pins changes."""
    edited = visitor_info(playground, DEPARTMENT, DEPARTMENT.replace("agentOverrideVisitor", "visitorOverrideAgent"))
    names = [c["name"] for c in playground.client.post("/api/changes", json={"files": edited}).json()["diff"]["cases"]]
    [name] = [n for n in names if n.startswith("tests/visitor-info.test.yaml:")]
    case = playground.client.get("/api/case", params={"name": name}).json()
    assert case["about"].startswith("the case at tests/visitor-info.test.yaml:") and case["now"].endswith("Z")
    assert [r["name"] for r in case["reports"]] == ["1-agent-a-1.json", "2-visitor.json"]
    department = "$.visitor.info.departmentId"
    before = playground.check(reports=case["reports"], now=case["now"]).json()["recovery"]["explain"][department]
    after = playground.check(files=edited, reports=case["reports"], now=case["now"]).json()["recovery"]["explain"][department]
    assert (before["value"], after["value"]) == ("support", "sales")
    unknown = playground.client.get("/api/case", params={"name": "tests/nothing.test.yaml:1: no such case"})
    assert unknown.status_code == 422 and unknown.json() == {"error": "no case 'tests/nothing.test.yaml:1: no such case'"}


def test_hover_text_for_the_policys_own_names_in_both_languages(playground):
    """Properties, statuses and actions as the rule files describe them (zh + en), not hard-coded."""
    names = playground.client.get("/api/vocabulary").json()["names"]
    assert names["browser"] == [
        {"what": "visitor.info property", "file": "visitor-info.yaml", "zh": "访客的浏览器", "en": "the visitor's browser"}
    ]
    [pre_chat] = names["preChat"]
    assert (pre_chat["what"], pre_chat["file"]) == ("status", "visitor-status.yaml") and "latestPrechatTime" in pre_chat["zh"]
    [request] = names["visitorRequestChat"]
    assert (request["what"], request["en"]) == ("action", "The visitor requests a chat; it waits from now.")
    assert request["zh"].startswith("request time: visitor request chat")


def test_the_suites_run_under_the_edited_policy(playground):
    edited = visitor_info(playground, DEPARTMENT, DEPARTMENT.replace("agentOverrideVisitor", "visitorOverrideAgent"))
    answer = playground.client.post("/api/suites", json={"files": edited}).json()
    assert (answer["passed"], answer["cases"], answer["coverage"]["percent"]) == (157, 158, 100.0)
    [failure] = answer["failures"]
    assert (failure["file"], failure["line"], failure["expected"], failure["actual"]) == (
        "tests/visitor-info.test.yaml",
        231,
        '"support"',
        '"sales"',
    )
    assert failure["decidedBy"].startswith("visitor-info.yaml:154:3 (strategy visitorOverrideAgent")
    assert playground.client.post("/api/suites", json={}).json()["failures"] == []


def test_the_patch_and_the_zip_hand_off_the_edited_files(playground, tmp_path):
    text = (playground.rules / "client.yaml").read_text()
    edited = {"client.yaml": text.rstrip("\n"), "extra.yaml": "kind: x\n"}
    edited |= visitor_info(playground, DEPARTMENT, DEPARTMENT.replace("agentOverrideVisitor", "visitorOverrideAgent"))
    patch = playground.client.post("/api/patch", json={"files": edited})
    assert patch.headers["content-disposition"] == 'attachment; filename="policy.patch"'
    assert patch.text.startswith("diff --git a/client.yaml b/client.yaml\n--- a/client.yaml\n+++ b/client.yaml\n")
    assert (
        "\\ No newline at end of file\n" in patch.text and "new file mode 100644\n--- /dev/null\n+++ b/extra.yaml\n" in patch.text
    )
    copy = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", copy)
    (tmp_path / "p.patch").write_text(patch.text)
    subprocess.run(["git", "apply", str(tmp_path / "p.patch")], cwd=copy, check=True, timeout=60)
    for name, text in edited.items():
        assert (copy / name).read_text() == text
    archive = zipfile.ZipFile(io.BytesIO(playground.client.post("/api/zip", json={"files": edited}).content))
    assert archive.read("visitor-info.yaml").decode() == edited["visitor-info.yaml"]
    assert sorted(archive.namelist()) == sorted({*(p.name for p in playground.rules.glob("*.yaml")), "extra.yaml"})
    assert playground.client.post("/api/patch", json={}).text == ""  # nothing edited, nothing to apply


def test_the_reports_and_their_recovery_as_a_suite_case_that_passes(playground, tmp_path):
    reports = transfer_reports(playground)
    answer = playground.client.post("/api/suite-case", json={"reports": reports, "now": NOW, "name": "the transfer"})
    text = answer.json()["yaml"]
    assert text.startswith("- name: the transfer\n  now: '2026-11-24T09:00:30Z'\n  reports:\n")
    assert "    $.visitor.info.departmentId: dep-billing\n" in text
    copy = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", copy)
    indented = "".join(f"  {line}\n" for line in text.splitlines())
    (copy / "tests" / "playground.test.yaml").write_text(f"kind: policyTests\ntests:\n{indented}")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("chat-recovery")), "policy", "test", str(copy), "-k", "the transfer"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "1 passed, 0 failed" in done.stdout, done.stdout + done.stderr
    none = playground.client.post("/api/suite-case", json={"now": NOW})
    assert none.status_code == 422 and "a case needs a recovery" in none.json()["error"]


@pytest.mark.parametrize(
    "body, words",
    [
        ({"files": {"../outside.yaml": "kind: x"}}, "'../outside.yaml' is not a rule file name"),
        ({"files": {"sub/client.yaml": "kind: x"}}, "is not a rule file name"),
        ({"files": {"client.yaml": "x" * (256 * 1024 + 1)}}, "'client.yaml' is larger than 256 KiB"),
        ({"files": {"client.yaml": 7}}, "the text of 'client.yaml' must be a string"),
        ({"files": ["client.yaml"]}, "send the files as"),
    ],
)
def test_bad_input_is_a_message_and_the_server_stays_up(playground, body, words):
    answer = playground.check(**body)
    assert answer.status_code == 422 and words in answer.json()["error"], answer.text
    assert playground.check().json()["ok"]


@pytest.mark.parametrize(
    "body, words",
    [
        ({"reports": [{"name": "a.json", "text": "{"}], "now": NOW}, "a.json: invalid JSON at line 1"),
        ({"reports": [{"name": "a", "text": "{}"}] * 65, "now": NOW}, "at most 64 reports"),
        ({"reports": [{"name": "big.json", "text": " " * (1024 * 1024 + 1)}], "now": NOW}, "big.json: larger than 1024 KiB"),
        ({"reports": "x", "now": NOW}, "send the reports as"),
        ({"reports": [{"name": "bomb.yaml", "text": "a: &a [x, x]\nb: [*a, *a]\n"}], "now": NOW}, "bomb.yaml: YAML anchors"),
        ({"reports": [{"name": "a.json", "text": "{}"}], "now": "yesterday"}, "now"),
        ({"reports": [{"name": "a.json", "text": "{}"}]}, "set `now`"),
    ],
)
def test_a_report_that_cannot_be_used_is_a_message_beside_the_diagnostics(playground, body, words):
    answer = playground.check(files={"policy.yaml": "kind: [unclosed"}, **body)
    assert answer.status_code == 200 and answer.json()["recovery"] is None
    assert words in answer.json()["recoveryError"] and "Traceback" not in answer.text
    assert [p["code"] for p in answer.json()["problems"]] == ["yaml-syntax"]  # the policy's diagnostics still come


def test_a_yaml_bomb_or_a_policy_that_does_not_load_is_a_diagnostic(playground):
    bomb = "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n"
    answer = playground.check(files={"client.yaml": bomb}, reports=transfer_reports(playground), now=NOW).json()
    assert {p["code"] for p in answer["problems"]} >= {"alias"}
    assert answer["recovery"] is None and not answer["ok"]
    broken = playground.check(files={"policy.yaml": "kind: [unclosed"}).json()
    assert [p["code"] for p in broken["problems"]] == ["yaml-syntax"] and broken["problems"][0]["file"] == "policy.yaml"


def test_requests_from_elsewhere_are_refused(playground):
    foreign = playground.client.get("/api/files", headers={"Host": "attacker.example:80"})
    assert foreign.status_code == 403 and "only on this machine" in foreign.json()["error"]
    form = playground.client.post("/api/check", content=b"files=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 403 and "send JSON" in form.json()["error"]
    not_json = playground.client.post("/api/check", content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.json()["error"] == "the request is not JSON"
    huge = playground.client.post(
        "/api/check", content=b" " * (8 * 1024 * 1024 + 1), headers={"Content-Type": "application/json"}
    )
    assert huge.status_code == 422 and "larger than 8 MiB" in huge.json()["error"]
    for name in ("../rules", "examples/../../etc", "nowhere/x", "examples/no-such-set"):
        outside = playground.client.get("/api/report-set", params={"name": name})
        assert outside.status_code == 422 and outside.json()["error"] == f"no report set '{name}'"


def test_without_write_save_writes_nothing(playground):
    before = (playground.rules / "visitor-info.yaml").read_bytes()
    answer = playground.client.post("/api/save", json={"files": visitor_info(playground, "agentOverrideVisitor", "agentOnly")})
    assert answer.status_code == 422 and "start it with --write" in answer.json()["error"]
    assert (playground.rules / "visitor-info.yaml").read_bytes() == before


def test_with_write_save_writes_the_edited_files_only_when_the_check_passes(rules_copy):
    served = Playground("--policy", str(rules_copy), "--write", cwd=rules_copy.parent)
    try:
        assert f"Save writes into {rules_copy.resolve()}" in served.banner
        text = (rules_copy / "visitor-info.yaml").read_text()
        bad = served.client.post("/api/save", json={"files": {"visitor-info.yaml": text.replace(DEPARTMENT, DEPARTMENT + "x")}})
        assert bad.json()["saved"] == [] and "not saved" in bad.json()["message"]
        assert (rules_copy / "visitor-info.yaml").read_text() == text
        good = DEPARTMENT.replace("agentOverrideVisitor", "visitorOverrideAgent")
        saved = served.client.post("/api/save", json={"files": {"visitor-info.yaml": text.replace(DEPARTMENT, good)}}).json()
        assert saved["saved"] == ["visitor-info.yaml"] and saved["message"].startswith("wrote visitor-info.yaml in ")
    finally:
        served.stop()
    assert good in (rules_copy / "visitor-info.yaml").read_text()
    check = subprocess.run(
        [str(Path(sys.executable).with_name("chat-recovery")), "policy", "check", str(rules_copy)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_write_needs_a_policy_directory():
    from chat_recovery.cli import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["playground", "--write"], stdout=out, stderr=err) == 2
    assert err.getvalue() == "chat-recovery playground: --write needs --policy DIR (the bundled rules are not edited in place)\n"


def test_the_api_answers_json_for_the_page(playground):
    """The page reads `problems` and `recovery` from one answer, with the explain entries it tabulates."""
    answer = playground.check(reports=transfer_reports(playground), now=NOW)
    body = json.loads(answer.text)
    assert answer.headers["content-type"] == "application/json" and body["ok"] and body["problems"] == []
    assert body["recovery"]["explain"]["$.visitor.status"]["rule"].startswith("chat-actions.yaml:")
