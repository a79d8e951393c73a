"""The OpenAPI 3.1 document, built when the app starts: its paths from the
endpoint table (`handlers.ENDPOINTS`, the same rows the routes are made
from), its components from `schemas/`: the contract's own JSON Schemas are
the request and response bodies, so the document cannot drift from what the
engine checks. Each schema's `$defs` move to components (`report.time`, ...)
and every `$ref` is rewritten to match."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..jsonio import loads
from ..version import __version__
from .endpoint import Endpoint
from .errors import CODES

BASE = "https://chat-recovery.example/schemas/"
SCHEMAS = {"report.schema.json": "Report", "recovery.schema.json": "Recovery", "live-recovery.schema.json": "LiveRecovery"}


def _prefix(name: str) -> str:
    return name.split(".")[0].replace("-", "")


def _rewrite(node: Any, own: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = _target(value, own)
            elif key in ("$id", "$schema", "$defs"):
                continue
            else:
                out[key] = _rewrite(value, own)
        return out
    if isinstance(node, list):
        return [_rewrite(item, own) for item in node]
    return node


def _target(ref: str, own: str) -> str:
    document, _, fragment = ref.partition("#")
    name = document[len(BASE) :] if document.startswith(BASE) else (document or own)
    if fragment.startswith("/$defs/"):
        return f"#/components/schemas/{_prefix(name)}.{fragment[len('/$defs/') :]}"
    return f"#/components/schemas/{SCHEMAS[name]}"


def components(schemas_dir: Path) -> dict:
    out: dict = {}
    for name, title in SCHEMAS.items():
        schema = loads((schemas_dir / name).read_bytes())
        out[title] = _rewrite(schema, name)
        for key, sub in schema.get("$defs", {}).items():
            out[f"{_prefix(name)}.{key}"] = _rewrite(sub, name)
    out["Error"] = {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": list(CODES),
                        "description": "A stable name for what is wrong: "
                        + "; ".join(f"`{code}`: {meaning}" for code, meaning in CODES.items()),
                    },
                    "message": {"type": "string", "description": "What is wrong, for a person."},
                    "path": {"type": "string", "description": "The JSON path in the body, when the error is about a field."},
                    "index": {"type": "integer", "description": "The report's position, when the body was a list."},
                },
            }
        },
    }
    live = out["LiveRecovery"]  # a list's answer summarises each visitor: its progress less the recovery
    out["VisitorSummary"] = {
        **live,
        "title": "Visitor summary",
        "description": "A visitor's live recovery without the recovery itself (GET /v1/visitors/{visitorId}/recovery "
        "gives it): who has reported, who is awaited, the window and the counts.",
        "required": [name for name in live["required"] if name != "recovery"],
        "properties": {name: value for name, value in live["properties"].items() if name not in ("recovery", "receipt")},
    }
    out["ReportResults"] = {
        "type": "object",
        "required": ["results", "visitors"],
        "additionalProperties": False,
        "properties": {
            "results": {
                "type": "array",
                "description": "One per report, in the list's order.",
                "items": {
                    "type": "object",
                    "required": ["status"],
                    "additionalProperties": False,
                    "properties": {
                        "status": {"type": "integer", "description": "The HTTP status this report alone would have had."},
                        "visitorId": {"type": "string", "description": "The visitor it was applied to (when applied)."},
                        "receipt": {"$ref": "#/components/schemas/LiveRecovery/properties/receipt"},
                        "error": {"$ref": "#/components/schemas/Error/properties/error"},
                    },
                },
            },
            "visitors": {
                "type": "object",
                "description": "Each visitor a report was applied to, by id: its summary after its last report in the list.",
                "additionalProperties": {"$ref": "#/components/schemas/VisitorSummary"},
            },
        },
    }
    out["PolicyFiles"] = {
        "type": "object",
        "required": ["files"],
        "additionalProperties": False,
        "properties": {
            "files": {
                "type": "object",
                "description": "File name (e.g. visitor-info.yaml) -> its text.",
                "maxProperties": 64,
                "minProperties": 1,
                "propertyNames": {"pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\\.ya?ml$"},
                "additionalProperties": {"type": "string"},
            }
        },
    }
    out["PolicyCheck"] = {
        "type": "object",
        "required": ["ok", "problems"],
        "properties": {"ok": {"type": "boolean"}, "problems": {"type": "array", "items": {"type": "object"}}},
    }
    return out


def document(schemas_dir: Path, endpoints: Iterable[Endpoint]) -> dict:
    """The whole document; its paths are the endpoint table's rows."""
    paths: dict = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = endpoint.operation()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chat-recovery",
            "version": __version__,
            "description": "Live recovery of a chat server's visitors from their clients' reports.",
        },
        "components": {"schemas": components(schemas_dir), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }
