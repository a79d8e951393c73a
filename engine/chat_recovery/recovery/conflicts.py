"""The conflict record a recovery lists when reports disagree."""
from __future__ import annotations

from .sources import source_of


def conflict(path: str, candidates: dict, decided: dict) -> dict:
    """A disagreement between reports: each source's word and the decision."""
    return {"path": path,
            "values": [{"source": source_of(s), "sentAt": c["sentAt"], "value": c["value"]}
                       for s, c in sorted(candidates.items())],
            "decided": decided}
