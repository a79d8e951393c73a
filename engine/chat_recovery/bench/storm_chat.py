"""One chat's message log for the storm: how it opened (request, bot,
invitation), mostly plain messages, the actions real chats have (joins,
transfers, files, audio/video, cobrowse, translation), and how it stands."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from .storm_values import RESTART, stamp

OPENINGS = ("request", "bot", "invitation", "refused", "waiting")
OPENING_WEIGHTS = (70, 8, 10, 6, 6)
VISITOR_LINES = (
    "Hi, I have a question about my order",
    "It says payment failed",
    "Can I change my plan?",
    "Thanks!",
    "Is there a discount for annual billing?",
    "The page keeps reloading",
    "我想咨询一下发票的问题",
    "ok",
    "One moment please",
    "Do you ship to Brazil?",
)
AGENT_LINES = (
    "Hello! How can I help you today?",
    "Let me check that for you.",
    "Could you share your order number?",
    "I have refunded the duplicate charge.",
    "Is there anything else I can help with?",
    "You can change it under Account > Billing.",
    "好的，请稍等",
    "I'll send you the guide.",
)


@dataclass
class ChatLog:
    messages: list
    status: str  # the chat-related status the log ends in
    ended: bool


class _Log:
    """Appends messages with rising times and the server's ids."""

    def __init__(self, rng: random.Random, visitor_id: str, size: int):
        self.rng, self.size = rng, size
        self.messages: list[dict] = []
        self.prefix = f"m-{visitor_id[2:]}-"
        self.clock = RESTART - timedelta(seconds=size * 21 + rng.randint(60, 1800))
        self.status = "waitingForChat"

    def left(self) -> int:
        return self.size - len(self.messages)

    def add(self, action: str, sender: str, sender_id: str | None = None, text: str | None = None, **data) -> None:
        self.clock += timedelta(seconds=self.rng.randint(1, 20), milliseconds=self.rng.randrange(1000))
        who = {"type": sender}
        if sender_id is not None:
            who["id"] = sender_id
        message = {"id": f"{self.prefix}{len(self.messages) + 1:03d}", "time": stamp(self.clock), "action": action, "sender": who}
        if text is not None:
            message["text"] = text
        if data:
            message["data"] = data
        self.messages.append(message)

    def visitor_says(self) -> None:
        self.add("visitorMessage", "visitor", text=self.rng.choice(VISITOR_LINES))


def chat_log(rng: random.Random, visitor_id: str, agents: list, size: int) -> ChatLog:
    log = _Log(rng, visitor_id, size)
    opening = rng.choices(OPENINGS, OPENING_WEIGHTS)[0]
    first = agents[0]
    if opening in ("refused", "waiting"):
        log.add("visitorRequestChat", "visitor")
        while log.left() > 1:
            log.visitor_says() if rng.random() < 0.8 else log.add(
                "systemMessage", "system", text="All agents are busy, please wait"
            )
        if opening == "refused":
            log.add("agentRefuseChat", "agent", first)
            return ChatLog(log.messages, "refusedByAgent", False)
        log.visitor_says()
        return ChatLog(log.messages, "waitingForChat", False)
    current, pending = _open(log, opening, agents)
    ends = rng.random() < 0.35
    while log.left() > (1 if ends else 0):
        _step(log, current, pending)
    if ends:
        log.add("systemChatEnded", "system")
        log.status = "chatEnded"
    return ChatLog(log.messages, log.status, ends)


def _open(log: _Log, opening: str, agents: list) -> tuple[list, list]:
    """The first messages; returns the agents in the chat and those still to come."""
    rng, first = log.rng, agents[0]
    if opening == "bot":
        log.add("requestChatToBot", "visitor")
        log.add("botStartChat", "bot", "bot-1")
        log.add("botAcceptChat", "bot", "bot-1")
        for _ in range(rng.randint(1, 4)):
            log.visitor_says()
            log.add("botMessage", "bot", "bot-1", text="I can help with orders, billing and shipping.")
        log.status = "chatting"
        return [], list(agents)  # the agents join when the bot hands over
    if opening == "invitation":
        data = {"agentId": first} if rng.random() < 0.5 else {}
        log.add("agentAddInvitationText", "agent", first, text="Need a hand with your order?", **data)
        log.add("visitorAcceptChat", "visitor")
        log.add("agentJoinChat", "agent", first)
    else:
        log.add("visitorRequestChat", "visitor")
        for _ in range(rng.randint(0, 2)):
            log.visitor_says()
        log.add("agentAcceptChat", "agent", first)
    log.status = "chatting"
    return [first], list(agents[1:])


