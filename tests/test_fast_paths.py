"""The quick paths (a report checked in place when the caller owns it, times
already in the one spelling, JSON compared without writing it) give what the
slow paths give: the same recoveries and the same errors. That the report's
verdict is the schema's is tests/test_report_verdict.py."""

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chat_recovery as cr
from chat_recovery import json_identity as merge
from chat_recovery import timeutil
from test_report_verdict import BASES, mutated_reports

POLICY = cr.load_policy()


@pytest.mark.parametrize(
    "body, message",
    [
        ({"visitorId": "v", "source": {"type": "agent"}, "sentAt": "2026-11-24T09:00:00Z"}, "missing required key 'id'"),
        ({"visitorId": "v", "source": {"type": "visitor"}, "sentAt": "2026-11-24T09:00:00+01:00"}, "RFC 3339 UTC time"),
        (
            {"visitorId": "v", "source": {"type": "visitor"}, "sentAt": "2026-11-24T09:00:00Z", "chta": {}},
            "unknown key 'chta' (did you mean 'chat'?)",
        ),
    ],
)
def test_errors_are_still_the_schemas(body, message):
    with pytest.raises(cr.ReportError) as caught:
        cr.recover(POLICY, [body], now="2026-11-24T09:00:30Z")
    assert message in str(caught.value)


@pytest.mark.parametrize("owned", [False, True])
def test_a_time_the_schema_lets_through_but_no_calendar_has_is_refused_at_its_path(owned):
    """Month 13 matches the schema's pattern; the check that respells times
    refuses it and names the message it is in."""
    good = "2026-11-24T09:00:00Z"
    messages = [{"id": f"m{i}", "time": good, "action": "visitorMessage", "sender": {"type": "visitor"}} for i in range(3)]
    messages[2]["time"] = "2026-13-01T00:00:00Z"
    body = {"visitorId": "v", "source": {"type": "visitor"}, "sentAt": good, "chat": {"id": "c", "messages": messages}}
    with pytest.raises(cr.ReportError) as caught:
        cr.apply(POLICY, None, body, now="2026-11-24T09:00:30Z", owned=owned)
    assert str(caught.value).startswith("$.chat.messages[2].time: ")


TIMES = st.builds(
    lambda y, mo, d, h, mi, s, frac, zone: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{zone}",
    st.sampled_from([1, 999, 1000, 2026, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 61),
    st.sampled_from(["", ".", ".0", ".5", ".50", ".123456", ".1234560", ".000001", ".0000001", ".123456789"]),
    st.sampled_from(["Z", "z", "+00:00", "-00:00", "+01:00"]),
)


@settings(max_examples=800, deadline=None)
@given(TIMES | st.text(max_size=25))
def test_a_time_already_in_the_one_spelling_is_kept_and_any_other_is_respelled_as_before(text):
    """The shortcut for times already canonical gives what parsing gives."""
    try:
        slow = timeutil.format_time(timeutil.parse(text))
    except ValueError as exc:
        with pytest.raises(ValueError) as caught:
            timeutil.canonical(text)
        assert str(caught.value) == str(exc)
        return
    assert timeutil.canonical(text) == slow


ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-2, 2)
    | st.sampled_from([0.0, -0.0, 1.0, 2.0, 0.5, float("nan"), float("inf")])
    | st.sampled_from(["", "a", "1", "true", "é"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)
        | st.dictionaries(st.sampled_from([1, "1", None]), inner, max_size=2)
    ),
    max_leaves=8,
)


@settings(max_examples=1500, deadline=None)
@given(ANY_JSON, ANY_JSON)
def test_same_json_is_equality_of_canonical_json(a, b):
    """Conflicts are found by comparing values without writing them out; the
    answer is the one comparing their canonical JSON gave."""
    for x, y in ((a, b), (a, copy.deepcopy(a)), (a, _reordered(a))):
        try:
            expected = merge.canonical_json(x) == merge.canonical_json(y)
        except TypeError:  # keys of mixed types do not sort: not JSON a report can hold
            continue
        assert merge.same_json(x, y) == expected


