"""Replays in supervised worker processes: a worker that dies mid-recovery
(as durable_rules can, with a segfault) costs a retry, never the recovery
and never a report. Real processes, real signals."""

import functools
import json
import multiprocessing
import os
import select
import signal
import threading
import time

import pytest

import chat_recovery as cr
import chat_recovery.live as cr_live
import crashing_work
from chat_recovery.live import Coordinator, MemoryStore
from chat_recovery.live.workers import SupervisedRunner
from chat_recovery.recovery.reports import check
from conftest import NOW, ROOT

EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())


def big_chat(n, visitor_id="v-big"):
    """A chat of n messages (the worker pipe carries it in many pieces)."""
    msgs = [
        {"id": "m-000000", "time": "2026-11-24T08:00:00Z", "action": "visitorRequestChat", "sender": {"type": "visitor"}},
        {"id": "m-000001", "time": "2026-11-24T08:00:01Z", "action": "agentAcceptChat", "sender": {"type": "agent", "id": "a-7"}},
    ]
    for i in range(2, n):
        agent = i % 2
        msgs.append(
            {
                "id": f"m-{i:06d}",
                "time": f"2026-11-24T08:{(i // 60) % 60:02d}:{i % 60:02d}Z",
                "action": "agentMessage" if agent else "visitorMessage",
                "sender": {"type": "agent", "id": "a-7"} if agent else {"type": "visitor"},
                "text": f"line {i}",
            }
        )
    return {
        "visitorId": visitor_id,
        "source": {"type": "agent", "id": "a-7"},
        "sentAt": "2026-11-24T09:00:00Z",
        "visitor": {"status": "chatting"},
        "chat": {"id": "c-big", "messages": msgs},
    }


@pytest.fixture(scope="module")
def runner():
    with SupervisedRunner(workers=2, timeout=300) as made:
        yield made


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def steps(runner, policy, reports):
    state = None
    for one in reports:
        state, recovery = runner.step(state, check(policy, one), NOW)
    return recovery


@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda p: p.name)
def test_workers_recover_what_the_engine_recovers_in_process(runner, policy, folder):
    reports = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    assert steps(runner, policy, reports) == cr.recover(policy, reports, NOW)


def test_a_bad_report_is_the_callers_error_not_a_crash(runner, policy):
    before = runner.stats()
    first = check(policy, json.loads((ROOT / "examples/chat-ended/1-visitor.json").read_text()))
    state, _ = runner.step(None, first, NOW)
    with pytest.raises(cr.ReportError) as err:
        runner.step(state, {**first, "visitorId": "v-other"}, NOW)
    assert err.value.path == "$.visitorId" and "v-other" in err.value.message
    assert runner.stats()["crashes"] == before["crashes"]


