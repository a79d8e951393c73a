"""Bad JSON is bad input (the contract's amendment of 2026-12-01): a duplicate
key, a non-finite number and a lone UTF-16 surrogate are refused with their
JSON path by the CLI (a file, a batch line) and the service (422), like any
other contract violation, never with a traceback and never held."""

import json

import pytest

from conftest import NOW, cli, ndjson
from service import Served

GOOD = '{"visitorId": "v-bad", "source": {"type": "visitor"}, "sentAt": "2026-11-24T09:00:00Z", "visitor": {"status": "inSite", "info": %s}}'
BAD = {
    "duplicate key": (GOOD % '{"browser": "a", "browser": "b"}', "$.visitor.info.browser", "duplicate key 'browser'"),
    "duplicate top key": (
        '{"visitorId": "v-bad", "visitorId": "v-other", "source": {"type": "visitor"}, "sentAt": "2026-11-24T09:00:00Z"}',
        "$.visitorId",
        "duplicate key 'visitorId'",
    ),
    "NaN": (GOOD % '{"customVariables": {"score": NaN}}', "$.visitor.info.customVariables.score", "NaN is not a finite number"),
    "Infinity": (
        GOOD % '{"customVariables": {"s": [1, Infinity]}}',
        "$.visitor.info.customVariables.s[1]",
        "Infinity is not a finite",
    ),
    "-Infinity": (
        GOOD % '{"customVariables": {"s": -Infinity}}',
        "$.visitor.info.customVariables.s",
        "-Infinity is not a finite",
    ),
    "1e400": (GOOD % '{"customVariables": {"s": 1e400}}', "$.visitor.info.customVariables.s", "1e400 is not a finite number"),
    "huge integer": (
        GOOD % ('{"visitTimes": %s}' % ("9" * 400)),
        "$.visitor.info.visitTimes",
        "(400 characters) is not a finite",
    ),
    # orjson reads first and keeps the last of a duplicate key: these are found after it
    "duplicate key in a list's object": (
        GOOD % '{"customVariables": {"s": [{"k": 1, "k": 1}]}}',
        "$.visitor.info.customVariables.s[0].k",
        "duplicate key 'k'",
    ),
    "duplicate key spelt with an escaped colon": (
        GOOD % '{"customVariables": {"a\\u003a": 1, "a:": 2}}',
        "$.visitor.info.customVariables['a:']",
        "duplicate key 'a:'",
    ),
    "lone surrogate": (GOOD % '{"browser": "Fire\\ud800fox"}', "$.visitor.info.browser", "a lone UTF-16 surrogate"),
    "lone surrogate in a key": (
        GOOD % '{"customVariables": {"k\\udc00": 1}}',
        "$.visitor.info.customVariables",
        "lone UTF-16 surrogate",
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_report_file_with_bad_json_is_refused_with_its_path(tmp_path, name):
    text, path, said = BAD[name]
    file = tmp_path / "r.json"
    file.write_text(text, encoding="utf-8")
    done = cli("recover", "--now", NOW, file)
    err = done.stderr.decode()
    assert done.returncode == 1 and done.stdout == b""
    assert "Traceback" not in err
    assert err.startswith(f"{file}: {path}: ") and said in err


def test_paired_surrogates_and_large_finite_numbers_are_fine(tmp_path):
    file = tmp_path / "r.json"
    file.write_text(
        GOOD
        % '{"browser": "Firefox \\ud83e\\udd8a", "customVariables": {"big": 1.5e308, "n": -12345678901234567890, "m": %d}}'
        % 10**30
    )
    done = cli("recover", "--now", NOW, file)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)["visitor"]["info"]
    assert info["browser"] == "Firefox \U0001f98a" and info["customVariables"] == {
        "big": 1.5e308,
        "n": -12345678901234567890,
        "m": 10**30,
    }


def test_a_batch_line_with_bad_json_names_its_line_and_path(tmp_path):
    good = json.loads(GOOD % '{"browser": "b"}')
    source = ndjson(tmp_path / "in.ndjson", [{**good, "visitorId": "v-fine"}, BAD["NaN"][0], BAD["duplicate key"][0]])
    done = cli("recover", "--batch", source, "--now", NOW)
    err = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in err
    assert [json.loads(line)["visitorId"] for line in done.stdout.splitlines()] == ["v-fine"]
    assert f"{source}:2: $.visitor.info.customVariables.score: NaN is not a finite number" in err
    assert f"{source}:3: $.visitor.info.browser: duplicate key 'browser'" in err


@pytest.fixture(scope="module")
def served():
    server = Served("--workers", "1", "--window", "60")
    yield server
    server.stop()


@pytest.mark.parametrize("name", list(BAD))
def test_the_service_answers_bad_json_with_422_and_its_path(served, name):
    text, path, said = BAD[name]
    got = served.client.post("/v1/reports", content=text.encode("utf-8"), headers={"Content-Type": "application/json"})
    assert got.status_code == 422, got.text
    error = got.json()["error"]
    assert error["code"] == "invalidJson" and error["path"] == path and said in error["message"]


def test_the_service_holds_nothing_of_bad_json_and_logs_no_traceback(served):
    for text, _, _ in BAD.values():
        served.client.post("/v1/reports", content=text.encode("utf-8"), headers={"Content-Type": "application/json"})
    assert served.client.get("/v1/visitors/v-bad/recovery").status_code == 404  # nothing was written
    good = served.client.post(
        "/v1/reports", content=(GOOD % '{"browser": "b"}').encode(), headers={"Content-Type": "application/json"}
    )
    assert good.status_code == 200 and good.json()["recovery"]["visitor"]["info"]["browser"] == "b"
    assert served.client.get("/v1/visitors/v-bad/recovery").status_code == 200
    assert not any("Traceback" in line for line in served.log if line)


BIG = GOOD % ('{"customVariables": {"n": -12345678901234567890, "m": %d}}' % 10**30)


def test_an_integer_beyond_64_bits_comes_back_exactly_from_a_batch_line_and_the_service(tmp_path, served):
    """orjson neither reads nor writes such an integer as an integer: the
    reader reads again and the writers fall back, so it is held exactly."""
    source = tmp_path / "in.ndjson"
    source.write_text(BIG + "\n", encoding="utf-8")
    done = cli("recover", "--batch", source, "--now", NOW)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["visitor"]["info"]["customVariables"] == {"n": -12345678901234567890, "m": 10**30}
    got = served.client.post("/v1/reports", content=BIG.encode(), headers={"Content-Type": "application/json"})
    assert got.status_code == 200, got.text
    assert got.json()["recovery"]["visitor"]["info"]["customVariables"] == {"n": -12345678901234567890, "m": 10**30}


def test_an_integer_beyond_64_bits_is_held_exactly_in_redis(redis_server):
    """The Redis store writes and reads the held state through jsonio too."""
    server = Served("--workers", "1", "--window", "60", "--redis-url", redis_server.url)
    try:
        got = server.client.post("/v1/reports", content=BIG.encode(), headers={"Content-Type": "application/json"})
        assert got.status_code == 200, got.text
        held = server.client.get("/v1/visitors/v-bad/recovery")
        assert held.status_code == 200, held.text
        assert held.json()["recovery"]["visitor"]["info"]["customVariables"] == {"n": -12345678901234567890, "m": 10**30}
    finally:
        server.stop()
