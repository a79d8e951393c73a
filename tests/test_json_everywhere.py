"""One reading of JSON at every entry point (issue 16): what the strict
JSON reader refuses (a non-finite number, an integer beyond a double, a
lone surrogate, a duplicate key) is refused with its place when it arrives
as a YAML report file for `recover`, or in a policy test suite, inline or
by `file:`; never a traceback, never a bare `Infinity` printed."""

import pytest

from chat_recovery.authoring.suites import SuiteError, load_suites
from conftest import NOW, cli

REPORT = (
    'visitorId: v-y\nsource: {type: visitor}\nsentAt: "2026-11-24T09:00:04Z"\nvisitor: {info: {customVariables: {k: VALUE}}}\n'
)
BAD = [
    (".inf", "$.visitor.info.customVariables.k", "Infinity is not a finite number"),
    ("-.inf", "$.visitor.info.customVariables.k", "-Infinity is not a finite number"),
    (".nan", "$.visitor.info.customVariables.k", "NaN is not a finite number"),
    ("1.0e+400", "$.visitor.info.customVariables.k", "Infinity is not a finite number"),
    ("1" + "0" * 400, "$.visitor.info.customVariables.k", "an integer beyond the largest double"),
    ('"a\\ud800"', "$.visitor.info.customVariables.k", "a lone UTF-16 surrogate"),
    ('{"\\udc00": 1}', "$.visitor.info.customVariables.k", 'the key "\\udc00" holds a lone UTF-16 surrogate'),
]


@pytest.mark.parametrize("value, path, message", BAD, ids=[b[0][:12] for b in BAD])
def test_a_yaml_report_file_is_read_as_strictly_as_json(tmp_path, value, path, message):
    report = tmp_path / "r.yaml"
    report.write_text(REPORT.replace("VALUE", value), encoding="utf-8")
    done = cli("recover", "--now", NOW, report)
    err = done.stderr.decode()
    assert done.returncode == 1 and done.stdout == b"", err
    assert err.startswith(f"{report}: {path}: {message}") and len(err.strip().splitlines()) == 1


def test_a_large_but_finite_yaml_number_is_a_number(tmp_path):
    report = tmp_path / "r.yaml"
    report.write_text(REPORT.replace("VALUE", "1.5e+300"), encoding="utf-8")
    assert cli("recover", "--now", NOW, report).returncode == 0


SUITE = """\
kind: policyTests
defaults: {now: "2026-11-24T09:00:30Z", visitorId: v-1}
tests:
  - name: one case
    reports:
      - REPORT
    expect:
      $.visitor.info.name: Ann
"""


@pytest.mark.parametrize("value, path, message", BAD, ids=[b[0][:12] for b in BAD])
def test_an_inline_suite_report_is_refused_with_file_line_col(tmp_path, value, path, message):
    suite = tmp_path / "s.test.yaml"
    inline = "{source: {type: visitor}, sentAt: '2026-11-24T09:00:01Z', visitor: {info: {customVariables: {k: VALUE}}}}"
    suite.write_text(SUITE.replace("REPORT", inline.replace("VALUE", value)), encoding="utf-8")
    with pytest.raises(SuiteError) as caught:
        load_suites(suite)
    (problem,) = caught.value.diagnostics
    where = "$.tests[0].reports[0]" + path[1:]
    assert (problem.line, problem.code, problem.path) == (6, "not-json", where) and message in problem.message
    assert problem.col > 1


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("r.json", '{"visitorId": "v-1", "visitorId": "v-2"}', "$.visitorId: duplicate key 'visitorId'"),
        ("r.json", '{"visitorId": "v-1", "k": NaN}', "$.k: NaN is not a finite number"),
        ("r.yaml", REPORT.replace("VALUE", ".inf"), "$.visitor.info.customVariables.k: Infinity is not a finite number"),
        ("r.yaml", REPORT.replace("VALUE", '"\\ud800"'), "$.visitor.info.customVariables.k: a lone UTF-16 surrogate"),
    ],
)
def test_a_suite_report_file_is_refused_with_its_path(tmp_path, name, text, message):
    (tmp_path / name).write_text(text, encoding="utf-8")
    suite = tmp_path / "s.test.yaml"
    suite.write_text(SUITE.replace("REPORT", f"file: {name}"), encoding="utf-8")
    with pytest.raises(SuiteError) as caught:
        load_suites(suite)
    (problem,) = caught.value.diagnostics
    assert (problem.line, problem.code) == (6, "bad-file") and message in problem.message, problem.message


def test_policy_test_says_it_in_one_line_per_problem(tmp_path, rules_copy):
    suite = rules_copy / "tests" / "nan.test.yaml"
    inline = "{source: {type: visitor}, sentAt: '2026-11-24T09:00:01Z', visitor: {info: {customVariables: {k: .nan}}}}"
    suite.write_text(SUITE.replace("REPORT", inline), encoding="utf-8")
    done = cli("policy", "test", rules_copy, "--suites", suite)
    err = done.stderr.decode() + done.stdout.decode()
    assert done.returncode != 0 and "Traceback" not in err
    assert "nan.test.yaml:6:" in err and "NaN is not a finite number" in err and "not-json" in err
