"""The conflict record a recovery lists when reports disagree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .sources import source_of


def conflict(path: str, candidates: Mapping[str, dict[str, Any]], decided: dict[str, Any]) -> dict[str, Any]:
    """A disagreement between reports: each source's word and the decision."""
    return {
        "path": path,
        "values": [{"source": source_of(s), "sentAt": c["sentAt"], "value": c["value"]} for s, c in sorted(candidates.items())],
        "decided": decided,
    }
