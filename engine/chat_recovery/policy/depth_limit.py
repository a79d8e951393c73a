"""The report depth limit written into the report schema, so jsonschema-rs
checks it in the same pass as everything else.

A report may nest MAX_DEPTH levels (the report is level 1): no non-empty
list or mapping at that level or deeper. Where the schema fixes the shape
(closed mappings, typed lists, text, numbers), the shape is the bound; only
where it leaves a value open (`additionalProperties: true`, a list without
`items`, a keyword this module does not read) is a `$defs` entry added that
says "nothing deeper than the limit from this level down". A walk in Python
over every value cost more than the whole validation."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# keywords that assert nothing about the shape, or only hold definitions
_INERT = frozenset({"title", "description", "examples", "default", "$comment", "$schema", "$id", "$defs", "deprecated"})
# keywords that hold the value to a shape, read below; anything else leaves the value open
_READ = frozenset(
    {"type", "enum", "const", "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "required"}
    | {"properties", "additionalProperties", "items", "minItems", "maxItems", "$ref", "allOf", "anyOf", "oneOf"}
    | {"if", "then", "else", "not"}  # only ever narrow what the rest admits: never followed, never a reason to open
)
_LEAVES = frozenset({"string", "number", "integer", "boolean", "null"})
_DEFS = "#/$defs/"
_LEVEL = "chat-recovery-depth-%d"  # the `$defs` entry for a value at that level


def bounded(root: Schema, limit: int) -> Schema:
    """`root` admitting what it admitted, minus every value nesting deeper
    than `limit` (a copy; `root` is not changed)."""
    return _Bounder(root, limit).schema()


def _pointer(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _unpointer(text: str) -> str:
    return text.replace("~1", "/").replace("~0", "~")


class _Bounder:
    def __init__(self, root: Schema, limit: int):
        self.root, self.limit = root, limit
        self.defs: dict[str, Any] = dict(root.get("$defs", {}))

    def schema(self) -> Schema:
        ids = {k: v for k, v in self.root.items() if k in ("$schema", "$id")}  # kept at the top, where refs resolve against them
        top = self.bound({k: v for k, v in self.root.items() if k not in ids and k != "$defs"}, 1)
        return {**ids, **top, "$defs": self.defs}

    def open_at(self, node: Any, level: int) -> Schema:
        """The node as it was, and nothing deeper than the limit from `level` down."""
        level = min(level, self.limit)
        for n in range(level, self.limit + 1):  # one entry per level down to the limit, each written once
            if _LEVEL % n in self.defs:
                break
            deeper = {"$ref": _DEFS + _LEVEL % (n + 1)}
            self.defs[_LEVEL % n] = (
                {"maxItems": 0, "maxProperties": 0} if n >= self.limit else {"items": deeper, "additionalProperties": deeper}
            )
        return {"allOf": [node, {"$ref": _DEFS + _LEVEL % level}]}

    def bound(self, node: Any, level: int) -> Any:
        if not isinstance(node, dict) or set(node) - _READ - _INERT or level >= self.limit:
            return self.open_at(node, level)
        kinds = node.get("type")
        kinds = {kinds} if isinstance(kinds, str) else set(kinds or ())
        listed = node.get("enum", []) + [node["const"]] if "const" in node else node.get("enum")
        if listed is not None and not any(isinstance(v, (dict, list)) and v for v in listed):
            return node  # only values the schema lists, none of them holding anything
        if kinds and kinds <= _LEAVES:
            return node
        if kinds:
            out = dict(node)
            if "object" in kinds:
                if node.get("additionalProperties", True) is not False:
                    return self.open_at(node, level)
                out["properties"] = {key: self.bound(sub, level + 1) for key, sub in node.get("properties", {}).items()}
            if "array" in kinds:
                if "items" not in node:
                    return self.open_at(node, level)
                out["items"] = self.bound(node["items"], level + 1)
            return out
        ref = node.get("$ref")
        branches = [w for w in ("allOf", "anyOf", "oneOf") if w in node]
        if ref is None and not branches:
            return self.open_at(node, level)
        out = dict(node)
        if ref is not None:
            name = _unpointer(ref[len(_DEFS) :]) if ref.startswith(_DEFS) else None
            if name is None or "/" in ref[len(_DEFS) :] or name not in self.defs:
                return self.open_at(node, level)
            out["$ref"] = self.definition(name, level)
        for word in branches:
            out[word] = [self.bound(sub, level) for sub in node[word]]
        return out

    def definition(self, name: str, level: int) -> str:
        """A `$defs` entry bounded for a value at `level`, written once."""
        copy = f"{name}@{level}"
        if copy not in self.defs:
            self.defs[copy] = True  # a recursive reference finds it while it is being written
            self.defs[copy] = self.bound(self.root["$defs"][name], level)
        return _DEFS + _pointer(copy)
