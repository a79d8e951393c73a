"""YAML read for people: node positions kept (1-based), duplicate keys refused,
times left as strings (JSON has no datetime).

libyaml composes where PyYAML was built with it: 25 times faster, most of a
policy's load time otherwise. Anything it refuses, or any problem found in
its nodes, is read again by the pure-Python loader, so every error is worded
and placed as it always was; tests hold both to the same data and positions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from ..diagnostics import Code, Diagnostic
from ..paths import json_path


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 habits: no implicit timestamps (JSON has none),
    and only true/false are booleans, so `on:` and `no` stay text."""


_DROPPED = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

_FastLoader: Any = None  # libyaml's loader, where PyYAML was built with it
if getattr(yaml, "__with_libyaml__", False):

    class _FastLoader(yaml.CSafeLoader):  # type: ignore[no-redef]
        """The same resolvers over libyaml's parser."""

    _FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


@dataclass(frozen=True)
class Located:
    """A parsed document with the position of every value and mapping key."""

    data: Any
    values: dict[tuple[Any, ...], tuple[int, int]]  # path tuple -> (line, col)
    keys: dict[tuple[Any, ...], tuple[int, int]]  # path tuple -> (line, col) of the key naming it

    def at(self, path: tuple[Any, ...], key: bool = False) -> tuple[int, int]:
        table = self.keys if key else self.values
        while path and path not in table:
            path = path[:-1]
        return table.get(path, self.values.get((), (1, 1)))


class YamlError(Exception):
    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(map(str, diagnostics)))


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _problem(exc: Exception, file: str) -> Diagnostic:
    if isinstance(exc, RecursionError):
        return Diagnostic(file, 0, 0, "nested too deeply", Code.TOO_DEEP)
    if isinstance(exc, yaml.reader.ReaderError):
        return Diagnostic(
            file, 0, 0, f"invalid YAML: character {exc.character!r} is not allowed (position {exc.position})", Code.YAML_SYNTAX
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        return Diagnostic(file, line, col, f"invalid YAML: {exc.problem or exc.context or 'not valid YAML'}", Code.YAML_SYNTAX)
    return Diagnostic(file, 0, 0, f"invalid YAML: {exc}", Code.YAML_SYNTAX)


# Where fuzzing both loaders found libyaml reading text otherwise: tabs,
# tags, `?` (explicit keys), byte-order marks and other line breaks mid-text,
# a comment straight after a block scalar's `|` or `>`. The shipped policy
# files have none (a test says so); text that does is read by the pure
# loader, only slower. (libyaml refuses nesting past 1,000 levels itself.)
_NOT_FOR_LIBYAML = re.compile("[\t!?\r\x85\ufeff\u2028\u2029]|[|>][-+0-9]*#")


def load(text: str, file: str) -> Located:
    if _FastLoader is not None and not _NOT_FOR_LIBYAML.search(text):
        try:
            located = read(text, file, _FastLoader)
        except YamlError:
            pass  # worded by the loader every message was written for
        else:
            if located.data is not None:  # an empty document is placed otherwise
                return located
    return read(text, file, _Loader)


def read(text: str, file: str, loader_class: Any) -> Located:
    try:
        loader = loader_class(text)
        root = loader.get_single_node()
    except (yaml.YAMLError, RecursionError) as exc:
        raise YamlError([_problem(exc, file)]) from None
    values: dict[tuple[Any, ...], tuple[int, int]] = {}
    keys: dict[tuple[Any, ...], tuple[int, int]] = {}
    problems: list[Diagnostic] = []

    visited: set[int] = set()  # id() of each collection node

    def walk(node: yaml.Node, path: tuple[Any, ...], depth: int) -> Any:
        values[path] = _mark(node)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if id(node) in visited:  # an alias: refused, so no 'billion laughs'
                line, col = _mark(node)
                problems.append(
                    Diagnostic(file, line, col, "YAML anchors and aliases (&, *) are not supported", Code.ALIAS, json_path(path))
                )
                return None
            visited.add(id(node))
        if depth > 64:
            line, col = _mark(node)
            problems.append(Diagnostic(file, line, col, "nested deeper than 64 levels", Code.TOO_DEEP, json_path(path)))
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            seen: dict[str, tuple[int, int]] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    line, col = _mark(key_node)
                    problems.append(Diagnostic(file, line, col, "mapping keys must be plain text", Code.BAD_KEY, json_path(path)))
                    continue
                key = str(key) if not isinstance(key, str) else key
                if key in seen:
                    line, col = _mark(key_node)
                    first = seen[key]
                    problems.append(
                        Diagnostic(
                            file,
                            line,
                            col,
                            f"duplicate key '{key}' (first defined at {first[0]}:{first[1]})",
                            Code.DUPLICATE_KEY,
                            json_path(path + (key,)),
                        )
                    )
                    continue
                seen[key] = _mark(key_node)
                keys[path + (key,)] = _mark(key_node)
                out[key] = walk(value_node, path + (key,), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [walk(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        return loader.construct_object(node, deep=True)

    try:
        data = walk(root, (), 0) if root is not None else None
    except (yaml.YAMLError, RecursionError) as exc:  # e.g. an unknown !tag
        raise YamlError([_problem(exc, file)]) from None
    finally:
        loader.dispose()
    if problems:
        raise YamlError(problems)
    return Located(data, values, keys)
