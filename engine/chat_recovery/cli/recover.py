"""`chat-recovery recover`: one visitor's reports in, the recovery out."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import IO

from .. import timeutil
from ..api import apply, render
from ..diagnostics import RecoveryError, ReportError
from ..jsonio import pretty
from ..recovery.reports import parse_bytes
from ..replay.engines import CHOICES, help_text
from .common import EXIT_BAD_INPUT, EXIT_BAD_POLICY, EXIT_OK, EXIT_USAGE, keys_or_report, load_or_report
from .explain_table import table
from .recover_batch import run_batch
from .summary import summary


def add_parser(sub, **kw) -> None:
    rec = sub.add_parser("recover", help="merge one visitor's reports and print the recovery as JSON", **kw)
    rec.add_argument(
        "files", nargs="*", metavar="FILE", help="one report each (JSON or YAML); - reads stdin; applied in the order given"
    )
    rec.add_argument("--now", help="the recovery time, RFC 3339 UTC (default: the clock)")
    rec.add_argument("--policy", metavar="DIR", help="policy directory (default: the bundled rules)")
    rec.add_argument(
        "--explain",
        action="store_true",
        help="fill `explain`: the rule, strategy and report that decided each value, and why the others lost",
    )
    rec.add_argument(
        "--format",
        choices=("json", "table", "summary"),
        default="json",
        help="json (the recovery), table (the explanation, for a person at a terminal; implies --explain) or summary (status, chat, agents, directives and conflicts in three lines)",
    )
    rec.add_argument(
        "--engine",
        choices=CHOICES,
        help=f"who matches action rules: {help_text()}; default: the policy's choice (policy.yaml), else auto",
    )
    rec.add_argument(
        "--message-keys",
        metavar="FILE",
        help="a JSON or YAML file of key id -> secret (text, or base64:...): verify each message's signature and set aside "
        "the copies that do not verify (README: Message signatures); default: the file CHAT_RECOVERY_MESSAGE_KEYS_FILE "
        "names, else signatures are not verified and every copy counts",
    )
    many = rec.add_argument_group("many visitors at once")
    many.add_argument(
        "--batch",
        metavar="INPUT",
        help="recover every visitor in INPUT: NDJSON (one report a line; - reads stdin) or a directory of report files; prints one recovery a line (NDJSON), visitors in the order of their first report",
    )
    many.add_argument("--out", metavar="FILE", help="with --batch: write the recoveries to FILE instead of stdout")
    many.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="with --batch: recover in N processes (default 1); the output is the same for any N",
    )
    rec.set_defaults(run=run, usage=rec.format_usage)


def _mistake(args) -> str:
    """The one way the arguments do not fit together, in words, or ''."""
    if args.batch and args.files:
        return f"give report FILEs (one visitor) or --batch INPUT (many visitors), not both: --batch {args.batch} with {' '.join(args.files)}"
    if not args.batch and not args.files:
        return "give report FILEs (one visitor; - reads stdin) or --batch INPUT (many visitors)"
    if not args.batch and args.out:
        return "--out goes with --batch; one visitor's recovery is written to stdout (redirect it with >)"
    if not args.batch and args.jobs != 1:
        return "--jobs goes with --batch; one visitor is recovered in one process"
    if args.batch and args.format == "table":
        return "--format table shows one visitor; --batch writes one JSON recovery a line (drop --format, or recover one visitor's FILEs)"
    return ""


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more, not '{text}'")
    return int(text)


def run(args, stdin: IO[bytes] | None, stdout: IO[str], stderr: IO[str]) -> int:
    now = args.now or timeutil.format_time(datetime.now(UTC))
    try:
        timeutil.parse(now)
    except ValueError as exc:
        stderr.write(f"chat-recovery: --now: {exc}\n")
        return EXIT_BAD_INPUT
    mistake = _mistake(args)
    if mistake:
        stderr.write(args.usage() + f"chat-recovery recover: error: {mistake}\n")
        return EXIT_USAGE
    policy = load_or_report(args.policy, stderr)
    if policy is None:
        return EXIT_BAD_POLICY
    keys = keys_or_report(args.message_keys, os.environ, "chat-recovery recover", stderr)
    if keys is False:
        return EXIT_USAGE
    if args.batch:
        return run_batch(args, policy, now, stdin, stdout, stderr, keys)
    reports = _parsed(args.files, stdin, stderr)
    if reports is None:
        return EXIT_BAD_INPUT
    failed = False
    state = None
    for shown, report in reports:
        try:
            state = apply(policy, state, report, now, keys=keys)
        except ReportError as exc:
            stderr.write(f"{exc.located(shown)}\n")
            failed = True
    if failed:
        return EXIT_BAD_INPUT
    assert state is not None  # at least one report (argparse)
    try:
        recovery = render(policy, state, explain=args.explain or args.format == "table", engine=args.engine)
    except RecoveryError as exc:
        stderr.write(f"chat-recovery: {exc}\n")
        return EXIT_BAD_POLICY
    if args.format == "table":
        stdout.write(table(recovery, *_terminal(stdout)))
    elif args.format == "summary":
        stdout.write(summary(recovery))
    else:
        stdout.write(pretty(recovery))
    return EXIT_OK


def _parsed(names: list[str], stdin: IO[bytes] | None, stderr: IO[str]) -> list[tuple[str, object]] | None:
    """(name shown, report) for each file, or None when any cannot be read or parsed (each said on stderr)."""
    reports = []
    failed = False
    for name in names:
        shown = "<stdin>" if name == "-" else name
        try:
            raw = _read(name, stdin)
            reports.append((shown, parse_bytes(raw, "" if name == "-" else name)))
        except ReportError as exc:
            stderr.write(f"{exc.located(shown)}\n")
            failed = True
        except OSError as exc:
            stderr.write(f"{shown}: cannot read: {exc.strerror or exc}\n")
            failed = True
    return None if failed else reports


def _terminal(stdout: IO[str]) -> tuple:
    """(width, colour): a terminal's width (COLUMNS first) and colour, which
    only a terminal gets and NO_COLOR turns off; a pipe gets COLUMNS or no limit."""
    tty = hasattr(stdout, "isatty") and stdout.isatty()
    width = None
    if os.environ.get("COLUMNS", "").isdigit():
        width = int(os.environ["COLUMNS"])
    elif tty:
        try:
            width = os.get_terminal_size(stdout.fileno()).columns
        except (OSError, ValueError):
            width = 80
    colour = tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    return width, colour


def _read(name: str, stdin: IO[bytes] | None) -> bytes:
    if name == "-":
        return (stdin or sys.stdin.buffer).read()
    with open(name, "rb") as handle:
        return handle.read()
