"""JSONPath spelling shared by errors, conflicts and explain output."""

from __future__ import annotations

import re
from collections.abc import Iterable

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(parts: Iterable[object]) -> str:
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif _IDENT.match(str(p)):
            out += f".{p}"
        else:
            escaped = str(p).replace("\\", "\\\\").replace("'", "\\'")
            out += f"['{escaped}']"
    return out
