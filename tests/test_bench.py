"""The recovery storm and `chat-recovery bench`: what a user sees, never
how fast (no timed assertions: the machine is shared)."""

import json
from collections import Counter

import pytest
from jsonschema import Draft202012Validator

from chat_recovery.batch.workers import pool_start_method
from chat_recovery.bench.measure import available
from chat_recovery.bench.storm import StormSpec, by_visitor, storm
from chat_recovery.replay import durable_available
from conftest import cli

ENGINES = list(available())  # durable (where it imports), compiled, python, reference


@pytest.fixture(scope="module")
def reports():
    return storm(StormSpec(visitors=600, seed=3))


def test_same_seed_same_storm(reports):
    assert storm(StormSpec(visitors=600, seed=3)) == reports
    assert storm(StormSpec(visitors=600, seed=4)) != reports


def test_a_bigger_storm_starts_with_the_same_visitors(reports):
    small = by_visitor(storm(StormSpec(visitors=50, seed=3)))
    big = by_visitor(reports)
    assert all(sorted(map(json.dumps, small[v])) == sorted(map(json.dumps, big[v])) for v in small)


def test_every_report_validates_against_the_report_schema(reports, report_schema):
    validator = Draft202012Validator(report_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = [(r["visitorId"], e.json_path, e.message) for r in reports for e in validator.iter_errors(r)]
    assert problems == []


def test_the_storm_looks_like_a_restart(reports, report_schema):
    """A third with a chat, 1-3 agents each, most of a 20-60 message log per report, every
    visitor property, up to a dozen custom variables, agents that disagree, arrival shuffled."""
    groups = by_visitor(reports)
    assert len(groups) == 600
    chats = {r["visitorId"]: r["chat"] for r in reports if r.get("chat")}
    assert 0.25 < len(chats) / 600 < 0.42
    for visitor_id, group in groups.items():
        if visitor_id not in chats:
            continue
        agents = {r["source"]["id"] for r in group if r["source"]["type"] == "agent"}
        assert 1 <= len(agents) <= 3
        logs = [r["chat"]["messages"] for r in group]
        whole = len({m["id"] for log in logs for m in log})
        assert 20 - 2 <= whole <= 60
        assert all(len(log) >= 0.75 * whole for log in logs)
    actions = Counter(m["action"] for chat in chats.values() for m in chat["messages"])
    plain = sum(actions[a] for a in ("visitorMessage", "agentMessage", "botMessage", "systemMessage"))
    assert plain > 0.6 * sum(actions.values())
    for action in (
        "visitorRequestChat",
        "agentAcceptChat",
        "agentTransferDepartment",
        "agentAcceptTransfer",
        "agentJoinChat",
        "agentSendFile",
        "agentSentImage",
        "agentRequestAudioChat",
        "agentRequestCobrowse",
        "agentRefuseChat",
        "systemChatEnded",
    ):
        assert actions[action] > 0, action
    info_keys = set(report_schema["$defs"]["info"]["properties"])
    assert {k for r in reports for k in r["visitor"]["info"]} == info_keys
    variables = [len(r["visitor"]["info"]["customVariables"]) for r in reports if r["source"]["type"] == "visitor"]
    assert max(variables) == 12 and min(variables) == 0
    disagree = sum(
        1
        for g in groups.values()
        if len(
            {json.dumps(r["visitor"]["info"].get("currentPageUrl")) for r in g if r["source"]["type"] == "agent"}
            | {json.dumps(g[0]["visitor"]["info"].get("currentPageUrl"))}
        )
        > 1
    )
    assert disagree > 10
    arrival = [r["visitorId"] for r in reports]
    assert sum(a != b for a, b in zip(arrival, arrival[1:])) > 0.9 * len(arrival)  # not grouped by visitor


def test_bench_prints_a_table_with_every_engine():
    done = cli("bench", "--visitors", "50")
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert lines[0].startswith("storm: 50 visitors (")
    assert lines[1].startswith("machine: ") and "cores" in lines[1]
    header = lines[3].split()
    assert header[:3] == ["engine", "recoveries/s", "p50"]
    for stage in ("read", "validate", "merge", "replay", "write", "total"):
        assert stage in header
    assert lines[3].rstrip().endswith("x reference  x floor")
    rows = {line.split()[0]: line.split() for line in lines[4 : 5 + len(ENGINES)]}
    assert sorted(rows) == sorted([*ENGINES, "floor"])  # the I/O floor is the last row
    assert rows["reference"][-2] == "1.0" and rows["floor"][-1] == "1.0"
    assert all(float(row[-1]) > 0 and float(row[-2]) > 0 for row in rows.values())
    assert lines[5 + len(ENGINES)] == ""


def test_bench_json_holds_every_figure():
    done = cli("bench", "--visitors", "50", "--seed", "2", "--format", "json", "--engine", "python", "--engine", "reference")
    assert done.returncode == 0, done.stderr.decode()
    body = json.loads(done.stdout)
    assert set(body) == {"machine", "storm", "engines", "floor"}
    assert body["storm"]["visitors"] == 50 and body["storm"]["seed"] == 2 and body["storm"]["reports"] >= 50
    assert [e["engine"] for e in body["engines"]] == ["python", "reference"]
    for engine in body["engines"]:
        assert engine["visitors"] == 50
        assert set(engine["stageSeconds"]) == {"read", "validate", "merge", "replay", "write"}
        assert set(engine["latencyMs"]) == {"p50", "p99", "max"}
        assert engine["latencyMs"]["p50"] <= engine["latencyMs"]["p99"] <= engine["latencyMs"]["max"]
        assert engine["recoveriesPerSecond"] > 0 and engine["peakRssMB"] > 0
        assert engine["seconds"] == pytest.approx(sum(engine["stageSeconds"].values()), abs=0.01)
    python, ref = body["engines"]
    floor = body["floor"]
    assert python["xReference"] == round(
        python["seconds"] / ref["seconds"], 2
    )  # exact: the bench rounds this very quotient (a 2% tolerance is less than rounding error under a ratio of 0.25)
    assert python["xFloor"] == round(python["seconds"] / floor["seconds"], 2) and floor["xFloor"] == 1.0
    # the floor only parses and writes, the same storm and as many recoveries
    assert floor["engine"] == "floor" and floor["visitors"] == 50 and floor["reports"] == ref["reports"]
    assert {k for k, v in floor["stageSeconds"].items() if v} <= {"read", "write"}
    assert floor["seconds"] < python["seconds"]
    assert body["machine"]["cores"] >= 1


def test_bench_sizes_grow_visitors_then_messages():
    done = cli("bench", "--visitors", "30", "--sizes", "--engine", "reference", "--format", "json")
    assert done.returncode == 0, done.stderr.decode()
    runs = json.loads(done.stdout)["runs"]
    assert [(r["storm"]["visitors"], r["storm"]["messagesPerChat"]) for r in runs] == [
        (3, [20, 60]),
        (10, [20, 60]),
        (30, [20, 60]),
        (10, [10, 30]),
        (10, [40, 120]),
    ]
    table = cli("bench", "--visitors", "30", "--sizes", "--engine", "reference")
    rows = [line.split() for line in table.stdout.decode().splitlines() if line.startswith("reference")]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("visitors", "3", "20-60"),
        ("visitors", "10", "20-60"),
        ("visitors", "30", "20-60"),
        ("messages", "10", "10-30"),
        ("messages", "10", "20-60"),
        ("messages", "10", "40-120"),
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--visitors", "0"], "must be 1 or more"),
        (["--engine", "drools"], "invalid choice: 'drools'"),
        (["--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_bench_refuses_a_bad_command_line(args, message):
    done = cli("bench", *args)
    assert done.returncode == 2
    assert message in done.stderr.decode() and done.stdout == b""


@pytest.mark.skipif(durable_available(), reason="durable_rules imports on this Python")
def test_bench_says_when_durable_rules_cannot_run():
    done = cli("bench", "--visitors", "5", "--engine", "durable")
    assert done.returncode == 2
    assert "durable_rules does not import on this Python" in done.stderr.decode()


@pytest.mark.parametrize("engine", ENGINES)
def test_what_the_bench_times_is_the_recovery_itself(policy, tmp_path, engine):
    """Each engine, measured stage by stage, writes exactly the recoveries `recover` gives."""
    import chat_recovery as cr
    from chat_recovery.bench import reference
    from chat_recovery.bench.measure import measure
    from chat_recovery.bench.storm import NOW

    reports = storm(StormSpec(visitors=40, seed=5))
    storm_file, out = tmp_path / "storm.ndjson", tmp_path / "out.ndjson"
    storm_file.write_text("".join(json.dumps(r) + "\n" for r in reports))
    figures = measure(engine, str(storm_file), str(out), NOW)
    assert figures["visitors"] == 40 and figures["reports"] == len(reports)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    groups = by_visitor(reports).values()
    if engine == "reference":
        assert written == [reference.recover(g, NOW) for g in groups]
    else:
        assert written == [cr.recover(policy, g, NOW, engine=engine) for g in groups]


def test_the_floor_parses_every_line_and_writes_the_same_recoveries(tmp_path):
    """The I/O floor writes exactly the recoveries it was given, one per
    visitor of the storm, and refuses recoveries of another storm."""
    from chat_recovery.bench.measure import measure, measure_floor
    from chat_recovery.bench.storm import NOW

    storm_file, engine_out, floor_out = tmp_path / "storm.ndjson", tmp_path / "engine.ndjson", tmp_path / "floor.ndjson"
    storm_file.write_text("".join(json.dumps(r) + "\n" for r in storm(StormSpec(visitors=30, seed=3))))
    measure("compiled", str(storm_file), str(engine_out), NOW)
    figures = measure_floor(str(storm_file), str(floor_out), str(engine_out))
    assert figures["visitors"] == 30 and figures["stageSeconds"]["read"] > 0 and figures["stageSeconds"]["write"] > 0
    assert [json.loads(line) for line in floor_out.read_text().splitlines()] == [
        json.loads(line) for line in engine_out.read_text().splitlines()
    ]
    other = tmp_path / "other.ndjson"
    other.write_text("".join(json.dumps(r) + "\n" for r in storm(StormSpec(visitors=5, seed=3))))
    with pytest.raises(ValueError, match="30 recoveries for 5 visitors"):
        measure_floor(str(other), str(floor_out), str(engine_out))


def test_bench_batch_runs_each_jobs_value_on_one_storm():
    done = cli("bench", "--batch", "--visitors", "40", "--jobs", "1,2", "--repeat", "1")
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert lines[0].startswith("batch: 40 visitors, ") and lines[1].startswith("machine: ")
    assert lines[3].split()[:5] == ["jobs", "best", "s", "median", "s"]
    rows = [line.split() for line in lines[4:6]]
    assert [r[0] for r in rows] == ["1", "2"]
    assert rows[0][4:7] == ["1.0", "1.0", "1.0"]  # the first value against itself: speed-ups and ceiling
    assert float(rows[1][6]) > 0  # a ceiling was measured for two processes (its size is the machine's, not ours)
    assert "1 round, every --jobs value once a round; same recoveries, byte for byte, in every run: yes" in lines
    progress = done.stderr.decode().splitlines()
    assert progress[1:] == [
        "round 1 of 1: recover --batch --jobs 1 ...",
        "round 1 of 1: recover --batch --jobs 2 ...",
        "round 1 of 1: this machine's parallel ceiling ...",
    ]


def test_bench_batch_json_gives_each_rounds_time_and_speed_ups_against_the_first_value():
    done = cli("bench", "--batch", "--visitors", "30", "--seed", "5", "--jobs", "2,1", "--repeat", "3", "--format", "json")
    assert done.returncode == 0, done.stderr.decode()
    body = json.loads(done.stdout)
    assert body["storm"]["visitors"] == 30 and body["identicalOutputs"] is True and body["repeat"] == 3
    assert [r["jobs"] for r in body["runs"]] == [2, 1]
    first, other = body["runs"]
    for run in body["runs"]:
        assert run["summary"] == f"chat-recovery: 30 of 30 visitors recovered from {body['storm']['reports']} reports"
        assert run["peakTreePssMB"] > 0 and len(run["roundSeconds"]) == 3
        assert run["seconds"] == min(run["roundSeconds"]) and run["medianSeconds"] == sorted(run["roundSeconds"])[1]
        assert run["recoveriesPerSecond"] == round(30 / run["seconds"], 1)
    assert first["speedup"] == first["medianSpeedup"] == first["ceiling"] == 1.0
    assert other["speedup"] == round(first["seconds"] / other["seconds"], 2)
    ratios = sorted(a / b for a, b in zip(first["roundSeconds"], other["roundSeconds"]))
    assert other["medianSpeedup"] == round(ratios[1], 2)
    assert other["ceiling"] > 0  # one process against two: 1 over the ceiling of 2


def test_the_parallel_ceiling_is_n_units_in_one_process_over_one_unit_in_each_of_n(monkeypatch):
    """What the figure is, without timing it: the machine's noise decides its size (a stalled minute gave 4.1 on two cores)."""
    from chat_recovery.bench import parallel_ceiling

    assert parallel_ceiling.ceiling(1) == 1.0
    asked, walls = [], {(3,): 0.9, (1, 1, 1): 0.5}  # seconds: 3 units in one process, 1 in each of 3
    monkeypatch.setattr(parallel_ceiling, "_wall", lambda units: asked.append(units) or walls[tuple(units)])
    assert parallel_ceiling.ceiling(3) == 0.9 / 0.5
    assert asked == [[3], [1, 1, 1]]


@pytest.mark.skipif(pool_start_method() != "fork", reason="the stand-in work reaches the processes only when they are forked")
def test_the_parallel_ceiling_runs_one_process_per_entry_and_waits_for_all(monkeypatch, tmp_path):
    """Each process is given its units, and the time is taken when the slowest has finished."""
    import os
    import time

    from chat_recovery.bench import parallel_ceiling

    def stand_in(units):
        time.sleep(0.3 * units)
        (tmp_path / f"{os.getpid()}.done").write_text(str(units))

    monkeypatch.setattr(parallel_ceiling, "_spin", stand_in)
    seconds = parallel_ceiling._wall([1, 2, 1])
    assert sorted(p.read_text() for p in tmp_path.glob("*.done")) == ["1", "1", "2"]  # three processes, their units
    assert seconds >= 0.6  # the one given two units had finished: a lower bound only, never a timing target


def test_a_big_storm_is_written_chunk_by_chunk_with_the_next_seeds(tmp_path):
    from chat_recovery.bench.batch_run import write_big_storm

    facts = write_big_storm(StormSpec(visitors=70, seed=3), tmp_path / "s.ndjson", chunk=30)
    written = [json.loads(line) for line in (tmp_path / "s.ndjson").read_text().splitlines()]
    assert facts["reports"] == len(written) and facts["visitors"] == 70
    assert len({r["visitorId"] for r in written}) == 70
    assert written[: len(storm(StormSpec(visitors=30, seed=3)))] == storm(StormSpec(visitors=30, seed=3))
    assert {r["visitorId"].split("-")[1] for r in written} == {"3", "4", "5"}


@pytest.mark.parametrize("jobs", ["0", "1,x", ""])
def test_bench_batch_refuses_bad_jobs(jobs):
    done = cli("bench", "--batch", "--jobs", jobs)
    assert done.returncode == 2 and "--jobs" in done.stderr.decode()


def test_bench_storm_writes_the_seeded_storm_as_ndjson_that_recover_batch_reads(tmp_path):
    """`bench storm --out FILE`: valid NDJSON, the very storm bench measures, the same bytes for the same seed, and `recover --batch` recovers every visitor in it."""
    first, again = tmp_path / "storm.ndjson", tmp_path / "again.ndjson"
    done = cli("bench", "storm", "--visitors", "40", "--seed", "5", "--out", first)
    assert done.returncode == 0 and done.stdout == b""
    written = [json.loads(line) for line in first.read_text().splitlines()]
    assert written == storm(StormSpec(visitors=40, seed=5))
    assert done.stderr.decode() == f"{first}: {len(written)} reports of 40 visitors, seed 5\n"
    assert (
        cli("bench", "--visitors", "40", "--seed", "5", "storm", "--out", again).returncode == 0
    )  # flags before the subcommand count too
    assert again.read_bytes() == first.read_bytes()
    assert cli("bench", "storm", "--visitors", "40", "--seed", "6").stdout != first.read_bytes()  # stdout by default
    recovered = cli("recover", "--batch", first, "--now", "2026-11-24T09:00:30Z")
    assert recovered.returncode == 0
    assert len({json.loads(line)["visitorId"] for line in recovered.stdout.decode().splitlines()}) == 40


def test_bench_storm_to_stdout_with_a_dash_and_a_one_line_error_for_a_bad_path(tmp_path):
    """`--out -` is stdout; a path that cannot be written is one line and exit 1, never a traceback."""
    done = cli("bench", "storm", "--visitors", "3", "--out", "-")
    assert done.returncode == 0 and done.stderr == b""
    assert [json.loads(line) for line in done.stdout.decode().splitlines()] == storm(StormSpec(visitors=3, seed=1))
    bad = cli("bench", "storm", "--visitors", "3", "--out", tmp_path / "no" / "such" / "dir.ndjson")
    assert bad.returncode == 1 and bad.stdout == b""
    assert bad.stderr.decode().count("\n") == 1 and "cannot write" in bad.stderr.decode()


def test_plain_bench_still_measures_beside_the_storm_subcommand():
    """Adding `bench storm` keeps `bench --visitors N --engine E` as it was."""
    done = cli("bench", "--visitors", "20", "--engine", "compiled", "--format", "json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["storm"]["visitors"] == 20 and [e["engine"] for e in body["engines"]] == ["compiled"]
