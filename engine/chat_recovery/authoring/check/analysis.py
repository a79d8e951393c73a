"""Stage 4, for `policy check` only: what a policy that compiles may still
get wrong (rules that never fire, unreachable statuses, broken invariants).
Each analysis takes the subject (the compiled policy, the contract, and the
state space the action rules reach, explored once on first use) and returns
diagnostics; the table below is the only list of them."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from ...diagnostics import Diagnostic
from ...policy.contract import Contract
from ...policy.model import Policy
from . import invariants, rule_checks
from .statespace import Space


class Subject:
    def __init__(self, policy: Policy, contract: Contract):
        self.policy = policy
        self.contract = contract

    @cached_property
    def space(self) -> Space:
        return Space(self.policy.chat)


Analysis = Callable[[Subject], list[Diagnostic]]

ANALYSES: tuple[Analysis, ...] = (
    rule_checks.never_fire,  # shadowed rules, impossible conditions, unreachable `when: status`
    rule_checks.unreachable_statuses,  # statuses nothing reaches; chatRelated marks that disagree with the rules
    rule_checks.client_rules,  # client rules that never match
    rule_checks.action_names,  # `on:` one slip away from a contract action
    rule_checks.actors,  # `on:` an action with no actor type (its copies are not checked)
    invariants.check,  # rules/invariants.yaml, proved
)


def analyse(policy: Policy, contract: Contract) -> list[Diagnostic]:
    subject = Subject(policy, contract)
    found: list[Diagnostic] = []
    for analysis in ANALYSES:
        found.extend(analysis(subject))
    return sorted(set(found))
