"""Who folds a report into a state and renders the recovery. In process by
default; the service uses supervised worker processes instead, so that a
crash in durable_rules (a C extension) costs a retry, not the node."""
from __future__ import annotations

from typing import Protocol

from ..policy.model import Policy
from ..recovery.fold import fold
from ..recovery.render import render


class Runner(Protocol):
    def step(self, state: dict | None, report: dict, now: str) -> tuple[dict, dict]:
        """Fold a checked report into `state` (None to start) at `now` and
        return (new state, recovery). Raises ReportError or RecoveryError."""

    def close(self) -> None:
        ...


class InProcessRunner:
    def __init__(self, policy: Policy, engine: str | None = None):
        self.policy = policy
        self.engine = engine or policy.engine

    def step(self, state: dict | None, report: dict, now: str) -> tuple[dict, dict]:
        state = fold(self.policy, state, report, now)
        return state, render(self.policy, state, self.policy.engines.get(self.engine), False)

    def close(self) -> None:
        pass
