"""`.ci/find-python`, behind the Makefile's PYTHON=: a command, a path or a
version name finds an interpreter that runs, including a pyenv version that
is installed but not selected (whose shim on PATH fails)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIND = ROOT / ".ci" / "find-python"


@pytest.fixture
def pyenv(tmp_path):
    """A pyenv root holding 3.99.2 (this Python under another name), a shim
    `python3.99` on PATH that fails as pyenv's does, and `pyenv root`."""
    root, shims = tmp_path / "pyenv", tmp_path / "shims"
    (root / "versions" / "3.99.2" / "bin").mkdir(parents=True)
    (root / "versions" / "3.99.2" / "bin" / "python3.99").symlink_to(sys.executable)
    shims.mkdir()
    for name, body in (("python3.99", "echo 'pyenv: python3.99: command not found' >&2; exit 127"), ("pyenv", f"echo {root}")):
        (shims / name).write_text(f"#!/bin/sh\n{body}\n")
        (shims / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}:/usr/bin:/bin"}
    return root / "versions" / "3.99.2" / "bin" / "python3.99", env


@pytest.mark.parametrize("what", ["python3.99", "3.99", "3.99.2"])
def test_a_pyenv_version_that_is_not_selected_is_found_by_command_or_version(pyenv, what):
    expected, env = pyenv
    done = subprocess.run([str(FIND), what], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{expected}\n"


def test_a_command_that_runs_and_a_path_are_taken_as_they_are(pyenv):
    _, env = pyenv
    assert subprocess.run([str(FIND), sys.executable], capture_output=True, text=True, env=env).stdout == f"{sys.executable}\n"
    (Path(env["PATH"].split(":")[0]) / "python3.98").symlink_to(sys.executable)  # a command on PATH that runs
    done = subprocess.run([str(FIND), "python3.98"], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.strip().endswith("/shims/python3.98")


@pytest.mark.parametrize("what", ["3.97", "no-such-python", "/no/such/python3.99"])
def test_no_python_is_one_clear_line_and_make_stops_on_it(pyenv, tmp_path, what):
    _, env = pyenv
    done = subprocess.run([str(FIND), what], capture_output=True, text=True, env=env)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("find-python: ") and what in done.stderr
    venv = tmp_path / "venv"
    made = subprocess.run(
        ["make", f"{venv}/bin/chat-recovery", f"PYTHON={what}", f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert made.returncode != 0 and done.stderr in made.stderr and not venv.exists()
