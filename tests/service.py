"""`chat-recovery serve` as a real uvicorn process on a free loopback port."""
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from redis_server import free_port

TOKEN = "s3cret-token"


class Served:
    def __init__(self, *args, env=None, token=TOKEN):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("chat-recovery")
        argv = [str(exe), "serve", "--port", str(self.port), *args]
        if token:
            argv += ["--token", token]
        self.token = token
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self.banner = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited {self.proc.returncode}: {self.proc.stderr.read()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError("serve did not answer within a minute")
        self.banner = self.proc.stdout.readline().strip()
        self.client = httpx.Client(base_url=self.url, timeout=60,
                                   headers={"Authorization": f"Bearer {token}"} if token else {})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
