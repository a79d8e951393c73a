"""A fast yes for a valid report: the report schema compiled, once, into
plain closures. jsonschema walks the schema per report (a `$ref` lookup per
message); that was three quarters of a recovery's time.

The schema stays the authority. A compiled check answers True (valid),
False (not valid) or raises Unsure for a case it does not decide; on
anything but True the caller asks jsonschema, so every error message is
still the schema's. A schema using a keyword this compiler does not know
compiles to None: no fast path at all, never a wrong one."""
from __future__ import annotations

import numbers
import re
from typing import Any, Callable, Optional

Check = Callable[[Any], bool]

# keywords that assert nothing (annotations), and keywords that only hold definitions
_IGNORED = frozenset({"title", "description", "examples", "default", "$comment", "$schema",
                      "$id", "$defs", "deprecated", "readOnly", "writeOnly"})
_HANDLED = frozenset({"type", "enum", "const", "minLength", "maxLength", "pattern", "format",
                      "minimum", "maximum", "properties", "required", "additionalProperties",
                      "items", "maxItems", "minItems", "if", "then", "else", "$ref",
                      "allOf", "anyOf", "oneOf", "not"})


class Unsure(Exception):
    """This value is outside what the fast check decides: ask jsonschema."""


class Unsupported(Exception):
    """The schema uses something the compiler does not translate."""


def compile_schema(root: dict, format_checker: Any = None) -> Optional[Check]:
    """`check(instance) -> bool` exactly as the schema decides it (or
    Unsure), or None when the schema is beyond this compiler."""
    try:
        return _Compiler(root, format_checker).node(root)
    except Unsupported:
        return None


def _true(_x: Any) -> bool:
    return True


def _false(_x: Any) -> bool:
    return False


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


_SIMPLE = {"string": str, "object": dict, "array": list, "null": type(None)}


def _type_parts(wanted: Any) -> tuple:
    """`type` as a tuple of Python classes, plus a test for the numeric kinds
    (integer admits 1.0, neither admits true) or None."""
    kinds = [wanted] if isinstance(wanted, str) else list(wanted)
    simple = tuple(_SIMPLE[k] for k in kinds if k in _SIMPLE)
    tests = [{"integer": _is_integer, "number": _is_number, "boolean": lambda x: isinstance(x, bool)}[k]
             for k in kinds if k not in _SIMPLE]
    if not tests:
        return simple, None
    return simple, (tests[0] if len(tests) == 1 else lambda x: any(t(x) for t in tests))


def _text_leaf(schema: dict) -> Optional[Check]:
    """Most values are text (or null) of bounded length: one expression."""
    asserted = {k for k in schema if k not in _IGNORED and not k.startswith("x-")}
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if "type" not in asserted or not asserted <= {"type", "minLength", "maxLength"} or not kinds or not set(kinds) <= {"string", "null"}:
        return None
    low, high = schema.get("minLength", 0), schema.get("maxLength", float("inf"))
    if "string" not in kinds:
        return lambda x: x is None
    if "null" in kinds:
        return lambda x: x is None or (isinstance(x, str) and low <= len(x) <= high)
    return lambda x: isinstance(x, str) and low <= len(x) <= high


def _equal_to_one_of(options: list) -> Check:
    """enum/const for text and null decided here; any other value is Unsure
    (jsonschema's equality treats 1, 1.0 and true with care)."""
    texts = frozenset(o for o in options if isinstance(o, str))
    has_null = any(o is None for o in options)

    def check(x: Any) -> bool:
        if isinstance(x, str):
            return x in texts
        if x is None:
            return has_null
        raise Unsure
    return check


def _all(checks: list) -> Check:
    checks = [c for c in checks if c is not _true]
    if not checks:
        return _true
    if len(checks) == 1:
        return checks[0]
    first, rest = checks[0], _all(checks[1:])
    return lambda x: first(x) and rest(x)


