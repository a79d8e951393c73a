"""Errors for people: every problem carries a place, a named kind and, where a
name is close to a known one, a suggestion. `Code` is the one table of kinds:
a call site names its kind as `Code.UNKNOWN_STRATEGY`, never as a string, so a
slip fails at once and each kind has one severity and one meaning."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Code(StrEnum):
    """Every kind of diagnostic: its name (as JSON and the text form show it),
    its severity and what it means. tests/test_diagnostic_codes.py checks that
    the package uses every one and no other."""

    severity: str
    meaning: str

    def __new__(cls, name: str, severity: str, meaning: str) -> Code:
        member = str.__new__(cls, name)
        member._value_ = name
        member.severity = severity
        member.meaning = meaning
        return member

    # reading rule files and suites
    NO_POLICY = "no-policy", "error", "the policy directory is missing or holds no rule files"
    ENCODING = "encoding", "error", "a file is not UTF-8 text"
    UNREADABLE = "unreadable", "error", "a policy file could not be read (hot reload)"
    RELOAD_FAILED = "reload-failed", "error", "a hot reload failed for a reason other than the policy"
    YAML_SYNTAX = "yaml-syntax", "error", "the file is not valid YAML"
    TOO_DEEP = "too-deep", "error", "the YAML nests deeper than the loader allows"
    ALIAS = "alias", "error", "YAML anchors and aliases are not supported"
    BAD_KEY = "bad-key", "error", "a mapping key is not plain text"
    DUPLICATE_KEY = "duplicate-key", "error", "a mapping gives one key twice"
    NO_KIND = "no-kind", "error", "the file is not a mapping with a `kind`"
    UNKNOWN_KIND = "unknown-kind", "error", "`kind` names no kind of rule file"
    # the schema of each kind
    UNKNOWN_KEY = "unknown-key", "error", "a key the schema does not admit (often a slip of a known key)"
    MISSING_KEY = "missing-key", "error", "a required key is missing"
    BAD_VALUE = "bad-value", "error", "a value outside the allowed set or shape"
    WRONG_TYPE = "wrong-type", "error", "a value of the wrong type"
    BAD_TIME = "bad-time", "error", "a time that is not RFC 3339 UTC"
    BAD_NAME = "bad-name", "error", "a name (a mapping key) of a shape the schema refuses"
    TOO_LONG = "too-long", "error", "text or a list longer than the schema allows"
    TOO_SHORT = "too-short", "error", "text shorter than the schema allows (often empty)"
    SCHEMA = "schema", "error", "any other schema error, in the schema's own words"
    # what the rule files mean together
    MISSING_FILE = "missing-file", "error", "a rule file of a required kind is missing"
    DUPLICATE_FILE = "duplicate-file", "error", "two rule files give what only one may"
    NO_PICK = "no-pick", "error", "a strategy reads sides but says not how to pick among them"
    UNKNOWN_STRATEGY = "unknown-strategy", "error", "a property or status names no strategy of the strategy table"
    BAD_STRATEGY = "bad-strategy", "error", "the uploaded status needs a strategy that reads reports"
    BAD_MERGE = "bad-merge", "error", "`merge: perKey` needs a strategy that reads reports"
    UNKNOWN_PROPERTY = "unknown-property", "error", "a property the contract does not have"
    MISSING_PROPERTY = "missing-property", "error", "a contract property has no strategy"
    MISSING_STATUS = "missing-status", "error", "a contract status has no rule"
    UNKNOWN_STATUS = "unknown-status", "error", "a status that neither the contract nor the policy defines"
    UNKNOWN_FIELD = "unknown-field", "error", "a condition or effect names a field the chat state does not declare"
    NOT_A_LIST = "not-a-list", "error", "a list operation on a field that is not a list"
    BAD_REFERENCE = "bad-reference", "error", "an effect refers to a value that does not exist"
    BAD_CONDITION = "bad-condition", "error", "`not` on a field without a closed set of values"
    UNKNOWN_VALUE = "unknown-value", "error", "a value under `not` outside its field's closed set"
    OVERLAPPING_RULES = "overlapping-rules", "error", "two action rules could both fire for one message"
    EMPTY_CONDITION = "empty-condition", "error", "a client rule without a condition"
    MISSING_CONDITION = "missing-condition", "error", "a directive refers to what its rule's condition does not supply"
    UNKNOWN_ACTION = (
        "unknown-action",
        "error",
        "an invariant names an action (or `actors` one a slip from an action) that no rule handles and the contract lacks",
    )
    DUPLICATE_ACTOR = "duplicate-actor", "error", "an action is listed under two actor types in `actors`"
    TRUST_MODE = "trust-mode", "error", "`trust` sides or a rule's `trust` under mode holders, or mode senders without sides"
    # what `policy check` proves about a policy that loads
    INVARIANT_FAILS = "invariant-fails", "error", "an invariant is broken; the message names the steps that break it"
    NOT_PROVED = "not-proved", "warning", "the state space is too large to prove the invariants or find dead rules"
    NEVER_FIRES = "never-fires", "warning", "an action rule that no message can fire"
    UNREACHABLE_STATUS = "unreachable-status", "warning", "a status no recovery can have"
    NOT_CHAT_RELATED = "not-chat-related", "warning", "an action rule sets a status not marked chatRelated"
    NEVER_MATCHES = "never-matches", "warning", "a client rule (or some of its statuses) can never match"
    UNKNOWN_DIRECTIVE = "unknown-directive", "warning", "a client rule's directive is a slip of a contract directive"
    NOT_CONTRACT_ACTION = "not-contract-action", "warning", "an action rule's action is a slip of a contract action"
    NO_ACTOR = "no-actor", "warning", "an action rule's action has no actor type in `actors`: its copies are not checked"
    # policy test suites
    NO_SUITES = "no-suites", "error", "no test suite file was found"
    DUPLICATE_CASE = "duplicate-case", "error", "two cases of a suite share a name"
    NO_NOW = "no-now", "error", "a case without `now`"
    MIXED_EXPECTATIONS = "mixed-expectations", "error", "a case expects both an error and values"
    NO_EXPECTATION = "no-expectation", "error", "a case expects nothing"
    BAD_PATH = "bad-path", "error", "an expectation's JSON path does not parse"
    FILE_AND_FIELDS = "file-and-fields", "error", "a report given by `file` has other keys beside it"
    NO_FILE = "no-file", "error", "a report file cannot be read"
    BAD_FILE = "bad-file", "error", "a report file is not a report"
    NOT_JSON = (
        "not-json",
        "error",
        "a suite holds a value JSON cannot carry: NaN, an infinity, a number beyond a double, a lone surrogate",
    )
    TEST_FAILED = "test-failed", "error", "a case's recovery differs from what it expects"


def printable(text: str) -> str:
    """Control characters escaped, so one problem stays one line; other
    scripts (the seed's Chinese) stay as they are."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


_BY_NAME = {code.value: code for code in Code}


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int = 0
    col: int = 0
    message: str = ""
    code: str = "error"
    path: str = ""
    severity: str = field(default="", compare=False)  # "": the code's own

    def __post_init__(self) -> None:
        # a plain str, so equal diagnostics hash alike however the code was given
        object.__setattr__(self, "code", str(self.code))
        if not self.severity:
            known = _BY_NAME.get(self.code)
            object.__setattr__(self, "severity", known.severity if known else "error")

    def __str__(self) -> str:
        """`file:line:col: error[code]: message`, as compilers write it: the
        place first, so editors jump to it, and the kind beside the severity."""
        where = self.file
        if self.line:
            where += f":{self.line}:{self.col}"
        return printable(f"{where}: {self.severity}[{self.code}]: {self.message}")

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "path": self.path,
        }


