"""Compile errors as data: each folder of tests/golden/compile-errors holds a
broken copy of rules/ (as edits to the shipped files, in `case.yaml`) and in
`expected.txt` what `chat-recovery policy check rules` must print and exit
with. `pytest --update-golden` rewrites the expected files; review the diff."""

import io
import shutil
from pathlib import Path

import pytest
import yaml

from chat_recovery.cli import main
from conftest import ROOT

CASES = Path(__file__).resolve().parent / "golden" / "compile-errors"


def apply_edit(rules: Path, change: dict) -> None:
    """One edit: `replace`/`with` (the first occurrence; the text must be
    there), `append`, `write` (a whole file) or `delete`."""
    target = rules / change["file"]
    if change.get("delete"):
        target.unlink()
    elif "write" in change:
        target.write_bytes(change["write"].encode("utf-8"))
    elif "append" in change:
        target.write_text(target.read_text(encoding="utf-8") + change["append"], encoding="utf-8")
    else:
        text = target.read_text(encoding="utf-8")
        assert change["replace"] in text, f"{change['file']} no longer holds {change['replace']!r}: update the case"
        target.write_text(text.replace(change["replace"], change["with"], 1), encoding="utf-8")


def run_case(case: Path, where: Path) -> str:
    """The transcript: the command, its output and its exit code."""
    spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
    rules = where / "rules"
    shutil.copytree(ROOT / "rules", rules)
    for change in spec.get("edits", ()):
        apply_edit(rules, change)
    argv = ["policy", "check", "rules", *spec.get("args", ())]
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    lines = [f"$ chat-recovery {' '.join(argv)}", *out.getvalue().splitlines()]
    lines += [f"stderr: {line}" for line in err.getvalue().splitlines()]
    return "\n".join(lines + [f"exit {code}"]) + "\n"


@pytest.mark.parametrize("case", sorted(p for p in CASES.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_compile_error(case, tmp_path, monkeypatch, request):
    monkeypatch.chdir(tmp_path)
    got = run_case(case, tmp_path)
    expected = case / "expected.txt"
    if request.config.getoption("--update-golden"):
        expected.write_text(got, encoding="utf-8")
    assert expected.exists(), f"no {expected.relative_to(ROOT)}: run pytest --update-golden and review it"
    assert got == expected.read_text(encoding="utf-8")


def test_every_case_says_what_it_shows():
    """A case is read by people: each names the mistake it makes."""
    for case in CASES.iterdir():
        spec = yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8"))
        assert spec.get("about"), case.name
