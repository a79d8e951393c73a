"""What the editor completes and explains on hover, read from the rule-file
JSON Schemas (the same ones `policy check` validates with): per file kind,
each key the schema admits and each value an enum allows, with the schema's
title and description, and the same keys by where they may stand (`tree`:
the keys of the mapping at a path of keys, `*` for any name, `[]` for a
list's items), so the editor offers at the cursor only the keys valid
there. Plain data for the page; the schemas are the one source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..jsonio import loads
from ..policy import bundled


def vocabulary(schemas: Path | None = None) -> dict:
    """{kind: {"keys": {name: text}, "values": {value: text}}} for every policy-*.schema.json."""
    out = {}
    files = {p.name: loads(p.read_bytes()) for p in sorted((schemas or bundled.schemas_dir()).glob("*.schema.json"))}
    for name, schema in files.items():
        kind = schema.get("properties", {}).get("kind", {}).get("const")
        if name.startswith("policy-") and isinstance(kind, str):
            keys: dict[str, str] = {}
            values: dict[str, str] = {}
            _walk(schema, schema, keys, values, set())
            tree = _branch()
            _grow(tree, schema, name, files, 0, frozenset())
            out[kind] = {"keys": keys, "values": values, "tree": _pruned(tree)}
    return out


MAX_DEPTH = 12  # levels of nesting followed: the rule files nest less; a recursive schema stops here


def _branch() -> dict:
    return {"keys": {}, "children": {}}


def _grow(tree: dict, node: Any, file: str, files: dict, depth: int, seen: frozenset) -> None:
    """Put the keys `node` admits into `tree`, and what each key's value
    admits into its child, following $ref (into other schema files too),
    allOf/anyOf/oneOf and if/then/else."""
    if not isinstance(node, dict) or depth > MAX_DEPTH:
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and (file, ref) not in seen:
        target, where = _lookup(ref, file, files)
        _grow(tree, target, where, files, depth, seen | {(file, ref)})
    for word in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(word) or ():
            _grow(tree, sub, file, files, depth, seen)
    for word in ("then", "else"):
        _grow(tree, node.get(word), file, files, depth, seen)
    for name, sub in (node.get("properties") or {}).items():
        if isinstance(sub, dict):
            tree["keys"].setdefault(name, _text(sub) or _text(_lookup(sub.get("$ref", ""), file, files)[0] or {}))
            _grow(tree["children"].setdefault(name, _branch()), sub, file, files, depth + 1, seen)
    named = [node.get("additionalProperties"), *(node.get("patternProperties") or {}).values()]
    for sub in named:
        if isinstance(sub, dict):
            _grow(tree["children"].setdefault("*", _branch()), sub, file, files, depth + 1, seen)
    if isinstance(node.get("items"), dict):
        _grow(tree["children"].setdefault("[]", _branch()), node["items"], file, files, depth + 1, seen)


def _lookup(ref: str, file: str, files: dict) -> tuple[Any, str]:
    """The schema a $ref names ("other.schema.json#/pointer" or "#/pointer"), and its file."""
    where, _, pointer = ref.partition("#")
    where = where or file
    node: Any = files.get(where)
    for part in pointer.split("/")[1:] if pointer else ():
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    return node, where


def _pruned(tree: dict) -> dict:
    """`tree` without the branches that admit no key (scalars): a smaller answer."""
    children = {name: _pruned(child) for name, child in tree["children"].items()}
    children = {name: child for name, child in children.items() if child["keys"] or child["children"]}
    return {"keys": tree["keys"], "children": children}


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


# What each name of the policy means, in both languages, as its rule files say
# (`description: {zh, en}`, or `seed:` when that is all an entry has): per file
# kind, where the named entries stand and what they are called on hover.
NAMED = {
    "properties": (("properties",), "property"),
    "visitorStatus": (("statuses",), "status"),
    "chatActions": (("rules",), "action"),
}


def glossary(files: dict[str, str]) -> dict[str, list[dict]]:
    """{name: [{"what", "file", "zh", "en"}, ...]} for every property,
    status and action the policy's rule files (name -> text) describe; a
    file that does not parse gives nothing (`policy check` says why)."""
    out: dict[str, list[dict]] = {}
    for file, text in sorted(files.items()):
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if not isinstance(doc, dict) or doc.get("kind") not in NAMED:
            continue
        (table,), what = NAMED[doc["kind"]]
        if doc["kind"] == "properties" and isinstance(doc.get("target"), str):
            what = f"{doc['target']} property"
        for key, entry in (doc.get(table) or {}).items() if isinstance(doc.get(table), dict) else ():
            if not isinstance(entry, dict):
                continue
            zh, en = _both(entry.get("description")) or _both(entry.get("seed")) or ("", "")
            if not (zh or en):
                continue
            name = entry.get("on") if doc["kind"] == "chatActions" and isinstance(entry.get("on"), str) else key
            out.setdefault(str(name), []).append({"what": what, "file": file, "zh": zh, "en": en})
    return out


def _both(text: Any) -> tuple[str, str] | None:
    """(zh, en) of a `{zh, en}` mapping, or of a plain string (the seed's
    words, given as they are: English or Chinese)."""
    if isinstance(text, dict):
        zh, en = text.get("zh"), text.get("en")
        return (zh if isinstance(zh, str) else "", en if isinstance(en, str) else "")
    if isinstance(text, str) and text.strip():
        return ("", text) if text.isascii() else (text, "")
    return None
