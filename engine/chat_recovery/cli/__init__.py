"""The command line: a thin shell over the API. `main` takes argv and the
streams and returns an exit code, so tests call it directly. Each command is
one module with `add_parser` and `run`; the tables below are the only list."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import IO, Any

from ..version import __version__
from . import bench, playground, policy_check, policy_diff, policy_docs, policy_test, recover, serve
from .common import EXIT_BAD_INPUT, EXIT_BAD_POLICY, EXIT_OK, EXIT_USAGE, Parser, choose

COMMANDS = (recover, bench, serve, playground)  # chat-recovery <command>
POLICY_COMMANDS = (policy_check, policy_test, policy_docs, policy_diff)  # chat-recovery policy <command>

__all__ = ["main", "entry", "EXIT_OK", "EXIT_BAD_INPUT", "EXIT_USAGE", "EXIT_BAD_POLICY"]


def _parser(stdout: IO[str], stderr: IO[str]) -> Parser:
    streams: dict[str, Any] = {"stdout": stdout, "stderr": stderr}
    top = Parser(
        prog="chat-recovery", description="Recover a live-chat visitor from client reports under a YAML policy.", **streams
    )
    top.add_argument("--version", action="version", version=f"chat-recovery {__version__}")
    sub = top.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(sub, **streams)
    pol = sub.add_parser("policy", help="check, test, document and compare policy directories", **streams)
    pol_sub = pol.add_subparsers(title="policy commands", metavar="POLICY_COMMAND", parser_class=Parser)
    for command in POLICY_COMMANDS:
        command.add_parser(pol_sub, **streams)
    top.set_defaults(run=choose(top, "command", list(sub.choices)))
    pol.set_defaults(run=choose(pol, "policy command", list(pol_sub.choices)))
    return top


def main(
    argv: Sequence[str] | None = None, stdin: IO[bytes] | None = None, stdout: IO[str] = sys.stdout, stderr: IO[str] = sys.stderr
) -> int:
    parser = _parser(stdout, stderr)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    with warnings.catch_warnings():
        _say_warnings(stderr)
        return args.run(args, stdin, stdout, stderr)


def _say_warnings(stderr: IO[str]) -> None:
    """Our warnings (e.g. `auto` fell back to the compiled engine) as one
    line for people, `chat-recovery: warning: ...`, not Python's two."""
    from ..replay import EngineFallbackWarning

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, EngineFallbackWarning):
            stderr.write(f"chat-recovery: warning: {message}\n")
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.simplefilter("always", EngineFallbackWarning)  # the library says it once per process
