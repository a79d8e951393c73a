"""Running test cases through the public API, and saying for each failed
expectation what was expected, what came out, and which rule decided it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ...api import apply, render
from ...diagnostics import RecoveryError, ReportError
from ...paths import json_path
from ...policy.model import Policy
from .jsonpath import ABSENT, lookup
from .suites import Case, Expectation, Suite


@dataclass(frozen=True)
class Failure:
    """One expectation a case did not meet, at the place it is written."""

    line: int
    col: int
    path: str  # as written; "" for a case-level failure
    expected: str  # shown as JSON, or words
    actual: str
    decided_by: str | None = None


@dataclass
class CaseResult:
    case: Case
    failures: list = field(default_factory=list)
    state: dict | None = None
    recovery: dict | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def show(value: Any) -> str:
    if value is ABSENT:
        return "absent"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)  # stdlib: spaced for people, orjson has no ", "


def matches(expected: Any, actual: Any) -> bool:
    """Equal as JSON; a `rule` key (a position that moves whenever its file
    is edited) is compared only where the expectation writes it."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = set(actual) - ({"rule"} - set(expected))
        return set(expected) == keys and all(matches(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(matches(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual


def run_case(policy: Policy, case: Case, engine: str | None = None) -> CaseResult:
    result = CaseResult(case)
    state, error = None, None
    try:
        for name, report in zip(case.report_names, case.reports):
            try:
                state = apply(policy, state, report, case.now)
            except ReportError as exc:
                raise exc.located(name) from None
        result.state = state
        assert state is not None  # a case has at least one report (the suite schema)
        result.recovery = render(policy, state, explain=True, engine=engine)
    except (ReportError, RecoveryError) as exc:
        error = str(exc)
    line, col = case.error_at
    if case.expect_error is not None:
        if error is None:
            result.failures.append(
                Failure(line, col, "", f"an error containing {show(case.expect_error)}", "the reports recovered")
            )
        elif case.expect_error not in error:
            result.failures.append(
                Failure(line, col, "", f"an error containing {show(case.expect_error)}", f"error {show(error)}")
            )
        return result
    if error is not None:
        result.failures.append(Failure(case.line, case.col, "", "a recovery", f"error {show(error)}"))
        return result
    assert result.recovery is not None  # no error: rendered above
    for expectation in case.expectations:
        failure = _check(policy, expectation, result.recovery)
        if failure is not None:
            result.failures.append(failure)
    return result


def run_suites(policy: Policy, suites: list[Suite], engine: str | None = None, only: str | None = None) -> list[CaseResult]:
    """Every case of every suite, in order; `only` keeps cases whose name
    contains it. `engine` None: the policy's own choice."""
    return [run_case(policy, case, engine) for suite in suites for case in suite.cases if only is None or only in case.name]


def _check(policy: Policy, expectation: Expectation, recovery: dict) -> Failure | None:
    actual = lookup(recovery, expectation.parts)
    if expectation.absent:
        if actual is ABSENT:
            return None
        expected = "absent"
    elif actual is not ABSENT and matches(expectation.value, actual):
        return None
    else:
        expected = show(expectation.value)
    return Failure(
        expectation.line,
        expectation.col,
        expectation.path,
        expected,
        show(actual),
        decided_by(policy, recovery, expectation.parts),
    )


def decided_by(policy: Policy, recovery: dict, parts: tuple) -> str | None:
    """The rule behind the value at `parts`: its explain entry (or the
    nearest enclosing one), else the property rule that had nothing to pick."""
    explain = recovery.get("explain") or {}
    for n in range(len(parts), 0, -1):
        entry = explain.get(json_path(parts[:n]))
        if entry is not None:
            return _describe(entry)
    rules = {r.path: r for r in (*policy.info, *policy.chat_props, policy.status)}
    for n in range(len(parts), 0, -1):
        rule = rules.get(json_path(parts[:n]))
        if rule is not None:
            return f"{rule.origin} (strategy {rule.strategy.name}: no report supplied a value it takes)"
    return None


def _describe(entry: dict) -> str:
    text = f"{entry['rule'] or 'no rule'} (strategy {entry['strategy']}"
    source = entry.get("source")
    if source:
        text += f", from {source['type']}" + (f" {source['id']}" if source.get("id") else "")
        if entry.get("sentAt"):
            text += f" sent {entry['sentAt']}"
    text += ")"
    return f"{text}: {entry['why']}" if entry.get("why") else text
