"""Diagnostics as text (file:line:col: severity[code]: message), JSON, or GitHub
workflow annotations. Each format is a small function over plain data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

from ..diagnostics import Diagnostic
from ..jsonio import pretty


def _text(problems: Sequence[Diagnostic], out: IO[str], summary: str | None, ok: bool) -> None:
    for problem in problems:
        out.write(f"{problem}\n")
    if summary and ok:
        out.write(summary + "\n")


def _json(problems: Sequence[Diagnostic], out: IO[str], summary: str | None, ok: bool) -> None:
    out.write(pretty({"ok": ok, "problems": [p.to_dict() for p in problems]}))


def _escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _github(problems: Sequence[Diagnostic], out: IO[str], summary: str | None, ok: bool) -> None:
    """::error file=F,line=L,col=C,title=CODE::message (GitHub's workflow commands)."""
    for p in problems:
        level = {"error": "error", "warning": "warning"}.get(p.severity, "notice")
        props = [f"file={_escape(p.file, True)}"]
        if p.line:
            props += [f"line={p.line}", f"col={p.col}"]
        props.append(f"title={_escape(p.code, True)}")
        out.write(f"::{level} {','.join(props)}::{_escape(p.message)}\n")
    if summary and ok:
        out.write(summary + "\n")


WRITERS = {"text": _text, "json": _json, "github": _github}
FORMATS = tuple(WRITERS)


def write_diagnostics(
    fmt: str, problems: Sequence[Diagnostic], out: IO[str], summary: str | None = None, ok: bool | None = None
) -> None:
    """`ok` is the caller's verdict (say, warnings fail under --strict);
    by default, no errors."""
    if ok is None:
        ok = not any(p.severity == "error" for p in problems)
    WRITERS[fmt](list(problems), out, summary, ok)
