"""Errors for people: every problem carries a place, a named kind and, where a
name is close to a known one, a suggestion."""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


def printable(text: str) -> str:
    """Control characters escaped, so one problem stays one line; other
    scripts (the seed's Chinese) stay as they are."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int = 0
    col: int = 0
    message: str = ""
    code: str = "error"
    path: str = ""
    severity: str = field(default="error", compare=False)

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.col}"
        return printable(f"{where}: {self.severity}: {self.message}")

    def to_dict(self) -> dict:
        return {
            "file": self.file, "line": self.line, "col": self.col,
            "severity": self.severity, "code": self.code,
            "message": self.message, "path": self.path,
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
