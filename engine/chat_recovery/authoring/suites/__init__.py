"""Policy test suites (`rules/tests/*.test.yaml`): read them, run them, and
measure which rules they exercised. `policy test` is a thin shell over this;
`policy diff` reuses `load_suites` to replay the same cases under two policies.

    from chat_recovery.authoring.suites import load_suites, run_suites
    suites = load_suites("rules/tests")         # raises SuiteError (file:line:col)
    results = run_suites(policy, suites)        # one CaseResult per case
"""

from .coverage import Coverage, Item, measure
from .runner import CaseResult, Failure, run_case, run_suites
from .suites import Case, Expectation, Suite, SuiteError, load_suites, read_suites

__all__ = [
    "Case",
    "CaseResult",
    "Coverage",
    "Expectation",
    "Failure",
    "Item",
    "Suite",
    "SuiteError",
    "load_suites",
    "measure",
    "read_suites",
    "run_case",
    "run_suites",
]
