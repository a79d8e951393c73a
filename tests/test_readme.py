"""Every example in README.md runs, so none can drift from what the code does.

Sybil finds the blocks (with their README line numbers, skips and hidden set-up);
the evaluators below run them. Conventions, for whoever edits the README:

- ```sh: a script. It runs with bash -e in the work folder and must exit 0;
  its output is not compared.
- ```console: `$ command` lines, each followed by the output it must print
  (stdout and stderr together, as a terminal shows them). Compared exactly,
  except that `...` matches any text, across lines too (doctest's ELLIPSIS):
  use it for times, temporary paths and figures. The exit code is not compared.
- ```python: run in one namespace for the whole README, in order; it must not raise.
- A plain ``` fence (no language), ```yaml and the benchmark tables are data:
  never run.
- `<!-- invisible-code-block: sh ... -->` (or `: python`) runs set-up that a
  reader does not need to see (a broken policy to check, a file to read).
- `<!-- skip: next "why" -->` skips the next block; say why and where else
  it is tested (say, a block that starts a long-running server).

The work folder is a temporary copy of the repo's examples/, rules/ and corpus/
(nothing is written in the repo), with .venv/bin first on PATH. A failure
prints the README line and a diff of what the block shows against what ran.
Blocks build on the set-up before them, in README order: run the whole file
(`pytest tests/test_readme.py`), not one block with -k.
"""

import difflib
import doctest
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sybil = pytest.importorskip("sybil", reason="the README's examples are run by sybil (the test extra)")
from sybil import Document  # noqa: E402
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser  # noqa: E402

from conftest import without_fallback_note  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
COPIED = ("examples", "rules", "corpus")
TIMEOUT = 300  # a hang guard only: every block here finishes in seconds


def _env(workdir: Path) -> dict:
    bin_dir = Path(sys.executable).parent
    return {
        **os.environ,
        "PATH": f"{workdir / 'bin'}:{bin_dir}:{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
        "COLUMNS": "80",
        "TOKEN": "readme-token",
    }


def _run(script: str, workdir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=workdir,
        env=_env(workdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT,
    )


def run_sh(example) -> None:
    done = _run(example.parsed, example.namespace["workdir"])
    if done.returncode:
        raise AssertionError(
            f"README.md line {example.line}: the ```sh block exited {done.returncode}:\n{example.parsed}\n--- its output:\n{done.stdout}"
        )


def commands(block: str, first_line: int):
    """(README line, command, expected output) for each `$ ` line of a console block."""
    found = []
    for offset, line in enumerate(block.splitlines(keepends=True)):
        if line.startswith("$ "):
            found.append([first_line + offset, line[2:].rstrip("\n"), ""])
        elif found:
            found[-1][2] += line
    return found


def matches(expected: str, actual: str) -> bool:
    return doctest.OutputChecker().check_output(expected, actual, doctest.ELLIPSIS)


def run_console(example) -> None:
    failures = []
    for line, command, expected in commands(example.parsed, example.line + 1):
        done = _run(command, example.namespace["workdir"])
        shown = without_fallback_note(done.stdout)  # 3.13+: the one line "Supported Pythons" tells of
        if not matches(expected, shown):
            diff = "".join(difflib.unified_diff(expected.splitlines(True), shown.splitlines(True), "README (expected)", "actual"))
            failures.append(
                f"README.md line {line}: $ {command}\n(exit {done.returncode}; `...` in the README matches any text)\n{diff}"
            )
    if failures:
        raise AssertionError("\n".join(failures))


PARSERS = [CodeBlockParser("sh", run_sh), CodeBlockParser("console", run_console), PythonCodeBlockParser(), SkipParser()]
DOCUMENT = Document.parse(str(README), *PARSERS)
EXAMPLES = list(DOCUMENT.examples())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    for name in COPIED:
        shutil.copytree(ROOT / name, folder / name)
    (folder / "bin").mkdir()
    DOCUMENT.namespace["workdir"] = folder
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line-{e.line}" for e in EXAMPLES])
def test_readme_example(example, workdir, monkeypatch):
    """Each block runs as the README shows it, in README order, and prints what it shows."""
    monkeypatch.chdir(workdir)
    example.evaluate()


def test_the_runner_finds_every_kind_of_block():
    """A renamed fence would silently drop examples: the README holds each kind."""
    evaluators = [e.region.evaluator for e in EXAMPLES]
    assert evaluators.count(run_sh) >= 3 and evaluators.count(run_console) >= 4 and len(EXAMPLES) >= 15


def test_a_drifted_output_fails_with_its_readme_line_and_a_diff(tmp_path):
    """The runner itself: a wrong output is reported with the line and a diff; `...` elides."""
    page = tmp_path / "page.md"
    page.write_text("intro\n\n```console\n$ echo one; echo two\none\n...\n$ echo three\nfour\n```\n")
    document = Document.parse(str(page), *PARSERS)
    document.namespace["workdir"] = tmp_path
    (example,) = document.examples()
    with pytest.raises(AssertionError) as caught:
        example.evaluate()
    message = str(caught.value)
    assert "README.md line 7: $ echo three" in message and "-four\n+three\n" in message
    assert "line 4" not in message  # `one` then `...` matched `one\ntwo`
