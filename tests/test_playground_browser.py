"""The playground in a real browser: Debian's Chromium, headless, driven by
Playwright for Python (no browser download: executable_path is the system's).
A product owner's session: load the transfer example, change a strategy by
typing in the editor, see the recovered value and its deciding rule change;
misspell the strategy, see the error underlined at its line with the
did-you-mean, click it, fix it. Screenshots go to $PLAYGROUND_SCREENSHOTS
(a CI artifact folder) or the test's temporary folder; never committed."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from playground_server import Playground

pytest.importorskip("uvicorn", reason="the playground needs the serve extra")

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CLI = Path(sys.executable).with_name("chat-recovery")
WAIT_MS = 120_000  # a hang guard only: each step takes well under a second


def _skip_or_fail(message: str):
    if os.environ.get("CI"):
        pytest.fail(message)  # CI must not pass by skipping
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    exe = next((path for path in CHROMIUM if Path(path).exists()), None) or shutil.which("chromium")
    if exe is None:
        _skip_or_fail("Chromium is not installed: apt-get install chromium (.ci/run does this)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("Playwright for Python is not installed: pip install playwright (the test extra)")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=exe)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, tmp_path):
    work = tmp_path / "work"
    for name in ("rules", "examples", "corpus"):
        shutil.copytree(ROOT / name, work / name)
    served = Playground("--policy", "rules", cwd=work)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
    page.goto(served.url)
    page.locator("body[data-answered]").wait_for(state="attached")  # the files are loaded and the first check answered
    yield page
    context.close()
    served.stop()
    assert errors == []


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


DEPARTMENT = "tr[data-path='info.departmentId']"


def replace_word_at_cursor_line_end(page, text):
    """Select the last word of the cursor's line, as a person does (End, then
    Ctrl+Shift+Left), and type over it."""
    page.keyboard.press("End")
    page.keyboard.press("Control+Shift+ArrowLeft")
    page.keyboard.type(text)


def test_a_product_owner_changes_a_strategy_and_sees_the_recovery_change(page, shots, tmp_path):
    page.select_option("#report-set", "examples/chat-transferred")
    row = page.locator(DEPARTMENT)
    assert row.locator("td.value").inner_text() == "dep-billing"
    assert row.locator("td.decided").inner_text() == "visitor-info.yaml:154 agentOverrideVisitor"
    page.screenshot(path=str(shots / "1-transfer-loaded.png"))

    # The deciding rule's link opens visitor-info.yaml at departmentId; its strategy is on the next line.
    row.locator("a.rule").click()
    assert page.locator("#editor-title").inner_text() == "visitor-info.yaml"
    assert page.locator(".cm-activeLine").inner_text() == "  departmentId:"
    page.keyboard.press("ArrowDown")
    answered = int(page.locator("body").get_attribute("data-answered"))
    replace_word_at_cursor_line_end(page, "visitorOverrideAgent")
    typed = time.monotonic()
    page.locator(f"{DEPARTMENT} td.value", has_text="dep-support").wait_for()
    elapsed_ms = (time.monotonic() - typed) * 1000
    assert int(page.locator("body").get_attribute("data-answered")) > answered
    assert row.locator("td.decided").inner_text() == "visitor-info.yaml:154 visitorOverrideAgent"
    assert "the agent's value" not in row.inner_text()
    assert page.locator("#status").inner_text() == "policy check passes"
    assert page.locator("#policy-files button.edited").all_inner_texts() == ["visitor-info.yaml"]
    changed = page.locator("#changed-cases > li")
    changed.first.wait_for()
    assert page.locator("#rule-changes li").all_inner_texts() == [
        "visitor-info.yaml:154 departmentId: strategy agentOverrideVisitor -> visitorOverrideAgent "
        "(from [agent, visitor], pick priority -> from [visitor, agent], pick priority)"
    ]
    assert "5 of 175 cases recover differently" in page.locator("#changes .headline").inner_text()
    assert [li.get_attribute("data-case") for li in changed.all()][:4] == [
        "examples/agents-disagree",
        "examples/chat-transferred",
        "examples/prechat-visitor",
        "corpus/transfer-pending",
    ]
    page.screenshot(path=str(shots / "2-strategy-changed.png"))
    (shots / "keystroke-to-recovery-ms.txt").write_text(f"{elapsed_ms:.0f}\n")
    print(f"last keystroke to the updated recovery: {elapsed_ms:.0f} ms")

    # The suites: the case that pinned the agent's value now fails, with the rule that decided.
    page.get_by_role("button", name="Run suites").click()
    page.locator("#tests-summary").wait_for()
    assert page.locator("#tests-summary").inner_text().startswith("157 passed, 1 failed (158 cases in 6 suites)")
    [failure] = page.locator("#test-failures li").all_inner_texts()
    assert failure.startswith("tests/visitor-info.test.yaml:231:7: department id (departmentId): agent override visitor")
    assert 'expected "support", got "sales"; decided by visitor-info.yaml:154 (strategy visitorOverrideAgent' in failure

    # The hand-off: the patch applies to a copy of rules/ with git apply, and that policy passes check --strict.
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download patch").click()
    patch = tmp_path / "policy.patch"
    downloading.value.save_as(patch)
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "rules", copy)
    subprocess.run(["git", "apply", str(patch)], cwd=copy, check=True, timeout=60)
    assert "strategy: visitorOverrideAgent\n    seed: department id" in (copy / "visitor-info.yaml").read_text()
    check = subprocess.run([str(CLI), "policy", "check", "--strict", str(copy)], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr

    # A slip: the error is underlined at its line, listed with the did-you-mean, and a click goes to it.
    row.locator("a.rule").click()  # back in the editor, at departmentId
    page.keyboard.press("ArrowDown")
    replace_word_at_cursor_line_end(page, "visitorOverideAgent")
    listed = page.locator("#diagnostics li.error button", has_text="unknown-strategy")
    listed.wait_for()
    assert listed.inner_text().startswith("visitor-info.yaml:155:")
    assert "did you mean 'visitorOverrideAgent'?" in listed.inner_text()
    assert page.locator(".cm-lintRange-error").inner_text() == "visitorOverideAgent"
    assert page.locator("#status").inner_text() == "the policy has 1 error"
    assert "does not load" in page.locator("#recovery-error").inner_text()
    page.screenshot(path=str(shots / "3-misspelt-strategy.png"))
    page.keyboard.press("Control+Home")
    listed.click()
    assert page.locator(".cm-activeLine").inner_text() == "    strategy: visitorOverideAgent"

    # Fixed: no diagnostics, and the recovery is back.
    replace_word_at_cursor_line_end(page, "visitorOverrideAgent")
    page.locator("#status", has_text="policy check passes").wait_for()
    assert page.locator("#diagnostics li").count() == 0 and page.locator(".cm-lintRange-error").count() == 0
    assert page.locator(f"{DEPARTMENT} td.value").inner_text() == "dep-support"

    # A case that changes opens with a click: its reports are loaded and recovered under the edit.
    page.locator("#changed-cases button.case", has_text="corpus/transfer-pending").click()
    page.locator("#report-files button", has_text="2-agent-a3.json").wait_for()
    assert page.locator("#report-set").input_value() == "corpus/transfer-pending"
    page.locator(f"{DEPARTMENT} td.decided", has_text="visitorOverrideAgent").wait_for()

    # A suite case opens too: its reports and its `now`, recovered under the edit (the value its suite pins changes).
    page.locator("#changed-cases button.case", has_text="tests/visitor-info.test.yaml:").click()
    page.locator("#report-files button", has_text="2-visitor.json").wait_for()
    assert page.locator("#report-about").inner_text().startswith("the case at tests/visitor-info.test.yaml:")
    assert page.locator("#report-set").input_value() == ""
    page.locator(f"{DEPARTMENT} td.value", has_text="sales").wait_for()
    assert page.locator(f"{DEPARTMENT} td.decided").inner_text() == "visitor-info.yaml:154 visitorOverrideAgent"
    page.screenshot(path=str(shots / "4-suite-case-opened.png"))


def test_the_json_tab_shows_the_recovery(page):
    page.select_option("#report-set", "examples/chat-transferred")
    page.locator(DEPARTMENT).wait_for()
    page.get_by_role("tab", name="JSON").click()
    assert page.locator("#recovery-tables").is_hidden()
    assert '"departmentId": "dep-billing"' in page.locator("#recovery-json").inner_text()
    page.get_by_role("tab", name="As a suite case").click()
    case = page.locator("#suite-case-yaml", has_text="$.visitor.info.departmentId: dep-billing")
    case.wait_for()
    assert case.inner_text().startswith("- name: examples/chat-transferred\n  now: '2026-11-24T09:00:30Z'\n  reports:\n")


def tab_to(page, selector, presses=300):
    """Tab (only the keyboard) until the element `selector` names has the focus."""
    for _ in range(presses):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_the_main_flow_works_with_the_keyboard_alone(page):
    tab_to(page, "#report-set")
    while page.locator("#report-set").input_value() != "examples/chat-transferred":
        page.keyboard.press("ArrowDown")
    page.locator(f"{DEPARTMENT} td.value", has_text="dep-billing").wait_for()
    tab_to(page, f"{DEPARTMENT} a.rule")
    page.keyboard.press("Enter")
    assert page.locator(".cm-activeLine").inner_text() == "  departmentId:"
    page.keyboard.press("ArrowDown")
    replace_word_at_cursor_line_end(page, "visitorOverrideAgent")
    page.locator(f"{DEPARTMENT} td.value", has_text="dep-support").wait_for()
    page.keyboard.press("Escape")  # CodeMirror keeps Tab for focus moves (no indentWithTab): out of the editor
    tab_to(page, "#run-suites", presses=600)
    page.keyboard.press("Enter")
    assert page.locator("#tests-summary").inner_text().startswith("157 passed, 1 failed")


AXE = ROOT / "playground-ui" / "node_modules" / "axe-core" / "axe.min.js"


def test_no_serious_or_critical_accessibility_violations(browser, tmp_path, shots):
    """axe-core (from the npm registry: playground-ui's devDependencies) injected
    into the page, on the main view with a recovery and an error shown."""
    if not AXE.exists():
        _skip_or_fail("axe-core is not installed: cd playground-ui && npm ci (.ci/run does this)")
    work = tmp_path / "work"
    for name in ("rules", "examples", "corpus"):
        shutil.copytree(ROOT / name, work / name)
    served = Playground("--policy", "rules", cwd=work)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)  # the CSP refuses injected scripts
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(served.url)
        page.select_option("#report-set", "examples/chat-transferred")
        page.locator(DEPARTMENT).wait_for()
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("async () => (await axe.run(document)).violations")
        page.screenshot(path=str(shots / "4-accessibility-checked.png"))
    finally:
        context.close()
        served.stop()
    serious = [
        (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious


def test_reports_of_ones_own_typed_or_dropped(page):
    page.get_by_role("button", name="+ New report").click()
    assert page.locator("#editor-title").inner_text() == "report.json"
    page.locator("#recovery-tables caption", has_text="Visitor").wait_for()
    assert page.locator("tr[data-path='info.browser'] td.value").inner_text() == "Firefox 132"
    page.keyboard.press("Control+End")
    page.keyboard.type("}")  # one brace too many: a message, never a traceback
    page.locator("#recovery-error", has_text="report.json").wait_for()
    assert "Traceback" not in page.locator("#recovery-error").inner_text()

    dropped = "visitorId: v-1\nsource: {type: agent, id: a-1}\nsentAt: 2026-11-24T09:00:01Z\nvisitor: {status: inSite}\n"
    transfer = page.evaluate_handle(
        "text => { const dt = new DataTransfer(); dt.items.add(new File([text], 'agent.yaml')); return dt; }", dropped
    )
    page.dispatch_event("#files-nav", "drop", {"dataTransfer": transfer})
    assert page.locator("#report-files button").all_inner_texts() == ["report.json", "agent.yaml"]
    assert page.locator("#editor-title").inner_text() == "agent.yaml"


def hover_word(page, word):
    """Rest the mouse on `word` in the cursor's line, as a person would."""
    box = page.evaluate(
        """word => {
            const line = document.querySelector(".cm-activeLine");
            const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const at = node.textContent.indexOf(word);
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + word.length);
                const r = range.getBoundingClientRect();
                return {x: r.x + r.width / 2, y: r.y + r.height / 2};
            }
            return null;
        }""",
        word,
    )
    assert box, f"{word} is not on the cursor's line"
    page.mouse.move(box["x"] - 2, box["y"])
    page.mouse.move(box["x"], box["y"])


def test_completion_and_hover_come_from_the_schemas_and_the_strategy_table(page):
    page.select_option("#report-set", "examples/chat-transferred")
    page.locator(f"{DEPARTMENT} a.rule").click()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    page.keyboard.press("Control+Shift+ArrowLeft")
    page.keyboard.type("visitorOv")
    offered = page.locator(".cm-tooltip-autocomplete li")
    offered.first.wait_for()
    assert "visitorOverrideAgent" in offered.all_inner_texts()
    page.keyboard.press("Enter")
    assert page.locator(".cm-activeLine").inner_text() == "    strategy: visitorOverrideAgent"
    page.locator(f"{DEPARTMENT} td.value", has_text="dep-support").wait_for()

    hover_word(page, "visitorOverrideAgent")
    tip = page.locator(".cm-tooltip-hover .hover-text")
    tip.wait_for()
    assert tip.inner_text() == (
        "strategy visitorOverrideAgent\nThe visitor's value has priority and overwrites the agent's.\n"
        "以visitor的信息为优先, visitor会覆盖agent的信息"
    )
    page.mouse.move(0, 0)
    hover_word(page, "strategy")
    page.locator(".cm-tooltip-hover .hover-text", has_text="Strategy: A name from strategies.yaml").wait_for()


def test_hovering_a_property_name_shows_what_it_means_in_both_languages(page):
    """The text is the policy's own (visitor-info.yaml's description of browser), zh and en."""
    page.get_by_role("button", name="visitor-info.yaml").click()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+f")
    page.keyboard.type("  browser:")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    hover_word(page, "browser")
    tip = page.locator(".cm-tooltip-hover .hover-text")
    tip.wait_for()
    assert tip.inner_text() == "visitor.info property browser\nthe visitor's browser\n访客的浏览器"


def test_what_no_case_exercises_is_marked_in_the_gutter(page):
    page.locator("#policy-files button", has_text="strategies.yaml").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("  newestWins:\n    from: [visitor, agent]\n    pick: latest\n")
    page.locator("#status", has_text="policy check passes").wait_for()
    page.get_by_role("button", name="Run suites").click()
    listed = page.locator("#test-failures li.uncovered")
    listed.wait_for()
    assert listed.all_inner_texts() == ["strategies.yaml:63 no case exercises strategy 'newestWins'"]
    assert page.locator("#tests-summary").inner_text().endswith("coverage 99.3%")
    marker = page.locator(".cm-coverage-gutter .uncovered")
    assert marker.count() == 1 and "newestWins" in marker.get_attribute("title")
    page.locator("#policy-files button", has_text="visitor-info.yaml").click()
    assert page.locator(".cm-coverage-gutter .uncovered").count() == 0  # only where it is


def test_a_broken_invariant_shows_the_messages_that_break_it(page):
    page.locator("#policy-files button", has_text="chat-actions.yaml").click()
    page.keyboard.press("Control+f")  # CodeMirror's search, as a person finds a rule
    page.keyboard.type("on: requestChatToBot")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.keyboard.press("End")  # the found text was selected: to its line's end
    page.keyboard.press("ArrowDown")
    assert page.locator(".cm-activeLine").inner_text() == "    when: {status: {not: [chatEnded, refusedByAgent]}}"
    page.keyboard.press("End")
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    for _ in range(len(", refusedByAgent")):
        page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Backspace")
    broken = page.locator("#diagnostics li.error", has_text="invariant-fails")
    broken.wait_for()
    assert (
        broken.locator("button")
        .inner_text()
        .startswith("invariants.yaml:45:3: error[invariant-fails]: invariant 'refusedNeverWaitsAgain' fails:")
    )
    assert broken.locator("ol.steps li").all_inner_texts() == [
        "agentRefuseChat → refusedByAgent",
        "requestChatToBot → waitingForChat",
    ]


def test_in_the_service_the_token_is_typed_once_then_the_page_checks(browser, shots):
    """`serve --playground`: /playground/ sends a browser to the login form;
    a wrong token is said there, the right one opens the page, whose checks
    and recoveries then run as in the `playground` command."""
    from service import TOKEN, Served

    served = Served("--workers", "0", "--playground")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(served.url + "/playground")
        assert page.url == served.url + "/playground/login"
        page.keyboard.type("not-the-token")
        page.keyboard.press("Enter")
        assert "not the service's token" in page.locator("[role=alert]").inner_text()
        page.locator("#token").fill("")
        page.keyboard.type(TOKEN)
        page.keyboard.press("Enter")
        page.locator("body[data-answered]").wait_for(state="attached")
        assert page.url == served.url + "/playground/"
        assert page.context.cookies()[0]["httpOnly"] is True
        page.select_option("#report-set", "examples/chat-transferred")
        assert page.locator(f"{DEPARTMENT} td.value").inner_text() == "dep-billing"
        assert page.locator("#status").inner_text() == "policy check passes"
        page.screenshot(path=str(shots / "9-in-the-service.png"))
    finally:
        context.close()
        served.stop()


def test_completion_offers_the_keys_valid_where_the_cursor_is(page):
    """Under a property, its rule's keys (strategy, seed; not `status`, a key
    of `when:` below it); at the top, the file's (target)."""
    page.select_option("#report-set", "examples/chat-transferred")
    page.locator(f"{DEPARTMENT} a.rule").click()  # the cursor on `  departmentId:`
    page.keyboard.press("End")
    page.keyboard.press("Enter")  # the new line keeps the indentation (2): two more put it under departmentId
    page.keyboard.type("  s")
    offered = page.locator(".cm-tooltip-autocomplete li")
    offered.first.wait_for()
    assert sorted(offered.all_inner_texts()) == ["seed", "strategy"]
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Home")
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowUp")
    page.keyboard.type("ta")
    offered.first.wait_for()
    assert offered.all_inner_texts() == ["target"]
