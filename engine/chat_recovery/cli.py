"""The command line: a thin shell over the API. `main` takes argv and the
streams and returns an exit code, so tests call it directly."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import IO, Optional, Sequence

from . import timeutil
from .api import apply, load_policy, render
from .diagnostics import PolicyError, RecoveryError, ReportError
from .reports import parse_bytes

EXIT_OK = 0
EXIT_BAD_INPUT = 1   # a report (or --now) that cannot be used
EXIT_USAGE = 2       # argparse's own code for bad arguments
EXIT_BAD_POLICY = 3  # the policy did not load, or could not be applied


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, stderr: IO[str], **kwargs):
        super().__init__(*args, **kwargs)
        self._stderr = stderr

    def _print_message(self, message: str, file=None) -> None:  # route to our streams
        if message:
            (self._stderr if file in (None, sys.stderr) else file).write(message)


def _parser(stdout: IO[str], stderr: IO[str]) -> argparse.ArgumentParser:
    kw = {"stderr": stderr}
    top = _Parser(prog="chat-recovery", description="Recover a live-chat visitor from client reports under a YAML policy.", **kw)
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    rec = sub.add_parser("recover", help="merge one visitor's reports and print the recovery as JSON", **kw)
    rec.add_argument("files", nargs="+", metavar="FILE", help="one report each (JSON or YAML); - reads stdin; applied in the order given")
    rec.add_argument("--now", help="the recovery time, RFC 3339 UTC (default: the clock)")
    rec.add_argument("--policy", metavar="DIR", help="policy directory (default: the bundled rules)")
    rec.add_argument("--explain", action="store_true", help="fill `explain`: the rule, strategy and report that decided each value")
    rec.add_argument("--engine", choices=("auto", "durable", "python"), default="auto", help="who matches action rules: durable_rules, plain Python, or auto (durable_rules where it imports)")
    pol = sub.add_parser("policy", help="work with policy directories", **kw)
    pol_sub = pol.add_subparsers(dest="policy_command", required=True, parser_class=_Parser)
    chk = pol_sub.add_parser("check", help="load a policy and list every problem as file:line:col", **kw)
    chk.add_argument("directory", nargs="?", metavar="DIR", help="policy directory (default: the bundled rules)")
    chk.add_argument("--format", choices=("text", "json"), default="text")
    return top


def main(argv: Optional[Sequence[str]] = None, stdin: IO[bytes] | None = None,
         stdout: IO[str] = sys.stdout, stderr: IO[str] = sys.stderr) -> int:
    parser = _parser(stdout, stderr)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.command == "recover":
        return _recover(args, stdin, stdout, stderr)
    return _check(args, stdout, stderr)


def _load(directory: Optional[str], stderr: IO[str]):
    try:
        return load_policy(directory)
    except PolicyError as exc:
        for diagnostic in exc.diagnostics:
            stderr.write(f"{diagnostic}\n")
        return None


def _check(args, stdout: IO[str], stderr: IO[str]) -> int:
    try:
        policy = load_policy(args.directory)
        problems = []
    except PolicyError as exc:
        policy, problems = None, list(exc.diagnostics)
    if args.format == "json":
        stdout.write(json.dumps({"ok": not problems, "problems": [p.to_dict() for p in problems]}, indent=2) + "\n")
    else:
        for problem in problems:
            stdout.write(f"{problem}\n")
        if policy is not None:
            stdout.write(f"{policy.root}: ok ({len(policy.info)} visitor properties, {len(policy.chat_props)} chat props, {len(policy.statuses)} statuses)\n")
    return EXIT_OK if not problems else 1


def _recover(args, stdin: IO[bytes] | None, stdout: IO[str], stderr: IO[str]) -> int:
    now = args.now or timeutil.format_time(datetime.now(timezone.utc))
    try:
        timeutil.parse(now)
    except ValueError as exc:
        stderr.write(f"chat-recovery: --now: {exc}\n")
        return EXIT_BAD_INPUT
    policy = _load(args.policy, stderr)
    if policy is None:
        return EXIT_BAD_POLICY
    reports = []
    failed = False
    for name in args.files:
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
    if failed:
        return EXIT_BAD_INPUT
    state = None
    for shown, report in reports:
        try:
            state = apply(policy, state, report, now)
        except ReportError as exc:
            stderr.write(f"{exc.located(shown)}\n")
            failed = True
    if failed:
        return EXIT_BAD_INPUT
    try:
        recovery = render(policy, state, explain=args.explain, engine=args.engine)
    except RecoveryError as exc:
        stderr.write(f"chat-recovery: {exc}\n")
        return EXIT_BAD_POLICY
    stdout.write(json.dumps(recovery, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def _read(name: str, stdin: IO[bytes] | None) -> bytes:
    if name == "-":
        return (stdin or sys.stdin.buffer).read()
    with open(name, "rb") as handle:
        return handle.read()


def entry() -> None:
    sys.exit(main(sys.argv[1:]))
