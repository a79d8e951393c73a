"""The command as a Unix tool, under real pipes and real signals: a reader
that closes stdout, Ctrl-C (SIGINT to the process group, as a terminal sends
it) and SIGTERM, each at a moment the test synchronises on: before, during
and after the index pass of `recover --batch`, from a file and from stdin.
Each ends the command with one line at most and the shell's code, with no
traceback, no process of its group and no temporary file left."""

import fcntl
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from chat_recovery.bench.storm import StormSpec, storm
from conftest import NOW, ROOT, hang_alarm, ndjson, without_fallback_note
from terminal import interrupt_on_terminal

EXE = Path(sys.executable).with_name("chat-recovery")
# Input written "during" the index pass: far more than a pipe holds, so the
# write returns only once the command has read most of it, and it is still
# reading (the rest never comes until the test says so).
HALF = 1 << 20
PLAIN = ROOT / "examples" / "plain-visitor" / "1-visitor.json"


@pytest.fixture(autouse=True)
def no_hang():
    with hang_alarm(300, "the command did not reach the moment this test waits for"):
        yield


@pytest.fixture(scope="module")
def storm_file(tmp_path_factory):
    """About 16 MB of reports; their recoveries are far more than a pipe holds."""
    return ndjson(tmp_path_factory.mktemp("storm") / "storm.ndjson", storm(StormSpec(visitors=1500, seed=13)))


@pytest.fixture
def private_tmp(tmp_path):
    """The command's own TMPDIR: whatever it leaves there is seen."""
    path = tmp_path / "tmp"
    path.mkdir()
    return path


def start(args, private_tmp, **streams):
    """The installed command in a process group of its own (its workers join it)."""
    streams = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **streams}
    return subprocess.Popen(
        [str(EXE), *map(str, args)], cwd=ROOT, start_new_session=True, env={**os.environ, "TMPDIR": str(private_tmp)}, **streams
    )


def assert_left_nothing(proc, private_tmp):
    assert sorted(os.listdir(private_tmp)) == []
    assert subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True).stdout == b""  # the workers went with it


BATCH = ["recover", "--batch", "{storm}", "--now", NOW]
EVERY_COMMAND = {
    "recover": ["recover", "--now", NOW, PLAIN],
    "recover --batch": BATCH,
    "recover --batch --jobs 2": [*BATCH, "--jobs", "2"],
    "bench": ["bench", "--visitors", "20", "--engine", "compiled"],
    "policy check": ["policy", "check"],
    "policy check --format github": ["policy", "check", "--format", "github"],
    "policy test --coverage": ["policy", "test", "--coverage"],
    "policy docs": ["policy", "docs"],
    "policy diff": ["policy", "diff", "rules", "rules"],
    "policy diff --format markdown": ["policy", "diff", "rules", "rules", "--format", "markdown"],
}


def closed_stdout(args, private_tmp, read_first_line):
    """(exit code, stderr) of the command whose reader closes stdout: at
    once, or after one line as `| head -1` does."""
    reader, writer = os.pipe()
    proc = start(args, private_tmp, stdout=writer)
    os.close(writer)
    with os.fdopen(reader, "rb") as stream:
        if read_first_line:
            assert stream.readline().endswith(b"\n")
    return proc, without_fallback_note(proc.stderr.read()), proc.wait(timeout=120)


@pytest.mark.parametrize("name", EVERY_COMMAND)
def test_a_reader_that_closes_stdout_ends_every_command_quietly(name, storm_file, private_tmp):
    """Every command whose stdout is a closed pipe exits 141 (the shell's
    code for SIGPIPE) and says nothing of it: no traceback, no 'Exception
    ignored', no BrokenPipeError (bench's progress lines may be there)."""
    args = [str(storm_file) if arg == "{storm}" else arg for arg in EVERY_COMMAND[name]]
    proc, err, code = closed_stdout(args, private_tmp, read_first_line=False)
    assert code == 141 and not re.search(r"Traceback|Exception|Error|pipe", err.decode()), err.decode()
    assert_left_nothing(proc, private_tmp)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_head_1_on_a_batch_ends_it_quietly(jobs, storm_file, private_tmp):
    """`recover --batch storm | head -1`: the reader takes one line and goes;
    the batch stops there (its workers too), exit 141, stderr empty."""
    proc, err, code = closed_stdout([*BATCH[:2], storm_file, *BATCH[3:], "--jobs", jobs], private_tmp, read_first_line=True)
    assert (code, err.decode()) == (141, "")
    assert_left_nothing(proc, private_tmp)


SIGNALS = {  # how it is sent, the exit code, the line said
    "ctrl-c": (
        lambda proc: os.killpg(proc.pid, signal.SIGINT),
        130,
        "chat-recovery: interrupted",
    ),  # a terminal signals the whole group
    "sigterm": (
        lambda proc: os.kill(proc.pid, signal.SIGTERM),
        143,
        "chat-recovery: terminated",
    ),  # `kill PID`, a service manager
}
FINISHED_SO_FAR = "; the output holds the visitors finished so far"


