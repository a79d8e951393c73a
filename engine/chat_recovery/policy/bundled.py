"""Where the default policy and the contract schemas are: inside the installed
wheel, or at the top of a source checkout (editable install)."""

from __future__ import annotations

from pathlib import Path

from .contract import Contract, load_contract

_PACKAGE = Path(__file__).resolve().parent.parent  # chat_recovery/


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the bundled '{name}' directory is missing from this installation")


def rules_dir() -> Path:
    return _find("rules")


def schemas_dir() -> Path:
    return _find("schemas")


_read: dict[
    str, tuple[tuple[tuple[str, int, int], ...], Contract]
] = {}  # directory -> (its files' stamp, the contract read from them)


def contract() -> Contract:
    """The contract the bundled schemas state. It is package data that every
    load and check reads (30 ms), so it is read once per process, and again
    only when a schema file changed (a checkout being edited); treat it as
    read-only, as every caller does."""
    directory = schemas_dir()
    stamp = tuple((p.name, s.st_mtime_ns, s.st_size) for p in sorted(directory.glob("*.schema.json")) for s in (p.stat(),))
    held = _read.get(str(directory))
    if held is None or held[0] != stamp:
        held = _read[str(directory)] = (stamp, load_contract(directory))
    return held[1]
