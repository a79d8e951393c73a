"""`chat-recovery serve` as a real uvicorn process on a free loopback port."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from redis_server import free_port

TOKEN = "s3cret-token"


def serve_refused(args, env):
    """`chat-recovery serve ARGS` with only `env` of the CHAT_RECOVERY_ variables,
    for settings that stop it before it starts: the finished process."""
    exe = Path(sys.executable).with_name("chat-recovery")
    return subprocess.run(
        [str(exe), "serve", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in {**os.environ, **env}.items() if not k.startswith("CHAT_RECOVERY_") or k in env},
    )


def stop_process(proc):
    """SIGTERM, then SIGKILL if it has not left within 20 s (a hang, not a wait)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Served:
    """The banner on stdout is written once the port is bound, so reading it
    is the wait; stderr (the log) is read by a thread, line by line."""

    def __init__(self, *args, env=None, token=TOKEN):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("chat-recovery")
        argv = [str(exe), "serve", "--port", str(self.port), *args]
        if token:
            argv += ["--token", token]
        self.token = token
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
        )
        self.log = []
        self._logged = threading.Condition()
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        self.banner = self.proc.stdout.readline().strip()
        if not self.banner:
            self.proc.wait(300)
            self._reader.join(300)
            raise RuntimeError(f"serve exited {self.proc.returncode}: {''.join(l for l in self.log if l)}")
        self.client = httpx.Client(base_url=self.url, timeout=300, headers={"Authorization": f"Bearer {token}"} if token else {})

    def _read_log(self):
        for line in self.proc.stderr:
            with self._logged:
                self.log.append(line)
                self._logged.notify_all()
        with self._logged:
            self.log.append(None)  # end of the log: the process closed stderr
            self._logged.notify_all()

    def wait_log(self, wanted):
        """The first log line for which `wanted(line)` is true (None if the
        log ended without one)."""
        with self._logged:
            self._logged.wait_for(lambda: any(l is None or wanted(l) for l in self.log), timeout=300)
            return next((l for l in self.log if l is None or wanted(l)), None)

    def stop(self):
        stop_process(self.proc)
        self._reader.join(20)
