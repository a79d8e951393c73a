"""The schemas state the contract: they are valid 2020-12, agree with the
contract's lists, and every recovery the engine returns validates."""
import json
import re

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

import chat_recovery as cr
from chat_recovery.contract import load_contract
from conftest import NOW, ROOT
from seed_tables import CHAT_PROPS, STATUSES, VISITOR_INFO
from test_merge_laws import reports as random_reports
from hypothesis import strategies as st

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
        "visitorId": "v-1001", "source": {"type": "agent", "id": "a-7"}, "sentAt": "2026-11-24T09:00:05Z",
        "visitor": {"status": "chatting", "info": {"browser": "Firefox 132", "customVariables": {"plan": "gold"}}},
        "chat": {"id": "c-555", "props": {"ifEnterQueue": True}, "messages": [
            {"id": "m-1", "time": "2026-11-24T08:58:00Z", "action": "visitorRequestChat", "sender": {"type": "visitor", "id": "v-1001"}}]},
        "unfinishedWrapup": {"categories": ["billing"], "comment": "call back"},
    }
    assert list(CONTRACT.validator("report.schema.json").iter_errors(example)) == []


@pytest.mark.parametrize("mutate,where", [
    (lambda r: r.update(extra=1), "extra"),
    (lambda r: r["source"].pop("id"), "source"),
    (lambda r: r.update(sentAt="2026-11-24T09:00:05"), "sentAt"),
    (lambda r: r.update(sentAt="2026-11-24T09:00:05+02:00"), "sentAt"),
    (lambda r: r["visitor"].update(status="online"), "status"),
])
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
