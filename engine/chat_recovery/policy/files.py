"""Stage 1 and 2a of loading a policy: read every rule file of a directory and
check each against the schema of its `kind`."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..diagnostics import Code, Diagnostic, suggest
from ..paths import json_path
from .contract import POLICY_KINDS, Contract
from .schema_errors import problems as explain
from .yamlsource import Located, YamlError, load


@dataclass(frozen=True)
class Document:
    file: str  # as shown to people, e.g. rules/visitor-info.yaml
    kind: str
    doc: Located
    raw: bytes

    def diag(self, path: tuple[Any, ...], message: str, code: str, at_key: bool = False, severity: str = "error") -> Diagnostic:
        line, col = self.doc.at(path, key=at_key)
        return Diagnostic(self.file, line, col, message, code, json_path(path), severity)


def files_digest(files: Mapping[str, bytes]) -> str:
    """A policy's digest: of its rule files' names and bytes, in name order
    (a replay worker checks the bytes it was sent against it)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return "sha256:" + digest.hexdigest()


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def read_documents(directory: Path, shown_as: str, contract: Contract) -> tuple[list[Document], list[Diagnostic]]:
    """Every rule file that parses and passes its schema, and every problem."""
    docs: list[Document] = []
    problems: list[Diagnostic] = []
    if not directory.is_dir():
        return [], [Diagnostic(shown_as, 0, 0, "no such policy directory", Code.NO_POLICY)]
    files = rule_files(directory)
    if not files:
        problems.append(Diagnostic(shown_as, 0, 0, "no rule files (*.yaml) in the policy directory", Code.NO_POLICY))
    for path in files:
        file = f"{shown_as.rstrip('/')}/{path.name}"
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                Diagnostic(file, 0, 0, f"not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})", Code.ENCODING)
            )
            continue
        try:
            located = load(text, file)
        except YamlError as exc:
            problems.extend(exc.diagnostics)
            continue
        data = located.data
        if not isinstance(data, dict):
            problems.append(Diagnostic(file, 1, 1, "a rule file is a mapping with a `kind` key", Code.NO_KIND))
            continue
        kind = data.get("kind")
        doc = Document(file, str(kind), located, raw)
        if kind not in POLICY_KINDS:
            known = list(POLICY_KINDS)
            problems.append(
                doc.diag(
                    ("kind",),
                    f"unknown rule file kind {kind!r}{suggest(str(kind), known)}; known kinds: {', '.join(known)}",
                    Code.UNKNOWN_KIND,
                )
            )
            continue
        found = list(contract.validator(POLICY_KINDS[kind]).iter_errors(data))
        bad = [doc.diag(p.path, p.message, p.code, p.at_key) for p in explain(found)]
        if bad:
            problems.extend(bad)
            continue
        docs.append(doc)
    return docs, problems
