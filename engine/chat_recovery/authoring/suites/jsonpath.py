"""The paths a test case points at: `$.visitor.info.name`, `$.directives[0]`,
`$.explain['$.visitor.info.name'].strategy`, or dotted `visitor.info.name`.
Parsed once when the suite loads, so a bad path is a load error with a place."""

from __future__ import annotations

import re
from typing import Any

ABSENT = object()  # what a path that leads nowhere holds

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_QUOTED = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")


class PathError(ValueError):
    """A path that cannot be read; the message says where it breaks."""


def parse(text: str) -> tuple:
    """'$.a.b[0]' or 'a.b[0]' -> ('a', 'b', 0)."""
    rest = text.strip()
    if rest.startswith("$"):
        rest = rest[1:]
    elif rest and not rest.startswith((".", "[")):
        rest = "." + rest
    parts: list = []
    while rest:
        if rest.startswith("."):
            match = _NAME.match(rest, 1)
            if not match:
                raise PathError(f"expected a name after '.' in '{text}'")
            parts.append(match.group(0))
            rest = rest[match.end() :]
            continue
        match = _QUOTED.match(rest) or _INDEX.match(rest)
        if not match:
            raise PathError(f"cannot read '{rest}' in path '{text}' (write .name, ['name'] or [0])")
        if match.re is _INDEX:
            parts.append(int(match.group(1)))
        else:
            quoted = match.group(1) if match.group(1) is not None else match.group(2)
            parts.append(re.sub(r"\\(.)", r"\1", quoted))
        rest = rest[match.end() :]
    return tuple(parts)


def lookup(document: Any, parts: tuple) -> Any:
    """The value at `parts`, or ABSENT when some step does not exist."""
    here = document
    for part in parts:
        if (
            isinstance(part, int)
            and isinstance(here, list)
            and -len(here) <= part < len(here)
            or isinstance(part, str)
            and isinstance(here, dict)
            and part in here
        ):
            here = here[part]  # type: ignore[index]  # the test above pairs int with list, str with dict
        else:
            return ABSENT
    return here
