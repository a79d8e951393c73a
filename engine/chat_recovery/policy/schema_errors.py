"""jsonschema errors turned into one sentence each, with the place they belong.

Like python-jsonschema's own design: EXPLAIN maps each keyword to a function
that says what went wrong (the caller supplies where: file, position), and one
ranking, `headline`, picks the error a person sees first, both among the
branches of a `oneOf`/`anyOf` and among the problems of a whole report."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from jsonschema import ValidationError
from jsonschema.exceptions import best_match

from ..diagnostics import Code, did_you_mean, suggest

_TYPES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


Path = tuple[Any, ...]  # where in the document: keys and indexes
Schema = dict[str, Any]  # the (sub)schema an error came from


class Problem(NamedTuple):
    path: tuple[Any, ...]
    message: str
    at_key: bool  # point at the key rather than the value
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


def headline(found: Iterable[Problem]) -> Problem:
    """The problem to name when only one is named (a report is refused with
    one): the shallowest, then the first by path, so the answer is stable."""
    return min(found, key=lambda p: (len(p.path), str(p.path)))


def _join_slips(found: list[Problem]) -> list[Problem]:
    """A required key typed with a slip (`sentat`) is two errors to the
    schema, a missing key and an unknown one; a person made one mistake, so
    it is one problem, at the misspelt key, naming both."""
    missing: dict[tuple[Any, ...], list[str]] = {}
    for problem in found:
        if problem.code == Code.MISSING_KEY:
            missing.setdefault(problem.path, []).append(problem.key)
    if not missing:
        return found
    slips: dict[tuple[tuple[Any, ...], str], Any] = {}  # (path of the mapping, missing key) -> the unknown key one slip from it
    for problem in found:
        wanted = missing.get(problem.path[:-1]) if problem.code == Code.UNKNOWN_KEY else None
        hit = did_you_mean(str(problem.path[-1]), wanted) if wanted else None
        if hit:
            slips.setdefault((problem.path[:-1], hit), problem.path[-1])
    worded = {
        at + (typed,): f"unknown key '{typed}'; required key '{key}' is missing (did you mean '{key}'?)"
        for (at, key), typed in slips.items()
    }
    out = []
    for problem in found:
        if problem.code == Code.MISSING_KEY and (problem.path, problem.key) in slips:
            continue
        out.append(
            problem._replace(message=worded[problem.path])
            if problem.code == Code.UNKNOWN_KEY and problem.path in worded
            else problem
        )
    return out


# Each explainer gets the error, its path and its (sub)schema, and returns the
# problems it finds, or None to leave the error to the schema's own sentence.
Explainer = Callable[[ValidationError, Path, Schema], list[Problem] | None]


def _value(error: ValidationError) -> Any:
    """The keyword's value in the schema (jsonschema types it `Any | Unset`;
    an error raised by a keyword always has one)."""
    return error.validator_value


def _explain(error: ValidationError) -> list[Problem]:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    explainer = EXPLAIN.get(str(error.validator))
    found = explainer(error, path, schema) if explainer else None
    return found if found is not None else [Problem(path, error.message, False, Code.SCHEMA)]


def _unknown_keys(error: ValidationError, path: Path, schema: Schema) -> list[Problem] | None:
    if not isinstance(error.instance, dict):
        return None
    known = list(schema.get("properties", {}))
    return [
        Problem(path + (key,), f"unknown key '{key}'{suggest(key, known)}", True, Code.UNKNOWN_KEY)
        for key in error.instance
        if key not in known
    ]


def _branches(error: ValidationError, path: Path, schema: Schema) -> list[Problem] | None:
    """oneOf/anyOf: the schema's description when it says it better (valid
    under several branches of a oneOf, or no branch that gets past its top);
    otherwise the headline error of the branches."""
    described = schema.get("description") if error.validator == "oneOf" else None
    if not error.context:
        return [Problem(path, described, False, Code.SCHEMA)] if described else None
    best = best_match(error.context)
    if described and not best.relative_path:
        return [Problem(path, described, False, Code.SCHEMA)]
    return _explain(best)


def _required(error: ValidationError, path: Path, schema: Schema) -> list[Problem]:
    inst = error.instance
    return [
        Problem(path, f"missing required key '{key}'", False, Code.MISSING_KEY, key)
        for key in _value(error)
        if isinstance(inst, dict) and key not in inst
    ]


def _enum(error: ValidationError, path: Path, schema: Schema) -> list[Problem]:
    inst = error.instance
    options = [o for o in _value(error) if o is not None]
    listed = ", ".join(map(str, options[:8])) + (", ..." if len(options) > 8 else "")
    hint = suggest(inst, [str(o) for o in options]) if isinstance(inst, str) else ""
    return [Problem(path, f"{_short(inst)} is not one of: {listed}{hint}", False, Code.BAD_VALUE)]


def _const(error: ValidationError, path: Path, schema: Schema) -> list[Problem]:
    return [Problem(path, f"must be {error.validator_value!r}, not {_short(error.instance)}", False, Code.BAD_VALUE)]


def _type(error: ValidationError, path: Path, schema: Schema) -> list[Problem]:
    wanted = _value(error)
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    names = " or ".join(_TYPES.get(w, w) for w in wanted)
    return [Problem(path, f"expected {names}, got {_kind(error.instance)} {_short(error.instance)}", False, Code.WRONG_TYPE)]


def _pattern(error: ValidationError, path: Path, schema: Schema) -> list[Problem]:
    inst = error.instance
    if schema.get("format") == "date-time":
        return [Problem(path, f"{_short(inst)} is not an RFC 3339 UTC time such as 2026-11-24T09:00:00Z", False, Code.BAD_TIME)]
    if "propertyNames" in error.relative_schema_path:
        # a mapping key of the wrong shape: name it, with the schema's own examples as suggestions
        hint = suggest(str(inst), [e for e in schema.get("examples", ()) if "<" not in e])
        advice = f"; {schema['description']}" if schema.get("description") else f" (names match {error.validator_value})"
        return [
            Problem(path + (inst,), f"{schema.get('title', 'name')} '{inst}' is not allowed{hint}{advice}", True, Code.BAD_NAME)
        ]
    return [Problem(path, f"{_short(inst)} does not match {error.validator_value}", False, Code.BAD_VALUE)]


def _max_length(error: ValidationError, path: Path, schema: Schema) -> list[Problem]:
    return [Problem(path, f"text longer than {error.validator_value} characters", False, Code.TOO_LONG)]


def _min_length(error: ValidationError, path: Path, schema: Schema) -> list[Problem]:
    least = error.validator_value
    return [Problem(path, "must not be empty" if least == 1 else f"shorter than {least} characters", False, Code.TOO_SHORT)]


def _max_items(error: ValidationError, path: Path, schema: Schema) -> list[Problem]:
    return [Problem(path, f"more than {error.validator_value} items", False, Code.TOO_LONG)]


def _property_names(error: ValidationError, path: Path, schema: Schema) -> list[Problem] | None:
    if not error.context:
        return None
    return [
        Problem(path + (sub.instance,), f"name {sub.instance!r} is not allowed: {sub.message}", True, Code.BAD_NAME)
        for sub in error.context
    ]


EXPLAIN: dict[str, Explainer] = {
    "additionalProperties": _unknown_keys,
    "oneOf": _branches,
    "anyOf": _branches,
    "required": _required,
    "enum": _enum,
    "const": _const,
    "type": _type,
    "pattern": _pattern,
    "maxLength": _max_length,
    "minLength": _min_length,
    "maxItems": _max_items,
    "propertyNames": _property_names,
}
