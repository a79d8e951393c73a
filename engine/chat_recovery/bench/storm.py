"""A recovery storm: every upload a chat server receives when it restarts,
as seeded, realistic report sets. About a third of the visitors hold a chat
with 1 to 3 agents; each client's report holds most of the chat's log; the
agents' copies of the visitor's info are sometimes stale; the reports of all
visitors arrive shuffled together. Same spec, same storm."""

from __future__ import annotations

import json  # stdlib on purpose: the storm's bytes are pinned (tests/golden/recoveries/storm), spaced
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import IO

from . import storm_values as values
from .storm_chat import chat_log

NOW = "2026-11-24T09:00:30Z"
AGENT_ONLY = (
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
    "errorMessageSfChatEnded",
)
VISITOR_ONLY = ("visitedPageUrls", "navigations")
# What an agent console often holds stale: it saw the visitor a while ago.
DRIFTING = (
    "currentPageUrl",
    "currentPageTitle",
    "currentPageVisitTime",
    "chatTimes",
    "latestName",
    "latestEmail",
    "departmentId",
    "ifSearchingKb",
    "latestActivityTime",
    "keywords",
)


@dataclass(frozen=True)
class StormSpec:
    visitors: int = 10_000
    seed: int = 1
    chat_share: float = 1 / 3
    messages: tuple[int, int] = (20, 60)  # messages per chat, inclusive
    agents: tuple[int, int] = (1, 3)  # agents per chat, inclusive
    now: str = NOW


def storm(spec: StormSpec = StormSpec()) -> list[dict]:
    """Every report of the storm, in the (shuffled) order they arrive."""
    reports: list[dict] = []
    for n in range(spec.visitors):
        reports.extend(visitor_reports(random.Random(f"{spec.seed}:{n}"), f"v-{spec.seed}-{n:06d}", spec))
    random.Random(spec.seed).shuffle(reports)
    return reports


CHUNK = 10_000  # visitors generated (and shuffled) together, so writing a big storm stays small in memory


def write_ndjson(spec: StormSpec, out: IO[str], chunk: int = CHUNK) -> dict:
    """The storm as NDJSON, one report a line (what `recover --batch` reads),
    CHUNK visitors at a time (seeds seed, seed+1, ...; each chunk's reports
    shuffled together), so 100,000 visitors are written without holding them.
    Up to CHUNK visitors it is exactly `storm(spec)`."""
    reports = chats = 0
    left, seed = spec.visitors, spec.seed
    while left > 0:
        for report in storm(replace(spec, visitors=min(chunk, left), seed=seed)):
            reports += 1
            chats += bool(report.get("chat"))
            out.write(json.dumps(report, ensure_ascii=False) + "\n")
        left -= chunk
        seed += 1
    return {"visitors": spec.visitors, "seed": spec.seed, "reports": reports, "chatReports": chats}


def by_visitor(reports: list[dict]) -> dict[str, list[dict]]:
    """Reports grouped by visitor, in arrival order within each (and the
    visitors in order of their first report)."""
    groups: dict[str, list[dict]] = {}
    for report in reports:
        groups.setdefault(report["visitorId"], []).append(report)
    return groups


def _sent_at(rng: random.Random) -> str:
    return values.stamp(values.RESTART + timedelta(milliseconds=rng.randrange(30_000)))


def visitor_reports(rng: random.Random, visitor_id: str, spec: StormSpec) -> Iterator[dict]:
    """One visitor's uploads: its own client's, and every agent's that holds it.
    Each visitor has a generator of its own, seeded from the storm's seed and
    its number, so a bigger storm starts with the same visitors as a smaller."""
    info = values.visitor_info(rng, visitor_id)
    if rng.random() >= spec.chat_share:
        status = rng.choices(values.SITE_STATUSES, values.SITE_WEIGHTS)[0]
        yield _report(rng, visitor_id, {"type": "visitor"}, status, _visitor_view(info))
        if rng.random() < 0.2:  # an agent watching the visitor list
            agent = values.agent_id(rng)
            yield _report(rng, visitor_id, {"type": "agent", "id": agent}, status, _agent_view(rng, info))
        return
    agents = rng.sample(values.AGENTS, rng.randint(*spec.agents))
    # The log has a generator of its own, so storms that differ only in log
    # size hold the same visitors, reports and values.
    logs = random.Random(f"{visitor_id}:log")
    chat = chat_log(logs, visitor_id, agents, logs.randint(*spec.messages))
    chat_id = f"c-{visitor_id[2:]}"
    if rng.random() < 0.97:  # a visitor that closed its tab uploads nothing
        report = _report(rng, visitor_id, {"type": "visitor"}, chat.status, _visitor_view(info))
        report["chat"] = {"id": chat_id, "props": values.visitor_chat_props(rng), "messages": _holding(logs, chat.messages)}
        report["chat"]["messages"] += _forged(random.Random(f"{visitor_id}:forged"), chat.messages)
        yield report
    for agent in agents:
        status = chat.status if rng.random() < 0.9 else rng.choice(values.CHAT_STATUSES)
        report = _report(rng, visitor_id, {"type": "agent", "id": agent}, status, _agent_view(rng, info))
        report["chat"] = {"id": chat_id, "props": values.agent_chat_props(rng, agents), "messages": _holding(logs, chat.messages)}
        if chat.ended and rng.random() < 0.3:
            report["unfinishedWrapup"] = values.wrapup(rng)
        yield report


def _report(rng: random.Random, visitor_id: str, source: dict, status: str, info: dict) -> dict:
    return {"visitorId": visitor_id, "source": source, "sentAt": _sent_at(rng), "visitor": {"status": status, "info": info}}


def _visitor_view(info: dict) -> dict:
    return {k: v for k, v in info.items() if k not in AGENT_ONLY}


def _agent_view(rng: random.Random, info: dict) -> dict:
    """The agent console's copy: no visitor-only keys, some values stale,
    some custom variables missing or different."""
    view = {k: v for k, v in info.items() if k not in VISITOR_ONLY}
    for key in DRIFTING:
        if key in view and rng.random() < 0.15:
            view[key] = values.stale(rng, key, view[key])
    variables = dict(view.get("customVariables") or {})
    for name in list(variables):
        roll = rng.random()
        if roll < 0.1:
            del variables[name]
        elif roll < 0.2:
            variables[name] = f"{variables[name]}-old"
    view["customVariables"] = variables
    return view


def _forged(rng: random.Random, messages: list[dict]) -> list[dict]:
    """Now and then a visitor's client that writes an agent's fact as its own
    (sender.type visitor): a malformed copy, set aside. Its own generator, so
    the rest of the storm is what it was."""
    if not messages or rng.random() >= 0.05:
        return []
    return [
        {"id": "m-forged", "time": messages[-1]["time"], "action": "agentJoinChat", "sender": {"type": "visitor", "id": "a-evil"}}
    ]


def _holding(rng: random.Random, messages: list[dict]) -> list[dict]:
    """Most of the log: a few messages lost, the last ones maybe still in flight."""
    tail = len(messages) - rng.choice((0, 0, 0, 1, 2))
    return [dict(m) for i, m in enumerate(messages) if i < tail and (i == 0 or rng.random() >= 0.03)]
