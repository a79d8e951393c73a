"""Who said it: a report's source as the key the state holds it under
(`visitor`, `agent:<id>`), and back. Source keys sort stably, so every
choice between sources is independent of arrival order."""

from __future__ import annotations

from typing import Any


def source_key(source: dict[str, Any]) -> str:
    return "visitor" if source["type"] == "visitor" else f"agent:{source['id']}"


def source_of(key: str) -> dict[str, Any]:
    side, _, ident = key.partition(":")
    return {"type": "visitor"} if side == "visitor" else {"type": side, "id": ident}


def side_of(key: str) -> str:
    return key.partition(":")[0]
