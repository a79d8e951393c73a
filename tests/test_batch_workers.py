"""The worker processes of `recover --batch --jobs N`: answers in chunk order
whatever finishes first, and a worker that really dies (SIGSEGV, SIGKILL)
costs a retry, never a visitor's recovery or a hang."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import crashing_work
from chat_recovery.batch.workers import ATTEMPTS, WorkersFailed, ordered
from chat_recovery.bench.storm import StormSpec, storm
from chat_recovery.replay import FALLBACK_ENGINE
from conftest import NOW, cli, hang_alarm, ndjson
from terminal import interrupt_on_terminal

METHODS = ["fork", "spawn"]


@pytest.fixture(autouse=True)
def no_hang():
    """A busy machine took over a minute to recover 1,500 visitors."""
    with hang_alarm(300, "the worker pool did not finish"):
        yield


def chunks_of(visitors, size):
    items = [(f"v-{i}", [i]) for i in range(visitors)]
    return [items[i : i + size] for i in range(0, visitors, size)]


def run(chunks, jobs=2, method="fork", window=None, crash_on=(), crash_on_fallback_too=(), payload=0, slow_on=()):
    args = (crash_on, crash_on_fallback_too, payload, slow_on)
    got = list(ordered(chunks, jobs, method, crashing_work.start, args, crashing_work.lost, window))
    assert multiprocessing.active_children() == []  # every worker stopped and reaped
    return got


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_every_chunk_comes_back_once_in_order(jobs, method):
    """Even when later chunks finish first (the first one is slow)."""
    chunks = chunks_of(50, 4)
    got = run(chunks, jobs=jobs, method=method, window=3, slow_on={"v-0", "v-13"})
    assert [[item[0] for item in chunk] for chunk in got] == [[v for v, _ in chunk] for chunk in chunks]
    assert all(item[1] is None for chunk in got for item in chunk)  # the run's own engine


@pytest.mark.parametrize("method", METHODS)
def test_a_visitor_that_segfaults_its_worker_is_recovered_on_the_fallback_engine(method):
    """Its chunk runs again one visitor at a time: its neighbours on the
    run's engine, the visitor itself, after crashing again alone, on the
    fallback engine; the output keeps its order."""
    chunks = chunks_of(20, 5)
    got = run(chunks, method=method, crash_on={"v-7"})
    flat = [item for chunk in got for item in chunk]
    assert [item[0] for item in flat] == [f"v-{i}" for i in range(20)]
    assert {item[0]: item[1] for item in flat if item[1] is not None} == {"v-7": FALLBACK_ENGINE}


def test_a_visitor_that_kills_every_engine_is_lost_with_why_and_the_others_are_not():
    chunks = chunks_of(20, 5)
    got = run(chunks, crash_on={"v-3"}, crash_on_fallback_too={"v-3", "v-12"})
    flat = {item[0]: item for chunk in got for item in chunk}
    assert len(flat) == 20
    for visitor in ("v-3", "v-12"):
        _, status, entries, why = flat[visitor]
        assert status == "lost" and entries == [int(visitor[2:])]
        assert f"died recovering it {ATTEMPTS} times (killed by SIGSEGV)" in why
        assert f"the {FALLBACK_ENGINE} engine included" in why
    assert all(flat[v][1] is None for v in flat if v not in ("v-3", "v-12"))


@pytest.mark.parametrize("method", METHODS)
def test_workers_that_cannot_start_end_the_run_instead_of_hanging(method):
    """A hang would be ended by the no_hang alarm: no wall clock is asserted."""
    with pytest.raises(WorkersFailed, match=r"keep dying before they answer \(killed by SIGKILL\)"):
        list(ordered(chunks_of(10, 2), 2, method, crashing_work.start_and_die, (), crashing_work.lost))
    assert multiprocessing.active_children() == []


def test_chunks_and_answers_larger_than_a_pipe_do_not_deadlock():
    """Tasks of a megabyte and answers of four, with every worker busy."""
    chunks = [[(f"v-{c}-{i}", list(range(20_000))) for i in range(4)] for c in range(6)]
    got = run(chunks, jobs=2, window=2, payload=1 << 20)
    assert [len(chunk) for chunk in got] == [4] * 6
    assert all(len(item[3]) == 1 << 20 for chunk in got for item in chunk)


def test_stopping_early_ends_the_workers():
    """A reader that goes away (`| head`) closes the generator: no worker is left."""
    outcomes = ordered(chunks_of(200, 2), 2, "fork", crashing_work.start, (), crashing_work.lost)
    next(outcomes)
    outcomes.close()
    assert multiprocessing.active_children() == []


def _children(pid):
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def _group_ends(pgid):
    """Whether every process of the group has ended, waiting at most a minute
    (the workers are not this test's children: their exits cannot be waited on)."""
    deadline = time.monotonic() + 60
    while subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True).stdout:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_recover_batch_survives_a_worker_killed_mid_run(tmp_path):
    """SIGKILL one of `--jobs 2`'s workers mid-run: every visitor is still
    written, in order, byte for byte what `--jobs 1` writes. The run cannot
    end before the kill: its output (megabytes) waits on a pipe this test has
    read one line of."""
    source = ndjson(tmp_path / "storm.ndjson", storm(StormSpec(visitors=400, seed=11)))
    one = cli("recover", "--batch", source, "--now", NOW, "--jobs", "1")
    assert one.returncode == 0 and len(one.stdout) > 1 << 20  # a pipe holds 64 KiB
    exe = Path(sys.executable).with_name("chat-recovery")
    proc = subprocess.Popen(
        [str(exe), "recover", "--batch", str(source), "--now", NOW, "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    first = proc.stdout.readline()  # unbuffered: communicate() below reads the fd, past any buffer
    workers = _children(proc.pid)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)
    rest, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    assert first + rest == one.stdout
    assert err.decode().splitlines()[-1] == one.stderr.decode().splitlines()[-1]  # the summary: all recovered


def test_ctrl_c_on_a_terminal_stops_the_run_and_its_workers(tmp_path):
    """Ctrl-C typed at the terminal reaches the command and its workers (one
    process group): it says so and exits 130, no traceback, no worker left,
    and what it wrote is whole lines, the first ones `--jobs 1` writes."""
    source = ndjson(tmp_path / "storm.ndjson", storm(StormSpec(visitors=1500, seed=12)))
    out = tmp_path / "part.ndjson"
    code, seen, pid = interrupt_on_terminal(
        ["recover", "--batch", source, "--now", NOW, "--jobs", "2", "--out", out],
        ready=lambda: out.exists() and out.stat().st_size > 0,
    )
    text = seen.decode()
    assert code == 130, text
    assert "chat-recovery: interrupted; the output holds the visitors finished so far" in text
    assert "Traceback" not in text
    assert _group_ends(pid), "a process of the run outlived it"
    written = out.read_bytes()
    assert written.endswith(b"\n") and 0 < len(written.splitlines()) < 1500
    one = cli("recover", "--batch", source, "--now", NOW, "--jobs", "1")
    assert one.stdout.startswith(written)
