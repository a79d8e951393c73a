"""The served policy is the one the server loaded (issue 16 item 7): a real
`serve`, its policy edited and then broken on disk, its replay workers
killed with SIGKILL; and a worker that cannot be replaced is a 503 and
makes /readyz say why."""

import functools
import io
import json
import multiprocessing
import os
import select
import signal
from pathlib import Path

import crashing_work
from chat_recovery.cli import main
from conftest import ROOT


def replay_workers(pid):
    """The spawned replay workers of a serve process (not its resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def kill_and_wait(pid):
    fd = os.pidfd_open(pid)
    try:
        os.kill(pid, signal.SIGKILL)
        assert select.select([fd], [], [], 60)[0], f"process {pid} did not end"
    finally:
        os.close(fd)


def reports(name):
    return [json.loads(p.read_text()) for p in sorted((ROOT / "examples" / name).glob("*.json"))]


def app_over(policy, runner, **settings):
    """A test client of the service's app over `runner` and an embedded store, and the service."""
    from starlette.testclient import TestClient

    from chat_recovery.live import Coordinator, MemoryStore
    from chat_recovery.service.admission import Admission
    from chat_recovery.service.app import create_app
    from chat_recovery.service.endpoint import Service
    from chat_recovery.service.metrics import Metrics

    service = Service(
        coordinator=Coordinator(policy, MemoryStore(), runner=runner),
        token=None,
        admission=Admission(8),
        metrics=Metrics(runner.stats),
        max_body=1 << 20,
        ready=runner.ready,
        **settings,
    )
    return TestClient(create_app(service)), service


def test_serve_stamps_every_recovery_with_the_loaded_policy_whatever_is_on_disk_and_whoever_dies(tmp_path):
    from service import Served

    folder = tmp_path / "rules"
    folder.mkdir()
    for path in (ROOT / "rules").glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())
    server = Served("--workers", "2", "--policy", str(folder), "--window", "600")
    try:
        manifest = folder / "policy.yaml"
        manifest.write_text(manifest.read_text().replace('version: "2026.11.24"', 'version: "EDITED-ON-DISK"'))
        versions, statuses = [], []
        for round_, name in enumerate(["plain-visitor", "chat-ended", "chat-refused"]):
            if round_ == 1:
                (folder / "strategies.yaml").write_text("kind: nonsense\n")  # broken on disk as well
            for pid in replay_workers(server.proc.pid):
                kill_and_wait(pid)
            for report in reports(name):
                got = server.client.post("/v1/reports", json=report)
                statuses.append(got.status_code)
                if got.status_code == 200:
                    versions.append(got.json()["recovery"]["policy"]["version"])
        ready = server.client.get("/readyz")
    finally:
        server.stop()
    assert set(statuses) == {200}, statuses
    assert set(versions) == {"2026.11.24"}
    assert ready.status_code == 200


def test_a_worker_that_cannot_be_replaced_is_a_503_and_readyz_says_why(policy):
    from chat_recovery.live.workers import SupervisedRunner

    refuse = multiprocessing.get_context("spawn").Event()
    runner = SupervisedRunner(workers=1, retries=0, before_start=functools.partial(crashing_work.refuse_when_set, refuse))
    try:
        client, _ = app_over(policy, runner)
        (report,) = reports("plain-visitor")[:1]
        assert client.get("/readyz").status_code == 200
        refuse.set()
        kill_and_wait(runner.worker_pids()[0])
        got = client.post("/v1/reports", json=report)
        assert got.status_code == 503 and got.headers["retry-after"]
        assert got.json()["error"]["code"] == "replayUnavailable"
        assert "could not start" in got.json()["error"]["message"] and "nothing was written" in got.json()["error"]["message"]
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "could not be replaced" in ready.json()["error"]["message"]
        assert client.get(f"/v1/visitors/{report['visitorId']}/recovery").status_code == 404
        refuse.clear()
        assert client.get("/readyz").status_code == 200  # the probe started it again
        got = client.post("/v1/reports", json=report)
        assert got.status_code == 200 and got.json()["reports"] == 1
    finally:
        runner.close()


def _serve(*argv):
    err = io.StringIO()
    return main(["serve", *argv], stdout=io.StringIO(), stderr=err), err.getvalue()


def test_the_deadline_and_the_worker_timeout_are_settings_with_their_checks():
    for flag in ("--deadline", "--worker-timeout"):
        for bad in ("0", "-1", "nan", "inf"):
            assert _serve(flag, bad) == (
                2,
                "chat-recovery serve: --deadline and --worker-timeout must be a number of seconds more than 0\n",
            ), (flag, bad)
    assert _serve("--deadline", "soon") == (2, "chat-recovery serve: --deadline: 'soon' is not a number\n")


def test_serve_settings_reach_the_workers_and_every_submit(policy):
    """--worker-timeout is the replay workers' timeout (it was a fixed 30 s)
    and --deadline each submit's; the workers get the loaded policy."""
    from chat_recovery.service.config import ServeConfig
    from chat_recovery.service.server import build

    service, close = build(ServeConfig(workers=1, worker_timeout=7.5, deadline=3.5), policy)
    try:
        assert service.coordinator.runner.timeout == 7.5
        assert service.deadline == 3.5
        service.ready()
    finally:
        close()


def test_a_replay_still_running_at_the_deadline_is_a_503_and_never_written_later(policy):
    """A worker held mid-step (its timeout far longer than the deadline):
    the client is answered 503 deadlinePassed at the deadline, the held
    worker is killed then, so the report never appears afterwards; the next
    submit waits for its replacement (started in the background) and runs there. (Nothing bounded a request before: a
    hung step ran up to 4 x 30 s and was written after the client gave up.)"""
    from chat_recovery.live.workers import SupervisedRunner

    ctx = multiprocessing.get_context("spawn")
    armed, held = ctx.Semaphore(0), ctx.Event()
    runner = SupervisedRunner(workers=1, timeout=300, before_step=functools.partial(crashing_work.hold_when_armed, armed, held))
    try:
        client, service = app_over(policy, runner, deadline=1.0)
        (report,) = reports("plain-visitor")[:1]
        held_pid = runner.worker_pids()[0]
        armed.release()
        got = client.post("/v1/reports", json=report)
        assert held.is_set()  # the step had begun on the worker
        assert got.status_code == 503 and got.headers["retry-after"]
        assert got.json()["error"]["code"] == "deadlinePassed" and "nothing was written" in got.json()["error"]["message"]
        assert not Path(f"/proc/{held_pid}").exists()  # killed and reaped before the answer
        assert client.get(f"/v1/visitors/{report['visitorId']}/recovery").status_code == 404
        service.deadline = 300.0  # the next submit waits for the replacement, started in the background
        again = client.post("/v1/reports", json=report)
        assert again.status_code == 200 and again.json()["receipt"] == {"late": False, "duplicate": False}
    finally:
        runner.close()
