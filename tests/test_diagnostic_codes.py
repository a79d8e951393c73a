"""One way to make a diagnostic: every kind comes from the `Code` table, the
table holds no kind the package never makes, and every JSON path is spelt by
`json_path` (a static scan of the package, so a new call site is checked too)."""

import ast
import re
from pathlib import Path

import pytest

from chat_recovery.diagnostics import Code, Diagnostic

PACKAGE = Path(__file__).resolve().parent.parent / "engine" / "chat_recovery"
# bench/reference*.py re-implement the contract on purpose, sharing no code
INDEPENDENT = ("bench",)


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        if not set(path.relative_to(PACKAGE).parts) & set(INDEPENDENT):
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _code_names_used() -> dict:
    used: dict = {}
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Code":
                used.setdefault(node.attr, []).append(f"{path.name}:{node.lineno}")
    return used


def test_every_code_the_package_names_is_in_the_table():
    """`Code.X` for an X the table lacks would fail only when that error is met; the scan finds it now."""
    unknown = {name: where for name, where in _code_names_used().items() if name not in Code.__members__}
    assert not unknown


def test_every_code_in_the_table_is_made_somewhere():
    """A table entry nothing makes is a kind the docs promise and no user ever sees."""
    used = _code_names_used()
    assert sorted(name for name in Code.__members__ if name not in used) == []


def test_no_call_site_spells_a_code_as_text():
    """A code written as a string literal outside the table escapes the table's check."""
    codes = {code.value for code in Code}
    table = PACKAGE / "diagnostics.py"
    found = []
    for path, tree in _modules():
        if path == table:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in ("Diagnostic", "diag", "warn", "_diag", "Problem"):
                    for arg in [*node.args, *(k.value for k in node.keywords)]:
                        if isinstance(arg, ast.Constant) and arg.value in codes:
                            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {arg.value!r}")
    assert found == []


def test_no_json_path_is_written_by_hand_from_names():
    """`f"$.rules.{name}"` breaks for a name such as `agent-join` (it must be `$.rules['agent-join']`); json_path spells it."""
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.JoinedStr)
                and node.values
                and isinstance(node.values[0], ast.Constant)
                and str(node.values[0].value).startswith("$")
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


@pytest.mark.parametrize("code", list(Code), ids=str)
def test_each_code_has_a_severity_and_a_meaning(code):
    """The table is the documentation of each kind: a name, a severity and one line."""
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", code.value)
    assert code.severity in ("error", "warning") and code.meaning


def test_the_text_form_names_the_code_after_the_place():
    """file:line:col first (editors jump to it), then severity[code], as compilers write it."""
    shown = Diagnostic(
        "rules/visitor-info.yaml",
        41,
        15,
        "unknown strategy 'vistiorOnly' (did you mean 'visitorOnly'?)",
        Code.UNKNOWN_STRATEGY,
        "$.properties.name.strategy",
    )
    assert (
        str(shown)
        == "rules/visitor-info.yaml:41:15: error[unknown-strategy]: unknown strategy 'vistiorOnly' (did you mean 'visitorOnly'?)"
    )
    assert (
        str(Diagnostic("rules", 0, 0, "no such policy directory", Code.NO_POLICY))
        == "rules: error[no-policy]: no such policy directory"
    )
    assert Diagnostic("x", 1, 1, "m", Code.NEVER_FIRES).severity == "warning"
    assert Diagnostic("x", 1, 1, "m", Code.NEVER_FIRES) == Diagnostic("x", 1, 1, "m", "never-fires")
    assert len({Diagnostic("x", 1, 1, "m", Code.NEVER_FIRES), Diagnostic("x", 1, 1, "m", "never-fires")}) == 1


def codes_markdown() -> str:
    rows = "".join(f"| `{code.value}` | {code.severity} | {code.meaning} |\n" for code in Code)
    return (
        "# Diagnostic codes\n\n"
        "Every problem `chat-recovery policy check` (and `policy test`, `serve`, the API) reports\n"
        "carries one of these codes: in the text form as `file:line:col: severity[code]: message`,\n"
        "in `--format json` as `code`, in `--format github` as the annotation's `title`.\n"
        "Generated from `chat_recovery.diagnostics.Code` (`pytest --update-golden` rewrites it);\n"
        "tests/golden/compile-errors shows most of them on a broken copy of `rules/`.\n\n"
        "| code | severity | means |\n| - | - | - |\n" + rows
    )


def test_docs_list_every_code(request):
    """docs/diagnostics.md is the table, so a new code is documented where users look."""
    page = PACKAGE.parent.parent / "docs" / "diagnostics.md"
    if request.config.getoption("--update-golden"):
        page.write_text(codes_markdown(), encoding="utf-8")
    assert page.read_text(encoding="utf-8") == codes_markdown()


def _keywords(node) -> set:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keywords(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keywords(v)}
    return set()


def test_each_schema_keyword_explainer_is_for_a_keyword_the_schemas_use():
    """EXPLAIN is keyword -> sentence; an entry for a keyword no schema uses is dead code
    (a keyword EXPLAIN lacks is told in jsonschema's own words, code `schema`)."""
    import json

    from chat_recovery.policy.schema_errors import EXPLAIN

    used = set()
    for path in (PACKAGE.parent.parent / "schemas").glob("*.json"):
        used |= _keywords(json.loads(path.read_text(encoding="utf-8")))
    assert sorted(set(EXPLAIN) - used) == []
