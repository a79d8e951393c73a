"""Who folds a report into a state and renders the recovery. In process by
default; the service uses supervised worker processes instead, so that a
crash in durable_rules (a C extension) costs a retry, not the node."""

from __future__ import annotations

from typing import Protocol

from .. import api
from ..policy.model import Policy
from ..signing import MessageKeys


class RunnerUnavailable(Exception):
    """No replay could be run for this report now: a worker died and no
    new one could be started. Nothing was written: the caller may retry
    the same submit."""

    code = "replayUnavailable"


class Runner(Protocol):
    def step(self, state: dict | None, report: dict, now: str, *, deadline: float | None = None) -> tuple[dict, dict]:
        """Fold a checked report into `state` (None to start) at `now` and
        return (new state, recovery). Raises ReportError or RecoveryError,
        or RunnerUnavailable (retry); `deadline` (time.monotonic()) bounds
        how long a runner that can give a step up waits for it."""

    def close(self) -> None: ...


class InProcessRunner:
    def __init__(self, policy: Policy, engine: str | None = None, keys: MessageKeys | None = None):
        self.policy = policy
        self.engine = engine  # None: the policy's own choice
        self.keys = keys  # message signatures are verified with these; None: not verified

    def step(self, state: dict | None, report: dict, now: str, *, deadline: float | None = None) -> tuple[dict, dict]:
        # in this thread: a step cannot be given up on, the store checks the deadline before it writes
        return api.step(self.policy, state, report, now, self.engine, keys=self.keys)

    def close(self) -> None:
        pass