class PolicyError(Exception):
    """A policy that cannot be loaded; holds every problem found, sorted."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(sorted(set(diagnostics)))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class ReportError(ValueError):
    """A report that cannot be merged: names where (file, JSON path) and what."""

    def __init__(self, message: str, path: str = "", where: str = ""):
        self.message = message
        self.path = path
        self.where = where
        super().__init__(str(self))

    def located(self, where: str) -> ReportError:
        return ReportError(self.message, self.path, where)

    def __str__(self) -> str:
        parts = [p for p in (self.where, self.path) if p]
        return printable(": ".join(parts + [self.message]))


def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def did_you_mean(name: str, known: Sequence[str]) -> str | None:
    """The closest known name, compared without case, spaces or dashes, so
    that the seed's 'vistior only' finds 'visitorOnly'."""
    folded = {_fold(k): k for k in known}
    hit = difflib.get_close_matches(_fold(str(name)), list(folded), n=1, cutoff=0.75)
    return folded[hit[0]] if hit else None


def suggest(name: str, known: Sequence[str]) -> str:
    """' (did you mean 'x'?)' or ''."""
    hit = did_you_mean(name, known)
    return f" (did you mean '{hit}'?)" if hit else ""


class RecoveryError(RuntimeError):
    """The policy could not be applied to valid reports (an effect that does
    not fit the state, or a rule engine that misbehaved): names the rule."""
