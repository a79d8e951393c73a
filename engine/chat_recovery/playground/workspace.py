"""The policy the playground edits: the directory's rule files as they were
read at start, and what the page sends back, checked and recovered in a
fresh temporary copy each time. Never written to disk except by `save`, and
only when the caller allows it. Every input is bounded and every failure is
a `Refused` with a sentence for the page, never a traceback."""

from __future__ import annotations

import difflib
import io
import re
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..api import load_policy, recover
from ..authoring.check.analysis import analyse
from ..authoring.diff.behaviour import DEFAULT_NOW, show_change
from ..authoring.diff.compare import CorpusError, diff, read_set, suite_cases
from ..authoring.suites import measure, read_suites, run_suites
from ..diagnostics import Diagnostic, PolicyError, RecoveryError, ReportError
from ..jsonio import pretty
from ..policy import bundled
from ..policy.compile import compile_policy
from ..policy.files import DocumentCache
from ..policy.model import Policy
from ..recovery.reports import parse_bytes
from ..timeutil import given_now

# The same names `POST /v1/policy/check` takes: name.yaml, no folders.
RULE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml$")
REPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_FILES = 64
MAX_FILE_BYTES = 256 * 1024  # the shipped rule files are under 40 KiB
MAX_REPORTS = 64
MAX_REPORT_BYTES = 1024 * 1024
MAX_SET_FILES = 64  # files read from one report-set directory
SHOWN = "<playground>"  # the edited policy's name in its diagnostics, taken out again: the same on every check
SUITE_PATHS = ("$.visitor.", "$.chat.props.", "$.chat.state.")  # what a suite case pins: the values the policy decides


class Refused(ValueError):
    """An input the playground does not take; the message says why, for the page."""


