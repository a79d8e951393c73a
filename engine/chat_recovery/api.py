"""The Python API for servers: load a policy once, then recover a batch or
apply reports one at a time. Results and states are plain JSON-ready dicts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .diagnostics import ReportError
from .policy import bundled
from .policy.compile import compile_policy
from .policy.model import Policy
from .recovery.fold import fold
from .recovery.render import render as _render
from .recovery.reports import check
from .replay import engine_for
from .signing import MessageKeys, as_keys
from .timeutil import Instant, given_now

Keys = MessageKeys | Mapping[str, bytes | str] | None


def load_policy(directory: str | Path | None = None) -> Policy:
    """Load, validate and compile a policy directory (the bundled default
    when None). Raises PolicyError listing every problem with file:line:col."""
    contract = bundled.contract()
    if directory is None:
        return compile_policy(bundled.rules_dir(), "rules", contract)
    return compile_policy(Path(directory), str(directory), contract)


def apply(policy: Policy, state: dict | None, report: Any, now: Instant, owned: bool = False, *, keys: Keys = None) -> dict:
    """Fold one report into a held state (None to start) and return the new
    state; the given state is not changed. A bad report raises ReportError
    and leaves nothing half-applied. `now` is RFC 3339 text or an aware
    datetime (ValueError or TypeError naming `now` otherwise). `owned=True`
    says the report was parsed for this call alone and is not used again: it
    is then checked in place (its times respelled) and shared with the state
    instead of copied. `keys` (MessageKeys, or key id -> secret): verify
    each message's signature as the report is folded, and set aside the
    copies that do not verify (README: Message signatures); None: every
    copy counts."""
    now = given_now(now)
    return fold(policy, state, check_report(policy, report, owned), now, as_keys(keys))


def check_report(policy: Policy, report: Any, owned: bool = False) -> dict:
    """`report` as `apply` folds it: checked against the policy's contract,
    times in one spelling (a plain copy unless `owned`, as for `apply`);
    ReportError naming the problem otherwise. For a caller that needs the
    checked report itself (the live coordinator digests it), then `step`s."""
    return check(policy, report, owned)


def step(
    policy: Policy, state: dict | None, checked: dict, now: Instant, engine: str | None = None, *, keys: Keys = None
) -> tuple[dict, dict]:
    """Fold a report `check_report` returned into a held state (None to
    start) and render the recovery without explain: (new state, recovery).
    What the live service does for each report it receives (`keys` as for `apply`)."""
    state = fold(policy, state, checked, given_now(now), as_keys(keys))
    return state, _render(policy, state, engine_for(policy, engine))


def render(policy: Policy, state: dict, explain: bool = False, engine: str | None = None) -> dict:
    """The recovery for a held state. `engine` picks who matches action rules:
    durable (durable_rules), compiled (the rules as plain Python), python
    (the reference matcher), or auto (durable where it imports, else
    compiled); None takes the policy's own choice (its manifest, else auto)."""
    return _render(policy, state, engine_for(policy, engine), explain)


def recover(
    policy: Policy, reports: Iterable[Any], now: Instant, explain: bool = False, engine: str | None = None, *, keys: Keys = None
) -> dict:
    """The recovery of one visitor from its reports, applied in the order given
    (`now` and `keys` as for `apply`)."""
    now = given_now(now)
    keys = as_keys(keys)
    state = None
    for index, report in enumerate(reports):
        try:
            state = apply(policy, state, report, now, keys=keys)
        except ReportError as exc:
            raise (exc.located(f"report {index}") if not exc.where else exc) from None
    if state is None:
        raise ReportError("no reports to recover from")
    return _render(policy, state, engine_for(policy, engine), explain)
