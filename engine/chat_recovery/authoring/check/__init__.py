"""`policy check`'s analyses of a compiled policy: rules that never fire,
unreachable statuses, invariants proved over the state space the action
rules reach (`analysis` holds the table of them)."""

from __future__ import annotations

from pathlib import Path

from ...api import load_policy
from ...diagnostics import Diagnostic, PolicyError
from ...policy import bundled
from ...policy.model import Policy
from .analysis import analyse


def check_policy(directory: str | Path | None = None) -> tuple[Policy | None, tuple[Diagnostic, ...]]:
    """Everything `policy check` finds: load errors, or the policy with the
    warnings and errors of the deeper analyses (the policy is None when it
    did not load)."""
    try:
        policy = load_policy(directory)
    except PolicyError as exc:
        return None, exc.diagnostics
    return policy, tuple(analyse(policy, bundled.contract()))
