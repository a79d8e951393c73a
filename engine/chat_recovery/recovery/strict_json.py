"""JSON as reports arrive, read strictly where the standard reader is loose.

Python's reader takes a duplicate key (the last one silently wins), NaN,
Infinity and numbers too large for a float (1e400 becomes infinity), and a
lone UTF-16 surrogate escape ("\\ud800"). None of them is JSON a server can
write back: a held state with Infinity cannot be stored or answered, and a
lone surrogate cannot be encoded. Each is bad input, refused with the JSON
path where it sits. The hooks only note that something is wrong; the path is
found by one walk afterwards, so good input pays for no walk.

orjson reads first; it refuses all of these but a duplicate key (the last
wins) and reads an integer beyond 64 bits as a float. Only when it refuses,
or a cheap look at what it read cannot rule out a duplicate key or such an
integer, does the standard library read again with the hooks:
its messages and paths are the ones users see, unchanged."""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

import orjson

from ..jsonio import maybe_big_integer
from ..paths import json_path

# An escape that may be half of a surrogate pair; only then are strings walked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A colon written as an escape: the colon count below cannot see it
_COLON_ESCAPE_BYTES = re.compile(rb"\\u003[aA]")
_COLON_ESCAPE = re.compile(r"\\u003[aA]")
_MAX_DIGITS = 309  # a longer integer is beyond the largest double (1.8e308)
_LARGEST_DOUBLE = int(sys.float_info.max)


class BadJson(ValueError):
    """JSON that parses but is not JSON a report may hold."""

    def __init__(self, message: str, path: str):
        super().__init__(message)
        self.message, self.path = message, path


class _Duplicated(dict):  # type: ignore[type-arg]
    """An object that named a key twice (never leaves this module)."""

    key: str


class _NonFinite:
    """NaN, Infinity, -Infinity or a number beyond a float, as written."""

    def __init__(self, text: str):
        self.text = text


def loads(text: str | bytes) -> Any:
    """The parsed JSON; BadJson naming the path of the first bad thing, or
    json.JSONDecodeError (a ValueError) when it is not JSON at all."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _hooked_loads(text)  # bad: the standard library says what and where
    if _maybe_unfaithful(text, value):
        return _hooked_loads(text)
    return value


def _maybe_unfaithful(text: str | bytes, value: Any) -> bool:
    """True unless orjson's `value` is surely what the text says. An integer
    beyond 64 bits became a float of 9.2e18 or more, which orjson writes
    with "e+" and digits (a string with such text in it: a false alarm,
    read again). A key dropped as a duplicate takes its colon with it, and every
    colon is written literally unless escaped, so as many colons in the
    text as in `value` written out means that no key was dropped."""
    written = orjson.dumps(value)
    if maybe_big_integer(written):
        return True
    if isinstance(text, str):
        return _COLON_ESCAPE.search(text) is not None or text.count(":") != written.count(b":")
    return _COLON_ESCAPE_BYTES.search(text) is not None or text.count(b":") != written.count(b":")


def _hooked_loads(text: str | bytes) -> Any:
    """The standard library's reader with hooks that note each bad thing."""
    noted = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal noted
        obj = dict(items)
        if len(obj) == len(items):
            return obj
        noted = True
        marked = _Duplicated(obj)
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                marked.key = key  # the first key named twice
                break
            seen.add(key)
        return marked

    def constant(name: str) -> _NonFinite:
        nonlocal noted
        noted = True
        return _NonFinite(name)

    def number(written: str) -> float | _NonFinite:
        value = float(written)
        if math.isfinite(value):
            return value
        return constant(written)

    def integer(written: str) -> int | _NonFinite:
        if len(written) <= _MAX_DIGITS:
            return int(written)
        return constant(written)  # beyond any double, and beyond what int() reads

    value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_float=number, parse_int=integer)
    escaped = _SURROGATE_ESCAPE.search(text) if isinstance(text, str) else _SURROGATE_ESCAPE_BYTES.search(text)
    if noted or escaped:
        found = _first_bad(value, [])
        if found is not None:
            raise BadJson(*found)
    return value


def _first_bad(value: Any, at: list[Any]) -> tuple[str, str] | None:
    """(message, path) of the first bad thing under `value`, in document order."""
    if isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                return f"the key {_escaped(key)} holds a lone UTF-16 surrogate, which is not text", json_path(at)
            found = _first_bad(item, [*at, key])
            if found is not None:
                return found
        if isinstance(value, _Duplicated):
            return f"duplicate key '{value.key}': a key may appear once in an object", json_path([*at, value.key])
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _first_bad(item, [*at, i])
            if found is not None:
                return found
        return None
    if isinstance(value, _NonFinite):
        shown = value.text if len(value.text) <= 24 else f"{value.text[:12]}...({len(value.text)} characters)"
        return f"{shown} is not a finite number that fits a double (JSON has no NaN or Infinity)", json_path(at)
    if isinstance(value, str) and _SURROGATE.search(value):
        return "a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape) is not text", json_path(at)
    return None


def _escaped(text: str) -> str:
    return json.dumps(text)  # stdlib: orjson refuses the lone surrogate this quotes


def unfit(value: Any) -> tuple[str, list[Any]] | None:
    """(message, path parts) of the first value in already-parsed data
    (YAML: a report file, a test suite) that JSON cannot carry: NaN or an
    infinity (`.nan`, `.inf`, `1e400`), an integer beyond a double, a lone
    surrogate (a `"\\ud800"` escape) in text or a key. The same refusals as
    `loads`, so a report reads the same whether written as JSON or YAML."""
    return _unfit(value, [])


def _unfit(value: Any, at: list[Any]) -> tuple[str, list[Any]] | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _SURROGATE.search(key):
                return f"the key {_escaped(key)} holds a lone UTF-16 surrogate, which is not text", at
            found = _unfit(item, [*at, key])
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _unfit(item, [*at, i])
            if found is not None:
                return found
        return None
    if isinstance(value, float) and not math.isfinite(value):
        shown = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
        return f"{shown} is not a finite number that fits a double (JSON has no NaN or Infinity)", at
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _LARGEST_DOUBLE:
        return "an integer beyond the largest double (1.8e308) is not a number JSON can carry", at
    if isinstance(value, str) and _SURROGATE.search(value):
        return "a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape) is not text", at
    return None
