"""Reading test suites (`*.test.yaml`): YAML with positions, the suite schema,
then what the schema cannot say (paths, files, names). Every problem is a
Diagnostic with file:line:col, collected before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...diagnostics import Code, Diagnostic, PolicyError, ReportError
from ...paths import json_path
from ...policy import bundled
from ...policy.contract import Contract
from ...policy.schema_errors import problems as explain_errors
from ...policy.yamlsource import Located, YamlError, load
from ...recovery.reports import parse_bytes
from ...recovery.strict_json import unfit
from .jsonpath import PathError, parse

SCHEMA = "policy-test.schema.json"
PATTERNS = ("*.test.yaml", "*.test.yml")


@dataclass(frozen=True)
class Expectation:
    """One `expect` entry (or one `absent` path) and where it is written."""

    path: str
    parts: tuple
    value: Any
    absent: bool
    line: int
    col: int


@dataclass(frozen=True)
class Case:
    """One test case: the reports (files read, defaults filled in), now, and
    what the recovery must hold."""

    name: str
    file: str
    line: int
    col: int
    now: str
    reports: list
    report_names: tuple  # where each report came from, for error messages
    expect: dict  # path as written -> expected value
    expectations: tuple  # Expectation, in the order written (expect, then absent)
    expect_error: str | None = None
    error_at: tuple = (0, 0)  # line, col of expectError
    seed: tuple = ()


@dataclass(frozen=True)
class Suite:
    file: str
    description: dict
    cases: tuple = field(default=())


class SuiteError(PolicyError):
    """Suites that cannot be read; `.diagnostics` holds every problem."""


def suite_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    found: set = set()
    for pattern in PATTERNS:
        found.update(path.rglob(pattern))
    return sorted(found)


def read_suites(
    path: str | Path, shown_as: str | None = None, contract: Contract | None = None
) -> tuple[list[Suite], list[Diagnostic]]:
    """Every suite under `path` (a suite file, or a folder searched for
    *.test.yaml) that reads cleanly, and every problem of the others."""
    path = Path(path)
    shown = (shown_as or str(path)).rstrip("/")
    if not path.exists():
        return [], [Diagnostic(shown, 0, 0, "no such suite file or folder", Code.NO_SUITES)]
    contract = contract or bundled.contract()
    suites, problems = [], []
    for file in suite_files(path):
        name = shown if file == path else f"{shown}/{file.relative_to(path).as_posix()}"
        suite, found = _read(file, name, contract)
        problems.extend(found)
        if suite is not None and not found:
            suites.append(suite)
    return suites, sorted(set(problems))


def load_suites(path: str | Path) -> list[Suite]:
    """The suites under `path`; raises SuiteError listing every problem."""
    suites, problems = read_suites(path)
    if problems:
        raise SuiteError(problems)
    return suites


def _read(file: Path, shown: str, contract: Contract) -> tuple[Suite | None, list[Diagnostic]]:
    raw = file.read_bytes()
    try:
        doc = load(raw.decode("utf-8"), shown)
    except UnicodeDecodeError as exc:
        return None, [
            Diagnostic(shown, 0, 0, f"not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})", Code.ENCODING)
        ]
    except YamlError as exc:
        return None, list(exc.diagnostics)
    if not isinstance(doc.data, dict) or doc.data.get("kind") != "policyTests":
        return None, [_diag(doc, shown, ("kind",), "a test suite is a mapping with `kind: policyTests`", Code.NO_KIND)]
    unfit_value = unfit(doc.data)  # reports are JSON: what the JSON reader refuses, inline YAML may not hold
    if unfit_value is not None:
        message, where = unfit_value
        return None, [_diag(doc, shown, tuple(where), message, Code.NOT_JSON)]
    problems = _schema_problems(doc, shown, contract)
    if problems:
        return None, problems
    data = doc.data
    defaults = data.get("defaults", {})
    cases: list[Case] = []
    seen: dict[str, tuple[int, int]] = {}
    for i, spec in enumerate(data["tests"]):
        at = ("tests", i)
        first = seen.setdefault(spec["name"], doc.at(at + ("name",)))
        if first != doc.at(at + ("name",)):
            problems.append(
                _diag(
                    doc,
                    shown,
                    at + ("name",),
                    f"duplicate case name '{spec['name']}' (first at {first[0]}:{first[1]})",
                    Code.DUPLICATE_CASE,
                )
            )
        case = _case(doc, shown, file.parent, at, spec, defaults, problems)
        if case is not None:
            cases.append(case)
    return Suite(shown, data.get("description", {}), tuple(cases)), problems


def _schema_problems(doc: Located, shown: str, contract: Contract) -> list[Diagnostic]:
    """Schema errors, except inside the reports of a case that expects an
    error: a bad report is what such a case is about."""
    cases = doc.data.get("tests")
    erring = {i for i, c in enumerate(cases) if isinstance(c, dict) and "expectError" in c} if isinstance(cases, list) else set()
    found = []
    for p in explain_errors(contract.validator(SCHEMA).iter_errors(doc.data)):
        if len(p.path) > 3 and p.path[0] == "tests" and p.path[1] in erring and p.path[2] == "reports":
            continue
        found.append(_diag(doc, shown, p.path, p.message, p.code, p.at_key))
    return found


def _case(doc: Located, shown: str, folder: Path, at: tuple, spec: dict, defaults: dict, problems: list) -> Case | None:
    bad = len(problems)
    now = spec.get("now", defaults.get("now"))
    if now is None:
        problems.append(_diag(doc, shown, at + ("name",), "no `now`: give it in the case or under `defaults`", Code.NO_NOW, True))
    if "expectError" in spec and ("expect" in spec or "absent" in spec):
        problems.append(
            _diag(doc, shown, at + ("expectError",), "a case expects an error or values, not both", Code.MIXED_EXPECTATIONS, True)
        )
    if not any(k in spec for k in ("expect", "absent", "expectError")):
        problems.append(
            _diag(doc, shown, at + ("name",), "a case needs `expect`, `absent` or `expectError`", Code.NO_EXPECTATION, True)
        )
    expectations = []
    for key, value in (spec.get("expect") or {}).items():
        expectations.append(_expectation(doc, shown, at + ("expect", key), key, value, False, problems))
    for j, key in enumerate(spec.get("absent") or ()):
        expectations.append(_expectation(doc, shown, at + ("absent", j), key, None, True, problems))
    reports, names = [], []
    for j, item in enumerate(spec["reports"]):
        report, name = _report(doc, shown, folder, at + ("reports", j), item, defaults, problems)
        reports.append(report)
        names.append(name)
    if len(problems) > bad or now is None:
        return None
    kept = [e for e in expectations if e is not None]  # a None was a problem, counted above
    seed = spec.get("seed", ())
    line, col = doc.at(at)
    return Case(
        spec["name"],
        shown,
        line,
        col,
        now,
        reports,
        tuple(names),
        {e.path: e.value for e in kept if not e.absent},
        tuple(kept),
        spec.get("expectError"),
        doc.at(at + ("expectError",), key=True),
        (seed,) if isinstance(seed, str) else tuple(seed),
    )


def _expectation(
    doc: Located, shown: str, where: tuple, path: str, value: Any, absent: bool, problems: list
) -> Expectation | None:
    line, col = doc.at(where, key=not absent)
    try:
        parts = parse(path)
    except PathError as exc:
        problems.append(Diagnostic(shown, line, col, str(exc), Code.BAD_PATH, json_path(where)))
        parts = ()
    return Expectation(path, parts, value, absent, line, col)


def _report(doc: Located, shown: str, folder: Path, where: tuple, item: dict, defaults: dict, problems: list) -> tuple[Any, str]:
    """The report as the engine will see it, and a name for error messages."""
    name = f"{shown}:{doc.at(where)[0]}"
    if "file" in item:
        if len(item) > 1:
            problems.append(
                _diag(
                    doc,
                    shown,
                    where + ("file",),
                    "a report given by `file` takes nothing else beside it",
                    Code.FILE_AND_FIELDS,
                    True,
                )
            )
            return None, name
        target = folder / item["file"]
        name = item["file"]
        try:
            report = parse_bytes(target.read_bytes(), target.name)
        except OSError as exc:
            problems.append(
                _diag(
                    doc,
                    shown,
                    where + ("file",),
                    f"cannot read report file '{item['file']}': {exc.strerror or exc}",
                    Code.NO_FILE,
                )
            )
            return None, name
        except ReportError as exc:
            problems.append(_diag(doc, shown, where + ("file",), f"report file '{item['file']}': {exc}", Code.BAD_FILE))
            return None, name
    else:
        report = dict(item)
    if isinstance(report, dict):
        for key in ("visitorId", "sentAt"):
            if key not in report and key in defaults:
                report[key] = defaults[key]
    return report, name


def _diag(doc: Located, shown: str, path: tuple, message: str, code: str, at_key: bool = False) -> Diagnostic:
    line, col = doc.at(path, key=at_key)
    return Diagnostic(shown, line, col, message, code, json_path(path))
