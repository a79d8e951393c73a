"""A real redis-server for the tests, on a free loopback port in a temp dir.
It can be stopped and started again on the same port (with its append-only
file, so what was written survives, as on a production node)."""

import os
import shutil
import socket
import subprocess
import time

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server_or_skip() -> str:
    exe = shutil.which("redis-server")
    if exe is None:
        message = "redis-server is not installed: apt-get install redis-server (.ci/run does this)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must not pass by skipping
        pytest.skip(message)
    return exe


class RedisServer:
    def __init__(self, directory, password=None, options=()):
        """`password`: the server requires it (requirepass), and `url` carries it.
        `options`: more redis-server arguments, after the defaults (so they win:
        `("--appendonly", "no")` keeps nothing on disk)."""
        self.exe = redis_server_or_skip()
        self.dir = str(directory)
        self.port = free_port()
        self.password = password
        self.url = f"redis://{f':{password}@' if password else ''}127.0.0.1:{self.port}/0"
        self.options = tuple(options)
        self.proc = None

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            [
                self.exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.dir,
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
                *(["--requirepass", self.password] if self.password else []),
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120  # ends a hang only: a busy machine may be slow to start it
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")  # without the password: -NOAUTH, from a server that answers
                    if s.recv(16).startswith((b"+PONG", b"-NOAUTH")):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=300)
        self.proc = None
