"""The picks a strategy may name (`pick:` in strategies.yaml), one entry
each: how it chooses among the sources that said a value, which of their
values it keeps, why another source lost (for explain) and its docs text.
A new pick is one entry here plus the schema's enum
(schemas/policy-strategies.schema.json); tests/test_closed_sets.py holds
the two to the same names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..timeutil import sort_key

Held = dict[str, Any]  # what one source said: value, firstValue, sentAt, firstSeq
Chosen = tuple[str, Held] | None


@dataclass(frozen=True)
class Loss:
    """What explain knows of a source whose value lost to the winner's."""

    who: str  # 'agent a-7'
    strategy: str
    prefers: str  # "<strategy> prefers the agent's value"
    ranks_differ: bool  # the two sources are on sides of different priority
    older: bool  # it was sent before the winner
    same_time: bool  # it was sent at the very time the winner was
    sent: str  # "sent 10:00:01, the winner 10:00:05"


@dataclass(frozen=True)
class Pick:
    name: str
    choose: Callable[[Mapping[str, int], dict[str, Held]], Chosen]  # (side -> rank, source -> held) -> the winner
    keeps: str  # which value of the winner: "value" or "firstValue"
    lost: Callable[[Loss], str]  # why another source's value was not kept, as one sentence
    doc: str  # what it means, for the generated docs


# Each pick is its own loop, with its key built inline: a key function
# called per candidate cost more than the comparison (render picks some
# seventy values per visitor). A source's side is the text before ':'.


def _first(ranks: Mapping[str, int], candidates: dict[str, Held]) -> Chosen:
    # the earliest report, then the smaller source
    best, best_key = None, None
    for src, held in candidates.items():
        if src.partition(":")[0] in ranks:
            k = (held["firstSeq"], src)
            if best_key is None or k < best_key:
                best, best_key = (src, held), k
    return best


def _priority(ranks: Mapping[str, int], candidates: dict[str, Held]) -> Chosen:
    # a lower rank is a higher priority, then the later word, then the larger
    # source: times are compared only between sources of the same rank
    best, best_rank, best_time = None, 0, ""
    for src, held in candidates.items():
        rank = ranks.get(src.partition(":")[0])
        if rank is None:
            continue
        if best is None or rank < best_rank:
            best, best_rank, best_time = (src, held), rank, ""
        elif rank == best_rank:
            best_time = best_time or sort_key(best[1]["sentAt"])
            mine = sort_key(held["sentAt"])
            if (mine, src) > (best_time, best[0]):
                best, best_time = (src, held), mine
    return best


def _latest(ranks: Mapping[str, int], candidates: dict[str, Held]) -> Chosen:
    # the later word, then the higher priority, then the larger source
    best, best_key = None, None
    for src, held in candidates.items():
        rank = ranks.get(src.partition(":")[0])
        if rank is not None:
            k = (sort_key(held["sentAt"]), -rank, src)
            if best_key is None or k > best_key:
                best, best_key = (src, held), k
    return best


def _lost_first(loss: Loss) -> str:
    return f"first report wins ({loss.strategy}): {loss.who} reported later"


def _lost_by_time(loss: Loss) -> str:
    if not loss.same_time and loss.older:
        return f"{loss.who}: older ({loss.sent})"
    if loss.ranks_differ:
        return f"{loss.who}: sent at the same time as the winner, and {loss.prefers}"
    return f"{loss.who}: sent at the same time as the winner, whose source id is larger"


def _lost_priority(loss: Loss) -> str:
    return f"{loss.who}: {loss.prefers}" if loss.ranks_differ else _lost_by_time(loss)


PICKS: Mapping[str, Pick] = MappingProxyType(
    {
        p.name: p
        for p in (
            Pick("first", _first, "firstValue", _lost_first, "the first report to supply a value wins for good"),
            Pick(
                "priority",
                _priority,
                "value",
                _lost_priority,
                "the side listed first in `from` wins, then the later sentAt, then the larger source id",
            ),
            Pick(
                "latest", _latest, "value", _lost_by_time, "the later sentAt wins, then side priority, then the larger source id"
            ),
        )
    }
)
