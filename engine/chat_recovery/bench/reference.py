"""The seed's tables written by hand: no policy, no YAML, no rule engine.
It is the speed yardstick of `chat-recovery bench`, and a differential test
holds it to the same recovery as `recover(load_policy(), reports, now)`.

It gives every field of a recovery except three that only a policy can
give: `policy` (the stamp names the rule files' digest), the `rule` of each
directive and of each conflict's `decided` (they point at a line of a rule
file), and `explain` (which names rule files too; it is `{}` here, as it is
from the engine unless asked for). Reports are checked by hand
(`reference_check`: the contract's types, written as plain tests), as a
server that must be fast would check them; a bad report raises ValueError."""

from __future__ import annotations

import json  # stdlib on purpose: the reference is the fixed yardstick the targets are measured against
from typing import Any

from .reference_chat import Chat, Log, canonical_time, directives, rebuild, time_key
from .reference_check import check

NOW_ALWAYS, NOW_WAITING = "now", "nowWhenWaiting"
FIRST, VISITOR, AGENT, AGENT_ONLY, VISITOR_ONLY, NONE = (
    "any",
    "visitorOverrideAgent",
    "agentOverrideVisitor",
    "agentOnly",
    "visitorOnly",
    "none",
)
SIDES = {VISITOR: ("visitor", "agent"), AGENT: ("agent", "visitor"), AGENT_ONLY: ("agent",), VISITOR_ONLY: ("visitor",)}
# The seed's table "strategy of each visitor property", in the contract's order.
INFO = (
    ("latestActivityTime", NOW_ALWAYS),
    ("latestWaitingForChatTime", NOW_ALWAYS),  # the seed's row: "specify utc now", no condition
    *(
        (k, FIRST)
        for k in (
            "browser",
            "ip",
            "country",
            "city",
            "state",
            "countryCode",
            "flashVersion",
            "language",
            "operatingSystem",
            "screenResolution",
            "firstVisitTime",
            "enterSiteTime",
            "timeZone",
            "visitTimes",
            "chatTimes",
            "landingPageUrl",
            "landingPageTitle",
            "referrerUrl",
            "searchEngine",
            "keywords",
        )
    ),
    ("campaignId", VISITOR),
    ("autoInvitationId", AGENT),
    ("departmentId", AGENT),
    ("customVariables", VISITOR),
    ("customFields", AGENT),
    *(
        (k, VISITOR)
        for k in (
            "latestEmail",
            "latestName",
            "productService",
            "company",
            "email",
            "name",
            "phone",
            "currentPageUrl",
            "currentPageTitle",
            "currentPageVisitTime",
            "requestingPageTitle",
            "requestingPageUrl",
        )
    ),
    *(
        (k, AGENT_ONLY)
        for k in (
            "ifCaptured",
            "captureTime",
            "sfUrl",
            "sfContact",
            "sfAccount",
            "sfLead",
            "sfTask",
            "sfCase",
            "currentSfObjectId",
            "currentSfObjectType",
            "hasEditFieldInAutomaticMode",
            "isNeedPush",
            "pushConfig",
            "wrapupCategoryList",
            "operatorComment",
            "chatRouteTarget",
            "avatarUrl",
            "socialMediaSource",
            "socialMediaProfileUrl",
            "zendeskUrl",
            "segments",
            "ticketId",
        )
    ),
    ("ifSearchingKb", VISITOR),
    ("visitedPageUrls", VISITOR_ONLY),
    ("navigations", VISITOR_ONLY),
    ("ssoId", NONE),
    ("errorMessageSfChatEnded", NONE),
    ("location", NONE),
    ("latestPrechatTime", VISITOR),
    ("latestOfflineMessageTime", VISITOR),
)
PER_KEY = "customVariables"
TIMES = frozenset(
    (
        "latestActivityTime",
        "latestWaitingForChatTime",
        "firstVisitTime",
        "enterSiteTime",
        "currentPageVisitTime",
        "captureTime",
        "latestPrechatTime",
        "latestOfflineMessageTime",
    )
)
# The seed's chat property table.
CHAT_PROPS = (
    ("ifEnterQueue", AGENT_ONLY),
    ("monitorAgents", AGENT_ONLY),
    ("source", VISITOR),
    ("visitorMessageSeenByAgent", AGENT),
    ("agentMessageSeenByVisitor", VISITOR),
)
# The seed's visitor status table: uploaded -> (recovered as, info property set to now).
STATUSES = {
    "inSite": ("inSite", None),
    "preChat": ("preChat", "latestPrechatTime"),
    "offlineMessage": ("offlineMessage", "latestOfflineMessageTime"),
    "manualInvitation": ("manualInvitation", None),
    "autoInvitation": ("autoInvitation", None),
    "refusedByVisitor": ("refusedByVisitor", None),
    "systemProcessing": ("waitingForChat", None),
    "outOfSite": (None, None),
    **{
        s: (s, None)
        for s in ("waitingForChat", "chatting", "transferring", "chatEnded", "refusedByAgent", "manualInvitationByWindow")
    },
}


