"""A real 3-master Redis Cluster for the tests: Debian's redis-server with
`--cluster-enabled yes`, on free loopback ports (the client port and the
cluster bus port both chosen free, not port + 10000), each node in its own
temp dir with AOF `appendfsync always`, joined by `redis-cli --cluster
create`. A node can be SIGKILLed and started again on the same port, dir
and nodes.conf: it comes back with its AOF and its slots. Every wait polls
the nodes themselves (INFO / CLUSTER INFO), bounded only to end a hang."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from redis_server import free_port, redis_server_or_skip

HANG = 180  # seconds: ends a hang only; a busy 2-core machine may be slow


def redis_cli_or_skip() -> str:
    exe = shutil.which("redis-cli")
    if exe is None:
        message = "redis-cli is not installed: apt-get install redis-tools (.ci/run does this)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return exe


class ClusterNode:
    def __init__(self, exe: str, directory: str, options=()):
        self.exe, self.dir, self.options = exe, directory, tuple(options)
        self.port, self.bus = free_port(), free_port()
        self.proc: subprocess.Popen | None = None
        os.makedirs(directory, exist_ok=True)

    def start(self) -> "ClusterNode":
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--cluster-port", str(self.bus), "--bind", "127.0.0.1"]
            + ["--dir", self.dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            + ["--cluster-node-timeout", "2000", "--save", "", "--appendonly", "yes", "--appendfsync", "always"]
            + ["--daemonize", "no", "--loglevel", "warning", *self.options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + HANG
        while self.ask("PING") != "PONG":
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"redis-server (cluster node) did not answer on port {self.port}")
            time.sleep(0.05)
        return self

    def ask(self, *command: str) -> str:
        """The node's answer as text ('' when it does not answer)."""
        cli = redis_cli_or_skip()
        done = subprocess.run(
            [cli, "-h", "127.0.0.1", "-p", str(self.port), *command], capture_output=True, text=True, timeout=HANG
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    def info(self, section: str) -> dict:
        return dict(line.split(":", 1) for line in self.ask("INFO", section).splitlines() if ":" in line)

    def keys(self) -> int:
        return int(self.ask("DBSIZE") or 0)

    def slots(self) -> int:
        """How many hash slots this node serves (its own line of CLUSTER NODES)."""
        mine = next(line for line in self.ask("CLUSTER", "NODES").splitlines() if "myself" in line)
        ranges = [r for r in mine.split()[8:] if not r.startswith("[")]  # [slot->-id]: a slot being moved
        return sum(int(b) - int(a) + 1 for a, _, b in (r.partition("-") if "-" in r else (r, "", r) for r in ranges))

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last save; the AOF (fsync always) holds every acknowledged write."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=HANG)
        self.proc = None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=HANG)
        self.proc = None


class RedisCluster:
    def __init__(self, directory, masters: int = 3, options=()):
        """`options`: more redis-server arguments for every node (after the defaults, so they win)."""
        exe = redis_server_or_skip()
        redis_cli_or_skip()
        self.nodes = [ClusterNode(exe, os.path.join(str(directory), f"node-{n}"), options) for n in range(masters)]
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self) -> "RedisCluster":
        for node in self.nodes:
            node.start()
        created = subprocess.run(
            [redis_cli_or_skip(), "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes), "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=HANG,
        )
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout}{created.stderr}")
        self.wait_state("ok")
        return self

    def states(self) -> list[str]:
        said = [dict(line.split(":", 1) for line in n.ask("CLUSTER", "INFO").splitlines() if ":" in line) for n in self.nodes]
        return [s.get("cluster_state", "") for s in said]

    def wait_state(self, state: str, nodes=None) -> None:
        """Until every (running) node says cluster_state:<state>, and, for ok, knows all the masters."""
        deadline = time.monotonic() + HANG
        watched = [n for n in (nodes or self.nodes) if n.proc]
        while True:
            said = [n.ask("CLUSTER", "INFO") for n in watched]
            ok = all(f"cluster_state:{state}" in s for s in said)
            if ok and state == "ok":
                ok = all(f"cluster_known_nodes:{len(self.nodes)}" in s for s in said)
            if ok:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster did not reach cluster_state:{state}: {said}")
            time.sleep(0.05)

    def keys_per_node(self) -> list[int]:
        return [node.keys() for node in self.nodes]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