class _Compiler:
    def __init__(self, root: dict, format_checker: Any):
        self.root = root
        self.formats = format_checker
        self.refs: dict = {}

    def node(self, schema: Any) -> Check:
        if schema is True:
            return _true
        if schema is False:
            return _false
        if not isinstance(schema, dict):
            raise Unsupported(repr(schema))
        unknown = [k for k in schema if k not in _IGNORED and k not in _HANDLED and not k.startswith("x-")]
        if unknown:
            raise Unsupported(", ".join(unknown))
        leaf = _text_leaf(schema)
        if leaf is not None:
            return leaf
        simple, numeric = _type_parts(schema["type"]) if "type" in schema else (None, None)
        text, number = self.text(schema), self.number(schema)
        mapping, array = self.mapping(schema), self.array(schema)
        others = [self.ref(schema["$ref"])] if "$ref" in schema else []
        if "enum" in schema:
            others.append(_equal_to_one_of(schema["enum"]))
        if "const" in schema:
            others.append(_equal_to_one_of([schema["const"]]))
        combined = self.combined(schema)
        others += [combined] if combined is not _true else []
        rest = _all(others)
        if simple is None and text is None and number is None and mapping is None and array is None:
            return rest
        rest = None if rest is _true else rest

        def check(x: Any) -> bool:
            """One call per value: the type, then the keywords of its kind."""
            if simple is not None and not isinstance(x, simple) and not (numeric is not None and numeric(x)):
                return False
            if isinstance(x, str):
                if text is not None and not text(x):
                    return False
            elif isinstance(x, dict):
                if mapping is not None and not mapping(x):
                    return False
            elif isinstance(x, list):
                if array is not None and not array(x):
                    return False
            elif number is not None and _is_number(x) and not number(x):
                return False
            return rest is None or rest(x)
        return check

    def ref(self, target: str) -> Check:
        """Only local `#/$defs/name` references; resolved once, cycles allowed."""
        if not target.startswith("#/$defs/") or "/" in target[len("#/$defs/"):]:
            raise Unsupported(target)
        name, defs = target[len("#/$defs/"):], self.root.get("$defs", {})
        if name not in defs:
            raise Unsupported(f"no definition for {target}")
        if target not in self.refs:
            cell: list = []
            self.refs[target] = lambda x: cell[0](x)   # what a cycle back to here calls
            cell.append(self.node(defs[name]))
            self.refs[target] = cell[0]
        return self.refs[target]

    def text(self, schema: dict) -> Check:
        low, high = schema.get("minLength"), schema.get("maxLength")
        pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
        fmt = schema.get("format")
        conforms = None
        if fmt is not None and self.formats is not None and fmt in self.formats.checkers:
            conforms = self.formats.conforms
        if low is None and high is None and pattern is None and conforms is None:
            return None

        def check(x: str) -> bool:
            if (low is not None and len(x) < low) or (high is not None and len(x) > high):
                return False
            if pattern is not None and not pattern.search(x):
                return False
            return conforms is None or conforms(x, fmt)
        return check

    def number(self, schema: dict) -> Check:
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is None and high is None:
            return None
        return lambda x: (low is None or x >= low) and (high is None or x <= high)

    def mapping(self, schema: dict) -> Check:
        if not {"properties", "required", "additionalProperties"} & schema.keys():
            return None
        props = {k: self.node(v) for k, v in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        extra = self.node(schema["additionalProperties"]) if "additionalProperties" in schema else None
        extra = None if extra is _true else extra

        def check(x: dict) -> bool:
            for key in required:
                if key not in x:
                    return False
            for key, value in x.items():
                test = props.get(key) if isinstance(key, str) else None
                if test is None:
                    test = extra
                    if test is None:
                        continue
                if not test(value):
                    return False
            return True
        return check

    def array(self, schema: dict) -> Check:
        if not {"items", "maxItems", "minItems"} & schema.keys():
            return None
        each = self.node(schema["items"]) if "items" in schema else _true
        low, high = schema.get("minItems", 0), schema.get("maxItems")

        def check(x: list) -> bool:
            if len(x) < low or (high is not None and len(x) > high):
                return False
            return each is _true or all(each(item) for item in x)
        return check

    def combined(self, schema: dict) -> Check:
        checks = [self.node(s) for s in schema.get("allOf", ())]
        if "anyOf" in schema:
            options = [self.node(s) for s in schema["anyOf"]]
            checks.append(lambda x: any(o(x) for o in options))
        if "oneOf" in schema:
            choices = [self.node(s) for s in schema["oneOf"]]
            checks.append(lambda x: sum(1 for o in choices if o(x)) == 1)
        if "not" in schema:
            negated = self.node(schema["not"])
            checks.append(lambda x: not negated(x))
        if "if" in schema:
            test = self.node(schema["if"])
            then = self.node(schema.get("then", True))
            otherwise = self.node(schema.get("else", True))
            checks.append(lambda x: then(x) if test(x) else otherwise(x))
        return _all(checks)

