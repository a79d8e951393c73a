"""jsonschema-rs gives the report's verdict (the quick yes that lets a
report be checked in place); python-jsonschema words a refused one. The two
must agree, or a report jsonschema refuses could slip through in place: on
every report the project holds (storm, examples, corpus, the hostile-input
corpus) and on near misses of them, jsonschema-rs with the depth limit
written into the schema says yes exactly when jsonschema finds nothing and
nothing nests deeper than 64 levels. The depth limit's rewrite is held to the
same rule on random schemas (recursive `$ref`s included), so a contract that
grows cannot open a place where depth goes unchecked."""

import copy
import json

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import chat_recovery as cr
from chat_recovery.bench.storm import StormSpec, storm
from chat_recovery.policy.contract import MAX_DEPTH, load_contract
from chat_recovery.policy.depth_limit import bounded
from chat_recovery.recovery.reports import parse_bytes
from conftest import ROOT

SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text())
CONTRACT = load_contract(ROOT / "schemas")
WORDS = CONTRACT.validator("report.schema.json")
VERDICT = CONTRACT.report_validator()
POLICY = cr.load_policy()
NOW = "2026-11-24T09:00:30Z"
EXAMPLES = [json.loads(p.read_text()) for p in sorted((ROOT / "examples").glob("*/*.json"))]
CORPUS = [parse_bytes(p.read_bytes(), p.name) for p in sorted((ROOT / "corpus").glob("*/*")) if p.suffix in (".json", ".yaml")]
BASES = EXAMPLES + storm(StormSpec(visitors=12, seed=3))


def depth_ok(value, limit=MAX_DEPTH, level=1):
    """The limit as `reports` words it: no non-empty container at `limit` or deeper."""
    if isinstance(value, (dict, list)) and value:
        if level >= limit:
            return False
        items = value.values() if isinstance(value, dict) else value
        return all(depth_ok(item, limit, level + 1) for item in items)
    return True


def jsonschema_says(value):
    return not list(WORDS.iter_errors(value)) and depth_ok(value) and _utf8(value)


def _utf8(value):
    """jsonschema-rs turns mapping keys into UTF-8, so a key with a lone
    surrogate (which the report reader refuses before the schema sees it) is
    a no there: the side where the caller asks jsonschema, costing only time.
    (In values it takes them, as jsonschema does.)"""
    if isinstance(value, dict):
        try:
            "".join(value).encode()
        except UnicodeEncodeError:
            return False
        return all(_utf8(item) for item in value.values())
    return all(_utf8(item) for item in value) if isinstance(value, list) else True


