"""JSON in and out, written by orjson with the options in this one place.

orjson reads 2x and writes 5x faster than the standard library. Its output
is the standard library's compact output (separators "," and ":", UTF-8
kept, keys in insertion order unless sorted) with two differences, chosen
once and on purpose:

- a float below 1e-4 in magnitude is written as orjson writes it (1e-7, not
  1e-07; 0.00001, not 1e-05): the same number, read back to the same float;
- an integer beyond 64 bits, which orjson cannot write (the strict reader
  admits integers up to the largest double), is written by the standard
  library with the same separators: those documents keep today's bytes.

Non-finite numbers never reach a writer: every reader of reports refuses
them (strict_json), and orjson would write them as null.

Reading untrusted reports is strict_json's job; `loads` here is for JSON
this program or its own files wrote (the stores, the schemas, a child
process's answer). Both keep an integer beyond 64 bits an integer: orjson
reads it as a float, so a document whose floats include one of 9.2e18 or
more is read again by the standard library."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS
_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE

# The standard library's writers for what orjson cannot write, one encoder each (built once).
_COMPACT_STD = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_CANONICAL_STD = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_PRETTY_STD = json.JSONEncoder(indent=2, ensure_ascii=False).encode

# How orjson writes a float of 1e16 or more, which an integer beyond 64 bits became
_BIG_FLOAT_WRITTEN = re.compile(rb"e\+[0-9]")

JSONDecodeError = json.JSONDecodeError  # what both readers raise (orjson's is a subclass), a ValueError


def loads(data: bytes | str) -> Any:
    """The value of JSON this program wrote."""
    value = orjson.loads(data)
    if maybe_big_integer(orjson.dumps(value)):
        return json.loads(data)
    return value


def maybe_big_integer(written: bytes) -> bool:
    """Whether orjson's reading, written back as `written`, may hold an
    integer beyond 64 bits read as a float (or is a false alarm: a float of
    1e16 or more, or text such as "e+1")."""
    return _BIG_FLOAT_WRITTEN.search(written) is not None


def dumps(value: Any) -> bytes:
    """Compact, keys in insertion order: stores, answers, NDJSON lines."""
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits (or not JSON: the stdlib says so)
        return _COMPACT_STD(value).encode()


def dumps_text(value: Any, default: Any = None) -> str:
    """`dumps` as text; `default` writes what JSON has no type for (a log's parts)."""
    try:
        return orjson.dumps(value, default).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=default)


def canonical(value: Any) -> str:
    """Compact with sorted keys: the identity of a value (1, 1.0 and true
    differ; key order does not matter) and output that must be stable."""
    try:
        written = orjson.dumps(value, option=_SORTED)
    except TypeError:  # also keys that are not text, which the stdlib writes as text
        return _CANONICAL_STD(value)
    if b"null" in written:  # maybe NaN or an infinity, which orjson writes as null: kept apart from None
        return _CANONICAL_STD(value)
    return written.decode()


def pretty(value: Any) -> str:
    """Indented by 2, with a final newline: what the CLI prints for people."""
    try:
        return orjson.dumps(value, option=_PRETTY).decode()
    except TypeError:
        return _PRETTY_STD(value) + "\n"
