"""`chat-recovery policy test`: run the policy's test suites (DIR/tests/*.test.yaml),
show each failed expectation at its file:line:col with the rule that decided,
and with --coverage the rules no case exercised."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from ..authoring.suites import measure, read_suites, run_suites
from ..diagnostics import Code, Diagnostic, RecoveryError
from ..jsonio import pretty
from ..policy import bundled
from ..replay import engine_for
from ..replay.engines import CHOICES
from .common import EXIT_BAD_INPUT, EXIT_BAD_POLICY, EXIT_OK, load_or_report, number
from .formats import FORMATS, write_diagnostics


def add_parser(sub, **kw) -> None:
    cmd = sub.add_parser(
        "test", help="run the policy's test suites (DIR/tests/*.test.yaml) and report failures and coverage", **kw
    )
    cmd.add_argument("directory", nargs="?", metavar="DIR", help="policy directory (default: the bundled rules)")
    cmd.add_argument("--suites", metavar="PATH", help="a suite file, or a folder searched for *.test.yaml (default: DIR/tests)")
    cmd.add_argument(
        "--engine",
        choices=CHOICES,
        help="who matches action rules (as for recover); default: the policy's choice (policy.yaml), else auto",
    )
    cmd.add_argument("--format", choices=FORMATS, default="text")
    cmd.add_argument("--coverage", action="store_true", help="list the rules and table rows no case exercised, with file:line")
    cmd.add_argument(
        "--min-coverage",
        type=number,
        metavar="N",
        help="fail (exit 1) when under N percent of the rules are exercised; implies --coverage",
    )
    cmd.add_argument("-k", dest="only", metavar="TEXT", help="run only the cases whose name contains TEXT")
    cmd.set_defaults(run=run)


def run(args, stdin, stdout: IO[str], stderr: IO[str]) -> int:
    policy = load_or_report(args.directory, stderr)
    if policy is None:
        return EXIT_BAD_POLICY
    try:
        engine_for(policy, args.engine)
    except RecoveryError as exc:
        stderr.write(f"chat-recovery: {exc}\n")
        return EXIT_BAD_POLICY
    if args.suites:
        where, shown = Path(args.suites), args.suites
    else:
        where = Path(args.directory or bundled.rules_dir()) / "tests"
        shown = f"{policy.root.rstrip('/')}/tests"
    suites, problems = read_suites(where, shown)
    if not suites and not problems:
        problems = [Diagnostic(shown, 0, 0, "no test suites (*.test.yaml) found", Code.NO_SUITES)]
    results = run_suites(policy, suites, args.engine, args.only)
    failures = [_diagnostic(r.case, f) for r in results for f in r.failures]
    coverage = measure(policy, results) if (args.coverage or args.min_coverage is not None) else None
    low = coverage is not None and args.min_coverage is not None and coverage.percent < args.min_coverage
    passed = sum(r.passed for r in results)
    summary = f"{shown}: {passed} passed, {len(results) - passed} failed ({len(results)} {'case' if len(results) == 1 else 'cases'} in {len(suites)} {'suite' if len(suites) == 1 else 'suites'})"
    if args.format == "json":
        stdout.write(
            pretty(
                {
                    "ok": not (problems or failures or low),
                    "summary": {"passed": passed, "failed": len(results) - passed, "cases": len(results), "suites": len(suites)},
                    "problems": [d.to_dict() for d in [*problems, *failures]],
                    "coverage": coverage.to_dict() if coverage else None,
                }
            )
        )
    else:
        write_diagnostics(args.format, [*problems, *failures], stdout)
        stdout.write(summary + "\n")
        if coverage is not None:
            _write_coverage(coverage, args.min_coverage, stdout)
    return EXIT_BAD_INPUT if (problems or failures or low) else EXIT_OK


def _diagnostic(case, failure) -> Diagnostic:
    what = f"{failure.path}: " if failure.path else ""
    message = f"{case.name}: {what}expected {failure.expected}, got {failure.actual}"
    if failure.decided_by:
        message += f"; decided by {failure.decided_by}"
    return Diagnostic(case.file, failure.line, failure.col, message, Code.TEST_FAILED, failure.path)


def _write_coverage(coverage, minimum, out: IO[str]) -> None:
    for item in coverage.missing:
        out.write(f"{item}\n")
    total, missing = len(coverage.items), len(coverage.missing)
    out.write(f"coverage: {coverage.percent:.1f}% ({total - missing} of {total} rules and table rows exercised)\n")
    if minimum is not None and coverage.percent < minimum:
        out.write(f"coverage {coverage.percent:.1f}% is below --min-coverage {minimum:g}\n")
