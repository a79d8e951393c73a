"""The wire contract as the schemas in `schemas/` state it. The names the
policy may refer to (properties, statuses, time fields) are read from the
report schema, so the schema is the one list of them."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource

from . import schema_errors
from .depth_limit import bounded

REPORT = "report.schema.json"
MAX_DEPTH = 64  # levels a report may nest (the report is level 1): deeper is refused, not walked
RECOVERY = "recovery.schema.json"
POLICY_KINDS = {
    "strategies": "policy-strategies.schema.json",
    "properties": "policy-properties.schema.json",
    "visitorStatus": "policy-visitor-status.schema.json",
    "chatActions": "policy-chat-actions.schema.json",
    "clientRules": "policy-client.schema.json",
    "invariants": "policy-invariants.schema.json",
    "policy": "policy-manifest.schema.json",
}


@functools.lru_cache(maxsize=256)
def _ecma(pattern: str) -> re.Pattern[str]:
    """A schema's `pattern` with `$` read as ECMA-262 reads it, as JSON Schema
    says patterns are: the end of the text. Python's `$` also matches before
    a final newline, which let '2026-11-24T09:00:00Z\\n' pass as a time
    (and jsonschema-rs, giving the verdict, refuses it)."""
    out, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """jsonschema's `pattern`, words and all, with `$` at the end of the text."""
    if validator.is_type(instance, "string") and not _ecma(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# Draft 2020-12 as jsonschema checks it, but for `pattern`'s `$` (above)
_Checker: Any = validators.extend(Draft202012Validator, {"pattern": _pattern})  # type: ignore[no-untyped-call]  # jsonschema types it not


@dataclass(frozen=True)
class Contract:
    schemas: dict[str, Any]  # file name -> schema (treat as read-only)
    registry: Registry
    info_keys: tuple[str, ...]
    time_fields: frozenset[str]
    statuses: tuple[str, ...]
    chat_prop_keys: tuple[str, ...]
    actions: tuple[str, ...] = ()  # the contract's message actions (a policy may add more)
    directives: tuple[str, ...] = ()  # the contract's directive names (a policy may add more)
    # report validators already built, by the statuses the policy adds: building one is ~30 ms
    # (the schema copied and compiled), and every load of a policy with those statuses wants the same
    _report_validators: dict[tuple[str, ...], ReportValidator] = field(default_factory=dict, compare=False, repr=False)
    _verdicts: dict[str, jsonschema_rs.Validator] = field(default_factory=dict, compare=False, repr=False)  # by schema name

    def passes(self, name: str, document: Any) -> bool:
        """jsonschema-rs's yes for a document against one of the schemas (a
        rule file: 1-2 ms where jsonschema took ~95 for the bundled policy's
        files); on False, ask `validator(name)` for the words, if any."""
        held = self._verdicts.get(name)
        if held is None:
            resources = [(s["$id"], s) for s in self.schemas.values()] + list(self.schemas.items())
            held = self._verdicts[name] = jsonschema_rs.validator_for(
                self.schemas[name], registry=jsonschema_rs.Registry(resources), validate_formats=False
            )
        try:
            return held.is_valid(document)
        except ValueError:  # not JSON: a key that is not text, a value YAML has and JSON has not
            return False

    def validator(self, name: str, schema: dict[str, Any] | None = None) -> Draft202012Validator:
        schema = schema if schema is not None else self.schemas[name]
        checker: Draft202012Validator = _Checker(
            schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        return checker

    def report_validator(self, extra_statuses: Iterable[str] = ()) -> ReportValidator:
        """A validator for reports that also admits statuses the policy adds
        (built once per set of added statuses: it holds no state)."""
        key = tuple(extra_statuses)
        held = self._report_validators.get(key)
        if held is None:
            if len(self._report_validators) >= 64:  # a status being typed, letter by letter: keep few
                self._report_validators.clear()
            held = self._report_validators[key] = self._report_validator(key)
        return held

    def _report_validator(self, extra_statuses: tuple[str, ...]) -> ReportValidator:
        schema = copy.deepcopy(self.schemas[REPORT])
        status = _status_schema(schema)
        status["enum"] = list(dict.fromkeys([*status["enum"], *extra_statuses]))
        # `format` stays an annotation, as 2020-12 makes it and as jsonschema's FORMAT_CHECKER
        # treats date-time without rfc3339-validator: the pattern is the schema's time check, and
        # the calendar (month 13) is timeutil's, which names the time's path in its own words
        verdict = jsonschema_rs.validator_for(bounded(schema, MAX_DEPTH), validate_formats=False)
        return ReportValidator(self.validator(REPORT, schema), verdict)


class ReportValidator:
    """The report schema's verdict. `passes` is jsonschema-rs's (3-4 times
    quicker than the checker generated here before it); calling lists a
    report's problems in python-jsonschema's terms, worded by schema_errors,
    which only a refused report pays for."""

    def __init__(self, schema_check: Draft202012Validator, verdict: jsonschema_rs.Validator):
        self._words, self._verdict = schema_check, verdict

    def passes(self, report: Any) -> bool:
        """True: valid, and nothing nests deeper than MAX_DEPTH. False: ask
        by calling, which names the problem (or finds none: a value that is
        not JSON, such as a set, is refused here and named by the caller)."""
        try:
            return self._verdict.is_valid(report)
        except ValueError:  # not JSON: a set, bytes, a key that is not text
            return False

    def __call__(self, report: Any) -> list[Any]:
        """The schema's problems; a report the compiled check passes has none."""
        if self.passes(report):
            return []
        return list(schema_errors.problems(self._words.iter_errors(report)))


def _deref(report_schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `#/$defs/name` reference."""
    return report_schema["$defs"][node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node


def _status_schema(report_schema: dict[str, Any]) -> dict[str, Any]:
    return _deref(report_schema, report_schema["properties"]["visitor"]["properties"]["status"])


def _info_schema(report_schema: dict[str, Any]) -> dict[str, Any]:
    return _deref(report_schema, report_schema["properties"]["visitor"]["properties"]["info"])


def _props_schema(report_schema: dict[str, Any]) -> dict[str, Any]:
    chat = _deref(report_schema, report_schema["properties"]["chat"])
    return _deref(report_schema, chat["properties"]["props"])


def _actions(report_schema: dict[str, Any]) -> tuple[Any, ...]:
    """The contract's actions: the `examples` of the message action."""
    return tuple(report_schema["$defs"]["message"]["properties"]["action"].get("examples", ()))


def load_contract(directory: Path) -> Contract:
    schemas = {}
    for path in sorted(directory.glob("*.schema.json")):
        schemas[path.name] = json.loads(path.read_text(encoding="utf-8"))
    registry = Registry().with_resources((schema["$id"], Resource.from_contents(schema)) for schema in schemas.values())
    for name, schema in schemas.items():  # relative $refs between policy schemas
        registry = registry.with_resource(name, Resource.from_contents(schema))
    report = schemas[REPORT]
    info = _info_schema(report)["properties"]
    return Contract(
        schemas=schemas,
        registry=registry.crawl(),
        info_keys=tuple(info),
        time_fields=frozenset(k for k, s in info.items() if s.get("x-time")),
        statuses=tuple(s for s in _status_schema(report)["enum"] if s is not None),
        chat_prop_keys=tuple(_props_schema(report)["properties"]),
        actions=_actions(report),
        directives=tuple(schemas[RECOVERY]["$defs"]["directive"]["properties"]["do"].get("examples", ())),
    )
