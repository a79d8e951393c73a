"""What every command shares: exit codes, the argument parser that writes to
the given streams, and loading a policy with its problems printed."""
from __future__ import annotations

import argparse
import sys
from typing import IO, Optional

from ..api import load_policy
from ..diagnostics import PolicyError

EXIT_OK = 0
EXIT_BAD_INPUT = 1   # a report (or --now) that cannot be used; a check or test that failed
EXIT_USAGE = 2       # argparse's own code for bad arguments
EXIT_BAD_POLICY = 3  # the policy did not load, or could not be applied


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, stderr: IO[str], **kwargs):
        super().__init__(*args, **kwargs)
        self._stderr = stderr

    def _print_message(self, message: str, file=None) -> None:  # route to our streams
        if message:
            (self._stderr if file in (None, sys.stderr) else file).write(message)


def load_or_report(directory: Optional[str], stderr: IO[str]):
    """The compiled policy, or None with every problem written to stderr."""
    try:
        return load_policy(directory)
    except PolicyError as exc:
        for diagnostic in exc.diagnostics:
            stderr.write(f"{diagnostic}\n")
        return None
