"""The reference's chat: the merged log of every holder's well-formed copy, the seed's
"state recovered from actions" table as one handler per action, and the
seed's "Client" section as plain code."""

from __future__ import annotations

import json  # stdlib on purpose: part of the reference, the fixed yardstick
import re
from typing import Any

from .. import timeutil

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
INITIAL: dict[str, Any] = {
    "requestTime": None,
    "startTime": None,
    "transferBeginTime": None,
    "timeBeginWaiting": None,
    "chatType": None,
    "currentAgents": [],
    "assignee": None,
    "translation": {"enabled": False},
    "audioVideo": None,
    "cobrowse": None,
    "files": [],
}


def time_key(text: str) -> str:
    """Canonical UTC times sort as text once the fraction is padded."""
    return text[:19] + (text[19:-1] or ".").ljust(8, "0")


def canonical_time(text: str) -> str:
    """The one spelling of a time (the storm already uses it)."""
    if text.endswith("Z") and (len(text) == 20 or text[-2] != "0"):
        return text
    return timeutil.canonical(text)


_key = time_key


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _source(src: str) -> dict:
    return {"type": "visitor"} if src == "visitor" else {"type": "agent", "id": src[6:]}


class Chat:
    """Every copy of every message, by id and source: the well-formed ones,
    and apart the malformed ones (sender type not the action's actor)."""

    def __init__(self, chat_id: str):
        self.id = chat_id
        self.copies: dict = {}  # message id -> {source key: (sentAt, message)}
        self.malformed: dict = {}  # message id -> {source key: (sentAt, message)}
        self.sources: dict = {}  # source key -> its latest sentAt

    def add(self, src: str, sent: str, messages) -> None:
        if src not in self.sources or _key(sent) > _key(self.sources[src]):
            self.sources[src] = sent
        for message in messages:
            time = canonical_time(message["time"])
            if time != message["time"]:
                message = {**message, "time": time}
            good = self.copies.setdefault(message["id"], {})
            bad = self.malformed.setdefault(message["id"], {})
            held = good.get(src) or bad.get(src)
            if held is None or _key(sent) > _key(held[0]) or (_key(sent) == _key(held[0]) and _json(message) > _json(held[1])):
                good.pop(src, None)
                bad.pop(src, None)
                actor = actor_of(message["action"])
                (good if actor is None or actor == message["sender"]["type"] else bad)[src] = (sent, message)


def actor_of(action: str) -> str | None:
    """Who does a contract action: its name says so, but for the request to a bot, which the visitor makes."""
    if action not in ACTIONS and action not in ("visitorMessage", "agentMessage", "botMessage", "systemMessage"):
        return None
    if action == "requestChatToBot":
        return "visitor"
    return next(kind for kind in ("visitor", "agent", "bot", "system") if action.startswith(kind))


class Log:
    def __init__(self, messages: list, holders: dict, reporters: list):
        self.messages, self.holders, self.reporters = messages, holders, reporters
        self.state = {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v) for k, v in INITIAL.items()}
        self.status: str | None = None
        self.replayed: set = set()
        self.set_aside: list = []
        self.conflicts: list = []


def _path(message_id: str) -> str:
    if IDENT.match(message_id):
        return f"$.chat.messages.{message_id}"
    return "$.chat.messages['" + message_id.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _own(message: dict) -> str | None:
    sender = message["sender"]
    if sender["type"] == "visitor":
        return "visitor"
    if sender["type"] == "agent" and sender.get("id"):
        return "agent:" + sender["id"]
    return None


def _merged(chat: Chat) -> Log:
    messages, holders, conflicts = [], {}, []
    for message_id in sorted(chat.copies):
        copies = chat.copies[message_id]
        if not copies:
            continue
        src = max(copies, key=lambda s: (_key(copies[s][0]), s))
        message = copies[src][1]
        messages.append(message)
        holders[message_id] = sorted(copies)
        differ = any(c[1] != message for c in copies.values())
        own = _own(message)
        lacks = own is not None and own not in copies and own in chat.sources and _key(chat.sources[own]) >= _key(message["time"])
        if differ or lacks:
            values = {s: (copies[s][0], copies[s][1]) for s in copies}
            if lacks:
                values[own] = (chat.sources[own], None)
            conflicts.append(
                {
                    "path": _path(message_id),
                    "values": [{"source": _source(s), "sentAt": values[s][0], "value": values[s][1]} for s in sorted(values)],
                    "decided": {"strategy": "latest" if differ else "everyHolder", "value": message, "source": _source(src)},
                }
            )
    messages.sort(key=lambda m: (_key(m["time"]), m["id"]))
    log = Log(messages, holders, sorted(chat.sources))
    log.conflicts = conflicts
    return log


