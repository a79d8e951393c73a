"""`recover --batch`: many visitors in, one recovery a line out, run as a
user runs it: NDJSON, a directory, stdin, bad lines, --out, --jobs, and the
progress bar on a real terminal."""

import json
import os
import shutil
import threading

import pytest

import chat_recovery as cr
from chat_recovery.batch import stream as batch
from chat_recovery.bench.storm import StormSpec, by_visitor, storm
from conftest import NOW, ROOT, cli, edit, ndjson, report, without_fallback_note
from terminal import run_on_terminal

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def reports():
    """A small seeded storm: 40 visitors' reports, shuffled together as they arrive."""
    return storm(StormSpec(visitors=40, seed=3))


def lines(out: bytes) -> list[dict]:
    return [json.loads(line) for line in out.decode().splitlines()]


def test_ndjson_gives_each_visitor_its_recovery_in_first_report_order(tmp_path, reports, policy):
    """One line per visitor, in the order of each visitor's first report, each equal to recovering that visitor alone."""
    done = cli("recover", "--batch", ndjson(tmp_path / "storm.ndjson", reports), "--now", NOW)
    assert done.returncode == 0, done.stderr.decode()
    got = lines(done.stdout)
    groups = by_visitor(reports)
    assert [r["visitorId"] for r in got] == list(groups)
    for recovery in got:
        assert recovery == cr.recover(policy, groups[recovery["visitorId"]], NOW)
    assert (
        without_fallback_note(done.stderr.decode()) == f"chat-recovery: 40 of 40 visitors recovered from {len(reports)} reports\n"
    )


def test_directory_output_equals_recover_of_each_visitor(tmp_path):
    """A directory of report files (sorted by path; READMEs skipped) gives what `recover` gives for each visitor's files."""
    done = cli("recover", "--batch", EXAMPLES, "--now", NOW)
    assert done.returncode == 0, done.stderr.decode()
    got = {r["visitorId"]: r for r in lines(done.stdout)}
    assert len(got) == len(list(EXAMPLES.iterdir()))
    for folder in sorted(EXAMPLES.iterdir()):
        alone = cli("recover", "--now", NOW, *sorted(folder.glob("*.json")))
        assert alone.returncode == 0
        one = json.loads(alone.stdout)
        assert got[one["visitorId"]] == one


def test_stdin_and_out_file(tmp_path, reports):
    """`--batch -` reads NDJSON from stdin; --out writes the lines to a file and leaves stdout empty."""
    source = ndjson(tmp_path / "storm.ndjson", reports)
    from_file = cli("recover", "--batch", source, "--now", NOW)
    target = tmp_path / "recoveries.ndjson"
    from_stdin = cli("recover", "--batch", "-", "--now", NOW, "--out", target, input_bytes=source.read_bytes())
    assert from_stdin.returncode == 0, from_stdin.stderr.decode()
    assert from_stdin.stdout == b""
    assert target.read_bytes() == from_file.stdout


def test_two_jobs_give_the_same_output_as_one(tmp_path, reports):
    """--jobs 2 writes byte for byte what --jobs 1 writes, in the same order."""
    source = ndjson(tmp_path / "storm.ndjson", reports)
    one = cli("recover", "--batch", source, "--now", NOW, "--jobs", "1")
    two = cli("recover", "--batch", source, "--now", NOW, "--jobs", "2")
    assert one.returncode == two.returncode == 0
    assert two.stdout == one.stdout
    assert len(two.stdout.splitlines()) == 40


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_named_pipe_is_read_once_and_recovered_like_its_file(tmp_path, reports, jobs):
    """`--batch <(zcat storm.ndjson.gz)` or a FIFO: the input cannot be read twice, so it is kept like stdin (it hung before)."""
    source = ndjson(tmp_path / "storm.ndjson", reports)
    fifo = tmp_path / "storm.fifo"
    os.mkfifo(fifo)
    feeder = threading.Thread(target=lambda: fifo.write_bytes(source.read_bytes()))
    feeder.start()
    through_pipe = cli("recover", "--batch", fifo, "--now", NOW, "--jobs", jobs)
    feeder.join()
    assert through_pipe.returncode == 0, through_pipe.stderr.decode()
    assert through_pipe.stdout == cli("recover", "--batch", source, "--now", NOW).stdout
    assert len(through_pipe.stdout.splitlines()) == 40