def same(a: Any, b: Any) -> bool:
    """JSON equality: True is not 1."""
    return type(a) is type(b) and a == b


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Said:
    """What one source said about one value: its latest word, and its first."""

    __slots__ = ("value", "sent", "seq", "first")

    def __init__(self, value: Any, sent: str, seq: int):
        self.value, self.sent, self.seq, self.first = value, sent, seq, value

    def hear(self, value: Any, sent: str) -> None:
        mine, held = time_key(sent), time_key(self.sent)
        if mine > held or (mine == held and _json(value) > _json(self.value)):
            self.value, self.sent = value, sent


def offer(slots: dict, name: str, src: str, value: Any, sent: str, seq: int) -> None:
    slot = slots.setdefault(name, {})
    if src in slot:
        slot[src].hear(value, sent)
    else:
        slot[src] = Said(value, sent, seq)


def source_of(src: str) -> dict:
    return {"type": "visitor"} if src == "visitor" else {"type": "agent", "id": src[6:]}


class Visitor:
    """Everything the reports of one visitor said, source by source."""

    def __init__(self, visitor_id: str):
        self.id = visitor_id
        self.seen = False
        self.status: dict = {}
        self.info: dict = {}
        self.variables: dict = {}
        self.props: dict = {}  # chat id -> prop name -> what each source said
        self.chats: dict = {}  # chat id -> Chat: a visitor may have several (an agent keeps an ended chat's window)
        self.visitor_chat: tuple | None = None  # (time key, chat id) of the visitor's latest report holding a chat
        self.wrapups: dict = {}

    def add(self, report: dict, seq: int) -> None:
        src = "visitor" if report["source"]["type"] == "visitor" else "agent:" + report["source"]["id"]
        sent = canonical_time(report["sentAt"])
        visitor = report.get("visitor")
        if visitor is not None:
            self.seen = True
            if visitor.get("status") is not None:
                offer(self.status, "status", src, visitor["status"], sent, seq)
            for name, value in (visitor.get("info") or {}).items():
                if value is None:
                    continue
                if name == PER_KEY:
                    for key, item in value.items():
                        if item is not None:
                            offer(self.variables, key, src, item, sent, seq)
                else:
                    offer(self.info, name, src, canonical_time(value) if name in TIMES else value, sent, seq)
        chat = report.get("chat")
        if chat:
            held = self.chats.get(chat["id"]) or self.chats.setdefault(chat["id"], Chat(chat["id"]))
            props = self.props.setdefault(chat["id"], {})
            for name, value in (chat.get("props") or {}).items():
                if value is not None:
                    offer(props, name, src, value, sent, seq)
            held.add(src, sent, chat.get("messages") or ())
            if src == "visitor" and (self.visitor_chat is None or (time_key(sent), chat["id"]) > self.visitor_chat):
                self.visitor_chat = (time_key(sent), chat["id"])
        wrapup = report.get("unfinishedWrapup")
        if wrapup is not None and src != "visitor":
            offer(self.wrapups, src[6:], src, wrapup, sent, seq)


def pick(strategy: str, slot: dict, now: str) -> tuple | None:
    """(value, source key or None), or None when nothing may be recovered."""
    if strategy in (NOW_ALWAYS, NOW_WAITING):
        return now, None
    if strategy == FIRST:
        src = min(slot, key=lambda s: (slot[s].seq, s)) if slot else None
        return (slot[src].first, src) if src else None
    for side in SIDES.get(strategy, ()):
        mine = [s for s in slot if s.startswith(side)]
        if mine:
            src = max(mine, key=lambda s: (time_key(slot[s].sent), s))
            return slot[src].value, src
    return None


