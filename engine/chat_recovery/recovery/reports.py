"""A report as uploaded -> a checked, normalized report, or one clear
ReportError naming the JSON path. Nothing here merges."""

from __future__ import annotations

import json
from typing import Any

from .. import timeutil
from ..diagnostics import ReportError
from ..paths import json_path
from ..policy.contract import MAX_DEPTH
from ..policy.model import Policy
from ..policy.schema_errors import headline
from ..policy.yamlsource import YamlError, load
from .strict_json import BadJson, loads, unfit

MAX_BYTES = 16 * 1024 * 1024


def parse_bytes(raw: bytes, name: str = "") -> Any:
    """JSON, or YAML when it is not JSON; times stay strings. JSON that
    parses but is not JSON a report may hold (a duplicate key, a non-finite
    number, a lone surrogate) is refused with its path, never tried as YAML."""
    if len(raw) > MAX_BYTES:
        raise ReportError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportError(f"not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})") from None
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise ReportError("empty input: a report is a JSON or YAML object")
    looks_json = stripped[0] in "{[" or name.endswith(".json")
    if looks_json:
        try:
            return loads(stripped)
        except BadJson as exc:
            raise ReportError(exc.message, exc.path) from None
        except RecursionError:
            raise ReportError(f"nested deeper than {MAX_DEPTH} levels") from None
        except json.JSONDecodeError as exc:
            if name.endswith(".json"):
                raise ReportError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
            # not JSON after all; YAML gets its say below
            json_error = exc
    try:
        data = load(stripped, name or "<report>").data
    except YamlError as exc:
        if looks_json:
            raise ReportError(f"invalid JSON at line {json_error.lineno} column {json_error.colno}: {json_error.msg}") from None
        first = exc.diagnostics[0]
        where = f" at line {first.line} column {first.col}" if first.line else ""
        raise ReportError(f"{first.message}{where}") from None
    found = unfit(data)  # what the JSON reader refuses, YAML may not slip in
    if found is not None:
        raise ReportError(found[0], json_path(found[1]))
    return data


_LEAF = frozenset((str, int, float, bool, type(None)))


def _plain(value: Any, depth: int = 1) -> Any:
    """A private copy as plain dicts and lists; ReportError when it nests
    deeper than MAX_DEPTH (one pass does both: copying was the JSON round
    trip and the depth check a second walk). Leaves, most of a report, are
    taken in the loop without a call each."""
    kind = type(value)
    if kind is dict or (kind is not list and isinstance(value, dict)):
        if depth >= MAX_DEPTH and value:  # its items would sit deeper than the limit
            raise ReportError(f"nested deeper than {MAX_DEPTH} levels", "$")
        deeper = depth + 1
        return {key: item if type(item) in _LEAF else _plain(item, deeper) for key, item in value.items()}
    if kind is list or isinstance(value, list):
        if depth >= MAX_DEPTH and value:
            raise ReportError(f"nested deeper than {MAX_DEPTH} levels", "$")
        deeper = depth + 1
        return [item if type(item) in _LEAF else _plain(item, deeper) for item in value]
    return value


def check(policy: Policy, report: Any, owned: bool = False) -> dict[str, Any]:
    """Validate against the contract (as the policy extends it) and return a
    normalized copy: times in one UTC spelling, each message id once checked.

    `owned`: the caller parsed this report for this call alone (as
    `recover --batch` does each line), so a valid one is normalized in
    place and may be shared with the state, skipping a copy of every value."""
    if not isinstance(report, dict):
        raise ReportError(f"a report is an object, not {type(report).__name__}", "$")
    if not (owned and type(report) is dict and policy.validate_report.passes(report)):
        report = _plain(report)  # a private, plain copy
        found = policy.validate_report(report)
        if found:
            first = headline(found)
            raise ReportError(first.message, json_path(first.path))
    source = report["source"]
    if source["type"] == "visitor" and source.get("id") not in (None, report["visitorId"]):
        raise ReportError(f"a visitor report's source.id must equal visitorId ('{report['visitorId']}')", "$.source.id")
    out: dict[str, Any] = report
    out["sentAt"] = _time(out["sentAt"], ("sentAt",))
    info = (out.get("visitor") or {}).get("info") or {}
    for key in policy.time_fields:
        if info.get(key) is not None:
            info[key] = _time(info[key], ("visitor", "info", key))
    chat = out.get("chat")
    if chat:
        seen: dict[str, tuple[int, dict[str, Any]]] = {}
        for i, message in enumerate(chat.get("messages") or ()):
            message["time"] = _time(message["time"], ("chat", "messages", i, "time"))
            earlier = seen.setdefault(message["id"], (i, message))
            if earlier[1] is not message and earlier[1] != message:
                raise ReportError(
                    f"message id '{message['id']}' appears twice with different content (first at [{earlier[0]}])",
                    json_path(("chat", "messages", i, "id")),
                )
    return out


def _time(text: str, where: tuple[str | int, ...]) -> str:
    """The time in its one spelling; `where` is spelled as a path only for
    an error (every message's time is checked: most are fine)."""
    try:
        return timeutil.canonical(text)
    except ValueError as exc:
        raise ReportError(str(exc), json_path(where)) from None
