"""The package's layout is its pipeline: each floor imports only the floors
below it (and itself), so a reader can take the packages top to bottom, and
no module takes part in an import cycle. Read statically, imports inside
functions included: a deferred import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "engine" / "chat_recovery"

# bottom to top; a unit is a top-level module or a sub-package of chat_recovery
FLOORS = (
    {"timeutil", "diagnostics", "paths", "json_identity", "stops", "version", "processes", "signing", "jsonio"},  # foundations
    {"policy", "message_keys"},  # YAML -> a checked, compiled, immutable Policy; the signature key file
    {"replay"},  # which action rule fires
    {"recovery"},  # reports + Policy -> a recovery
    {"api"},  # the Python API
    {"authoring", "batch", "live", "serving"},  # the product owner's tools; many visitors; live recovery; running uvicorn
    {"json_answer"},  # a Starlette JSON response written by jsonio, for the service and the playground
    {"service", "bench", "playground"},  # HTTP; the benchmark; the policy playground (a local page)
    {"cli"},  # the command line
    {"tool", ""},  # the console script; `import chat_recovery` (lazy names)
)
FLOOR = {unit: level for level, units in enumerate(FLOORS) for unit in units}

# imports that still run against the flow (issue 14 removed the last two)
KNOWN: set[tuple[str, str]] = set()


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(path): path for path in PACKAGE.rglob("*.py")}


def _runtime_nodes(tree: ast.AST):
    """Every node but those under `if TYPE_CHECKING:` (never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _imports(name: str, path: Path, runtime_only: bool = False) -> set[str]:
    """The chat_recovery modules `name` imports (relative names, "" for the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = _runtime_nodes(tree) if runtime_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").split(".")[0] == "chat_recovery":
                module = node.module.partition(".")[2]
            else:
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}".lstrip(".")
                found.add(sub if sub in MODULES else module)
        elif isinstance(node, ast.Import):
            found |= {a.name.partition(".")[2] for a in node.names if a.name.split(".")[0] == "chat_recovery"}
    return found - {name}


def _unit(name: str) -> str:
    return name.split(".")[0]


def test_every_module_is_on_a_floor():
    assert sorted({_unit(m) for m in MODULES} - set(FLOOR)) == []


def test_each_floor_imports_only_the_floors_below_it():
    upward = {
        (m, t)
        for m, path in MODULES.items()
        for t in _imports(m, path)
        if _unit(t) != _unit(m) and FLOOR[_unit(t)] > FLOOR[_unit(m)]
    }
    assert sorted(upward - KNOWN) == [], "imports against the flow"
    assert sorted(KNOWN - upward) == [], "gone: take them off KNOWN"


def test_no_module_is_part_of_an_import_cycle():
    """Counting imports inside functions (a deferred import is still a
    dependency): a cycle makes the import order matter and hides which
    module owns what."""
    graph = {m: _imports(m, path, runtime_only=True) & set(MODULES) for m, path in MODULES.items()}
    cycles = [scc for scc in _strongly_connected(graph) if len(scc) > 1]
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.append(w)
                if w == v:
                    break
            out.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert [c for c in _strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) if len(c) > 1] == [["a", "b"]]


@pytest.mark.parametrize("package", sorted({m for m, p in MODULES.items() if p.name == "__init__.py" and m}))
def test_each_package_says_what_it_owns(package):
    doc = ast.get_docstring(ast.parse(MODULES[package].read_text()))
    assert doc and len(doc.split()) >= 12, f"{package}/__init__.py needs a docstring saying what it owns"
