"""Stage 4, for `policy check` only: what a policy that compiles may still
get wrong (rules that never fire, unreachable statuses, broken invariants).
Each analysis takes the compiled policy and returns diagnostics; the table
below is the only list of them."""
from __future__ import annotations

from typing import Callable

from .diagnostics import Diagnostic
from .model import Policy

Analysis = Callable[[Policy], list[Diagnostic]]

ANALYSES: tuple[Analysis, ...] = ()


def analyse(policy: Policy) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for analysis in ANALYSES:
        found.extend(analysis(policy))
    return sorted(set(found))
