import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import chat_recovery as cr

ROOT = Path(__file__).resolve().parent.parent

# The tests talk to their own servers on loopback, never through a proxy the
# machine may set (httpx, schemathesis's requests and curl all read these).
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = ",".join(filter(None, [os.environ.get(_name), "127.0.0.1", "localhost"]))
NOW = "2026-11-24T09:00:30Z"


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the expected files of golden tests (tests/golden/) from what the code gives now, "
        "instead of comparing: only for an intended change; review the diff",
    )


@pytest.fixture(scope="session")
def policy():
    return cr.load_policy()


@pytest.fixture(scope="session")
def report_schema():
    return json.loads((ROOT / "schemas" / "report.schema.json").read_text())


@pytest.fixture
def rules_copy(tmp_path):
    """A private copy of the default policy for a test to edit."""
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def report(side="visitor", sent="2026-11-24T09:00:00Z", agent="a-1", visitor_id="v-1", **sections):
    source = {"type": "visitor"} if side == "visitor" else {"type": "agent", "id": agent}
    return {"visitorId": visitor_id, "source": source, "sentAt": sent, **sections}


def ndjson(path: Path, items) -> Path:
    """Reports (dicts, or lines as they are) written one a line, as `recover --batch` reads them."""
    path.write_text("".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items), encoding="utf-8")
    return path


def cli(*args, input_bytes=None, cwd=None):
    """Run the installed console script as a user would (the timeout only ends a hang)."""
    exe = Path(sys.executable).with_name("chat-recovery")
    return subprocess.run([str(exe), *map(str, args)], input=input_bytes, capture_output=True, cwd=cwd, timeout=300)


FALLBACK_NOTE = "chat-recovery: warning: durable_rules does not import on this Python"


def without_fallback_note(err):
    """stderr less the one line `auto` prints where durable_rules does not
    import (Python 3.13+): there it is expected, once, and nothing else is."""
    text = err.decode() if isinstance(err, bytes) else err
    kept = "".join(line for line in text.splitlines(keepends=True) if not line.startswith(FALLBACK_NOTE))
    return kept.encode() if isinstance(err, bytes) else kept


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server of the test's own, stopped afterwards."""
    from redis_server import RedisServer

    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@contextlib.contextmanager
def hang_alarm(seconds: int, what: str):
    """A test that would wait forever fails after `seconds` instead of
    stalling the run: a bound for hangs only, long enough for a busy machine."""

    def expire(*_):
        raise TimeoutError(f"{what} within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