def _hostile_bodies():
    """Every report-shaped value in tests/hostile-inputs.jsonl."""
    for line in (ROOT / "tests" / "hostile-inputs.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if "report" in case:
            yield case["name"], case["report"]
        elif isinstance(case.get("body"), str):
            try:
                body = json.loads(case["body"].replace("{visitor}", "v"))
            except ValueError:
                continue
            for i, one in enumerate(body if isinstance(body, list) else [body]):
                yield f"{case['name']} [{i}]", one


HOSTILE = list(_hostile_bodies())


def test_every_report_the_project_holds_gets_jsonschemas_verdict():
    held = BASES + CORPUS + storm(StormSpec(visitors=300, seed=11))
    assert len(held) > 500 and all(VERDICT.passes(body) for body in held)
    assert all(jsonschema_says(body) for body in held)


@pytest.mark.parametrize("name, body", HOSTILE, ids=[name for name, _ in HOSTILE])
def test_hostile_bodies_get_jsonschemas_verdict(name, body):
    assert VERDICT.passes(body) == jsonschema_says(body)


def test_the_hostile_corpus_holds_both_verdicts():
    """Otherwise the test above could pass by never meeting a refusal."""
    verdicts = {VERDICT.passes(body) for _, body in HOSTILE}
    assert verdicts == {True, False} and len(HOSTILE) > 40


ODD_TEXT = [
    "",
    "x" * 257,
    "2026-11-24T09:00:00Z",
    "2026-11-24T09:00:00.123456789Z",
    "2026-11-24T09:00:00.1234567890Z",
    "2026-11-24T09:00:00+01:00",
    "2026-11-24T09:00:00-00:00",
    "2026-11-24T09:00:00z",
    "2026-11-24 09:00:00Z",
    "2026-11-24T09:00:00Z\n",
    "2026-13-01T00:00:00Z",
    "2026-02-30T25:61:61Z",
    "\u0663" * 4 + "-11-24T09:00:00Z",
    "agent",
    "visitor",
    "chatting",
    "chatEnded",
    "nonsense",
    "visitorMessage",
    "a\n",
    "é" * 256,
    "😀" * 200,
]
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([1.0, 2.5, -0.0, 0.0, 1e300, 2**64, -(2**63) - 1])
    | st.sampled_from(ODD_TEXT)
    | st.text(max_size=6)
)
JSONISH = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["type", "id", "time", "x", "status", "info"]) | st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _places(value, path=()):
    """Every (container path, key) in a report, so a mutation can land anywhere."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _places(item, path + (i,))


def _at(value, path):
    for key in path:
        value = value[key]
    return value


def _nested(levels):
    value = "leaf"
    for _ in range(levels):
        value = [value]
    return value


@st.composite
def mutated_reports(draw):
    """A valid report (an example or a storm report) with 1-3 parts replaced
    (wrong types, odd times and text, values nested to the limit and past
    it), removed (missing keys), or added (extra keys): near misses, where a
    lax check would slip."""
    body = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        places = list(_places(body))
        path = places[draw(st.integers(0, len(places) - 1))]
        if not path:
            continue
        parent, key = _at(body, path[:-1]), path[-1]
        how = draw(st.sampled_from(["replace", "remove", "add", "nest"]))
        if how == "replace":
            parent[key] = draw(JSONISH)
        elif how == "nest":  # the innermost value lands near the limit, counted from where it is put
            parent[key] = _nested(draw(st.integers(MAX_DEPTH - len(path) - 2, MAX_DEPTH - len(path) + 1)))
        elif how == "remove":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "id", "type", "status", "props", "messages"]))] = draw(JSONISH)
        else:
            parent.append(draw(JSONISH))
    return body


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_reports())
def test_near_misses_get_jsonschemas_verdict(body):
    assert VERDICT.passes(body) == jsonschema_says(body)


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_any_json_gets_jsonschemas_verdict(value):
    assert VERDICT.passes(value) == jsonschema_says(value)


def test_a_calendar_date_that_does_not_exist_passes_the_schema_and_is_refused_by_the_time_check():
    """Where jsonschema-rs's `format` differs from jsonschema's: jsonschema
    (no rfc3339-validator installed) does not assert date-time, and
    jsonschema-rs asserts it only when asked; both are asked not to, so the
    schema's pattern decides, and month 13 is refused in timeutil's words."""
    body = {"visitorId": "v", "source": {"type": "visitor"}, "sentAt": "2026-13-01T00:00:00Z"}
    assert VERDICT.passes(body) and jsonschema_says(body)
    assert not jsonschema_rs.validator_for(SCHEMA, validate_formats=True).is_valid(body)
    with pytest.raises(cr.ReportError, match=r"^\$\.sentAt: "):
        cr.apply(POLICY, None, body, NOW, owned=True)


@pytest.mark.parametrize("owned", [False, True])
def test_a_time_with_a_final_newline_is_refused_as_the_schemas_pattern_says(owned):
    """JSON Schema reads `pattern` as ECMA-262 does, `$` being the end of the
    text; Python's `$` also matched before a final newline, so this time was
    taken (and kept, newline and all, by the respelling that trusts the
    pattern). jsonschema-rs reads it as the schema says, and so does
    jsonschema's check here now."""
    body = {"visitorId": "v", "source": {"type": "visitor"}, "sentAt": "2026-11-24T09:00:00Z\n"}
    assert not VERDICT.passes(body) and not jsonschema_says(body)
    with pytest.raises(cr.ReportError) as caught:
        cr.apply(POLICY, None, body, NOW, owned=owned)
    assert str(caught.value) == "$.sentAt: '2026-11-24T09:00:00Z\\n' is not an RFC 3339 UTC time such as 2026-11-24T09:00:00Z"


def test_a_status_the_policy_adds_is_admitted_in_place():
    """The policy may add statuses; the verdict is built from the extended
    schema, so a report using one is valid, and a typo is not."""
    validate = load_contract(ROOT / "schemas").report_validator(["onHold"])
    body = copy.deepcopy(EXAMPLES[0])
    body["visitor"] = {"status": "onHold"}
    assert validate.passes(body) and validate(body) == []
    body["visitor"]["status"] = "onHld"
    assert not validate.passes(body)
    assert [(p.path, p.code) for p in validate(body)] == [(("visitor", "status"), "bad-value")]
    assert "(did you mean 'onHold'?)" in validate(body)[0].message


OPEN_PLACES = [
    ("unfinishedWrapup", lambda deep: {"source": {"type": "agent", "id": "a"}, "unfinishedWrapup": {"k": deep}}),
    ("customVariables", lambda deep: {"visitor": {"info": {"customVariables": {"k": deep}}}}),
    ("pushConfig", lambda deep: {"visitor": {"info": {"pushConfig": {"k": deep}}}}),
    ("navigations", lambda deep: {"visitor": {"info": {"navigations": [{"k": deep}]}}}),
    (
        "message data",
        lambda deep: {"chat": {"id": "c", "messages": [{"id": "m", "time": "2026-11-24T09:00:00Z", "action": "visitorMessage",
                                                        "sender": {"type": "visitor"}, "data": {"k": deep}}]}},
    ),
]  # fmt: skip


