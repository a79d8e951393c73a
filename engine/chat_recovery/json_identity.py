"""Canonical JSON identity: two values are the same when they write as the
same canonical JSON (keys sorted, no spaces, UTF-8 kept), so 1, 1.0 and true
stay different and key order does not matter. The fold, the chat replay,
the compiled action rules and policy diffs all compare values this way."""

from __future__ import annotations

from typing import Any

from .jsonio import canonical as canonical_json

_LEAVES = (str, int, bool, type(None))
_JSON_TYPES = (*_LEAVES, float, dict, list)


def same_json(a: Any, b: Any) -> bool:
    """canonical_json(a) == canonical_json(b), without writing either out:
    1, 1.0 and true stay different, key order does not matter."""
    kind = type(a)
    if kind is type(b):
        if kind in _LEAVES:
            return a == b
        if kind is float:
            return repr(a) == repr(b)
        if kind is dict:
            return _same_mapping(a, b)
        if kind is list:
            return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    elif kind in _JSON_TYPES and type(b) in _JSON_TYPES:
        return False  # different JSON types, or 1 and 1.0
    return canonical_json(a) == canonical_json(b)


def _same_mapping(a: dict, b: dict) -> bool:
    if len(a) != len(b):
        return False
    for key, mine in a.items():
        if type(key) is not str:  # JSON writes such keys as text: let it decide
            return canonical_json(a) == canonical_json(b)
        theirs = b.get(key, _ABSENT)
        if theirs is _ABSENT:  # b may spell the key as 1 where a says "1"
            return canonical_json(a) == canonical_json(b)
        if type(mine) is str:  # most values: compared right here
            if type(theirs) is not str or mine != theirs:
                return False
        elif not same_json(mine, theirs):
            return False
    return True  # same size, and every (text) key of a is in b: the same keys


_ABSENT = object()


def all_same_json(values: list) -> bool:
    """True when every value writes as the same canonical JSON."""
    first = values[0] if values else None
    return all(same_json(first, v) for v in values[1:])