def test_same_json_knows_what_json_writes_alike():
    assert merge.same_json({"1": "a", "b": [1, {"c": None}]}, {"b": [1, {"c": None}], "1": "a"})
    assert merge.same_json({"1": "a"}, {1: "a"})  # JSON writes the key 1 as "1"
    assert not merge.same_json(1, 1.0) and not merge.same_json(True, 1) and not merge.same_json(0.0, -0.0)
    assert not merge.same_json({"a": "x"}, {"a": "y"}) and not merge.same_json({"a": "x"}, {"b": "x"})
    assert merge.same_json(float("nan"), float("nan"))


def _reordered(value):
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def test_apply_shares_nothing_it_may_write_with_the_state_or_the_reports_it_was_given():
    """Copy on write: folding a report (chat, per-key maps, wrap-ups) leaves
    the given state as it was, rendering writes nothing, and editing a report
    afterwards does not reach into the state."""
    chats = [r for r in BASES if r.get("chat")]
    visitor = chats[0]["visitorId"]
    reports = [copy.deepcopy(r) for r in BASES if r["visitorId"] == visitor]
    assert len(reports) > 1
    state = None
    for body in reports:
        given, sent = copy.deepcopy(state), copy.deepcopy(body)
        new = cr.apply(POLICY, state, body, "2026-11-24T09:00:30Z")
        assert state == given and body == sent
        state = new
    held = copy.deepcopy(state)
    first = cr.render(POLICY, state)
    assert state == held
    for body in reports:
        body["chat"]["messages"][0]["text"] = "edited afterwards"
        body["visitor"]["info"].clear()
    assert state == held and cr.render(POLICY, state) == first


@pytest.mark.parametrize("owned", [False, True])
@pytest.mark.parametrize("leaf_level, too_deep", [(63, False), (64, False), (65, True), (66, True)])
def test_the_depth_limit_counts_every_level_down_to_the_innermost_value(leaf_level, too_deep, owned):
    """64 levels is the limit, counted as before the copy and the depth check
    became one walk: the report is level 1, the wrap-up 2, its "deep" 3."""
    value = "leaf"
    for _ in range(leaf_level - 3):
        value = [value]
    body = {
        "visitorId": "v",
        "source": {"type": "agent", "id": "a"},
        "sentAt": "2026-11-24T09:00:00Z",
        "unfinishedWrapup": {"deep": value},
    }
    if too_deep:
        with pytest.raises(cr.ReportError, match="nested deeper than 64 levels"):
            cr.apply(POLICY, None, body, now="2026-11-24T09:00:30Z", owned=owned)
    else:
        state = cr.apply(POLICY, None, body, now="2026-11-24T09:00:30Z", owned=owned)
        assert cr.render(POLICY, state)["unfinishedWrapups"]["a"]["deep"]


def test_a_report_given_as_owned_is_recovered_exactly_as_a_copied_one():
    """`owned=True` (batch lines, request bodies) skips the private copy;
    nothing a user sees may differ: states, recoveries, and every error."""
    by_visitor = {}
    for body in BASES:
        by_visitor.setdefault(body["visitorId"], []).append(body)
    now = "2026-11-24T09:00:30Z"
    for reports in by_visitor.values():
        copied = owned = None
        for body in reports:
            copied = cr.apply(POLICY, copied, copy.deepcopy(body), now)
            owned = cr.apply(POLICY, owned, copy.deepcopy(body), now, owned=True)
        assert owned == copied
        assert cr.render(POLICY, owned) == cr.render(POLICY, copied)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_reports())
def test_an_owned_report_is_refused_with_the_same_words_as_a_copied_one(body):
    def outcome(owned):
        try:
            return cr.apply(POLICY, None, copy.deepcopy(body), "2026-11-24T09:00:30Z", owned=owned)
        except cr.ReportError as exc:
            return str(exc)

    assert outcome(True) == outcome(False)


def test_an_owned_report_has_its_times_respelled_in_place():
    """What `owned` gives up, said in its docstring: the report is the
    checked form afterwards."""
    body = {"visitorId": "v", "source": {"type": "visitor"}, "sentAt": "2026-11-24T09:00:00.500+00:00"}
    cr.apply(POLICY, None, body, "2026-11-24T09:00:30Z", owned=True)
    assert body["sentAt"] == "2026-11-24T09:00:00.5Z"
    kept = {"visitorId": "v", "source": {"type": "visitor"}, "sentAt": "2026-11-24T09:00:00.500+00:00"}
    cr.apply(POLICY, None, kept, "2026-11-24T09:00:30Z")
    assert kept["sentAt"] == "2026-11-24T09:00:00.500+00:00"