def _set_aside(chat: Chat) -> list:
    entries: dict = {}
    for message_id in sorted(chat.malformed):
        for src in sorted(chat.malformed[message_id]):
            message = chat.malformed[message_id][src][1]
            actor = actor_of(message["action"])
            reason = f"'{message['action']}' is {'an' if actor == 'agent' else 'a'} {actor} action (rules: actors), but this copy's sender.type is '{message['sender']['type']}'"
            entry = entries.setdefault(
                (_json(message), reason), {"message": message, "heldBy": [], "reason": reason, "code": "malformed"}
            )
            entry["heldBy"].append(_source(src))
    return sorted(
        entries.values(), key=lambda e: (_key(e["message"]["time"]), e["message"]["id"], _json(e["heldBy"]), e["reason"])
    )


def rebuild(chat: Chat) -> Log:
    """The merged log replayed: the chat state and the chat-related status."""
    log = _merged(chat)
    log.set_aside = _set_aside(chat)
    for message in log.messages:
        log.replayed.add(message["id"])
        handler = ACTIONS.get(message["action"])
        if handler is not None and not _closed(log.status, message["action"]):
            status = handler(log.state, message)
            if status is not None:
                log.status = status
    return log


# The actions that lead to a status. Once the chat has ended none of them
# applies; once an agent has refused it, only another refusal or the end.
STATUS_ACTIONS = frozenset(
    {
        "visitorRequestChat",
        "requestChatToBot",
        "agentAcceptChat",
        "botAcceptChat",
        "visitorAcceptChat",
        "agentTransferDepartment",
        "agentRefuseTransfer",
        "agentAcceptTransfer",
        "agentAddInvitationText",
    }
)


def _closed(status: str | None, action: str) -> bool:
    if status == "chatEnded":
        return action in STATUS_ACTIONS or action == "agentRefuseChat"
    return status == "refusedByAgent" and action in STATUS_ACTIONS


def _get(message: dict, *path: str) -> Any:
    value: Any = message
    for part in path:
        if not isinstance(value, dict) or value.get(part) is None:
            return None
        value = value[part]
    return value


def _sender(message: dict) -> str | None:
    return message["sender"].get("id")


def _add(items: list, value: Any) -> None:
    if value is not None and value not in items:
        items.append(value)


def _request(s, m):
    s["requestTime"] = s["timeBeginWaiting"] = m["time"]
    return "waitingForChat"


def _request_bot(s, m):
    s["timeBeginWaiting"] = m["time"]
    return "waitingForChat"


def _accept(s, m):
    s["startTime"], s["chatType"] = m["time"], "agent"
    _add(s["currentAgents"], _sender(m))
    return "chatting"


def _bot_start(s, m):
    s["startTime"] = m["time"]


def _bot_accept(s, m):
    s["chatType"] = "bot"
    return "chatting"


def _join(s, m):
    _add(s["currentAgents"], _sender(m))


def _stop(s, m):
    agent = _sender(m)
    if agent is not None:
        s["currentAgents"] = [a for a in s["currentAgents"] if a != agent]


def _transfer(s, m):
    s["transferBeginTime"] = m["time"]
    return "transferring"


def _refuse_transfer(s, m):
    s["transferBeginTime"] = None
    return "chatting"


def _accept_transfer(s, m):
    s["transferBeginTime"] = None
    giver = _get(m, "data", "fromAgentId")
    if giver is not None:
        s["currentAgents"] = [a for a in s["currentAgents"] if a != giver]
    _add(s["currentAgents"], _sender(m))
    return "chatting"


def _invite(s, m):
    agent = _get(m, "data", "agentId")
    s["assignee"] = agent if agent is not None else _sender(m)
    return "manualInvitationByWindow"


def _translation(s, m):
    if m["action"] == "agentDisableTranslation":
        s["translation"] = {"enabled": False}
        return
    s["translation"] = {"enabled": True}
    if _get(m, "data", "language") is not None:
        s["translation"]["language"] = m["data"]["language"]


