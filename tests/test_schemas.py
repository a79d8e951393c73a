"""The schemas state the contract: they are valid 2020-12, agree with the
contract's lists, and every recovery the engine returns validates."""

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import chat_recovery as cr
from chat_recovery.policy.contract import load_contract
from conftest import NOW, ROOT
from seed_tables import CHAT_PROPS, STATUSES, VISITOR_INFO
from test_merge_laws import reports as random_reports

CONTRACT = load_contract(ROOT / "schemas")


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "schemas").glob("*.json")))
def test_schema_is_valid_2020_12_with_titles(name):
    schema = json.loads((ROOT / "schemas" / name).read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("title") and schema.get("description")


def test_report_schema_lists_the_contracts_names():
    assert CONTRACT.statuses == STATUSES
    assert CONTRACT.info_keys == tuple(VISITOR_INFO)
    assert CONTRACT.chat_prop_keys == tuple(CHAT_PROPS)


def test_contract_example_report_validates():
    example = {
        "visitorId": "v-1001",
        "source": {"type": "agent", "id": "a-7"},
        "sentAt": "2026-11-24T09:00:05Z",
        "visitor": {"status": "chatting", "info": {"browser": "Firefox 132", "customVariables": {"plan": "gold"}}},
        "chat": {
            "id": "c-555",
            "props": {"ifEnterQueue": True},
            "messages": [
                {
                    "id": "m-1",
                    "time": "2026-11-24T08:58:00Z",
                    "action": "visitorRequestChat",
                    "sender": {"type": "visitor", "id": "v-1001"},
                }
            ],
        },
        "unfinishedWrapup": {"categories": ["billing"], "comment": "call back"},
    }
    assert list(CONTRACT.validator("report.schema.json").iter_errors(example)) == []


@pytest.mark.parametrize(
    "mutate,where",
    [
        (lambda r: r.update(extra=1), "extra"),
        (lambda r: r["source"].pop("id"), "source"),
        (lambda r: r.update(sentAt="2026-11-24T09:00:05"), "sentAt"),
        (lambda r: r.update(sentAt="2026-11-24T09:00:05+02:00"), "sentAt"),
        (lambda r: r["visitor"].update(status="online"), "status"),
    ],
)
def test_report_schema_refuses(mutate, where):
    example = {"visitorId": "v", "source": {"type": "agent", "id": "a"}, "sentAt": NOW, "visitor": {"status": "inSite"}}
    mutate(example)
    assert list(CONTRACT.validator("report.schema.json").iter_errors(example))


@pytest.mark.parametrize("rule_file", sorted((ROOT / "rules").glob("*.yaml")))
def test_rule_files_name_their_schema_for_editors(rule_file):
    first = rule_file.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=\.\./schemas/(\S+)", first)
    assert match and (ROOT / "schemas" / match.group(1)).is_file()


RECOVERY = CONTRACT.validator("recovery.schema.json")


@settings(max_examples=150, deadline=None)
@given(st.lists(random_reports(), min_size=1, max_size=4), st.booleans())
def test_every_recovery_validates_against_the_recovery_schema(batch, explain):
    result = cr.recover(cr.load_policy(), batch, NOW, explain=explain)
    assert [e.message for e in RECOVERY.iter_errors(result)] == []


def test_examples_recover_to_valid_recoveries(policy):
    for folder in sorted((ROOT / "examples").iterdir()):
        reports = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
        assert [e.message for e in RECOVERY.iter_errors(cr.recover(policy, reports, NOW, explain=True))] == []


def test_only_the_message_fields_the_merge_treats_as_free_can_hold_other_than_text():
    """The merged log compares message copies with Python's == (exact for
    text) unless a copy has one of chat.MESSAGE_FREE_FIELDS. If the contract
    let another message field hold numbers or booleans, two copies differing
    only in 1 vs 1.0 would be taken as the same, and this test says so."""
    from chat_recovery.recovery.chat import MESSAGE_FREE_FIELDS

    schema = json.loads((ROOT / "schemas" / "report.schema.json").read_text())
    defs = schema["$defs"]

    def deref(node):
        while "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def text_only(node):
        node = deref(node)
        kinds = node.get("type")
        if kinds == "string" or ("enum" in node and all(isinstance(v, str) for v in node["enum"])):
            return True
        return (
            kinds == "object"
            and node.get("additionalProperties") is False
            and all(text_only(sub) for sub in node.get("properties", {}).values())
        )

    message = deref(defs["message"])
    assert message["additionalProperties"] is False
    not_text = {name for name, sub in message["properties"].items() if not text_only(sub)}
    assert not_text == set(MESSAGE_FREE_FIELDS)


def test_message_copies_that_differ_only_as_json_numbers_do_are_a_conflict(policy):
    """1 and 1.0 in a message's free `data` are different JSON: the copies conflict."""
    base = {"visitorId": "v", "sentAt": NOW, "chat": {"id": "c", "messages": []}}
    message = {"id": "m1", "time": NOW, "action": "agentSendFile", "sender": {"type": "agent", "id": "a"}}
    reports = [
        {**base, "source": {"type": "visitor"}, "chat": {"id": "c", "messages": [{**message, "data": {"size": 1}}]}},
        {**base, "source": {"type": "agent", "id": "a"}, "chat": {"id": "c", "messages": [{**message, "data": {"size": 1.0}}]}},
    ]
    recovery = cr.recover(policy, reports, now=NOW)
    assert [c["path"] for c in recovery["conflicts"]] == ["$.chat.messages.m1"]
    same = [{**r, "chat": {"id": "c", "messages": [{**message, "data": {"size": 1}}]}} for r in reports]
    assert cr.recover(policy, same, now=NOW)["conflicts"] == []
