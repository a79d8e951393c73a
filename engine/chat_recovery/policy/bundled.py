"""Where the default policy and the contract schemas are: inside the installed
wheel, or at the top of a source checkout (editable install)."""

from __future__ import annotations

from pathlib import Path

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
