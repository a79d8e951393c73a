"""What the editor completes and explains on hover, read from the rule-file
JSON Schemas (the same ones `policy check` validates with): per file kind,
each key the schema admits and each value an enum allows, with the schema's
title and description. Plain data for the page; the schemas are the one source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..policy import bundled


def vocabulary(schemas: Path | None = None) -> dict:
    """{kind: {"keys": {name: text}, "values": {value: text}}} for every policy-*.schema.json."""
    out = {}
    for path in sorted((schemas or bundled.schemas_dir()).glob("policy-*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        kind = schema.get("properties", {}).get("kind", {}).get("const")
        if isinstance(kind, str):
            keys: dict[str, str] = {}
            values: dict[str, str] = {}
            _walk(schema, schema, keys, values, set())
            out[kind] = {"keys": keys, "values": values}
    return out


def _text(node: dict) -> str:
    title, description = node.get("title", ""), node.get("description", "")
    return f"{title}: {description}" if title and description else title or description


def _walk(node: Any, root: dict, keys: dict, values: dict, seen: set) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, root, keys, values, seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref not in seen:
        seen.add(ref)
        _walk(root.get("$defs", {}).get(ref.removeprefix("#/$defs/")), root, keys, values, seen)
    for name, sub in (node.get("properties") or {}).items():
        if isinstance(sub, dict):
            keys.setdefault(name, _text(sub) or _text(_resolved(sub, root)))
    for value in node.get("enum") or ():
        if isinstance(value, str):
            values.setdefault(value, _text(node))
    for key, sub in node.items():
        if key == "properties" and isinstance(sub, dict):
            _walk(list(sub.values()), root, keys, values, seen)  # a name -> schema table, not a schema
        elif key not in ("enum", "const", "$defs"):
            _walk(sub, root, keys, values, seen)


def _resolved(node: dict, root: dict) -> dict:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        found = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
        return found if isinstance(found, dict) else {}
    return {}