@pytest.mark.parametrize("owned", [False, True])
@pytest.mark.parametrize("levels", [10_000, 100_000])
@pytest.mark.parametrize("place, put", OPEN_PLACES, ids=[p for p, _ in OPEN_PLACES])
def test_nesting_far_past_the_limit_anywhere_the_schema_leaves_open_is_refused_in_todays_words(place, put, levels, owned):
    """No RecursionError, no stack overflow: refused, with the limit named."""
    body = {"visitorId": "v", "source": {"type": "visitor"}, "sentAt": "2026-11-24T09:00:00Z", **put(_nested(levels))}
    assert not VERDICT.passes(body), place
    with pytest.raises(cr.ReportError) as caught:
        cr.apply(POLICY, None, body, NOW, owned=owned)
    assert str(caught.value) == "$: nested deeper than 64 levels"


# Random schemas: the depth limit's rewrite, on shapes the report schema does not have yet.
KEYS = ["a", "b", "kids"]
TYPES = ["string", "object", "array", "null", "integer", "number", "boolean"]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 3) | st.sampled_from([0.5, 2.0, -1.0]) | st.sampled_from(["", "a", "ab", "x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS + ["z"]), inner, max_size=3),
    max_leaves=12,
)


def _plain_schemas():
    """Schemas without `$ref`, over the keywords the rewrite reads and some it does not."""
    leaf = st.one_of(
        st.booleans(),
        st.builds(
            lambda t: {"type": t}, st.sampled_from(TYPES) | st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True)
        ),
        st.builds(lambda lo, hi: {"type": "string", "minLength": lo, "maxLength": hi}, st.integers(0, 2), st.integers(0, 3)),
        st.builds(lambda e: {"enum": e}, st.lists(st.sampled_from(["a", "b", None, 1, True]), min_size=1, max_size=3)),
        st.builds(lambda c: {"const": c}, st.sampled_from(["a", None, 2, ["a"]])),
        st.builds(lambda lo, hi: {"minItems": lo, "maxItems": hi}, st.integers(0, 2), st.integers(1, 3)),
        st.just({"type": "object", "patternProperties": {"^a": {"type": "string"}}}),
        st.just({"type": "array", "prefixItems": [{"type": "string"}]}),
    )

    def compound(inner):
        return st.one_of(
            st.builds(
                lambda props, req, extra: {"properties": props, "required": req, "additionalProperties": extra},
                st.dictionaries(st.sampled_from(KEYS), inner, max_size=2),
                st.lists(st.sampled_from(KEYS), max_size=2, unique=True),
                st.booleans() | inner,
            ),
            st.builds(
                lambda t, props, extra: {"type": t, "properties": props, "additionalProperties": extra},
                st.sampled_from(["object", ["object", "null"], ["object", "array"]]),
                st.dictionaries(st.sampled_from(KEYS), inner, max_size=2),
                st.booleans(),
            ),
            st.builds(lambda items, t: {"type": t, "items": items}, inner, st.sampled_from(["array", ["array", "string"]])),
            st.builds(lambda xs: {"allOf": xs}, st.lists(inner, min_size=1, max_size=2)),
            st.builds(lambda xs: {"anyOf": xs}, st.lists(inner, min_size=1, max_size=2)),
            st.builds(lambda xs: {"oneOf": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, inner),
            st.builds(lambda i, t, e: {"if": i, "then": t, "else": e}, inner, inner, inner),
            st.builds(lambda a, b: {**a, **b} if isinstance(a, dict) and isinstance(b, dict) else a, inner, inner),
        )

    return st.recursive(leaf, compound, max_leaves=6)


PLAIN = _plain_schemas()
# `tree` refers to itself one level down (a real recursion); `leaf` is any plain schema
WITH_REFS = st.one_of(
    PLAIN,
    st.sampled_from([{"$ref": "#/$defs/tree"}, {"$ref": "#/$defs/leaf"}, {"type": "array", "items": {"$ref": "#/$defs/tree"}}]),
)


@st.composite
def documents(draw):
    tree = {
        "type": ["object", "string"],
        "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/tree"}}},
        "additionalProperties": draw(st.booleans() | PLAIN),
    }
    body = draw(WITH_REFS)
    body = dict(body) if isinstance(body, dict) else {"allOf": [body]}
    return {**body, "$defs": {"leaf": draw(PLAIN), "tree": tree}}


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.lists(VALUES, min_size=1, max_size=4), st.integers(1, 5))
def test_with_the_depth_limit_written_in_yes_means_valid_and_nothing_nests_deeper(schema, values, limit):
    said = jsonschema_rs.validator_for(bounded(schema, limit))
    words = Draft202012Validator(schema)
    for value in values:
        assert said.is_valid(value) == (words.is_valid(value) and depth_ok(value, limit)), (schema, value, limit)


def test_a_value_nested_one_level_past_the_limit_is_refused_even_where_the_schema_says_nothing():
    said = jsonschema_rs.validator_for(bounded({"type": "object", "properties": {"wrapup": True}}, 3))
    assert not said.is_valid({"wrapup": {"a": ["x"]}})  # "x" sits at level 4
    assert said.is_valid({"wrapup": {"a": []}})  # an empty list holds nothing deeper
    assert said.is_valid({"wrapup": {"a": "x"}})