def _step(log: _Log, current: list, pending: list) -> None:
    """One more message or short exchange; plain messages are most of a log."""
    rng = log.rng
    if pending and (not current or log.left() <= 2 * len(pending) + 1 or rng.random() < 0.06):
        return _arrive(log, current, pending)
    roll = rng.random()
    if roll < 0.44 or not current:
        return log.visitor_says()
    if roll < 0.88:
        return log.add("agentMessage", "agent", rng.choice(current), text=rng.choice(AGENT_LINES))
    if log.left() < 4:
        return log.add("systemMessage", "system", text="The visitor is on a mobile device")
    agent = rng.choice(current)
    episode = rng.choice(("file", "image", "audioVideo", "cobrowse", "translation", "stop", "system"))
    if episode in ("file", "image"):
        noun = "File" if episode == "file" else "Image"
        data = {"fileId": f"f-{rng.randrange(10**8)}", "name": rng.choice(("invoice.pdf", "screenshot.png", "guide.docx"))}
        log.add(f"agentSend{noun}", "agent", agent, **data)
        log.add(f"agentSent{noun}", "agent", agent, **data, url=f"https://files.example.com/{data['fileId']}")
    elif episode == "audioVideo":
        kind = rng.choice(("Audio", "Video"))
        asker, other = rng.choice((("visitor", "agent"), ("agent", "visitor")))
        log.add(f"{asker}Request{kind}Chat", asker, agent if asker == "agent" else None)
        answer = rng.choice(("Accept", "Accept", "Refuse", "Cancel"))
        who = asker if answer == "Cancel" else other  # the asker may cancel before an answer
        log.add(f"{who}{answer}{kind}Chat", who, agent if who == "agent" else None)
    elif episode == "cobrowse":
        log.add("agentRequestCobrowse", "agent", agent)
        answer = rng.choice(("visitorAcceptCobrowse", "visitorAcceptCobrowse", "visitorRefuseCobrowse", "agentCancelCobrowse"))
        log.add(answer, "visitor") if answer.startswith("visitor") else log.add(answer, "agent", agent)
        if answer == "visitorAcceptCobrowse":
            log.add("agentEndCobrowse", "agent", agent) if rng.random() < 0.5 else log.add("visitorEndCobrowse", "visitor")
    elif episode == "translation":
        if rng.random() < 0.7:
            log.add("agentEnableTranslation", "agent", agent, language=rng.choice(("es", "de", "zh")))
        else:
            log.add("agentDisableTranslation", "agent", agent)
    elif episode == "stop" and len(current) > 1:
        current.remove(agent)
        log.add("agentStopChat", "agent", agent)
    else:
        log.add("systemMessage", "system", text="The visitor is on a mobile device")


def _arrive(log: _Log, current: list, pending: list) -> None:
    """The next agent comes in: it joins, or a transfer brings it."""
    agent = pending.pop(0)
    if not current or log.rng.random() < 0.5:
        log.add("agentJoinChat", "agent", agent)
        current.append(agent)
        return
    giver = current[0]
    log.add("agentTransferDepartment", "agent", giver, departmentId=log.rng.choice(("dep-sales", "dep-billing")))
    log.status = "transferring"
    if log.left() == 0:
        return
    if log.rng.random() < 0.8:
        log.add("agentAcceptTransfer", "agent", agent, fromAgentId=giver)
        current.remove(giver)
        current.append(agent)
    else:
        log.add("agentRefuseTransfer", "agent", agent)
    log.status = "chatting"