class Hold:
    """Arms the replay workers' before_step: the next armed step holds its
    worker (which says so) until the test kills it. No clock involved."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")  # the runner's: its semaphores reach spawned workers
        self.armed, self.held = ctx.Semaphore(0), ctx.Event()
        self.before_step = functools.partial(crashing_work.hold_when_armed, self.armed, self.held)

    def kill_when_held(self, runner, sig):
        """Arm one hold; once its worker is held mid-step, send it `sig`."""
        self.armed.release()

        def go():
            assert self.held.wait(120), "no worker began the step"
            (pid,) = runner.worker_pids()
            os.kill(pid, sig)

        killer = threading.Thread(target=go)
        killer.start()
        return killer


def wait_dead(pid):
    """Returns once the process has ended (its pidfd turns readable), at most a minute."""
    fd = os.pidfd_open(pid)
    try:
        assert select.select([fd], [], [], 60)[0], f"process {pid} did not end"
    finally:
        os.close(fd)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
def test_a_worker_killed_mid_recovery_costs_a_retry_not_the_recovery(policy, sig):
    report = check(policy, big_chat(2_000))
    expected = cr.render(policy, cr.apply(policy, None, report, NOW))
    hold = Hold()
    with SupervisedRunner(workers=1, timeout=120, before_step=hold.before_step) as runner:
        pids = runner.worker_pids()
        killer = hold.kill_when_held(runner, sig)
        _, recovery = runner.step(None, report, NOW)
        killer.join()
        assert recovery == expected
        assert runner.stats()["crashes"] == 1 and runner.stats()["restarts"] == 1
        assert not alive(pids[0]) and runner.worker_pids() != pids


def test_through_the_coordinator_no_report_is_lost_when_a_worker_dies(policy):
    small = json.loads((ROOT / "examples/chat-ended/1-visitor.json").read_text())
    big = big_chat(2_000, visitor_id=small["visitorId"])
    big["chat"]["id"] = small["chat"]["id"]
    hold = Hold()
    with SupervisedRunner(workers=1, timeout=120, before_step=hold.before_step) as runner:
        coordinator = Coordinator(policy, MemoryStore(), runner=runner)
        coordinator.submit(small, now=NOW)
        killer = hold.kill_when_held(runner, signal.SIGKILL)
        progress = coordinator.submit(big, now=NOW)
        killer.join()
        assert runner.stats()["crashes"] == 1
    assert progress["reports"] == 2 and progress["receipt"] == {"late": False, "duplicate": False}
    assert progress["recovery"] == cr.recover(policy, [small, big], NOW)


def test_a_worker_killed_while_idle_is_replaced_before_the_next_step(policy):
    one = json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text())
    with SupervisedRunner(workers=1) as runner:
        dead = runner.worker_pids()[0]
        os.kill(dead, signal.SIGKILL)
        wait_dead(dead)
        assert steps(runner, policy, [one]) == cr.recover(policy, [one], NOW)
        assert runner.worker_pids()[0] != dead


def test_a_worker_killed_by_a_signal_without_a_name_is_said_and_replaced(policy, caplog):
    """A real-time signal has no name in Python's table: the runner says its
    number (it used to fail the step with a ValueError) and runs the step again."""
    one = json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text())
    with SupervisedRunner(workers=1) as runner:
        dead = runner.worker_pids()[0]
        os.kill(dead, signal.SIGRTMIN + 1)
        wait_dead(dead)
        with caplog.at_level("WARNING", logger="chat_recovery.live.workers"):
            assert steps(runner, policy, [one]) == cr.recover(policy, [one], NOW)
        assert runner.stats()["crashes"] == 1 and runner.worker_pids()[0] != dead
    (replaced,) = [r.fields for r in caplog.records if r.getMessage() == "replayWorkerReplaced"]
    assert replaced == {
        "pid": dead,
        "cause": f"killed by signal {signal.SIGRTMIN + 1}",
        "then": "the step runs again on a new worker",
    }


def test_when_retries_are_spent_the_compiled_engine_completes_the_step(policy):
    report = check(policy, big_chat(2_000))
    expected = cr.render(policy, cr.apply(policy, None, report, NOW))
    hold = Hold()
    with SupervisedRunner(workers=1, retries=0, timeout=120, before_step=hold.before_step) as runner:
        killer = hold.kill_when_held(runner, signal.SIGSEGV)
        _, recovery = runner.step(None, report, NOW)
        killer.join()
        assert recovery == expected
        assert runner.stats()["fallbacks"] == 1 and runner.stats()["crashes"] == 1


def test_a_step_that_outlives_the_timeout_kills_its_worker_and_is_said(policy):
    """Both attempts are held (or killed before they begin), so neither can answer within the timeout."""
    report = check(policy, json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text()))
    hold = Hold()
    with SupervisedRunner(workers=1, retries=0, timeout=0.05, before_step=hold.before_step) as runner:
        hold.armed.release()
        hold.armed.release()
        with pytest.raises(cr.RecoveryError, match="nothing was written, the report can be sent again"):
            runner.step(None, report, NOW)
        assert runner.stats()["crashes"] == 2 and runner.stats()["fallbacks"] == 1


def test_close_leaves_no_worker_behind():
    runner = SupervisedRunner(workers=2)
    pids = runner.worker_pids()
    assert all(alive(p) for p in pids)
    runner.close()
    assert not any(alive(p) for p in pids)


def test_a_policy_that_does_not_load_stops_the_runner_at_once(tmp_path):
    (tmp_path / "strategies.yaml").write_text("kind: nonsense\n")
    with pytest.raises(RuntimeError, match="could not load the policy"):
        SupervisedRunner(str(tmp_path), workers=1)


def copied_policy(tmp_path):
    """The bundled rules in a folder of the test's own, to edit on disk."""
    folder = tmp_path / "rules"
    folder.mkdir()
    for path in (ROOT / "rules").glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def test_a_replacement_worker_runs_the_policy_the_server_loaded_not_the_file_edited_since(tmp_path):
    """The manifest is edited on disk after the start and workers are killed
    (idle and mid-step): every recovery still carries the loaded version
    (a replacement used to load the file anew: 'EDITED-ON-DISK')."""
    folder = copied_policy(tmp_path)
    loaded = cr.load_policy(str(folder))
    report = check(loaded, json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text()))
    hold = Hold()
    with SupervisedRunner(str(folder), policy=loaded, workers=1, timeout=120, before_step=hold.before_step) as runner:
        manifest = folder / "policy.yaml"
        manifest.write_text(manifest.read_text().replace('version: "2026.11.24"', 'version: "EDITED-ON-DISK"'))
        assert cr.load_policy(str(folder)).version == "EDITED-ON-DISK"
        versions = [runner.step(None, report, NOW)[1]["policy"]["version"]]
        dead = runner.worker_pids()[0]
        os.kill(dead, signal.SIGKILL)
        wait_dead(dead)
        versions.append(runner.step(None, report, NOW)[1]["policy"]["version"])
        killer = hold.kill_when_held(runner, signal.SIGKILL)
        versions.append(runner.step(None, report, NOW)[1]["policy"]["version"])
        killer.join()
        assert runner.stats()["restarts"] == 2
    assert versions == ["2026.11.24"] * 3


