"""Stage 1 and 2a of loading a policy: read every rule file of a directory and
check each against the schema of its `kind`."""

from __future__ import annotations

import hashlib
import threading
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


def read_documents(
    directory: Path, shown_as: str, contract: Contract, cache: DocumentCache | None = None
) -> tuple[list[Document], list[Diagnostic]]:
    """Every rule file that parses and passes its schema, and every problem.
    `cache`: the files already read, by name and bytes (see DocumentCache)."""
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
        doc, found = cache.read(file, raw, contract) if cache is not None else read_document(file, raw, contract)
        problems.extend(found)
        if doc is not None:
            docs.append(doc)
    return docs, problems


def read_document(file: str, raw: bytes, contract: Contract) -> tuple[Document | None, tuple[Diagnostic, ...]]:
    """One rule file, parsed and checked against the schema of its kind: the
    document when it passes, and its problems."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, (
            Diagnostic(file, 0, 0, f"not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})", Code.ENCODING),
        )
    try:
        located = load(text, file)
    except YamlError as exc:
        return None, tuple(exc.diagnostics)
    data = located.data
    if not isinstance(data, dict):
        return None, (Diagnostic(file, 1, 1, "a rule file is a mapping with a `kind` key", Code.NO_KIND),)
    kind = data.get("kind")
    doc = Document(file, str(kind), located, raw)
    if kind not in POLICY_KINDS:
        known = list(POLICY_KINDS)
        return None, (
            doc.diag(
                ("kind",),
                f"unknown rule file kind {kind!r}{suggest(str(kind), known)}; known kinds: {', '.join(known)}",
                Code.UNKNOWN_KIND,
            ),
        )
    schema = POLICY_KINDS[kind]
    found = [] if contract.passes(schema, data) else list(contract.validator(schema).iter_errors(data))
    bad = tuple(doc.diag(p.path, p.message, p.code, p.at_key) for p in explain(found))
    return (None, bad) if bad else (doc, ())


class DocumentCache:
    """Rule files already parsed and schema-checked, by their shown name and
    bytes. Parsing and the JSON-schema check are most of a load (~100 ms for
    the shipped policy); a caller that loads edit after edit of one policy
    (the playground, on every keystroke) reads again only the file that
    changed. The documents are shared between the policies compiled from
    them, which never change a document. Bounded: past `size` entries the
    oldest goes. Safe to share between threads."""

    def __init__(self, size: int = 256):
        self._size = size
        self._contract: Contract | None = None  # what the held files were checked against
        self._held: dict[tuple[str, bytes], tuple[Document | None, tuple[Diagnostic, ...]]] = {}
        self._lock = threading.Lock()

    def read(self, file: str, raw: bytes, contract: Contract) -> tuple[Document | None, tuple[Diagnostic, ...]]:
        with self._lock:
            if contract is not self._contract:  # checked against other schemas: none of it holds
                self._contract, self._held = contract, {}
            held = self._held.get((file, raw))
        if held is None:
            held = read_document(file, raw, contract)
            with self._lock:
                if contract is self._contract:
                    self._held[(file, raw)] = held
                    while len(self._held) > self._size:
                        del self._held[next(iter(self._held))]
        return held
