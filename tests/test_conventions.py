"""Editor and CI conventions: schemas that explain every field, rule files
that name their schema, pre-commit hooks other repositories can run."""

import json
import re
import shlex

import pytest
import yaml

from chat_recovery.policy.contract import POLICY_KINDS
from conftest import ROOT, cli

SCHEMAS = sorted((ROOT / "schemas").glob("policy-*.schema.json"))
RULE_FILES = sorted((ROOT / "rules").glob("*.y*ml"))
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")

# pre-commit's manifest fields (pre_commit/clientlib.py, MANIFEST_HOOK_DICT, 4.x)
HOOK_REQUIRED = {"id": str, "name": str, "entry": str, "language": str}
HOOK_OPTIONAL = {
    "alias": str,
    "files": str,
    "exclude": str,
    "types": list,
    "types_or": list,
    "exclude_types": list,
    "additional_dependencies": list,
    "args": list,
    "always_run": bool,
    "fail_fast": bool,
    "pass_filenames": bool,
    "description": str,
    "language_version": str,
    "log_file": str,
    "require_serial": bool,
    "stages": list,
    "verbose": bool,
    "minimum_pre_commit_version": str,
}
LANGUAGES = {
    "conda",
    "coursier",
    "dart",
    "docker",
    "docker_image",
    "dotnet",
    "fail",
    "golang",
    "haskell",
    "julia",
    "lua",
    "node",
    "perl",
    "pygrep",
    "python",
    "r",
    "ruby",
    "rust",
    "swift",
    "system",
    "unsupported",
    "unsupported_script",
}


def fields(node, path="#"):
    """Every field a YAML editor shows: the root, each property, each map
    value (additionalProperties), each list item and each $defs entry."""
    if path == "#":
        yield path, node
    for key in ("properties", "patternProperties", "$defs"):
        for name, sub in (node.get(key) or {}).items():
            if isinstance(sub, dict):
                yield f"{path}/{key}/{name}", sub
                yield from fields(sub, f"{path}/{key}/{name}")
    for key in ("additionalProperties", "items"):
        if isinstance(node.get(key), dict):
            yield f"{path}/{key}", node[key]
            yield from fields(node[key], f"{path}/{key}")
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(node.get(key) or ()):
            yield from fields(sub, f"{path}/{key}/{i}")
    for key in ("if", "then", "else", "not"):
        if isinstance(node.get(key), dict):
            yield from fields(node[key], f"{path}/{key}")


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda p: p.name)
def test_every_policy_schema_field_has_a_title_and_a_description(schema):
    missing = [
        f"{schema.name}{path}: no {what}"
        for path, node in fields(json.loads(schema.read_text(encoding="utf-8")))
        for what in ("title", "description")
        if not str(node.get(what, "")).strip()
    ]
    assert missing == []


def test_the_field_walk_finds_a_field_without_a_description():
    bare = {
        "type": "object",
        "title": "t",
        "description": "d",
        "properties": {"a": {"type": "object", "title": "A", "properties": {"b": {"type": "string"}}}},
    }
    assert [p for p, n in fields(bare) if not n.get("description")] == ["#/properties/a", "#/properties/a/properties/b"]


def test_every_policy_kind_has_its_schema_here():
    assert {name for name in POLICY_KINDS.values()} <= {p.name for p in SCHEMAS}


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_every_rule_file_names_the_schema_of_its_kind(rule_file):
    text = rule_file.read_text(encoding="utf-8")
    match = MODELINE.match(text.splitlines()[0])
    assert match, f"{rule_file.name}:1: the first line must be `# yaml-language-server: $schema=../schemas/<kind schema>`"
    target = (rule_file.parent / match.group(1)).resolve()
    assert target.is_file(), f"{rule_file.name}:1: {match.group(1)} does not resolve"
    kind = yaml.safe_load(text)["kind"]
    assert target.name == POLICY_KINDS[kind], f"{rule_file.name}: kind {kind} is checked against {POLICY_KINDS[kind]}"


def hooks():
    return yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def assert_pre_commit_hook(hook):
    for key, kind in HOOK_REQUIRED.items():
        assert isinstance(hook.get(key), kind), f"{hook.get('id')}: {key} must be a {kind.__name__}"
    unknown = set(hook) - set(HOOK_REQUIRED) - set(HOOK_OPTIONAL)
    assert not unknown, f"{hook['id']}: keys pre-commit does not know: {sorted(unknown)}"
    for key, kind in HOOK_OPTIONAL.items():
        if key in hook:
            assert isinstance(hook[key], kind), f"{hook['id']}: {key} must be a {kind.__name__}"
    assert hook["language"] in LANGUAGES
    for key in ("files", "exclude"):
        if key in hook:
            re.compile(hook[key])


def test_pre_commit_hooks_have_pre_commits_fields():
    listed = hooks()
    assert isinstance(listed, list) and listed
    for hook in listed:
        assert_pre_commit_hook(hook)
    assert {h["id"] for h in listed} == {"chat-recovery-policy-check", "chat-recovery-policy-docs"}


def test_this_repositorys_pre_commit_runs_the_linters_make_test_runs_and_its_own_policy_hooks():
    """.pre-commit-config.yaml (this repository's own hooks) and the Makefile's
    LINT_STEPS name the same tools, so a commit is checked as `make test` checks it."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    local = [hook for repo in config["repos"] if repo["repo"] == "local" for hook in repo["hooks"]]
    for hook in local:
        assert_pre_commit_hook(hook)
        assert hook["entry"].startswith(".venv/bin/"), f"{hook['id']}: runs the venv's tools (`make .venv/bin/chat-recovery`)"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    steps = re.search(r"^LINT_STEPS = (.*?)\n\n", makefile, re.S | re.M).group(1)
    linted = {m.group(1) for m in re.finditer(r"-m (\w+)", steps)}
    assert linted == {"ruff", "mypy", "vulture"}
    assert linted == {shlex.split(h["entry"])[0].removeprefix(".venv/bin/") for h in local} - {"chat-recovery"}
    assert {"ruff check", "ruff format"} <= {" ".join(shlex.split(h["entry"])[:2]).removeprefix(".venv/bin/") for h in local}
    shipped = {h["id"]: h for h in hooks()}
    for hook in local:
        if hook["id"] in shipped:
            assert hook["entry"] == ".venv/bin/" + shipped[hook["id"]]["entry"]
            assert hook["args"] == shipped[hook["id"]]["args"]


@pytest.mark.parametrize("hook", hooks(), ids=lambda h: h["id"])
def test_each_hook_runs_as_pre_commit_runs_it_in_this_repository(hook):
    command, *words = shlex.split(hook["entry"])
    scripts = __import__("tomllib").loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert command in scripts, f"{hook['id']}: entry {command} is not a console script of this package"
    assert hook["pass_filenames"] is False
    done = cli(*words, *hook["args"], cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_docs_hook_fails_on_a_stale_copy(tmp_path):
    hook = next(h for h in hooks() if h["id"] == "chat-recovery-policy-docs")
    (tmp_path / "rules").symlink_to(ROOT / "rules")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "policy.md").write_text("# an old copy\n", encoding="utf-8")
    done = cli(*shlex.split(hook["entry"])[1:], *hook["args"], cwd=tmp_path)
    assert done.returncode == 1
    assert "docs/policy.md: stale" in done.stderr.decode()


def test_ci_doc_names_the_commands_it_runs():
    doc = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    for command in (
        "chat-recovery policy check rules --format github --strict",
        "chat-recovery policy test rules --min-coverage",
        "chat-recovery policy docs rules --out docs/policy.md --check",
    ):
        assert command in doc
