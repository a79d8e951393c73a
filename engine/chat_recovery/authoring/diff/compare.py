"""`policy diff`: what changes in behaviour between two policies, for the
review of a policy pull request. Structure (rule by rule) comes from
`structure`, recoveries (case by case) from `behaviour`; this module
finds the cases (recorded report sets, and the policy test suites) and
gathers one result that the formatters print."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...diagnostics import PolicyError, ReportError
from ...policy.files import rule_files
from ...policy.model import Policy
from ...recovery.reports import parse_bytes
from ..suites import load_suites
from .behaviour import DEFAULT_NOW, Case, CaseDiff, compare, deduplicate
from .structure import BEHAVIOUR, COSMETIC, Change, diff_policies

REPORT_SUFFIXES = (".json", ".yaml", ".yml")
MANIFEST = re.compile(r"^kind:\s*[\"']?policy[\"']?\s*$", re.M)


class CorpusError(ValueError):
    """A corpus folder or report file that cannot be read; names the file."""


@dataclass(frozen=True)
class PolicyDiff:
    old: str
    new: str
    structural: tuple[Change, ...]
    cases: tuple[CaseDiff, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)  # e.g. suites that could not be read

    @property
    def behaviour(self) -> tuple[Change, ...]:
        return tuple(c for c in self.structural if c.kind == BEHAVIOUR)

    @property
    def changed_cases(self) -> tuple[CaseDiff, ...]:
        return tuple(d for d in self.cases if d.changes)

    @property
    def changes_behaviour(self) -> bool:
        """What `--exit-code` tests: a rule that changes meaning, or a case that recovers differently."""
        return bool(self.behaviour or self.changed_cases)

    def summary(self) -> dict:
        return {
            "behaviourChanges": len(self.behaviour),
            "otherChanges": len(self.structural) - len(self.behaviour),
            "cases": len(self.cases),
            "casesChanged": len(self.changed_cases),
            "valuesChanged": sum(len(d.changes) for d in self.cases),
            "behaviourChanged": self.changes_behaviour,
        }


def diff(old: Policy, new: Policy, cases: Iterable[Case] = (), notes: Iterable[str] = ()) -> PolicyDiff:
    """The whole comparison of two loaded policies over the given cases."""
    structural = diff_policies(old, new)
    if Path(old.root).is_dir() and Path(new.root).is_dir():
        structural = [*_place_manifest(new.root, structural)]
        structural += edited_files(old.root, new.root, structural)
    return PolicyDiff(old.root, new.root, tuple(sorted(structural)), tuple(compare(old, new, deduplicate(cases))), tuple(notes))


# -- cases from recorded report sets -------------------------------------------


def _report_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in REPORT_SUFFIXES)


def read_set(folder: Path, shown: str, now: str) -> Case:
    """One report set: every *.json / *.yaml of the folder, in file-name order."""
    reports = []
    for path in _report_files(folder):
        name = f"{shown.rstrip('/')}/{path.name}"
        try:
            reports.append(parse_bytes(path.read_bytes(), path.name))
        except ReportError as exc:
            raise CorpusError(str(exc.located(name))) from None
        except OSError as exc:
            raise CorpusError(f"{name}: cannot read: {exc.strerror or exc}") from None
    return Case(shown.rstrip("/"), tuple(reports), now, shown.rstrip("/"))


def corpus_cases(directories: Iterable[str], now: str = DEFAULT_NOW) -> list[Case]:
    """Each subfolder of each DIR is one visitor's report set; a DIR that
    holds report files itself is one set."""
    cases = []
    for directory in directories:
        root = Path(directory)
        if not root.is_dir():
            raise CorpusError(f"{directory}: no such corpus directory")
        if _report_files(root):
            cases.append(read_set(root, directory, now))
            continue
        sets = sorted(p for p in root.iterdir() if p.is_dir() and _report_files(p))
        if not sets:
            raise CorpusError(f"{directory}: no report sets (subfolders with *.json or *.yaml reports)")
        cases.extend(read_set(p, f"{directory.rstrip('/')}/{p.name}", now) for p in sets)
    return cases


# -- cases from the policy test suites ---------------------------------------------


def cases_from_suites(suites: Iterable[Any]) -> list[Case]:
    """Suite cases as diff cases."""
    out = []
    for suite in suites:
        for case in suite.cases:
            where = f"{case.file}:{case.line}" if case.line else str(case.file)
            out.append(Case(f"{where}: {case.name}", tuple(case.reports), case.now or DEFAULT_NOW, where))
    return out


def suite_cases(policy_dirs: Iterable[str | None]) -> tuple[list[Case], list[str]]:
    """The test suites under each policy's tests/; returns the cases and,
    for suites that do not load, their problems (file:line:col) as notes: a
    broken suite must not stop the review of the rules."""
    cases: list[Case] = []
    notes: list[str] = []
    for directory in policy_dirs:
        folder = Path(directory) / "tests" if directory else None
        if folder is None or not folder.is_dir():
            continue
        try:
            cases.extend(cases_from_suites(load_suites(folder)))
        except PolicyError as exc:  # SuiteError: every problem with its place
            notes.extend(f"{d} (test suites in {folder} not compared)" for d in exc.diagnostics)
    return cases, notes


# -- where the manifest is, and edits that change nothing ----------------------------------------------------


def _place_manifest(new_dir: str, changes: list[Change]) -> Iterable[Change]:
    """Manifest changes carry no position in the compiled policy: find the
    file of `kind: policy` and the line of the changed key."""
    manifest = next(
        (p for p in rule_files(Path(new_dir)) if MANIFEST.search(p.read_text(encoding="utf-8", errors="replace"))), None
    )
    for change in changes:
        if change.area != "manifest" or manifest is None:
            yield change
            continue
        lines = manifest.read_text(encoding="utf-8", errors="replace").splitlines()
        line = next((i for i, text in enumerate(lines, 1) if text.startswith(f"{change.subject}:")), 0)
        yield replace(change, file=f"{new_dir.rstrip('/')}/{manifest.name}", line=line, col=1 if line else 0)


def edited_files(old_dir: str, new_dir: str, changes: Iterable[Change]) -> list[Change]:
    """Rule files whose text differs though no rule in them changed: the
    descriptions, comments or order were edited. Listed so a reviewer sees
    every file the pull request touched."""
    touched = {Path(c.file).name for c in changes}
    old = {p.name: p for p in rule_files(Path(old_dir))}
    out = []
    for path in rule_files(Path(new_dir)):
        before = old.get(path.name)
        if before is not None and path.name not in touched and before.read_bytes() != path.read_bytes():
            out.append(
                Change(
                    f"{new_dir.rstrip('/')}/{path.name}",
                    0,
                    0,
                    "file",
                    "descriptions, comments or order edited; no rule changed",
                    "file",
                    COSMETIC,
                )
            )
    return out
