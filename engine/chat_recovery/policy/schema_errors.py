"""jsonschema errors turned into one sentence each, with the place they belong.

`_explain` words an error by its keyword (unknown and missing keys, enum,
type, pattern, lengths, ...), following oneOf/anyOf into the branch
jsonschema's best_match picks; a keyword it does not know keeps jsonschema's
own message. The caller supplies where (file, position)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from jsonschema import ValidationError
from jsonschema.exceptions import best_match

from ..diagnostics import did_you_mean, suggest

_TYPES = {"string": "text", "integer": "a whole number", "number": "a number",
          "boolean": "true or false", "object": "a mapping", "array": "a list", "null": "null"}


class Problem(NamedTuple):
    path: tuple[Any, ...]
    message: str
    at_key: bool   # point at the key rather than the value
    code: str
    key: str = ""  # for missing-key: the key that is missing


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in ((bool, "true/false"), ((int, float), "a number"), (str, "text"), (list, "a list"), (dict, "a mapping")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problems(errors: Iterable[ValidationError]) -> Iterator[Problem]:
    """One sentence per problem the schema finds; a misspelt required key is one, not two."""
    found = [problem for error in errors for problem in _explain(error)]
    return iter(_join_slips(found))


def _join_slips(found: list[Any]) -> list[Any]:
    """A required key typed with a slip (`sentat`) is two errors to the
    schema, a missing key and an unknown one; a person made one mistake, so
    it is one problem, at the misspelt key, naming both."""
    missing: dict[tuple[Any, ...], list[str]] = {}
    for problem in found:
        if problem.code == "missing-key":
            missing.setdefault(problem.path, []).append(problem.key)
    if not missing:
        return found
    slips: dict[tuple[tuple[Any, ...], str], Any] = {}   # (path of the mapping, missing key) -> the unknown key one slip from it
    for problem in found:
        wanted = missing.get(problem.path[:-1]) if problem.code == "unknown-key" else None
        hit = did_you_mean(str(problem.path[-1]), wanted) if wanted else None
        if hit:
            slips.setdefault((problem.path[:-1], hit), problem.path[-1])
    worded = {at + (typed,): f"unknown key '{typed}'; required key '{key}' is missing (did you mean '{key}'?)" for (at, key), typed in slips.items()}
    out = []
    for problem in found:
        if problem.code == "missing-key" and (problem.path, problem.key) in slips:
            continue
        out.append(problem._replace(message=worded[problem.path]) if problem.code == "unknown-key" and problem.path in worded else problem)
    return out


def _explain(error: ValidationError) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    kw = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    inst: Any = error.instance
    if kw == "additionalProperties" and isinstance(inst, dict):
        known = list(schema.get("properties", {}))
        for key in inst:
            if key not in known:
                yield Problem(path + (key,), f"unknown key '{key}'{suggest(key, known)}", True, "unknown-key")
        return
    if kw == "oneOf" and not error.context and schema.get("description"):  # valid under more than one
        yield Problem(path, schema["description"], False, "schema")
        return
    if kw in ("oneOf", "anyOf") and error.context:
        best = best_match(error.context)
        if schema.get("description") and kw == "oneOf" and not best.relative_path:
            yield Problem(path, schema["description"], False, "schema")
            return
        yield from _explain(best)
        return
    if kw == "required":
        missing = [k for k in error.validator_value if isinstance(inst, dict) and k not in inst]  # type: ignore[union-attr]  # Any | Unset
        for key in missing:
            yield Problem(path, f"missing required key '{key}'", False, "missing-key", key)
        return
    if kw == "enum":
        options = [o for o in error.validator_value if o is not None]  # type: ignore[union-attr]
        listed = ", ".join(map(str, options[:8])) + (", ..." if len(options) > 8 else "")
        hint = suggest(inst, [str(o) for o in options]) if isinstance(inst, str) else ""
        yield Problem(path, f"{_short(inst)} is not one of: {listed}{hint}", False, "bad-value")
        return
    if kw == "const":
        yield Problem(path, f"must be {error.validator_value!r}, not {_short(inst)}", False, "bad-value")
        return
    if kw == "type":
        wanted = error.validator_value
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)  # type: ignore[arg-type]
        names = " or ".join(_TYPES.get(w, w) for w in wanted)
        yield Problem(path, f"expected {names}, got {_kind(inst)} {_short(inst)}", False, "wrong-type")
        return
    if kw == "pattern" and schema.get("format") == "date-time":
        yield Problem(path, f"{_short(inst)} is not an RFC 3339 UTC time such as 2026-11-24T09:00:00Z", False, "bad-time")
        return
    if kw == "pattern" and "propertyNames" in error.relative_schema_path:
        # a mapping key of the wrong shape: name it, with the schema's own examples as suggestions
        hint = suggest(inst, [e for e in schema.get("examples", ()) if "<" not in e])
        advice = f"; {schema['description']}" if schema.get("description") else f" (names match {error.validator_value})"
        yield Problem(path + (inst,), f"{schema.get('title', 'name')} '{inst}' is not allowed{hint}{advice}", True, "bad-name")
        return
    if kw == "pattern":
        yield Problem(path, f"{_short(inst)} does not match {error.validator_value}", False, "bad-value")
        return
    if kw == "maxLength":
        yield Problem(path, f"text longer than {error.validator_value} characters", False, "too-long")
        return
    if kw == "minLength":
        yield Problem(path, "must not be empty" if error.validator_value == 1 else f"shorter than {error.validator_value} characters", False, "too-short")
        return
    if kw == "maxItems":
        yield Problem(path, f"more than {error.validator_value} items", False, "too-long")
        return
    if kw == "propertyNames" and error.context:
        for sub in error.context:
            yield Problem(path + (sub.instance,), f"name {sub.instance!r} is not allowed: {sub.message}", True, "bad-name")
        return
    yield Problem(path, error.message, False, "schema")
