"""`chat-recovery bench --service`: the service against its stack's floor,
run for real on a small storm (a few hundred reports, 1 s a run) for the
shape of what it prints, never for speed (the machine is shared)."""

import io
import json
import os
import re
import shutil
import sys

import pytest

from chat_recovery.cli import main
from conftest import cli
from redis_server import redis_server_or_skip

SMALL = ("bench", "--service", "--visitors", "150", "--duration", "1")


def wrk_or_skip() -> None:
    if shutil.which("wrk") is None:
        message = "wrk is not installed: apt-get install wrk (.ci/run does this)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must not pass by skipping
        pytest.skip(message)


def table_rows(text: str) -> list[list[str]]:
    """The rows under the table's header, split on runs of 2+ spaces."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("store "))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def test_wrk_drives_floor_and_service_on_both_stores_and_the_ratios_are_the_printed_figures():
    """Each store and connection count is a row of figures, with serve's
    own process count (1 embedded, 2 on Redis); every report was answered
    2xx; `x floor` is service r/s over floor r/s as printed, `p99 x floor`
    the same for p99."""
    wrk_or_skip()
    redis_server_or_skip()
    done = cli(*SMALL, "--connections", "2,4", "--rounds", "1", "--serve-arg=--workers=0")
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert re.search(
        r"^service against its stack's floor, 20\d\d-\d\d-\d\dT[\d:]+Z; load average [\d.]+ [\d.]+ [\d.]+ at the start", out, re.M
    )
    assert "load: wrk, 1 s a run" in out and "redis: redis-server" in out
    rows = table_rows(out)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("embedded", "2", "1"),
        ("embedded", "4", "1"),
        ("redis", "2", "2"),
        ("redis", "4", "2"),
    ]
    for _store, _conns, _procs, floor, _f50, f99, service, _s50, s99, non2xx, ratio, p99_ratio in rows:
        assert float(floor) > 0 and float(service) > 0 and non2xx == "0"
        assert ratio == f"{float(service) / float(floor):.2f}" and p99_ratio == f"{float(s99) / float(f99):.2f}"


def test_the_python_client_runs_interleaved_rounds_and_passes_serve_args():
    """Without wrk: the asyncio client, rounds in the order floor, service,
    floor, service, each with its own figures; --serve-arg reaches serve."""
    done = cli(
        *SMALL,
        "--client",
        "python",
        "--store",
        "embedded",
        "--connections",
        "3",
        "--serve-arg=--workers=0",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["client"] == "python" and result["serveArgs"] == ["--workers=0"] and result["rounds"] == 2
    (row,) = result["rows"]
    floor, service = row["floor"]["rounds"], row["service"]["rounds"]
    assert row["processes"] == 1 and all(run["processes"] == 1 for run in floor + service)
    assert all(len(run["pids"]) == 1 for run in floor)
    starts = [floor[0]["startedAt"], service[0]["startedAt"], floor[1]["startedAt"], service[1]["startedAt"]]
    assert starts == sorted(starts)
    for run in floor + service:
        assert run["driver"] == "python" and run["reportsPerSecond"] > 0 and run["non2xx"] == 0
        assert set(run["statuses"]) == {"200"} and run["p99Ms"] >= run["p50Ms"] > 0
    assert result["loadAverage"]["start"] and result["date"].endswith("Z")


def test_on_redis_the_floor_runs_as_many_processes_as_serve_is_given():
    """--serve-arg=--processes=3 reaches serve, and the floor serves from
    3 processes of its own too (3 pids, each the floor's child)."""
    redis_server_or_skip()
    done = cli(
        *SMALL,
        "--client",
        "python",
        "--store",
        "redis",
        "--connections",
        "2",
        "--rounds",
        "1",
        "--serve-arg=--processes=3",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr.decode()
    (row,) = json.loads(done.stdout)["rows"]
    assert row["processes"] == 3, row
    ((floor,), (service,)) = row["floor"]["rounds"], row["service"]["rounds"]
    assert floor["processes"] == 3 and len(set(floor["pids"])) == 3 and service["processes"] == 3
    assert floor["non2xx"] == 0 and service["non2xx"] == 0


@pytest.mark.parametrize(
    ("store", "serve_args", "environ", "processes"),
    [
        ("embedded", (), {}, 1),
        ("redis", (), {}, 2),
        ("redis", ("--processes=1",), {}, 1),
        ("redis", (), {"CHAT_RECOVERY_PROCESSES": "3"}, 3),
        ("redis", ("--processes", "4"), {"CHAT_RECOVERY_PROCESSES": "3"}, 4),
        ("embedded", ("--processes=2",), {}, 1),  # serve refuses it: that row fails in serve's words
    ],
    ids=["embedded", "redis-default", "redis-flag", "redis-environment", "flag-over-environment", "refused"],
)
def test_the_floor_is_given_the_process_count_serve_reads_from_its_flags_and_environment(
    monkeypatch, store, serve_args, environ, processes
):
    """The count the table shows and the floor runs is serve's own reading
    of the flags the bench passes and of the environment serve inherits."""
    from chat_recovery.bench.service_run import ServiceBenchSpec
    from chat_recovery.cli.bench import serving_processes

    monkeypatch.delenv("CHAT_RECOVERY_PROCESSES", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    url = "redis://127.0.0.1:6379/0" if store == "redis" else None
    assert serving_processes(ServiceBenchSpec(serve_args=serve_args), url) == processes


def test_without_redis_server_the_redis_rows_say_why_and_show_no_figure(monkeypatch):
    """No redis-server on PATH and no --redis-url: each Redis row is
    skipped with the reason, and nothing is claimed for it."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    out, err = io.StringIO(), io.StringIO()
    assert main([*SMALL, "--store", "redis", "--connections", "2,8"], stdout=out, stderr=err) == 0
    rows = table_rows(out.getvalue())
    why = "skipped: redis-server is not on PATH (apt-get install redis-server) and no --redis-url was given"
    assert rows == [["redis", "2", why], ["redis", "8", why]]


def test_a_serve_that_does_not_start_fails_its_rows_with_its_own_words():
    """A serve flag it refuses: the rows say the run failed and why; no figure."""
    done = cli(*SMALL, "--client", "python", "--store", "embedded", "--connections", "2", "--serve-arg=--max-lst=3")
    assert done.returncode == 0, done.stderr.decode()
    ((store, conns, failed),) = table_rows(done.stdout.decode())
    assert (store, conns) == ("embedded", "2")
    assert failed.startswith("failed: sizing on the service: service exited 2:") and "--max-list" in failed