@dataclass
class Workspace:
    """`directory`'s rule files (name -> text) as read at start, and where
    report sets are looked for. `baseline`: a private copy of the files as
    read at start, which "what my change does" compares with (Save changes
    `original`, never the baseline)."""

    directory: Path
    original: dict[str, str]
    report_roots: tuple[Path, ...] = ()
    writable: bool = False
    baseline: tempfile.TemporaryDirectory | None = None  # removed when the workspace is collected or the process ends
    _cached: dict = field(default_factory=dict)
    _documents: DocumentCache = field(default_factory=DocumentCache)  # the rule files as last typed, parsed and checked

    @classmethod
    def open(cls, directory: Path, report_roots: Iterable[Path] = (), writable: bool = False) -> Workspace:
        if not directory.is_dir():
            raise Refused(f"'{directory}' is not a directory")
        original: dict[str, str] = {}
        for path in sorted(directory.iterdir()):
            if path.is_file() and RULE_FILE.match(path.name):
                if len(original) >= MAX_FILES:
                    raise Refused(f"'{directory}' holds more than {MAX_FILES} rule files")
                original[path.name] = _read(path)
        if not original:
            raise Refused(f"'{directory}' holds no rule files (name.yaml)")
        baseline = tempfile.TemporaryDirectory(prefix="chat-recovery-playground-baseline-")
        for name, text in original.items():
            (Path(baseline.name) / name).write_text(text, encoding="utf-8")
        roots = tuple(r.resolve() for r in report_roots if r.is_dir())
        return cls(directory.resolve(), original, roots, writable, baseline)

    def files(self, edited: Any) -> dict[str, str]:
        """The policy as the page has it: the original files with the edited
        ones in their place (a name not in the original is a new file)."""
        if edited is None:
            return dict(self.original)
        if not isinstance(edited, dict):
            raise Refused('send the files as {"<name>.yaml": "<text>", ...}')
        merged = dict(self.original)
        for name, text in edited.items():
            if not isinstance(name, str) or not RULE_FILE.match(name):
                raise Refused(f"'{name}' is not a rule file name (name.yaml, no folders)")
            if not isinstance(text, str):
                raise Refused(f"the text of '{name}' must be a string")
            if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
                raise Refused(f"'{name}' is larger than {MAX_FILE_BYTES // 1024} KiB")
            merged[name] = text
        if len(merged) > MAX_FILES:
            raise Refused(f"at most {MAX_FILES} rule files")
        return merged

    def check_and_recover(self, edited: Any, reports: Any = None, now: Any = None) -> dict:
        """`policy check`'s diagnostics of the edited policy and, when it
        loads and reports are given, their recovery with explain."""
        files = self.files(edited)
        try:  # a report being typed is often broken: its problem goes beside the diagnostics, which still come
            parsed, when, unusable = (_reports(reports), _now(now), "") if reports else (None, "", "")
        except Refused as exc:
            parsed, when, unusable = None, "", str(exc)
        with tempfile.TemporaryDirectory(prefix="chat-recovery-playground-") as work:
            for name, text in files.items():
                (Path(work) / name).write_text(text, encoding="utf-8")
            policy, problems = self._check(work)
            answer: dict[str, Any] = {
                "ok": not any(p.severity == "error" for p in problems),
                "problems": [_without(SHOWN, p.to_dict()) for p in problems],
            }
            if unusable:
                answer.update(recovery=None, recoveryError=unusable)
            if parsed is not None:
                answer["recovery"] = None
                if policy is None:
                    answer["recoveryError"] = "the policy does not load: fix the errors above to see a recovery"
                else:
                    try:
                        answer["recovery"] = _without(SHOWN, recover(policy, parsed, when, explain=True))
                    except (ReportError, RecoveryError, PolicyError) as exc:
                        answer["recoveryError"] = _without(SHOWN, str(exc))
        return answer

    def _load(self, work: str) -> Policy:
        """The policy written in `work`, named SHOWN, its unchanged files read
        from the cache (a keystroke changes one file): PolicyError otherwise."""
        return compile_policy(Path(work), SHOWN, bundled.contract(), self._documents)

    def _check(self, work: str) -> tuple[Policy | None, tuple[Diagnostic, ...]]:
        """`check_policy` of the policy written in `work`, through `_load`."""
        try:
            policy = self._load(work)
        except PolicyError as exc:
            return None, exc.diagnostics
        return policy, tuple(analyse(policy, bundled.contract()))

    def changes(self, edited: Any) -> dict:
        """`policy diff` of the policy as started against the edited one, over
        the report sets and the policy's own test suites: rule changes, and
        every recovered value that changes, per case. None when the edited
        policy does not load (its diagnostics say why)."""
        files = self.files(edited)
        old = self._baseline_policy()
        if old is None:
            return {"diff": None, "message": "the policy as started does not load: there is nothing to compare with"}
        with tempfile.TemporaryDirectory(prefix="chat-recovery-playground-") as work:
            for name, text in files.items():
                (Path(work) / name).write_text(text, encoding="utf-8")
            try:
                new = self._load(work)
            except PolicyError:
                return {"diff": None, "message": "the edited policy does not load: fix its errors to see what the change does"}
            cases, notes = self._cases()
            result = diff(old, new, cases, notes)
            answer = {
                "structural": [c.to_dict() for c in result.structural],
                "cases": [
                    {
                        "name": d.case.name,
                        "changes": [{"path": v.path, "old": show_change(v)[0], "new": show_change(v)[1]} for v in d.changes],
                    }
                    for d in result.changed_cases
                ],
                "summary": result.summary(),
                "notes": list(result.notes),
            }
            assert self.baseline is not None
            return {"diff": _without(self.baseline.name, _without(SHOWN, _without(str(self.directory), answer)))}

    def _baseline_policy(self) -> Any:
        if "baseline" not in self._cached:
            assert self.baseline is not None
            try:
                self._cached["baseline"] = load_policy(self.baseline.name)
            except PolicyError:
                self._cached["baseline"] = None
        return self._cached["baseline"]

    def _cases(self) -> tuple[list, list[str]]:
        """The report sets and the policy's suites (tests/) as diff cases, read once."""
        if "cases" not in self._cached:
            cases, notes = [], []
            roots = {r.name: r for r in self.report_roots}
            for name in self.report_sets():
                root, folder = name.split("/")
                try:
                    cases.append(read_set(roots[root] / folder, name, DEFAULT_NOW))
                except CorpusError as exc:
                    notes.append(str(exc))
            suites, suite_notes = suite_cases([str(self.directory)])
            self._cached["cases"] = (cases + suites, notes + suite_notes)
        return self._cached["cases"]

    def case(self, name: Any) -> dict:
        """One case "what my change does" names (a report set or a suite
        case), as a report set is shown: its reports (JSON text, one file
        each) and its `now`, for the page to recover under the edited policy."""
        shown = {_without(str(self.directory), c.name): c for c in self._cases()[0]}
        found = shown.get(name) if isinstance(name, str) else None
        if found is None:
            raise Refused(f"no case '{name}'")
        reports = [{"name": f"{n + 1}-{_side(r)}.json", "text": pretty(r)} for n, r in enumerate(found.reports[:MAX_SET_FILES])]
        where = _without(str(self.directory), found.where)
        return {"name": name, "about": f"the case at {where}", "now": found.now, "reports": reports}

    def suites(self, edited: Any) -> dict:
        """The policy's own test suites (DIR/tests/*.test.yaml, as on disk) run
        under the edited policy, as `policy test` runs them: each failure with
        expected vs actual and the deciding rule, and what no case exercises."""
        files = self.files(edited)
        with tempfile.TemporaryDirectory(prefix="chat-recovery-playground-") as work:
            for name, text in files.items():
                (Path(work) / name).write_text(text, encoding="utf-8")
            try:
                policy = self._load(work)
            except PolicyError:
                return {"ran": False, "message": "the edited policy does not load: fix its errors to run the suites"}
            suites, problems = read_suites(self.directory / "tests", "tests")
            if not suites and not problems:
                return {"ran": False, "message": f"no test suites (*.test.yaml) in {self.directory / 'tests'}"}
            results = run_suites(policy, suites)
            coverage = measure(policy, results)
            failed = [
                {
                    "case": r.case.name,
                    "file": str(r.case.file),
                    "line": f.line,
                    "col": f.col,
                    "path": f.path,
                    "expected": f.expected,
                    "actual": f.actual,
                    "decidedBy": f.decided_by,
                }
                for r in results
                for f in r.failures
            ]
            answer = {
                "ran": True,
                "passed": sum(r.passed for r in results),
                "cases": len(results),
                "suites": len(suites),
                "failures": failed,
                "problems": [d.to_dict() for d in problems],
                "coverage": {
                    "percent": round(coverage.percent, 1),
                    "missing": [
                        {"file": item.origin.file, "line": item.origin.line, "col": item.origin.col, "text": str(item)}
                        for item in coverage.missing
                    ],
                },
            }
            return _without(SHOWN, _without(str(self.directory), answer))

    def suite_case(self, edited: Any, reports: Any, now: Any, name: Any = None) -> dict:
        """The current reports and their recovery as a test-suite case, the
        YAML a product owner would write by hand: the reports, `now`, and
        every visitor value, chat property and chat state field the policy
        decided, as expected; to paste under `tests:` of a suite."""
        answer = self.check_and_recover(edited, reports, now)
        recovery = answer.get("recovery")
        if recovery is None:
            raise Refused(answer.get("recoveryError") or "pick or write reports first: a case needs a recovery")
        expect = {
            path: entry.get("value")
            for path, entry in recovery["explain"].items()
            if path.startswith(SUITE_PATHS) and entry.get("recovered") is not False
        }
        case = {
            "name": name if isinstance(name, str) and name.strip() else "a case from the playground",
            "now": _now(now),
            "reports": _reports(reports),
            "expect": expect,
        }
        return {"yaml": yaml.safe_dump([case], allow_unicode=True, sort_keys=False, width=120)}

    def patch(self, edited: Any) -> str:
        """The edits as a `git diff` of the policy directory (paths relative to
        it), which `git apply` takes there: the hand-off for a pull request."""
        files = self.files(edited)
        return "".join(_file_patch(name, self.original.get(name), files[name]) for name in sorted(files))

    def archive(self, edited: Any) -> bytes:
        """The edited policy's rule files as a zip, at its top level."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in sorted(self.files(edited).items()):
                archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text.encode("utf-8", "surrogatepass"))
        return out.getvalue()

    def report_sets(self) -> list[str]:
        """`<root>/<set>` for each folder of report files under the report roots."""
        names = []
        for root in self.report_roots:
            for folder in sorted(root.iterdir()):
                if folder.is_dir() and any(_is_report(p) for p in folder.iterdir()):
                    names.append(f"{root.name}/{folder.name}")
        return names

    def report_set(self, name: Any) -> dict:
        """The report files of one set, in the order `recover` takes them (by name)."""
        roots = {root.name: root for root in self.report_roots}
        parts = name.split("/") if isinstance(name, str) else []
        if len(parts) != 2 or parts[0] not in roots or not REPORT_NAME.match(parts[1]):
            raise Refused(f"no report set '{name}'")
        folder = roots[parts[0]] / parts[1]
        if not folder.is_dir():
            raise Refused(f"no report set '{name}'")
        out = []
        for path in sorted(p for p in folder.iterdir() if _is_report(p))[:MAX_SET_FILES]:
            out.append({"name": path.name, "text": _read(path, MAX_REPORT_BYTES)})
        readme = folder / "README"
        about = _read(readme, MAX_REPORT_BYTES).splitlines()[0] if readme.is_file() else ""
        return {"name": name, "about": about, "reports": out}

    def save(self, edited: Any) -> dict:
        """Write the edited rule files that differ from the originals, only
        when the playground may write and the edited policy passes `policy check`."""
        if not self.writable:
            raise Refused("this playground does not write files: start it with --write to save")
        files = self.files(edited)
        checked = self.check_and_recover(edited)
        if not checked["ok"]:
            return {"saved": [], "problems": checked["problems"], "message": "not saved: `policy check` finds errors"}
        changed = [name for name, text in files.items() if self.original.get(name) != text]
        for name in changed:
            (self.directory / name).write_text(files[name], encoding="utf-8")
            self.original[name] = files[name]
        where = str(self.directory)
        return {
            "saved": changed,
            "problems": checked["problems"],
            "message": f"wrote {', '.join(changed) or 'nothing'} in {where}",
        }


def _file_patch(name: str, old: str | None, new: str) -> str:
    if old == new:
        return ""
    before, after = _patch_lines(old or ""), _patch_lines(new)
    head = f"diff --git a/{name} b/{name}\n"
    if old is None:
        head += "new file mode 100644\n"
    body = "".join(difflib.unified_diff(before, after, "/dev/null" if old is None else f"a/{name}", f"b/{name}"))
    return head + body


def _patch_lines(text: str) -> list[str]:
    """Lines as a patch needs them: each ends with a newline, and a last line
    without one is marked as git marks it."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def _is_report(path: Path) -> bool:
    return path.is_file() and path.suffix in (".json", ".yaml", ".yml")