class Out:
    def __init__(self, now: str):
        self.now = now
        self.conflicts: list[dict] = []
        self.withheld: list[dict] = []

    def decide(self, path: str, strategy: str, slot: dict) -> tuple | None:
        decision = pick(strategy, slot, self.now)
        if decision is None:
            if slot:  # supplied, but read from no side that supplied it: named, never shown
                sides = SIDES.get(strategy, ())
                reads = " or ".join(sides) + " reports only" if sides else "no reports"
                self.withheld.append(
                    {
                        "path": path,
                        "strategy": strategy,
                        "sources": [source_of(s) for s in sorted(slot)],
                        "why": f"withheld: strategy {strategy} reads {reads}",
                    }
                )
            return None
        said = list(slot.values())
        if any(not same(s.value, said[0].value) for s in said[1:]):
            self.conflicts.append(
                {
                    "path": path,
                    "values": [{"source": source_of(s), "sentAt": slot[s].sent, "value": slot[s].value} for s in sorted(slot)],
                    "decided": {
                        "strategy": "specify" if strategy in (NOW_ALWAYS, NOW_WAITING) else strategy,
                        "value": decision[0] if decision else None,
                        "source": source_of(decision[1]) if decision and decision[1] else None,
                    },
                }
            )
        return decision


def recover(reports: list, now: str) -> dict:
    """One visitor's recovery from its reports, in arrival order."""
    held = None
    for seq, report in enumerate(reports):
        check(report)
        held = held or Visitor(report["visitorId"])
        if report["visitorId"] != held.id:
            raise ValueError(f"report is for visitor '{report['visitorId']}', not '{held.id}'")
        held.add(report, seq)
    if held is None:
        raise ValueError("no reports to recover from")
    return render(held, canonical_time(now))


def render(held: Visitor, now: str) -> dict:
    out = Out(now)
    logs = {chat_id: rebuild(held.chats[chat_id]) for chat_id in sorted(held.chats)}
    current = _current(held, logs)
    log = logs[current] if current is not None else None
    decided = out.decide("$.visitor.status", VISITOR, held.status.get("status", {}))
    uploaded = decided[0] if decided else None
    status, sets = STATUSES[uploaded] if uploaded is not None else (None, None)
    if log is not None and log.status is not None:
        if log.status != status:
            sets = None  # the log replaced the uploaded status: its side effect does not apply
        status = log.status
        for entry in out.conflicts:
            entry["decided"] = {"strategy": "messageLog", "value": status, "source": None}
    visitor = None
    if (held.seen and not (uploaded is not None and status is None)) or held.chats:
        visitor = {"status": status, "info": _info(out, held, status, sets)}
    chat = None
    if current is not None:
        chat = _chat(out, held, current, logs[current], "$.chat")
    others = []
    for chat_id, other in logs.items():
        if chat_id != current:
            at = "$.otherChats['" + chat_id.replace("\\", "\\\\").replace("'", "\\'") + "']"
            told = [d for d in directives(other.status, other, {}) if d["to"]["type"] != "visitor"]
            others.append(
                {**_chat(out, held, chat_id, other, at), "status": other.status, "directives": told, "setAside": other.set_aside}
            )
    wrapups = {agent: slot[f"agent:{agent}"].value for agent, slot in sorted(held.wrapups.items())}
    return {
        "visitorId": held.id,
        "visitor": visitor,
        "chat": chat,
        "otherChats": others,
        "directives": directives(status, log, wrapups),
        "setAside": log.set_aside if log else [],
        "unfinishedWrapups": wrapups,
        "conflicts": out.conflicts,
        "withheld": out.withheld,
        "explain": {},
    }


def _current(held: Visitor, logs: dict) -> str | None:
    """The visitor's latest report's chat; else the latest message's (then the larger id)."""
    if held.visitor_chat is not None:
        return held.visitor_chat[1]
    if not logs:
        return None
    return max(logs, key=lambda c: (time_key(logs[c].messages[-1]["time"]) if logs[c].messages else "", c))


def _chat(out: Out, held: Visitor, chat_id: str, log: Log, at: str) -> dict:
    """One chat's props, state and log; its conflicts named under `at`."""
    props = {}
    for name, strategy in CHAT_PROPS:
        decision = out.decide(f"{at}.props.{name}", strategy, held.props[chat_id].get(name, {}))
        if decision is not None:
            props[name] = decision[0]
    out.conflicts.extend({**c, "path": at + c["path"][len("$.chat") :]} for c in log.conflicts)
    return {"id": chat_id, "props": props, "state": log.state, "messages": log.messages}


def _info(out: Out, held: Visitor, status: str | None, sets: str | None) -> dict:
    info: dict = {}
    for name, strategy in INFO:
        if strategy == NOW_WAITING and status != "waitingForChat":
            continue
        if name == PER_KEY:
            merged = {}
            for key in sorted(held.variables):
                decision = out.decide(f"$.visitor.info.{name}.{key}", strategy, held.variables[key])
                if decision is not None:
                    merged[key] = decision[0]
            if merged:
                info[name] = merged
            continue
        decision = out.decide(f"$.visitor.info.{name}", strategy, held.info.get(name, {}))
        if decision is not None:
            info[name] = decision[0]
    if sets is not None:
        info[sets] = out.now
    return info
