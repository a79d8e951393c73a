"""Malformed and hostile reports get a clear error or a valid recovery from the
CLI and the API: never a traceback, never a half-applied state."""

import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chat_recovery as cr
from chat_recovery.cli import main
from conftest import NOW, cli, report

POLICY = cr.load_policy()

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)

KEYS = [
    "visitorId",
    "source",
    "sentAt",
    "visitor",
    "chat",
    "unfinishedWrapup",
    "status",
    "info",
    "type",
    "id",
    "browser",
    "messages",
]


@st.composite
def mangled_reports(draw):
    """A valid report with parts replaced by wrong types, unknown keys or junk."""
    body = report(
        visitor={"status": "inSite", "info": {"browser": "b", "customVariables": {"k": "v"}}},
        chat={"id": "c", "messages": [{"id": "m", "time": NOW, "action": "visitorMessage", "sender": {"type": "visitor"}}]},
    )
    for _ in range(draw(st.integers(1, 3))):
        target = body
        path = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3))
        for key in path[:-1]:
            nxt = target.get(key) if isinstance(target, dict) else None
            if not isinstance(nxt, dict):
                break
            target = nxt
        if isinstance(target, dict):
            target[path[-1]] = draw(JSONISH)
    return body


def run(raw: bytes):
    out, err = io.StringIO(), io.StringIO()
    code = main(["recover", "--now", NOW, "-"], stdin=io.BytesIO(raw), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def assert_clean(code, out, err):
    assert code in (0, 1), (code, err)
    if code == 0:
        assert json.loads(out)["visitorId"]
    else:
        assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("<stdin>: ")


# Each CLI run loads the policy (~80 ms), so the CLI gets fewer examples than the API.
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled_reports())
def test_mangled_reports_via_cli(body):
    assert_clean(*run(json.dumps(body).encode()))


@settings(max_examples=100, deadline=None)
@given(JSONISH)
def test_any_json_value_via_cli(value):
    assert_clean(*run(json.dumps(value).encode()))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_via_cli(raw):
    assert_clean(*run(raw))


@settings(max_examples=400, deadline=None)
@given(mangled_reports())
def test_mangled_reports_via_api(body):
    state = cr.apply(POLICY, None, report(visitor={"info": {"browser": "kept"}}), NOW)
    try:
        new = cr.apply(POLICY, state, body, NOW)
    except cr.ReportError as exc:
        assert str(exc) and exc.path.startswith("$")
        assert cr.render(POLICY, state)["visitor"]["info"]["browser"] == "kept"
    else:
        assert cr.render(POLICY, new)["visitorId"]


def test_deep_nesting():
    deep = b'{"visitorId": "v", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    code, out, err = run(deep)
    assert code == 1 and "nested" in err
    nested = report(visitor={"info": {"customVariables": {"k": json.loads("[" * 200 + "]" * 200)}}})
    code, out, err = run(json.dumps(nested).encode())
    assert code == 1 and "nested deeper than 64 levels" in err


def test_huge_string_is_refused_with_its_path():
    code, out, err = run(json.dumps(report(visitor={"info": {"browser": "x" * 1_000_000}})).encode())
    assert code == 1 and "$.visitor.info.browser: text longer than" in err


def test_non_utf8_bytes_through_the_real_command(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"visitorId": "v-\xe9"}'.encode("latin-1"))
    done = cli("recover", "--now", NOW, path)
    assert done.returncode == 1
    assert done.stderr.decode().strip() == f"{path}: not UTF-8 text (byte 0xe9 at offset 17)"


def test_yaml_bomb_is_refused_quickly():
    bomb = (
        b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        b"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    )
    code, out, err = run(bomb)
    assert code == 1
