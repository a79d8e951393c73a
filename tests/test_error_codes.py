"""The `code` of an error answer is a closed set: the OpenAPI document's
enum is exactly the codes the service's source can answer, so a client can
switch on it and a new code cannot ship undocumented."""

import re

from chat_recovery.service import app, errors
from conftest import ROOT

SERVICE = ROOT / "engine" / "chat_recovery" / "service"


def raised() -> set[str]:
    """Every code a service module answers: HttpError(status, "code", ...)
    and error_response(status, "code", ...) calls, the router's codes, and
    what the parser-level protocol answers (`return status, "code", ...`),
    and the live errors that carry their own (`code = "..."`: the 503s)."""
    found = set()
    for module in SERVICE.glob("*.py"):
        text = module.read_text(encoding="utf-8")
        found |= set(re.findall(r'(?:HttpError|error_response)\(\s*\d{3},\s*"(\w+)"', text))
        found |= set(re.findall(r'return \d{3}, "(\w+)"', text))
    for module in (ROOT / "engine" / "chat_recovery" / "live").glob("*.py"):
        found |= set(re.findall(r'^    code = "(\w+)"', module.read_text(encoding="utf-8"), re.M))
    return found | set(app.ROUTER_CODES.values()) | {"httpError"}


def test_the_codes_raised_are_the_codes_documented():
    assert raised() == set(errors.CODES)


def test_the_openapi_document_holds_the_codes_as_an_enum(policy):
    from chat_recovery.policy import bundled
    from chat_recovery.service.handlers import ENDPOINTS
    from chat_recovery.service.openapi import document

    code = document(bundled.schemas_dir(), ENDPOINTS)["components"]["schemas"]["Error"]["properties"]["error"]["properties"][
        "code"
    ]
    assert code["enum"] == list(errors.CODES)
    assert all(f"`{name}`" in code["description"] for name in errors.CODES)
