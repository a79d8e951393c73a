"""`chat-recovery policy check`: every problem of a policy, before it runs."""
from __future__ import annotations

from typing import IO

from ..api import check_policy
from .common import EXIT_BAD_INPUT, EXIT_OK
from .formats import FORMATS, write_diagnostics


def add_parser(sub, **kw) -> None:
    chk = sub.add_parser("check", help="load a policy and list every problem as file:line:col", **kw)
    chk.add_argument("directory", nargs="?", metavar="DIR", help="policy directory (default: the bundled rules)")
    chk.add_argument("--format", choices=FORMATS, default="text")
    chk.set_defaults(run=run)


def run(args, stdin, stdout: IO[str], stderr: IO[str]) -> int:
    policy, problems = check_policy(args.directory)
    summary = None
    if policy is not None:
        summary = f"{policy.root}: ok ({len(policy.info)} visitor properties, {len(policy.chat_props)} chat props, {len(policy.statuses)} statuses)"
    write_diagnostics(args.format, problems, stdout, summary)
    return EXIT_OK if not any(p.severity == "error" for p in problems) else EXIT_BAD_INPUT
