"""`make test` as CI runs it: each step runs even when one before it failed."""

from __future__ import annotations

import subprocess

from conftest import ROOT

STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
exit {code}
"""


def test_a_failing_pytest_does_not_hide_the_policy_suites(tmp_path):
    """The linters and pytest fail; the shipped suites still run on both engines, and make fails."""
    log = tmp_path / "ran.log"
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, code in (("python", 1), ("chat-recovery", 0)):  # newer than pyproject.toml: make does not reinstall
        (bin_dir / name).write_text(STUB.format(log=log, code=code))
        (bin_dir / name).chmod(0o755)
    done = subprocess.run(
        ["make", "--no-print-directory", "test", f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert log.read_text().splitlines() == [
        "python -m ruff check engine tests",
        "python -m ruff format --check --output-format concise engine tests",
        "python -m mypy",
        "python -m vulture",
        "python -m pytest -q",
        "chat-recovery policy test rules --min-coverage 100",
        "chat-recovery policy test rules --engine compiled --min-coverage 100",
    ]