def _read(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    if path.stat().st_size > limit:
        raise Refused(f"'{path.name}' is larger than {limit // 1024} KiB")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Refused(f"'{path.name}' is not UTF-8 text") from None


def _reports(reports: Any) -> list:
    if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
        raise Refused('send the reports as [{"name": "...", "text": "<JSON or YAML>"}, ...]')
    if len(reports) > MAX_REPORTS:
        raise Refused(f"at most {MAX_REPORTS} reports")
    parsed = []
    for index, report in enumerate(reports):
        name, text = report.get("name", f"report {index}"), report.get("text")
        if not isinstance(text, str) or not isinstance(name, str):
            raise Refused(f"report {index}: its text must be a string")
        raw = text.encode("utf-8", "surrogatepass")
        if len(raw) > MAX_REPORT_BYTES:
            raise Refused(f"{name}: larger than {MAX_REPORT_BYTES // 1024} KiB")
        try:
            parsed.append(parse_bytes(raw, name))
        except ReportError as exc:
            raise Refused(str(exc.located(name))) from None
    return parsed


def _now(now: Any) -> str:
    if not isinstance(now, str) or not now:
        raise Refused("set `now`: the recovery time, RFC 3339 UTC (2026-11-24T09:00:30Z)")
    try:
        return given_now(now)
    except (TypeError, ValueError) as exc:
        raise Refused(str(exc)) from None


def _side(report: Any) -> str:
    """`visitor` or `agent-<id>`: who uploaded a report, for its file name."""
    source = report.get("source") if isinstance(report, dict) else None
    if not isinstance(source, dict):
        return "report"
    side = str(source.get("type") or "report")
    named = f"{side}-{source['id']}" if source.get("id") not in (None, "") else side
    return re.sub(r"[^A-Za-z0-9._-]+", "-", named)[:60]


def _without(work: str, value: Any) -> Any:
    """`value` with the temporary directory's path taken out of its text,
    so places read `chat-props.yaml:28:5`, as the page names the files."""
    if isinstance(value, str):
        return value.replace(work + "/", "").replace(work, "")
    if isinstance(value, dict):
        return {k: _without(work, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(work, v) for v in value]
    return value
