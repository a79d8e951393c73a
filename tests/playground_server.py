"""`chat-recovery playground` as a real process on a free loopback port: its
URL line on stdout is written once the port is bound, so reading it is the wait."""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from service import stop_process


class Playground:
    def __init__(self, *args, cwd=None):
        exe = Path(sys.executable).with_name("chat-recovery")
        self.proc = subprocess.Popen(
            [str(exe), "playground", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.banner = self.proc.stdout.readline().strip()
        found = re.search(r"http://127\.0\.0\.1:\d+/", self.banner)
        if not found:
            self.stop()
            raise RuntimeError(f"playground exited {self.proc.returncode}: {self.banner} {self.proc.stderr.read()}")
        self.url = found.group(0)
        self.client = httpx.Client(base_url=self.url, timeout=300)

    def check(self, **body):
        return self.client.post("/api/check", json=body)

    def stop(self) -> str:
        """Stop it (SIGTERM) and return what it wrote on stderr."""
        stop_process(self.proc)
        return self.proc.stderr.read()