def test_with_a_broken_file_on_disk_and_every_worker_killed_the_steps_still_work(tmp_path):
    folder = copied_policy(tmp_path)
    loaded = cr.load_policy(str(folder))
    one = json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text())
    with SupervisedRunner(str(folder), policy=loaded, workers=2) as runner:
        (folder / "strategies.yaml").write_text("kind: nonsense\n")
        for pid in runner.worker_pids():
            os.kill(pid, signal.SIGKILL)
            wait_dead(pid)
        assert steps(runner, loaded, [one]) == cr.recover(loaded, [one], NOW)
        assert steps(runner, loaded, [one]) == cr.recover(loaded, [one], NOW)
        runner.ready()  # ready: both replacements started, from the policy in memory
        assert runner.stats()["restarts"] == 2


def test_a_policy_edited_between_its_load_and_the_workers_start_is_refused(tmp_path):
    folder = copied_policy(tmp_path)
    loaded = cr.load_policy(str(folder))
    (folder / "policy.yaml").write_text((folder / "policy.yaml").read_text() + "\n# edited\n")
    with pytest.raises(RuntimeError, match="changed on disk since they were loaded"):
        SupervisedRunner(str(folder), policy=loaded, workers=1)


def test_a_worker_that_cannot_be_replaced_makes_the_step_a_retry_and_the_runner_not_ready(policy):
    """A replacement that cannot start: the step says retry (RunnerUnavailable,
    a 503 in the service), `ready` says why; once a start works again, the
    runner heals through `ready` alone (a node that is not ready gets no steps)."""
    one = json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text())
    refuse = multiprocessing.get_context("spawn").Event()
    start = functools.partial(crashing_work.refuse_when_set, refuse)
    with SupervisedRunner(workers=1, retries=0, before_start=start) as runner:
        runner.ready()
        refuse.set()
        dead = runner.worker_pids()[0]
        os.kill(dead, signal.SIGKILL)
        wait_dead(dead)
        with pytest.raises(cr_live.RunnerUnavailable, match="could not start: MemoryError.*retry the submit"):
            runner.step(None, check(policy, one), NOW)
        with pytest.raises(cr_live.RunnerUnavailable, match="could not be replaced"):
            runner.ready()
        refuse.clear()
        runner.ready()
        assert runner.worker_pids()[0] != dead
        assert steps(runner, policy, [one]) == cr.recover(policy, [one], NOW)


def test_a_step_still_running_at_its_deadline_is_given_up_and_never_written(policy):
    """The worker is held mid-step past the deadline (its timeout is far
    longer): the submit says retry and nothing was written, and the held
    worker is gone, so its answer can never be written later."""
    one = json.loads((ROOT / "examples/plain-visitor/1-visitor.json").read_text())
    hold = Hold()
    with SupervisedRunner(workers=1, timeout=300, before_step=hold.before_step) as runner:
        store = MemoryStore()
        coordinator = Coordinator(policy, store, runner=runner)
        held_pid = runner.worker_pids()[0]
        hold.armed.release()
        with pytest.raises(cr_live.DeadlinePassed, match="deadline; nothing was written"):
            coordinator.submit(one, now=NOW, deadline=time.monotonic() + 1.0)
        assert hold.held.is_set()
        assert not alive(held_pid)  # killed and reaped before the answer
        assert store.get(one["visitorId"]) is None
        assert coordinator.submit(one, now=NOW)["receipt"] == {"late": False, "duplicate": False}