def test_any_number_of_jobs_writes_what_one_job_writes_over_many_tasks(tmp_path):
    """300 visitors (several tasks for each worker), with bad reports in
    tasks far apart: the same recoveries, order, messages and exit for every
    --jobs."""
    items = [json.dumps(r) for r in storm(StormSpec(visitors=300, seed=5))]
    for at in (10, len(items) // 3, len(items) // 2, len(items) - 5):  # spread over the input
        broken = json.loads(items[at])
        broken["sentAt"] = "not a time"
        items[at] = json.dumps(broken)
    source = ndjson(tmp_path / "storm.ndjson", items)
    runs = {jobs: cli("recover", "--batch", source, "--now", NOW, "--jobs", str(jobs)) for jobs in (1, 2, 3)}
    one = runs[1]
    assert one.returncode == 1 and len(lines(one.stdout)) == 300 - 4
    assert one.stderr.decode().count("$.sentAt:") == 4
    for jobs, run in runs.items():
        assert (run.returncode, run.stdout, run.stderr) == (one.returncode, one.stdout, one.stderr), jobs


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_recover_under_the_policy_the_run_loaded(tmp_path, rules_copy, method):
    """Workers use the edited policy of the run, not the default: forked ones
    the parent's own (they read no rule file, so files removed after the
    load change nothing), spawned ones by loading the same directory."""
    edit(rules_copy / "visitor-info.yaml", "  browser:\n    strategy: any", "  browser:\n    strategy: none")
    edited = cr.load_policy(rules_copy)
    items = storm(StormSpec(visitors=120, seed=8))
    index = batch.Index()
    with open(ndjson(tmp_path / "storm.ndjson", items), "rb") as stream:
        batch.index_ndjson(index, stream, "storm.ndjson", str(tmp_path / "storm.ndjson"))
    one = [(o.visitor, o.line) for o in batch.outcomes(index, edited, str(rules_copy), NOW, jobs=1)]
    visitors = [json.loads(line)["visitor"] for _, line in one]
    assert sum(v is not None for v in visitors) > 60  # outOfSite visitors are not recovered
    assert all("browser" not in v["info"] for v in visitors if v)
    default = [(o.visitor, o.line) for o in batch.outcomes(index, cr.load_policy(), None, NOW, jobs=1)]
    assert default != one  # the edit shows in the recoveries
    if method == "fork":
        shutil.rmtree(rules_copy)
    pooled = [(o.visitor, o.line) for o in batch.outcomes(index, edited, str(rules_copy), NOW, jobs=2, start_method=method)]
    assert pooled == one


def test_a_spawned_worker_that_cannot_load_the_policy_names_every_visitor_and_does_not_hang(tmp_path, rules_copy):
    """Where workers are spawned they load the policy themselves; if its files
    broke after the parent loaded them, each visitor is reported as not
    recovered with the reason, instead of a pool restarting workers forever."""
    loaded = cr.load_policy(rules_copy)
    edit(rules_copy / "visitor-info.yaml", "  browser:\n    strategy: any", "  browser:\n    strategy: anyy")
    edit(rules_copy / "visitor-info.yaml", "  ip:\n    strategy: any", "  ip:\n    strategy: anyy")  # two problems: two lines
    index = batch.Index()
    with open(ndjson(tmp_path / "storm.ndjson", storm(StormSpec(visitors=10, seed=8))), "rb") as stream:
        batch.index_ndjson(index, stream, "storm.ndjson", str(tmp_path / "storm.ndjson"))
    got = list(batch.outcomes(index, loaded, str(rules_copy), NOW, jobs=2, start_method="spawn"))
    assert [o.visitor for o in got] == list(index.groups)
    for outcome in got:
        assert outcome.line is None
        (problem,) = outcome.problems
        assert problem.where.startswith("storm.ndjson:")
        assert "a worker could not load the policy again" in problem.message
        assert "visitor-info.yaml:" in problem.message and "'anyy'" in problem.message
        assert "\n" not in problem.message  # stderr gives each visitor one line


def test_bad_lines_are_named_by_line_and_do_not_stop_the_others(tmp_path):
    """Not JSON, no visitorId, a schema failure and a visitor report naming another visitor: each is
    reported with its line number, their visitors are not recovered, the rest are, and the exit is 1."""
    good = report(visitor_id="v-good", visitor={"status": "inSite", "info": {"browser": "Firefox 132"}})
    bad_schema = report(visitor_id="v-schema", sent="yesterday")
    mixed = {**report(visitor_id="v-mix"), "source": {"type": "visitor", "id": "v-other"}}
    source = ndjson(
        tmp_path / "in.ndjson",
        [
            good,  # 1
            "{not json",  # 2
            report(visitor_id="v-schema"),  # 3: fine alone, but its visitor's line 5 is bad
            "",  # 4: blank lines are skipped
            bad_schema,  # 5
            {"source": {"type": "visitor"}, "sentAt": NOW},  # 6
            mixed,  # 7
            report(visitor_id="v-good", side="agent", sent="2026-11-24T09:00:01Z"),  # 8
        ],
    )
    done = cli("recover", "--batch", source, "--now", NOW)
    err = done.stderr.decode()
    assert done.returncode == 1
    assert "Traceback" not in err
    assert [r["visitorId"] for r in lines(done.stdout)] == ["v-good"]
    assert f"{source}:2: not JSON at column 2" in err
    assert f"{source}:5: $.sentAt:" in err and "(visitor 'v-schema' is not recovered)" in err
    assert f"{source}:6: $.visitorId: no visitorId" in err
    assert f"{source}:7: $.source.id: a visitor report's source.id must equal visitorId" in err
    assert f"{source}:3" not in err
    assert err.splitlines()[-1] == (
        "chat-recovery: 1 of 3 visitors recovered from 5 reports; "
        "2 not recovered because a report was bad; 2 unreadable (no visitor could be read, so none took it)"
    )


def test_progress_bar_only_on_a_terminal(tmp_path, reports):
    """stderr on a real pseudo-terminal shows a bar counting visitors; a pipe gets only the summary."""
    source = ndjson(tmp_path / "storm.ndjson", reports)
    code, seen = run_on_terminal(["recover", "--batch", source, "--now", NOW, "--out", tmp_path / "o.ndjson"], only_stderr=True)
    assert code == 0
    text = seen.decode()
    assert "\r[" in text and "40/40 visitors" in text
    assert "chat-recovery: 40 of 40 visitors recovered" in text
    piped = cli("recover", "--batch", source, "--now", NOW, "--out", tmp_path / "p.ndjson")
    assert (
        without_fallback_note(piped.stderr.decode())
        == f"chat-recovery: 40 of 40 visitors recovered from {len(reports)} reports\n"
    )


@pytest.mark.parametrize(
    "args, said",
    [
        (
            ("--out", "x.ndjson", "examples/plain-visitor/1-visitor.json"),
            "--out goes with --batch; one visitor's recovery is written to stdout (redirect it with >)",
        ),
        (
            ("--batch", "examples", "examples/plain-visitor/1-visitor.json"),
            "give report FILEs (one visitor) or --batch INPUT (many visitors), not both: --batch examples with examples/plain-visitor/1-visitor.json",
        ),
        (
            ("--batch", "examples", "--format", "table"),
            "--format table shows one visitor; --batch writes one JSON recovery a line (drop --format, or recover one visitor's FILEs)",
        ),
        ((), "give report FILEs (one visitor; - reads stdin) or --batch INPUT (many visitors)"),
    ],
    ids=["out-without-batch", "files-and-batch", "table-with-batch", "nothing"],
)
def test_mixed_up_arguments_are_a_usage_error(args, said):
    done = cli("recover", "--now", NOW, *args, cwd=ROOT)
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.startswith("usage: chat-recovery recover ")
    assert err.endswith(f"chat-recovery recover: error: {said}\n")


def test_jobs_must_be_a_count():
    done = cli("recover", "--batch", EXAMPLES, "--jobs", "0")
    assert done.returncode == 2
    assert "--jobs: must be a whole number, 1 or more, not '0'" in done.stderr.decode()


def test_unreadable_input_and_bad_now_say_so_without_a_traceback(tmp_path):
    missing = cli("recover", "--batch", tmp_path / "nope.ndjson", "--now", NOW)
    assert missing.returncode == 1
    assert missing.stderr.decode() == f"chat-recovery: {tmp_path / 'nope.ndjson'}: cannot read: No such file or directory\n"
    empty = cli("recover", "--batch", tmp_path, "--now", NOW)
    assert empty.returncode == 1
    assert "no report files" in empty.stderr.decode()
    bad_now = cli("recover", "--batch", EXAMPLES, "--now", "soon")
    assert bad_now.returncode == 1
    assert bad_now.stderr.decode().startswith("chat-recovery: --now:")


def test_directory_takes_ndjson_files_and_names_a_bad_file(tmp_path):
    """In a directory, .ndjson files hold a report a line and a bad one-report file is named by its path."""
    (tmp_path / "README").write_text("not a report\n")
    ndjson(tmp_path / "a.ndjson", [report(visitor_id="v-1"), report(visitor_id="v-2")])
    (tmp_path / "b.yaml").write_text(
        "visitorId: v-2\nsource: {type: agent, id: a-1}\nsentAt: 2026-11-24T09:00:01Z\nvisitor: {status: chating}\n"
    )
    (tmp_path / "c.json").write_text(json.dumps(report(visitor_id="v-1", side="agent", sent="2026-11-24T09:00:02Z")))
    done = cli("recover", "--batch", tmp_path, "--now", NOW)
    err = done.stderr.decode()
    assert done.returncode == 1
    assert [r["visitorId"] for r in lines(done.stdout)] == ["v-1"]
    assert f"{tmp_path / 'b.yaml'}: $.visitor.status:" in err and "(visitor 'v-2' is not recovered)" in err
    assert (
        err.splitlines()[-1]
        == "chat-recovery: 1 of 2 visitors recovered from 4 reports; 1 not recovered because a report was bad"
    )


def test_the_engine_a_crashed_chunk_falls_back_to_writes_the_same_lines(tmp_path, policy):
    """After a worker crash a visitor is recovered on FALLBACK_ENGINE: what
    it writes must be what the run's own engine writes, bad reports included."""
    from chat_recovery.replay import FALLBACK_ENGINE

    items = [json.dumps(r) for r in storm(StormSpec(visitors=60, seed=13))]
    broken = json.loads(items[7])
    broken["sentAt"] = "not a time"
    items[7] = json.dumps(broken)
    index = batch.Index()
    with open(ndjson(tmp_path / "storm.ndjson", items), "rb") as stream:
        batch.index_ndjson(index, stream, "storm.ndjson", str(tmp_path / "storm.ndjson"))
    here = batch.Recoverer(policy, index.sources, NOW, None, explain=True)
    chunk = list(index.groups.items())
    own, fallback = here.recover_chunk(chunk), here.recover_chunk(chunk, FALLBACK_ENGINE)
    assert [o.line for o in own if o.line] and [o.problems for o in own if o.problems]  # both kinds are in it
    assert fallback == own
