"""The OpenAPI 3.1 document, built from `schemas/` when the app starts: the
contract's own JSON Schemas are the request and response bodies, so the
document cannot drift from what the engine checks. Each schema's `$defs` move
to components (`report.time`, ...) and every `$ref` is rewritten to match."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..version import __version__

BASE = "https://chat-recovery.example/schemas/"
SCHEMAS = {"report.schema.json": "Report", "recovery.schema.json": "Recovery",
           "live-recovery.schema.json": "LiveRecovery"}


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
    name = document[len(BASE):] if document.startswith(BASE) else (document or own)
    if fragment.startswith("/$defs/"):
        return f"#/components/schemas/{_prefix(name)}.{fragment[len('/$defs/'):]}"
    return f"#/components/schemas/{SCHEMAS[name]}"


def components(schemas_dir: Path) -> dict:
    out: dict = {}
    for name, title in SCHEMAS.items():
        schema = json.loads((schemas_dir / name).read_text(encoding="utf-8"))
        out[title] = _rewrite(schema, name)
        for key, sub in schema.get("$defs", {}).items():
            out[f"{_prefix(name)}.{key}"] = _rewrite(sub, name)
    out["Error"] = {
        "type": "object", "required": ["error"], "additionalProperties": False,
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string", "description": "A stable name: invalidReport, invalidJson, unauthorized, ..."},
            "message": {"type": "string", "description": "What is wrong, for a person."},
            "path": {"type": "string", "description": "The JSON path in the body, when the error is about a field."},
            "index": {"type": "integer", "description": "The report's position, when the body was a list."}}}}}
    out["ReportResults"] = {
        "type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {
            "type": "object", "required": ["status"], "properties": {
                "status": {"type": "integer", "description": "The HTTP status this report alone would have had."},
                "progress": {"$ref": "#/components/schemas/LiveRecovery"},
                "error": {"$ref": "#/components/schemas/Error/properties/error"}}}}}}
    out["PolicyFiles"] = {
        "type": "object", "required": ["files"], "additionalProperties": False,
        "properties": {"files": {"type": "object", "description": "File name (e.g. visitor-info.yaml) -> its text.",
                                 "maxProperties": 64, "minProperties": 1,
                                 "propertyNames": {"pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\\.ya?ml$"},
                                 "additionalProperties": {"type": "string"}}}}
    out["PolicyCheck"] = {
        "type": "object", "required": ["ok", "problems"], "properties": {
            "ok": {"type": "boolean"}, "problems": {"type": "array", "items": {"type": "object"}}}}
    return out


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def document(schemas_dir: Path) -> dict:
    secured: list[dict[str, list[str]]] = [{"bearer": []}]
    common = {"401": _error("No token, or the wrong one"), "413": _error("The body is larger than the limit"),
              "415": _error("The body is not JSON"), "400": _error("The body is not valid JSON")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "chat-recovery", "version": __version__,
                 "description": "Live recovery of a chat server's visitors from their clients' reports."},
        "components": {"schemas": components(schemas_dir),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/v1/reports": {"post": {
                "summary": "Apply one report, or a list of reports",
                "security": secured,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                    {"$ref": "#/components/schemas/Report"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/Report"}, "minItems": 1}]}}}},
                "responses": {
                    "200": {"description": "Applied: the visitor's recovery so far (a list: every report applied)",
                            "content": {"application/json": {"schema": {"oneOf": [
                                {"$ref": "#/components/schemas/LiveRecovery"},
                                {"$ref": "#/components/schemas/ReportResults"}]}}}},
                    "207": _json("ReportResults", "A list where some reports were not applied: each has its status"),
                    "422": _error("The report breaks the contract (the error names the field)"),
                    "429": _error("Too many reports in flight: retry after Retry-After seconds"),
                    "503": _error("The store is unreachable: nothing was written, retry"), **common}}},
            "/v1/visitors/{visitorId}/recovery": {"get": {
                "summary": "The visitor's recovery so far",
                "security": secured,
                "parameters": [{"name": "visitorId", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json("LiveRecovery", "The recovery so far"),
                              "404": _error("No report is held for this visitor"),
                              "401": common["401"], "503": _error("The store is unreachable")}}},
            "/v1/policy/check": {"post": {
                "summary": "Check a policy directory's files (nothing is changed)",
                "security": secured,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PolicyFiles"}}}},
                "responses": {"200": _json("PolicyCheck", "The problems found (ok: no errors)"),
                              "422": _error("The files are not a policy directory (a bad name)"), **common}}},
            "/healthz": {"get": {"summary": "The process is alive", "responses": {"200": {"description": "alive"}}}},
            "/readyz": {"get": {"summary": "The policy is loaded and the store answers",
                                "responses": {"200": {"description": "ready"}, "503": _error("not ready")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
                "description": "The text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        },
    }
