"""Every row of the seed's visitor-property, visitor-status and chat-prop
tables, pinned through the public API: what a server sees after recovery."""

import pytest

import chat_recovery as cr
from conftest import NOW, report
from seed_tables import CHAT_PROPS, VISITOR_INFO, VISITOR_STATUS

EARLY, LATE = "2026-11-24T09:00:01Z", "2026-11-24T09:00:05Z"


def sample(schema: dict, tag: str):
    """A value of the property's contract type that says who sent it."""
    if schema.get("x-time") or schema.get("format") == "date-time":
        return {"v": "2026-11-20T10:00:00Z", "a": "2026-11-21T10:00:00Z", "b": "2026-11-22T10:00:00Z"}[tag]
    kinds = schema.get("type", ["string"])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    kinds = [k for k in kinds if k != "null"] or ["string"]
    kind = kinds[0]
    n = {"v": 1, "a": 2, "b": 3}[tag]
    return {
        "string": f"{tag}-value",
        "integer": n,
        "number": n,
        "boolean": tag == "v",
        "array": [f"{tag}-item"],
        "object": {f"{tag}Key": f"{tag}-value"},
    }.get(kind, f"{tag}-value")


def info_schema(report_schema, key):
    node = report_schema["properties"]["visitor"]["properties"]["info"]
    if "$ref" in node:
        node = report_schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    prop = node["properties"][key]
    if "$ref" in prop:
        prop = report_schema["$defs"][prop["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in prop or "oneOf" in prop:
        options = [o for o in prop.get("anyOf", prop.get("oneOf")) if o.get("type") != "null"]
        merged = dict(options[0]) if options else {}
        if "$ref" in merged:
            merged = report_schema["$defs"][merged["$ref"].rsplit("/", 1)[-1]]
        return {**prop, **merged}
    return prop


def recovered_info(policy, *reports, status="inSite"):
    sent = []
    for side, value_key, value, at in reports:
        sections = {"visitor": {"status": status, "info": {value_key: value}}}
        sent.append(report(side, at, **sections))
    result = cr.recover(policy, sent, NOW, explain=True)
    return result["visitor"]["info"], result


# What each seed strategy means, told as (visitor value, agent value, order) -> result.
def expected(strategy, v, a, visitor_first):
    return {
        "any": v if visitor_first else a,
        "visitorOverrideAgent": v,
        "agentOverrideVisitor": a,
        "agentOnly": a,
        "visitorOnly": v,
        "none": None,
    }[strategy]


ROWS = [(k, s) for k, s in VISITOR_INFO.items() if s != "specify" and k != "customVariables"]


@pytest.mark.parametrize("key,strategy", ROWS, ids=[k for k, _ in ROWS])
@pytest.mark.parametrize("visitor_first", [True, False], ids=["visitor-first", "agent-first"])
def test_visitor_property_row(policy, report_schema, key, strategy, visitor_first):
    schema = info_schema(report_schema, key)
    v, a = sample(schema, "v"), sample(schema, "a")
    sides = [("visitor", key, v, EARLY), ("agent", key, a, LATE)]
    if not visitor_first:
        sides.reverse()
    info, result = recovered_info(policy, *sides)
    want = expected(strategy, v, a, visitor_first)
    assert info.get(key) == want
    if want is not None:
        assert result["explain"][f"$.visitor.info.{key}"]["strategy"] == strategy
        # the two sides disagreed: the disagreement is listed whatever won
        assert any(c["path"] == f"$.visitor.info.{key}" for c in result["conflicts"])
    else:  # none: not recovered, named as withheld, the values shown nowhere
        assert [w["path"] for w in result["withheld"]] == [f"$.visitor.info.{key}"]
        assert result["withheld"][0]["sources"] == [{"type": "agent", "id": "a-1"}, {"type": "visitor"}]
        assert not any(c["path"] == f"$.visitor.info.{key}" for c in result["conflicts"])


@pytest.mark.parametrize("key,strategy", ROWS, ids=[k for k, _ in ROWS])
@pytest.mark.parametrize("only", ["visitor", "agent"])
def test_visitor_property_row_one_side_only(policy, report_schema, key, strategy, only):
    value = sample(info_schema(report_schema, key), only[0])
    info, _ = recovered_info(policy, (only, key, value, EARLY))
    sides = {
        "any": ("visitor", "agent"),
        "visitorOverrideAgent": ("visitor", "agent"),
        "agentOverrideVisitor": ("visitor", "agent"),
        "agentOnly": ("agent",),
        "visitorOnly": ("visitor",),
        "none": (),
    }[strategy]
    assert info.get(key) == (value if only in sides else None)


def test_latest_activity_time_is_now_whatever_the_clients_say(policy):
    info, result = recovered_info(
        policy,
        ("visitor", "latestActivityTime", "2026-11-24T08:00:00Z", EARLY),
        ("agent", "latestActivityTime", "2026-11-24T08:30:00Z", LATE),
    )
    assert info["latestActivityTime"] == NOW
    assert result["explain"]["$.visitor.info.latestActivityTime"]["source"] is None


@pytest.mark.parametrize("status", ["waitingForChat", "systemProcessing", "inSite", "chatting", "preChat"])
def test_latest_waiting_for_chat_time_is_now_for_every_recovered_visitor(policy, status):
    """The seed's row: "specify utc now", with no condition (issue 15 case 5)."""
    info, _ = recovered_info(policy, ("visitor", "latestWaitingForChatTime", "2026-11-24T08:00:00Z", EARLY), status=status)
    assert info["latestWaitingForChatTime"] == NOW


def test_custom_variables_merge_variable_by_variable(policy):
    sent = [
        report("agent", LATE, agent="a-1", visitor={"info": {"customVariables": {"plan": "gold", "agentOnlyVar": "x"}}}),
        report("visitor", EARLY, visitor={"info": {"customVariables": {"plan": "silver", "visitorVar": "y"}}}),
    ]
    result = cr.recover(policy, sent, NOW)
    assert result["visitor"]["info"]["customVariables"] == {"plan": "silver", "agentOnlyVar": "x", "visitorVar": "y"}
    assert [c["path"] for c in result["conflicts"] if "customVariables" in c["path"]] == ["$.visitor.info.customVariables.plan"]


@pytest.mark.parametrize("uploaded", list(VISITOR_STATUS))
def test_visitor_status_row(policy, uploaded):
    recovered, sets = VISITOR_STATUS[uploaded]
    result = cr.recover(policy, [report("visitor", EARLY, visitor={"status": uploaded, "info": {"browser": "b"}})], NOW)
    if recovered is None:
        assert result["visitor"] is None
        return
    assert result["visitor"]["status"] == recovered
    for prop in ("latestPrechatTime", "latestOfflineMessageTime"):
        assert (result["visitor"]["info"].get(prop) == NOW) is (prop == sets)


def test_status_side_effect_overrides_the_clients_time(policy):
    sent = [report("visitor", EARLY, visitor={"status": "preChat", "info": {"latestPrechatTime": "2026-11-24T07:00:00Z"}})]
    assert cr.recover(policy, sent, NOW)["visitor"]["info"]["latestPrechatTime"] == NOW


def test_uploaded_status_visitor_wins_over_agent(policy):
    sent = [report("visitor", EARLY, visitor={"status": "preChat"}), report("agent", LATE, visitor={"status": "inSite"})]
    assert cr.recover(policy, sent, NOW)["visitor"]["status"] == "preChat"
    assert cr.recover(policy, sent[1:], NOW)["visitor"]["status"] == "inSite"


def test_out_of_site_with_a_chat_still_recovers_the_visitor(policy):
    sent = [report("visitor", EARLY, visitor={"status": "outOfSite"}, chat={"id": "c-1"})]
    result = cr.recover(policy, sent, NOW)
    assert result["visitor"] is not None and result["chat"]["id"] == "c-1"


@pytest.mark.parametrize("key,strategy", list(CHAT_PROPS.items()))
@pytest.mark.parametrize("visitor_first", [True, False], ids=["visitor-first", "agent-first"])
def test_chat_prop_row(policy, key, strategy, visitor_first):
    values = {
        "ifEnterQueue": (False, True),
        "monitorAgents": (["a-v"], ["a-a"]),
        "source": ("widget", "api"),
        "visitorMessageSeenByAgent": (False, True),
        "agentMessageSeenByVisitor": (True, False),
    }
    v, a = values[key]
    sent = [
        report("visitor", EARLY, chat={"id": "c-1", "props": {key: v}}),
        report("agent", LATE, chat={"id": "c-1", "props": {key: a}}),
    ]
    if not visitor_first:
        sent.reverse()
    props = cr.recover(policy, sent, NOW)["chat"]["props"]
    assert props.get(key) == expected(strategy, v, a, visitor_first)


def test_latest_waiting_for_chat_time_is_now_whatever_status_the_log_gives(policy):
    """'latest time of waiting for chat' is now whether the chat log leaves
    the visitor waiting or an agent accepted (the seed's row has no condition)."""
    request = {"id": "m-1", "time": "2026-11-24T08:59:00Z", "action": "visitorRequestChat", "sender": {"type": "visitor"}}
    accept = {"id": "m-2", "time": "2026-11-24T08:59:10Z", "action": "agentAcceptChat", "sender": {"type": "agent", "id": "a-1"}}
    waiting = cr.recover(
        policy, [report("visitor", EARLY, visitor={"status": "inSite"}, chat={"id": "c", "messages": [request]})], NOW
    )
    assert waiting["visitor"]["status"] == "waitingForChat"
    assert waiting["visitor"]["info"]["latestWaitingForChatTime"] == NOW
    chatting = cr.recover(policy, [report("visitor", EARLY, chat={"id": "c", "messages": [request, accept]})], NOW)
    assert chatting["visitor"]["status"] == "chatting"
    assert chatting["visitor"]["info"]["latestWaitingForChatTime"] == NOW
