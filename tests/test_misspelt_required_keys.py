"""A required key typed with a slip (`sentat`) is one mistake: one line that
names the unknown key and the required key it should be, in reports (CLI and
API) and in rule files alike."""

import json

import pytest

import chat_recovery as cr
from conftest import NOW, cli, report


def one_line(done) -> str:
    err = done.stderr.decode()
    assert done.returncode != 0 and done.stdout == b"" and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err.rstrip("\n")


def misspelt(body: dict, old: str, new: str) -> dict:
    """The report with key `old` renamed to `new`, in place of the original."""
    return {new if key == old else key: value for key, value in body.items()}


def test_the_cli_names_the_slip_and_the_required_key_in_one_line(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(misspelt(report(), "sentAt", "sentat")))
    assert (
        one_line(cli("recover", "--now", NOW, path))
        == f"{path}: $.sentat: unknown key 'sentat'; required key 'sentAt' is missing (did you mean 'sentAt'?)"
    )


def test_the_api_names_the_slip_and_the_report(policy):
    with pytest.raises(cr.ReportError) as caught:
        cr.recover(policy, [report(), misspelt(report("agent"), "visitorId", "visitorID")], NOW)
    assert (
        str(caught.value)
        == "report 1: $.visitorID: unknown key 'visitorID'; required key 'visitorId' is missing (did you mean 'visitorId'?)"
    )
    assert caught.value.path == "$.visitorID"


def test_a_key_required_only_under_a_condition_is_joined_too(policy):
    """An agent's source needs an id (an if/then of the schema), which the schema checks apart from the unknown `Id`."""
    body = report("agent")
    body["source"] = {"type": "agent", "Id": "a-1"}
    with pytest.raises(cr.ReportError) as caught:
        cr.apply(policy, None, body, NOW)
    assert str(caught.value) == "$.source.Id: unknown key 'Id'; required key 'id' is missing (did you mean 'id'?)"


def test_a_missing_key_with_no_near_miss_is_still_only_missing(policy):
    body = misspelt(report(), "sentAt", "when")
    with pytest.raises(cr.ReportError) as caught:
        cr.apply(policy, None, body, NOW)
    assert str(caught.value) == "$: missing required key 'sentAt'"
