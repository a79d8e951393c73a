"""`serve --processes N` on a real Redis, the two deaths that are not a
crash: a serving process that goes silent (SIGSTOP: its heartbeat stops, as
when C code holds its interpreter or a step runs past --worker-timeout) is
killed and replaced after --worker-timeout while the other answers; and a
manager SIGKILLed takes its serving processes with it (PR_SET_PDEATHSIG),
so no orphan keeps the port."""

import http.client
import itertools
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from chat_recovery.bench.storm import StormSpec, storm
from service import TOKEN, Served
from test_server_processes import serving_pids

pytest.importorskip("redis")

BOUND = 120.0  # seconds any wait here may take on a busy machine: a bound for hangs, not a pace


def until(what: str, done, bound: float = BOUND):
    """Polls `done()` until it is true (its value), failing after `bound` seconds."""
    end = time.monotonic() + bound
    while not (got := done()):
        assert time.monotonic() < end, f"{what} within {bound:g} s"
        time.sleep(0.05)
    return got


def answering_pid(port: int, pids: set[int]) -> int | None:
    """Which of `pids` answers a fresh connection to `port`: it holds the
    server end of the connection (its socket's inode in /proc/PID/fd) while
    we keep the connection open after the answer. A process that answered
    has started its heartbeat (served_process does so before it serves)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/readyz", headers={"Authorization": f"Bearer {TOKEN}"})
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
        inode = _server_end(port, conn.sock.getsockname()[1])
        for pid in pids:
            try:
                if any(os.readlink(fd) == f"socket:[{inode}]" for fd in Path(f"/proc/{pid}/fd").iterdir()):
                    return pid
            except OSError:  # gone meanwhile, or an fd closed while we looked
                continue
        return None
    finally:
        conn.close()


def _server_end(port: int, client_port: int) -> str:
    """The inode of the established socket from `port` to `client_port`."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if state == "01" and int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) == client_port:
            return inode
    raise AssertionError(f"no established connection from port {port} to {client_port}")


def every_process_answers(served: Served) -> set[int]:
    """Waits until each serving process has answered a connection (so each is
    serving and beating); their pids."""
    pids = until("two serving processes", lambda: len(p := serving_pids(served.proc.pid)) == 2 and p)
    seen: set[int] = set()
    until("each serving process answering", lambda: seen.add(answering_pid(served.port, pids)) or seen >= pids)
    return pids


def ours(pid: int) -> bool:
    """The pid is still one of the node's serving processes (not a pid reused since)."""
    try:
        return not gone(pid) and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def gone(pid: int) -> bool:
    """The process has ended (reaped, or a zombie nobody reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_silent_serving_process_is_replaced_after_the_worker_timeout_while_the_other_answers(redis_server):
    reports = itertools.cycle(storm(StormSpec(visitors=100, seed=23)))  # sent again, a report counts once
    served = Served(
        "--processes", "2", "--redis-url", redis_server.url, "--worker-timeout", "3", "--window", "600", "--log-level", "warning"
    )
    victim = None
    try:
        pids = every_process_answers(served)
        victim = min(pids)
        os.kill(victim, signal.SIGSTOP)  # its heartbeat stops; it is alive and holds the listening socket
        replaced = lambda l: "serverProcessReplaced" in l and f"pid={victim} " in l  # noqa: E731
        meanwhile = 0
        with httpx.Client(
            base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"}, timeout=60
        ) as client:
            end = time.monotonic() + 60  # 3 s of silence allowed: a manager that waits 60 s does not kill silent processes
            while not any(l and replaced(l) for l in served.log):
                assert time.monotonic() < end, (
                    f"pid {victim} silent for 60 s and not replaced: {''.join(l for l in served.log if l)}"
                )
                got = client.post("/v1/reports", json=next(reports))  # a fresh connection: the stopped one cannot take it
                assert got.status_code == 200, got.text
                meanwhile += 1
                time.sleep(0.02)  # a pace, not a wait: the loop ends on the log line
        assert meanwhile > 0  # the other process answered while this one was silent
        line = served.wait_log(replaced)
        assert 'cause="it did not answer within 3 s"' in line, line
        until(f"pid {victim} reaped", lambda: gone(victim))
        again = until("the replacement serving", lambda: len(p := serving_pids(served.proc.pid) - {victim}) == 2 and p)
        newcomer = (again - pids).pop()
        until("the replacement answering", lambda: answering_pid(served.port, again) == newcomer)
        with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
            for _ in range(20):
                got = client.post("/v1/reports", json=next(reports))
                assert got.status_code == 200, got.text
    finally:
        if victim is not None and ours(victim):
            os.kill(victim, signal.SIGKILL)  # the manager did not: the test failed, leave nothing stopped behind
        served.stop()
    assert served.proc.returncode == 0


def test_a_manager_killed_takes_its_serving_processes_with_it(redis_server):
    served = Served("--processes", "2", "--redis-url", redis_server.url, "--log-level", "warning")
    pids: set[int] = set()
    try:
        pids = every_process_answers(served)
        served.proc.kill()
        served.proc.wait(60)
        until("every serving process gone", lambda: all(gone(pid) for pid in pids), bound=30)
        # nobody holds the port any more: refused, once the kernel has torn down
        # the listening socket its last holder left (a moment after it exits)
        until("the port refusing connections", lambda: refused(served.port), bound=30)
    finally:
        for pid in pids:
            if ours(pid):
                os.kill(pid, signal.SIGKILL)  # an orphan: the test failed, leave no server behind
        served.stop()
