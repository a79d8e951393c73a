"""What every command shares: exit codes, the argument parser that writes to
the given streams, and loading a policy with its problems printed."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from typing import IO

from ..api import load_policy
from ..diagnostics import PolicyError

EXIT_OK = 0
EXIT_BAD_INPUT = 1  # a report (or --now) that cannot be used; a check or test that failed
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_BAD_POLICY = 3  # the policy did not load, or could not be applied
EXIT_CANNOT_LISTEN = 4  # serve: the port is in use, or the address is not this machine's


class Parser(argparse.ArgumentParser):
    """argparse writing to the given streams (help and --version to stdout,
    errors to stderr), with "did you mean" for a mistyped choice or command."""

    def __init__(self, *args, stderr: IO[str], stdout: IO[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._stderr, self._stdout = stderr, stdout

    def _print_message(self, message: str, file=None) -> None:  # route to our streams
        if message:
            stream = self._stderr if file in (None, sys.stderr) else self._stdout if file is sys.stdout and self._stdout else file
            stream.write(message)

    def parse_args(self, args=None, namespace=None):
        """argparse's, with a close match for each mistyped option, found
        among the options of the command it was given to."""
        given = list(sys.argv[1:] if args is None else args)
        parsed, extras = self.parse_known_args(given, namespace)
        if extras:
            parser = self._command_parser(given)
            known = [s for action in parser._actions for s in action.option_strings]
            hints = []
            for extra in extras:
                close = difflib.get_close_matches(extra.split("=")[0], known, n=1) if extra.startswith("--") else []
                hints += [f"{extra.split('=')[0]}: did you mean '{close[0]}'?"] if close else []
            parser.error(f"unrecognized arguments: {' '.join(extras)}" + (f" ({'; '.join(hints)})" if hints else ""))
        return parsed

    def _command_parser(self, given: Sequence[str]) -> argparse.ArgumentParser:
        """The parser of the (sub)command `given` names, for its usage and options."""
        parser: argparse.ArgumentParser = self
        for token in given:
            commands = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
            if commands is not None and token in commands.choices:
                parser = commands.choices[token]
        return parser

    def _check_value(self, action: argparse.Action, value) -> None:
        """argparse's check, worded as click does: the close match first."""
        if action.choices is None or value in action.choices:
            return
        names = [str(c) for c in action.choices]
        close = difflib.get_close_matches(str(value), names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        if isinstance(action, argparse._SubParsersAction):
            raise argparse.ArgumentError(None, f"unknown command '{value}'{hint}; the commands are {', '.join(names)}")
        raise argparse.ArgumentError(action, f"invalid choice: '{value}'{hint}; choose from {', '.join(names)}")


def whole_number(text: str) -> int:
    """`type=` for a whole number, so argparse says so (not `invalid int value`)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None


def choose(parser: argparse.ArgumentParser, what: str, names: Sequence[str]):
    """The `run` of a command group given without its command: a usage error
    naming the commands, not argparse's `required: <dest>`."""

    def run(args, stdin, stdout: IO[str], stderr: IO[str]) -> int:
        stderr.write(parser.format_usage() + f"{parser.prog}: error: choose a {what}: {', '.join(names)}\n")
        return EXIT_USAGE

    return run


def keys_or_report(path: str | None, environ, prefix: str, stderr: IO[str]):
    """The message keys a command was given (`path`, else the file the
    environment names), None when none were, or False with the problem
    written to stderr (it names the file and key id, never a secret)."""
    from ..message_keys import KeyFileError, keys_from

    try:
        return keys_from(path, environ)
    except KeyFileError as exc:
        stderr.write(f"{prefix}: --message-keys {exc}\n")
        return False


def load_or_report(directory: str | None, stderr: IO[str]):
    """The compiled policy, or None with every problem written to stderr."""
    try:
        return load_policy(directory)
    except PolicyError as exc:
        for diagnostic in exc.diagnostics:
            stderr.write(f"{diagnostic}\n")
        return None
