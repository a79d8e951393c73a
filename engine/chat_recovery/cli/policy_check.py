"""`chat-recovery policy check`: every problem of a policy, before it runs."""

from __future__ import annotations

from typing import IO

from ..authoring.check import check_policy
from ..diagnostics import Code
from .common import EXIT_BAD_INPUT, EXIT_OK
from .formats import FORMATS, write_diagnostics


def add_parser(sub, **kw) -> None:
    chk = sub.add_parser("check", help="load a policy, prove its invariants and list every problem as file:line:col", **kw)
    chk.add_argument("directory", nargs="?", metavar="DIR", help="policy directory (default: the bundled rules)")
    chk.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (file:line:col: severity[code]: message), json, or github (workflow annotations)",
    )
    chk.add_argument("--strict", action="store_true", help="warnings fail the check too (exit 1), for CI")
    chk.set_defaults(run=run)


def run(args, stdin, stdout: IO[str], stderr: IO[str]) -> int:
    policy, problems = check_policy(args.directory)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    failed = errors or (args.strict and warnings)
    summary = None
    if policy is not None and not failed:
        counts = [
            f"{len(policy.info)} visitor properties",
            f"{len(policy.chat_props)} chat props",
            f"{len(policy.statuses)} statuses",
            f"{_proved(policy, problems)} invariants proved",
        ]
        if warnings:
            counts.append(f"{warnings} warning{'s' * (warnings != 1)}")
        summary = f"{policy.root}: ok ({', '.join(counts)})"
    write_diagnostics(args.format, problems, stdout, summary, ok=not failed)
    return EXIT_BAD_INPUT if failed else EXIT_OK


def _proved(policy, problems) -> int:
    """Broken invariants are errors (no summary then); unproved ones a warning."""
    return 0 if any(p.code == Code.NOT_PROVED for p in problems) else len(policy.invariants)
