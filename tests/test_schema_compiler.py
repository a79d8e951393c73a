"""The report check is Python source generated from the schema. These tests
hold the generator to jsonschema on schemas it was not written for: random
schemas over every keyword it translates (recursive `$ref`s included) and
random values, so a policy that extends the contract, or a contract that
grows, cannot slip a wrong yes past the fast path. With a depth limit, yes
also means nothing nests deeper than the limit."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from chat_recovery.policy import fastcheck

KEYS = ["a", "b", "kids"]
TYPES = ["string", "object", "array", "null", "integer", "number", "boolean"]
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-2, 3)
    | st.sampled_from([0.5, 2.0, -1.0])
    | st.sampled_from(["", "a", "ab", "abc", "b", "x"])
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS + ["z"]), inner, max_size=3),
    max_leaves=12,
)


def _plain_schemas():
    """Schemas without `$ref`: every keyword the compiler translates."""
    leaf = st.one_of(
        st.booleans(),
        st.builds(
            lambda t: {"type": t}, st.sampled_from(TYPES) | st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True)
        ),
        st.builds(lambda lo, hi: {"type": "string", "minLength": lo, "maxLength": hi}, st.integers(0, 2), st.integers(0, 3)),
        st.builds(lambda p: {"pattern": p}, st.sampled_from(["^a", "b$", "^[a-c]+$"])),
        st.builds(lambda e: {"enum": e}, st.lists(st.sampled_from(["a", "b", None, 1, True]), min_size=1, max_size=3)),
        st.builds(lambda c: {"const": c}, st.sampled_from(["a", None, 2])),
        st.builds(lambda n: {"minimum": n}, st.integers(-1, 2)),
        st.builds(lambda n: {"maximum": n}, st.sampled_from([0, 1.5, 3])),
        st.builds(lambda lo, hi: {"minItems": lo, "maxItems": hi}, st.integers(0, 2), st.integers(1, 3)),
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
                lambda t, props: {"type": t, "properties": props},
                st.sampled_from(["object", ["object", "null"]]),
                st.dictionaries(st.sampled_from(KEYS), inner, max_size=2),
            ),
            st.builds(lambda items, t: {"type": t, "items": items}, inner, st.sampled_from(["array", ["array", "string"]])),
            st.builds(lambda xs: {"allOf": xs}, st.lists(inner, min_size=1, max_size=2)),
            st.builds(lambda xs: {"anyOf": xs}, st.lists(inner, min_size=1, max_size=2)),
            st.builds(lambda xs: {"oneOf": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, inner),
            st.builds(lambda i, t, e: {"if": i, "then": t, "else": e}, inner, inner, inner),
            st.builds(lambda i, t: {"if": i, "then": t}, st.builds(lambda ty: {"type": ty}, st.sampled_from(TYPES)), inner),
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
    leaf = draw(PLAIN)
    tree = {
        "type": ["object", "string"],
        "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/tree"}}},
        "additionalProperties": draw(PLAIN),
    }
    body = draw(WITH_REFS)
    body = dict(body) if isinstance(body, dict) else {"allOf": [body]}
    return {**body, "$defs": {"leaf": leaf, "tree": tree}}


def verdict(check, value):
    try:
        return check(value)
    except fastcheck.Unsure:
        return None


def depth_ok(value, limit, level=1):
    """The limit as `reports` words it: no non-empty container at `limit` or deeper."""
    if isinstance(value, (dict, list)) and value:
        if level >= limit:
            return False
        items = value.values() if isinstance(value, dict) else value
        return all(depth_ok(item, limit, level + 1) for item in items)
    return True


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.lists(VALUES, min_size=1, max_size=4))
def test_the_generated_check_decides_as_jsonschema_does_on_random_schemas(schema, values):
    check = fastcheck.compile_schema(schema)
    assert check is not None, fastcheck.source_of(schema)
    slow = Draft202012Validator(schema)
    for value in values:
        said = verdict(check, value)
        if said is not None:
            assert said == slow.is_valid(value), (schema, value)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.lists(VALUES, min_size=1, max_size=4), st.integers(1, 4))
def test_with_a_depth_limit_yes_also_means_nothing_nests_deeper(schema, values, limit):
    check = fastcheck.compile_schema(schema, max_depth=limit)
    slow = Draft202012Validator(schema)
    for value in values:
        said = verdict(check, value)
        if said is not None:
            assert said == (slow.is_valid(value) and depth_ok(value, limit)), (schema, value, limit)


def test_a_value_nested_one_level_past_the_limit_is_refused_even_where_the_schema_says_nothing():
    check = fastcheck.compile_schema({"type": "object", "properties": {"wrapup": True}}, max_depth=3)
    assert check({"wrapup": {"a": ["x"]}}) is False  # "x" sits at level 4
    assert check({"wrapup": {"a": []}}) is True  # an empty list holds nothing deeper
    assert check({"wrapup": {"a": "x"}}) is True


def test_a_schema_too_deep_for_one_python_function_is_still_compiled():
    """Nesting is written inline only so far; beyond that, calls."""
    schema = {"$defs": {"n": {"type": "object", "properties": {"k": {"type": "object"}}}}, "$ref": "#/$defs/n"}
    node = schema
    for _ in range(40):
        node["properties"] = {"k": {"type": "object"}}
        node = node["properties"]["k"]
    check = fastcheck.compile_schema(schema)
    assert check is not None
    deep = {}
    for _ in range(30):
        deep = {"k": deep}
    assert check(deep) is True and check({"k": {"k": 1}}) is False


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
        {"$ref": "other.schema.json#/x"},
        {"$ref": "#/$defs/missing"},
        {"type": "decimal"},
    ],
)
def test_what_the_compiler_does_not_translate_gets_no_fast_path(schema):
    assert fastcheck.compile_schema(schema) is None