def _audio_video(s, m):
    side, verb, kind = re.match(r"(agent|visitor)(Request|Accept|Refuse|Cancel)(Audio|Video)Chat", m["action"]).groups()  # type: ignore[union-attr]  # dispatched on this action
    if verb == "Request":
        s["audioVideo"] = {"kind": kind.lower(), "requestedBy": side, "state": "requested", "time": m["time"]}
        return
    if not isinstance(s["audioVideo"], dict):
        s["audioVideo"] = {}
    s["audioVideo"].update(
        kind=kind.lower(), state={"Accept": "accepted", "Refuse": "refused", "Cancel": "cancelled"}[verb], by=side, time=m["time"]
    )


COBROWSE = {
    "visitorAcceptCobrowse": ("accepted", None),
    "visitorRefuseCobrowse": ("refused", None),
    "agentCancelCobrowse": ("cancelled", None),
    "agentEndCobrowse": ("ended", "agent"),
    "visitorEndCobrowse": ("ended", "visitor"),
}


def _cobrowse(s, m):
    if m["action"] == "agentRequestCobrowse":
        s["cobrowse"] = {"state": "requested", "time": m["time"]}
        if _sender(m) is not None:
            s["cobrowse"]["requestedBy"] = _sender(m)
        return
    state, ended_by = COBROWSE[m["action"]]
    if not isinstance(s["cobrowse"], dict):
        s["cobrowse"] = {}
    s["cobrowse"].update(state=state, time=m["time"])
    if ended_by:
        s["cobrowse"]["endedBy"] = ended_by


def _file(s, m):
    state = "sending" if "Send" in m["action"] else "sent"
    item = {
        "fileId": _get(m, "data", "fileId"),
        "name": _get(m, "data", "name"),
        "url": _get(m, "data", "url"),
        "kind": "image" if m["action"].endswith("Image") else "file",
        "state": state,
        "sender": _sender(m),
        "time": m["time"],
    }
    item = {k: v for k, v in item.items() if v is not None}
    key = item.get("fileId")
    for i, held in enumerate(s["files"]):
        if key is not None and isinstance(held, dict) and held.get("fileId") == key:
            s["files"][i] = {**held, **item}
            return
    s["files"].append(item)


ACTIONS = {
    "visitorRequestChat": _request,
    "requestChatToBot": _request_bot,
    "agentAcceptChat": _accept,
    "botStartChat": _bot_start,
    "botAcceptChat": _bot_accept,
    "visitorAcceptChat": lambda s, m: "chatting",
    "agentJoinChat": _join,
    "agentStopChat": _stop,
    "agentTransferDepartment": _transfer,
    "agentRefuseTransfer": _refuse_transfer,
    "agentAcceptTransfer": _accept_transfer,
    "agentAddInvitationText": _invite,
    "agentRefuseChat": lambda s, m: "refusedByAgent",
    "systemChatEnded": lambda s, m: "chatEnded",
    "agentEnableTranslation": _translation,
    "agentDisableTranslation": _translation,
    **{
        f"{side}{verb}{kind}Chat": _audio_video
        for side in ("agent", "visitor")
        for verb in ("Request", "Accept", "Refuse", "Cancel")
        for kind in ("Audio", "Video")
    },
    "agentRequestCobrowse": _cobrowse,
    **{action: _cobrowse for action in COBROWSE},
    **{f"agent{verb}{noun}": _file for verb in ("Send", "Sent") for noun in ("File", "Image")},
}


def directives(status: str | None, log: Log | None, wrapups: dict) -> list:
    """The seed's "Client" section."""
    out: list = []
    if status in ("chatEnded", "refusedByAgent"):
        out += [
            {"to": {"type": "visitor"}, "do": "recoverChat"},
            {"to": {"type": "visitor"}, "do": "keepHeartbeat", "seconds": 180},
        ]
    if status == "chatEnded" and log is not None:
        out += [{"to": {"type": "agent", "id": s[6:]}, "do": "recoverChat"} for s in log.reporters if s != "visitor"]
    if status == "refusedByAgent" and log is not None:
        for message in log.messages:
            if (
                message["action"] == "agentRefuseChat"
                and message["id"] in log.replayed
                and "visitor" not in log.holders[message["id"]]
            ):
                out.append({"to": {"type": "visitor"}, "do": "deliverMessage", "message": message})
    for agent, wrapup in wrapups.items():
        out.append({"to": {"type": "agent", "id": agent}, "do": "restoreWrapup", "wrapup": wrapup})
    return out
