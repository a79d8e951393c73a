"""A fast yes for a valid report: the report schema compiled, once, into
Python source (one function per recursive `$defs` entry and per combinator
branch, every other check written inline), so a report costs a few calls
instead of one per value. jsonschema walks the schema per report; that was
three quarters of a recovery's time, and a tree of closures still half of
what remained.

The schema stays the authority. A compiled check answers True (valid),
False (not valid) or raises Unsure for a case it does not decide; on
anything but True the caller asks jsonschema, so every error message is
still the schema's. A schema using a keyword this compiler does not know
compiles to None: no fast path at all, never a wrong one.

With `max_depth`, True also says that nothing nests deeper than that (the
instance is level 1): a caller that checks reports in place, without the
copy that used to count levels, still refuses a report too deep to walk."""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Iterable
from typing import Any

Check = Callable[[Any], bool]

# keywords that assert nothing (annotations), and keywords that only hold definitions
_IGNORED = frozenset(
    {"title", "description", "examples", "default", "$comment", "$schema", "$id", "$defs", "deprecated", "readOnly", "writeOnly"}
)
_HANDLED = frozenset(
    {
        "type",
        "enum",
        "const",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "maxItems",
        "minItems",
        "if",
        "then",
        "else",
        "$ref",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
    }
)
_MAX_INLINE_DEPTH = 12  # Python allows 20 nested blocks in one function
_SIMPLE = {"string": "str", "object": "dict", "array": "list", "null": "_NoneType"}
_NUMERIC = {"integer": "_is_integer", "number": "_is_number", "boolean": "_is_boolean"}


class Unsure(Exception):
    """This value is outside what the fast check decides: ask jsonschema."""


class Unsupported(Exception):
    """The schema uses something the compiler does not translate."""


def compile_schema(root: dict[str, Any], format_checker: Any = None, max_depth: int | None = None) -> Check | None:
    """`check(instance) -> bool` exactly as the schema decides it (or
    Unsure), or None when the schema is beyond this compiler."""
    try:
        return _Compiler(root, format_checker, max_depth).build()
    except Unsupported:
        return None


def source_of(root: dict[str, Any], format_checker: Any = None, max_depth: int | None = None) -> str:
    """The generated module, for a reader who wants to see what runs."""
    compiler = _Compiler(root, format_checker, max_depth)
    compiler.build()
    return compiler.source


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _is_boolean(x: Any) -> bool:
    return isinstance(x, bool)


def _kinds(schema: dict[str, Any]) -> list[Any]:
    """`type` as a list, whether it was written as one name or several."""
    return [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])


def _within(limit: int) -> Callable[[Any, int], bool]:
    """`within(value, level)`: no non-empty container of the value sits at
    `limit` or deeper (its items would be deeper than the limit)."""

    def within(value: Any, level: int) -> bool:
        items: Iterable[Any]
        if isinstance(value, dict):
            items = value.values()
        elif isinstance(value, list):
            items = value
        else:
            return True
        if not items:
            return True
        if level >= limit:
            return False
        deeper = level + 1
        return all(within(item, deeper) for item in items if isinstance(item, (dict, list)))

    return within


class _At:
    """Where generated code stands: the variable holding the value, its JSON
    level as an offset from the function's `d`, and the Python indentation."""

    __slots__ = ("var", "level", "indent")

    def __init__(self, var: str, level: int, indent: int):
        self.var, self.level, self.indent = var, level, indent

    @property
    def pad(self) -> str:
        return "    " * self.indent

    @property
    def depth(self) -> str:
        return f"d + {self.level}" if self.level else "d"

    def inner(self, var: str | None = None, deeper: int = 0) -> _At:
        """The same value (or a child, `deeper` = 1) one block further in."""
        return _At(var or self.var, self.level + deeper, self.indent + 1)

    def fail_unless(self, test: str) -> str:
        return f"{self.pad}if not ({test}):\n{self.pad}    return False\n"


