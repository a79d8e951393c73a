"""The reference's input check: the report contract (schemas/report.schema.json)
written by hand as plain type tests, the way a server that must be fast
would check its input. It accepts and refuses what the schema does for the
shapes a client sends (a test holds it to that on good and bad reports);
the messages are terser. Raises ValueError naming the JSON path."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]00:00)$")
ACTION = re.compile(r"^[a-z][A-Za-z0-9]*$")
STATUSES = frozenset(
    (
        "inSite",
        "preChat",
        "offlineMessage",
        "manualInvitation",
        "autoInvitation",
        "refusedByVisitor",
        "systemProcessing",
        "outOfSite",
        "waitingForChat",
        "chatting",
        "transferring",
        "chatEnded",
        "refusedByAgent",
        "manualInvitationByWindow",
    )
)
TOP = frozenset(("visitorId", "source", "sentAt", "visitor", "chat", "unfinishedWrapup"))
MESSAGE = frozenset(("id", "time", "action", "sender", "text", "data"))
SENDERS = frozenset(("visitor", "agent", "bot", "system"))
TEXT, STAMP, COUNT, FLAG, OBJECT, STRINGS, TRAIL, ANY, IDS = range(9)
_INFO_BY_TYPE = {
    STAMP: "latestActivityTime latestWaitingForChatTime firstVisitTime enterSiteTime currentPageVisitTime captureTime "
    "latestPrechatTime latestOfflineMessageTime",
    COUNT: "visitTimes chatTimes",
    FLAG: "ifCaptured hasEditFieldInAutomaticMode isNeedPush ifSearchingKb",
    OBJECT: "customVariables customFields pushConfig",
    STRINGS: "wrapupCategoryList segments visitedPageUrls",
    TRAIL: "navigations",
    ANY: "location",
    TEXT: "browser ip country city state countryCode flashVersion language operatingSystem screenResolution timeZone "
    "landingPageUrl landingPageTitle referrerUrl searchEngine keywords campaignId autoInvitationId departmentId "
    "latestEmail latestName productService company email name phone currentPageUrl currentPageTitle "
    "requestingPageTitle requestingPageUrl sfUrl sfContact sfAccount sfLead sfTask sfCase currentSfObjectId "
    "currentSfObjectType operatorComment chatRouteTarget avatarUrl socialMediaSource socialMediaProfileUrl "
    "zendeskUrl ticketId ssoId errorMessageSfChatEnded",
}
INFO = {key: kind for kind, keys in _INFO_BY_TYPE.items() for key in keys.split()}
PROPS = {
    "ifEnterQueue": FLAG,
    "monitorAgents": IDS,
    "source": TEXT,
    "visitorMessageSeenByAgent": FLAG,
    "agentMessageSeenByVisitor": FLAG,
}


class Bad(ValueError):
    pass


def _id(value: Any, path: str) -> None:
    if type(value) is not str or not 0 < len(value) <= 256:
        raise Bad(f"{path}: an id is a string of 1 to 256 characters")


def _time(value: Any, path: str) -> None:
    if type(value) is not str or not TIME.match(value):
        raise Bad(f"{path}: not an RFC 3339 UTC time")


def _only(value: Any, keys: Collection[str], path: str) -> None:
    if type(value) is not dict:
        raise Bad(f"{path}: an object is expected")
    for key in value:
        if key not in keys:
            raise Bad(f"{path}.{key}: unknown key")


def _typed(kind: int, value: Any, path: str) -> None:
    if value is None or kind == ANY:
        return
    if kind == TEXT:
        ok = type(value) is str and len(value) <= 65536
    elif kind == STAMP:
        return _time(value, path)
    elif kind == COUNT:
        ok = type(value) is int and value >= 0
    elif kind == FLAG:
        ok = type(value) is bool
    elif kind == OBJECT:
        ok = type(value) is dict
    elif kind == STRINGS:
        ok = type(value) is list and all(type(v) is str and len(v) <= 65536 for v in value)
    elif kind == IDS:
        ok = type(value) is list and all(type(v) is str and 0 < len(v) <= 256 for v in value)
    else:  # TRAIL: urls or open objects
        ok = type(value) is list and all(type(v) is dict or (type(v) is str and len(v) <= 65536) for v in value)
    if not ok:
        raise Bad(f"{path}: wrong type")


def check(report: Any) -> None:
    _only(report, TOP, "$")
    for key in ("visitorId", "source", "sentAt"):
        if key not in report:
            raise Bad(f"$.{key}: required")
    _id(report["visitorId"], "$.visitorId")
    source = report["source"]
    _only(source, frozenset(("type", "id")), "$.source")
    if source.get("type") not in ("visitor", "agent"):
        raise Bad("$.source.type: visitor or agent")
    if "id" in source or source["type"] == "agent":
        _id(source.get("id"), "$.source.id")
    if source["type"] == "visitor" and source.get("id") not in (None, report["visitorId"]):
        raise Bad("$.source.id: a visitor report's source.id must equal visitorId")
    _time(report["sentAt"], "$.sentAt")
    visitor = report.get("visitor")
    if visitor is not None:
        _only(visitor, frozenset(("status", "info")), "$.visitor")
        if visitor.get("status") is not None and visitor["status"] not in STATUSES:
            raise Bad("$.visitor.status: unknown status")
        info = visitor.get("info")
        if info is not None:
            _only(info, INFO.keys(), "$.visitor.info")
            for key, value in info.items():
                _typed(INFO[key], value, f"$.visitor.info.{key}")
    if report.get("chat") is not None:
        _chat(report["chat"])
    if report.get("unfinishedWrapup") is not None and type(report["unfinishedWrapup"]) is not dict:
        raise Bad("$.unfinishedWrapup: an object is expected")


def _chat(chat: Any) -> None:
    _only(chat, frozenset(("id", "props", "messages")), "$.chat")
    _id(chat.get("id"), "$.chat.id")
    props = chat.get("props")
    if props is not None:
        _only(props, PROPS.keys(), "$.chat.props")
        for key, value in props.items():
            _typed(PROPS[key], value, f"$.chat.props.{key}")
    messages = chat.get("messages")
    if messages is None:
        return
    if type(messages) is not list or len(messages) > 100_000:
        raise Bad("$.chat.messages: a list of at most 100,000 messages is expected")
    for i, message in enumerate(messages):
        path = f"$.chat.messages[{i}]"
        _only(message, MESSAGE, path)
        if not ("id" in message and "time" in message and "action" in message and "sender" in message):
            raise Bad(f"{path}: id, time, action and sender are required")
        _id(message["id"], path + ".id")
        _time(message["time"], path + ".time")
        action = message["action"]
        if type(action) is not str or len(action) > 128 or not ACTION.match(action):
            raise Bad(f"{path}.action: a camelCase name is expected")
        sender = message["sender"]
        _only(sender, frozenset(("type", "id")), path + ".sender")
        if sender.get("type") not in SENDERS:
            raise Bad(f"{path}.sender.type: visitor, agent, bot or system")
        if "id" in sender:
            _id(sender["id"], path + ".sender.id")
        if "text" in message and (type(message["text"]) is not str or len(message["text"]) > 65536):
            raise Bad(f"{path}.text: a string is expected")
        if "data" in message and type(message["data"]) is not dict:
            raise Bad(f"{path}.data: an object is expected")
