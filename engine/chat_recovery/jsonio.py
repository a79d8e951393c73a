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
process's answer)."""

from __future__ import annotations

import json
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS
_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE

# The standard library's writers for what orjson cannot write, one encoder each (built once).
_COMPACT_STD = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_CANONICAL_STD = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_PRETTY_STD = json.JSONEncoder(indent=2, ensure_ascii=False).encode

loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError  # a json.JSONDecodeError, so a ValueError


def dumps(value: Any) -> bytes:
    """Compact, keys in insertion order: stores, answers, NDJSON lines."""
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits (or not JSON: the stdlib says so)
        return _COMPACT_STD(value).encode()


def dumps_text(value: Any) -> str:
    """`dumps` as text."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return _COMPACT_STD(value)


def canonical(value: Any) -> str:
    """Compact with sorted keys: the identity of a value (1, 1.0 and true
    differ; key order does not matter) and output that must be stable."""
    try:
        return orjson.dumps(value, option=_SORTED).decode()
    except TypeError:  # also keys that are not text, which the stdlib writes as text
        return _CANONICAL_STD(value)


def pretty(value: Any) -> str:
    """Indented by 2, with a final newline: what the CLI prints for people."""
    try:
        return orjson.dumps(value, option=_PRETTY).decode()
    except TypeError:
        return _PRETTY_STD(value) + "\n"