def stop_batch(feed, moment, how, storm_file, private_tmp, tmp_path):
    """Run `recover --batch --jobs 2` on the storm from a file or stdin,
    signal it at `moment`, and check how it ended; the lines it wrote. The
    file is a named pipe until the index pass is over: the test's writes
    tell when the command is reading it."""
    data = storm_file.read_bytes()
    send, code, said = SIGNALS[how]
    if feed == "file" and moment == "after":  # a file: each visitor's reports are read from it again
        proc = start([*BATCH[:2], storm_file, *BATCH[3:], "--jobs", "2"], private_tmp)
        sink = None
    elif feed == "file":
        fifo = tmp_path / "storm.ndjson"
        os.mkfifo(fifo)
        proc = start([*BATCH[:2], fifo, *BATCH[3:], "--jobs", "2"], private_tmp)
        sink = open(fifo, "wb")  # noqa: SIM115 - returns once the command opened it: started, its temporary folder made, nothing read
    else:
        proc = start([*BATCH[:2], "-", *BATCH[3:], "--jobs", "2"], private_tmp, stdin=subprocess.PIPE)
        sink = proc.stdin
    if moment == "during":
        sink.write(data[:HALF])
        sink.flush()  # returns once the command has read most of it: in the index pass, waiting for more
        if feed == "stdin":  # the copy it keeps of stdin is there now, and must go
            copies = list(private_tmp.glob("chat-recovery-batch-*/*"))
            assert len(copies) == 1 and copies[0].stat().st_size > HALF // 2
    elif moment == "after":
        if sink:
            sink.write(data)
            sink.close()
        first = proc.stdout.readline()  # the index pass is over: recoveries are being written
        assert first.endswith(b"\n"), first
    send(proc)
    if sink and not sink.closed:
        sink.close()
    proc.stdin = None  # closed above, when it was stdin
    out, err = proc.communicate(timeout=120)
    expected = said + (FINISHED_SO_FAR if moment == "after" else "")
    assert (proc.returncode, without_fallback_note(err.decode()).strip()) == (code, expected)
    assert_left_nothing(proc, private_tmp)
    assert out == b"" or out.endswith(b"\n")  # whole lines only
    return out


@pytest.mark.parametrize("how", SIGNALS)
@pytest.mark.parametrize(
    "feed, moment", [("file", "before"), ("file", "during"), ("stdin", "during"), ("file", "after"), ("stdin", "after")]
)
def test_a_signal_at_any_moment_of_a_batch_ends_it_cleanly(feed, moment, how, storm_file, private_tmp, tmp_path):
    """Ctrl-C or SIGTERM before, during or after the index pass, from a file
    or stdin: one line and 130 or 143, no traceback, no worker and no
    temporary file left (the copy of stdin included)."""
    stop_batch(feed, moment, how, storm_file, private_tmp, tmp_path)


def test_ctrl_c_typed_at_a_terminal_during_the_index_pass(storm_file, private_tmp, tmp_path):
    """Ctrl-C typed on a real terminal while the index pass waits for input:
    the documented line and 130, no KeyboardInterrupt traceback."""
    fifo = tmp_path / "storm.ndjson"
    os.mkfifo(fifo)
    reading, done = threading.Event(), threading.Event()
    data = storm_file.read_bytes()[:HALF]

    def feed():
        with open(fifo, "wb") as sink:  # open returns once the command opened it
            sink.write(data)
            sink.flush()  # and this once it has read most of it
            reading.set()
            done.wait()  # the input stays open: the command waits for more until Ctrl-C

    threading.Thread(target=feed, daemon=True).start()
    try:
        code, seen, pid = interrupt_on_terminal(
            [*BATCH[:2], fifo, *BATCH[3:], "--jobs", "2"], ready=reading.is_set, env_extra={"TMPDIR": str(private_tmp)}
        )
    finally:
        done.set()
    text = seen.decode()
    assert code == 130 and "chat-recovery: interrupted" in text and "Traceback" not in text, text
    assert os.listdir(private_tmp) == []


def test_ctrl_c_while_the_command_loads_its_modules(private_tmp, tmp_path):
    """Ctrl-C in the command's first second, while Python loads the policy
    machinery, ends it like any other moment. The command lists each module
    it loads on stderr (PYTHONPROFILEIMPORTTIME) into a pipe of one page; the
    test stops reading at an early module of the CLI, so the command is held
    mid-import, writing the rest, when Ctrl-C comes."""
    fifo = tmp_path / "storm.ndjson"
    os.mkfifo(fifo)  # never opened for writing: the command cannot finish before the signal
    reader, writer = os.pipe()
    fcntl.fcntl(writer, fcntl.F_SETPIPE_SZ, 4096)
    proc = subprocess.Popen(
        [str(EXE), *BATCH[:2], str(fifo), *BATCH[3:]],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=writer,
        start_new_session=True,
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(private_tmp), "PYTHONPROFILEIMPORTTIME": "1"},
    )
    os.close(writer)
    seen = b""
    while not re.search(rb"\| +chat_recovery\.diagnostics\n", seen):
        chunk = os.read(reader, 512)
        assert chunk, seen.decode()[-2000:]
        seen += chunk
    os.killpg(proc.pid, signal.SIGINT)
    with os.fdopen(reader, "rb") as stream:
        rest = stream.read()
    text = "".join(line for line in (seen + rest).decode().splitlines(keepends=True) if not line.startswith("import time:"))
    assert (proc.wait(timeout=300), text.strip()) == (130, "chat-recovery: interrupted")
    assert_left_nothing(proc, private_tmp)