class _Compiler:
    def __init__(self, root: dict[str, Any], format_checker: Any, max_depth: int | None):
        self.root = root
        self.formats = format_checker
        self.max_depth = max_depth
        self.names: dict[tuple[str, str], str] = {}  # (stem, repr of a constant) -> its name in the module
        self.values: dict[str, Any] = {
            "Unsure": Unsure,
            "_is_integer": _is_integer,
            "_is_number": _is_number,
            "_is_boolean": _is_boolean,
            "_NoneType": type(None),
            "_MISSING": object(),
            "_within": _within(max_depth) if max_depth is not None else None,
            "LIMIT": max_depth,
        }
        self.functions: list[str] = []
        self.refs: dict[str, str] = {}  # "#/$defs/x" -> function name
        self.inlining: list[str] = []  # the references being written inline, innermost last
        self.counter = 0
        self.source = ""

    def build(self) -> Check:
        entry = self.function(self.root)
        self.functions.append(f"def check(x):\n    return {entry}(x, 1)")
        self.source = "\n\n".join(self.functions) + "\n"
        namespace = dict(self.values)
        try:
            code = compile(self.source, "<compiled report schema>", "exec")
        except (SyntaxError, RecursionError, MemoryError) as exc:  # e.g. more nested blocks than Python allows
            raise Unsupported(f"generated code does not compile: {exc}") from None
        exec(code, namespace)  # noqa: S102 - our own generated source
        check: Check = namespace["check"]
        return check

    # -- names -------------------------------------------------------------
    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def const(self, value: Any, stem: str) -> str:
        """A value the generated code refers to by name (patterns, sets, checkers)."""
        key = (stem, repr(value))
        if key not in self.names:
            name = self.fresh(stem)
            self.names[key] = name
            self.values[name] = value
        return self.names[key]

    # -- functions ---------------------------------------------------------
    def function(self, schema: Any) -> str:
        """A function `name(x, d) -> bool` for the schema (`d`: the level of
        `x`); its body returns False at the first failure, so nested checks
        are plain statements."""
        name = self.fresh("check")
        body = self.statements(schema, _At("x", 0, 1))
        self.functions.append(f"def {name}(x, d):\n" + "".join(body) + "    return True")
        return name

    def call(self, schema: Any, at: _At) -> str:
        return f"{self.function(schema)}({at.var}, {at.depth})"

    def ref(self, target: str) -> str:
        """One function per definition, cycles allowed (a function is looked
        up by name when called)."""
        name = self.definition(target)
        if target not in self.refs:
            self.refs[target] = f"check_{re.sub(r'[^0-9A-Za-z_]', '_', name)}_{len(self.refs)}"
            function = self.function(self.root["$defs"][name])
            self.functions.append(f"{self.refs[target]} = {function}")
        return self.refs[target]

    def definition(self, target: str) -> str:
        """The `$defs` name a reference names; only local `#/$defs/name`."""
        name = target[len("#/$defs/") :]
        if not target.startswith("#/$defs/") or "/" in name:
            raise Unsupported(target)
        if name not in self.root.get("$defs", {}):
            raise Unsupported(f"no definition for {target}")
        return name

    def reference(self, target: str, at: _At) -> list[Any]:
        """A `$ref` written inline where it does not lead back to itself; a
        call otherwise."""
        if target not in self.inlining:
            name = self.definition(target)
            schema = self.root["$defs"][name]
            self.inlining.append(target)
            try:
                return self.statements(schema, at)
            finally:
                self.inlining.pop()
        return [at.fail_unless(f"{self.ref(target)}({at.var}, {at.depth})")]

    # -- statements --------------------------------------------------------
    def statements(self, schema: Any, at: _At) -> list[Any]:
        """Lines that return False unless the value at `at` is valid."""
        if schema is True:
            return self.open_value(at)
        if schema is False:
            return [f"{at.pad}return False\n"]
        if not isinstance(schema, dict):
            raise Unsupported(repr(schema))
        unknown = [k for k in schema if k not in _IGNORED and k not in _HANDLED and not k.startswith("x-")]
        if unknown:
            raise Unsupported(", ".join(unknown))
        if at.indent >= _MAX_INLINE_DEPTH:  # Python allows 20 nested blocks: go on in a function of its own
            return [at.fail_unless(self.call(schema, at))]
        lines = []
        kinds = None
        if "type" in schema:
            kinds = _kinds(schema)
            if any(k not in _SIMPLE and k not in _NUMERIC for k in kinds):
                raise Unsupported(f"type {kinds}")
            lines.append(at.fail_unless(self.type_test(kinds, at.var)))
        # a `$ref` or `allOf` member checks the whole value, depth included,
        # so this node need not walk what its own keywords leave open
        descends = "$ref" in schema or any(sub is not True for sub in schema.get("allOf", ()))
        lines += self.by_kind(schema, kinds, at, walk=not descends)
        if "$ref" in schema:
            lines += self.reference(schema["$ref"], at)
        for word in ("enum", "const"):
            if word in schema:
                lines += self.one_of(schema["enum"] if word == "enum" else [schema["const"]], at)
        lines += self.combined(schema, at)
        return lines

    def open_value(self, at: _At) -> list[Any]:
        """A value the schema says nothing more about: only its depth counts."""
        if self.max_depth is None:
            return []
        return [at.fail_unless(f"_within({at.var}, {at.depth})")]

    def one_of(self, options: list[Any], at: _At) -> list[Any]:
        """enum/const: text and null decided here; any other value is Unsure
        (jsonschema's equality treats 1, 1.0 and true with care)."""
        texts = self.const(frozenset(o for o in options if isinstance(o, str)), "TEXTS")
        pad, var = at.pad, at.var
        return [
            f"{pad}if isinstance({var}, str):\n{pad}    if {var} not in {texts}:\n{pad}        return False\n"
            f"{pad}elif {var} is None:\n{pad}    {'pass' if None in options else 'return False'}\n"
            f"{pad}else:\n{pad}    raise Unsure\n"
        ]

    def type_test(self, kinds: list[Any], var: str) -> str:
        simple = [_SIMPLE[k] for k in kinds if k in _SIMPLE]
        tests = (
            [f"isinstance({var}, {simple[0]})" if len(simple) == 1 else f"isinstance({var}, ({', '.join(simple)}))"]
            if simple
            else []
        )
        tests += [f"{_NUMERIC[k]}({var})" for k in kinds if k in _NUMERIC]
        return " or ".join(tests) or "False"

    def test(self, schema: Any, at: _At) -> str:
        """An expression that is true when the value is valid: a schema that
        only asserts a type is that test inline, any other a call."""
        if (
            isinstance(schema, dict)
            and "type" in schema
            and all(k == "type" or k in _IGNORED or k.startswith("x-") for k in schema)
        ):
            kinds = _kinds(schema)
            if kinds and all(k in _SIMPLE or k in _NUMERIC for k in kinds):
                return f"({self.type_test(kinds, at.var)})"
        return self.call(schema, at)

    def by_kind(self, schema: dict[str, Any], kinds: list[Any] | None, at: _At, walk: bool) -> list[Any]:
        """The keywords of each kind of value, applied to values of that kind
        (a keyword says nothing about a value of another kind). `walk`: this
        node answers for the depth of what its keywords leave open."""
        makers: dict[str, Callable[[dict[str, Any], _At], list[Any]]] = {
            "str": self.text,
            "number": self.number,
            "dict": lambda schema, at: self.mapping(schema, at, walk),
            "list": lambda schema, at: self.array(schema, at, walk),
        }
        if kinds is not None:  # the type test above has run: a kind not listed cannot arrive
            allowed = {_SIMPLE.get(k, "number") for k in kinds}
            makers = {kind: make for kind, make in makers.items() if kind in allowed}
            if len(allowed) == 1 and allowed <= makers.keys():  # no test needed: the one kind admitted
                return next(iter(makers.values()))(schema, at)
        lines = []
        for kind, make in makers.items():
            body = make(schema, at.inner())
            if body:
                test = f"_is_number({at.var})" if kind == "number" else f"isinstance({at.var}, {kind})"
                lines.append(f"{at.pad}if {test}:\n")
                lines += body
        return lines

    def text(self, schema: dict[str, Any], at: _At) -> list[Any]:
        lines = []
        low, high = schema.get("minLength"), schema.get("maxLength")
        bounds = [f"{low} <= len({at.var})" if low is not None else "", f"len({at.var}) <= {high}" if high is not None else ""]
        if any(bounds):
            lines.append(at.fail_unless(" and ".join(b for b in bounds if b)))
        if "pattern" in schema:
            lines.append(at.fail_unless(f"{self.const(re.compile(schema['pattern']), 'PATTERN')}.search({at.var})"))
        fmt = schema.get("format")
        if fmt is not None and self.formats is not None and fmt in self.formats.checkers:
            lines.append(at.fail_unless(f"{self.const(self.formats.conforms, 'CONFORMS')}({at.var}, {fmt!r})"))
        return lines

    def number(self, schema: dict[str, Any], at: _At) -> list[Any]:
        lines = []
        if schema.get("minimum") is not None:
            lines.append(at.fail_unless(f"{at.var} >= {self.const(schema['minimum'], 'LOW')}"))
        if schema.get("maximum") is not None:
            lines.append(at.fail_unless(f"{at.var} <= {self.const(schema['maximum'], 'HIGH')}"))
        return lines

    def container_depth(self, at: _At) -> list[Any]:
        """A non-empty container at the limit holds items deeper than it."""
        if self.max_depth is None:
            return []
        return [f"{at.pad}if {at.var} and {at.depth} >= LIMIT:\n{at.pad}    return False\n"]

    def mapping(self, schema: dict[str, Any], at: _At, walk: bool) -> list[Any]:
        pad, var = at.pad, at.var
        lines = self.container_depth(at) if walk else []
        required = schema.get("required", ())
        if required:
            missing = " or ".join(f"{key!r} not in {var}" for key in required)
            lines.append(f"{pad}if {missing}:\n{pad}    return False\n")
        props = schema.get("properties", {})
        for key, sub in props.items():
            item = self.fresh("v")
            body = self.statements(sub, _At(item, at.level + 1, at.indent + 1))
            if body:
                lines.append(f"{pad}{item} = {var}.get({key!r}, _MISSING)\n{pad}if {item} is not _MISSING:\n")
                lines += body
        extra = schema.get("additionalProperties", True)
        if extra is True and not walk:
            return lines
        if extra is False:
            lines.append(at.fail_unless(f"{self.const(frozenset(props), 'KEYS')}.issuperset({var})"))
            return lines
        item, key = self.fresh("v"), self.fresh("k")
        body = self.statements(extra, _At(item, at.level + 1, at.indent + 2))
        if body:
            known = self.const(frozenset(props), "KEYS")
            other = f"not isinstance({key}, str) or {key} not in {known}" if props else "True"
            lines.append(f"{pad}for {key}, {item} in {var}.items():\n{pad}    if {other}:\n")
            lines += body
        return lines

    def array(self, schema: dict[str, Any], at: _At, walk: bool) -> list[Any]:
        pad, var = at.pad, at.var
        lines = self.container_depth(at) if walk else []
        low, high = schema.get("minItems"), schema.get("maxItems")
        if low is not None:
            lines.append(f"{pad}if len({var}) < {low}:\n{pad}    return False\n")
        if high is not None:
            lines.append(f"{pad}if len({var}) > {high}:\n{pad}    return False\n")
        items = schema.get("items", True)
        if items is True and not walk:
            return lines
        item = self.fresh("v")
        body = self.statements(items, _At(item, at.level + 1, at.indent + 1))
        if body:
            lines.append(f"{pad}for {item} in {var}:\n")
            lines += body
        return lines

    def combined(self, schema: dict[str, Any], at: _At) -> list[Any]:
        """Branches that must answer yes or no without failing the whole value
        are functions of their own; `then`/`else` and `allOf` fail it, so they
        are written inline."""
        pad = at.pad
        lines = []
        for sub in schema.get("allOf", ()):
            lines += self.statements(sub, at) if sub is not True else []
        if "anyOf" in schema:
            lines.append(at.fail_unless(" or ".join(self.call(s, at) for s in schema["anyOf"])))
        if "oneOf" in schema:
            lines.append(at.fail_unless(f"[{', '.join(self.call(s, at) for s in schema['oneOf'])}].count(True) == 1"))
        if "not" in schema:
            lines.append(f"{pad}if {self.call(schema['not'], at)}:\n{pad}    return False\n")
        if "if" in schema:
            then = schema.get("then", True)
            otherwise = schema.get("else", True)
            lines.append(f"{pad}if {self.test(schema['if'], at)}:\n")
            lines += (self.statements(then, at.inner()) if then is not True else []) or [f"{pad}    pass\n"]
            if otherwise is not True:
                body = self.statements(otherwise, at.inner())
                if body:
                    lines.append(f"{pad}else:\n")
                    lines += body
        return lines
