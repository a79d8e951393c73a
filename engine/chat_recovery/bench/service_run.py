"""`bench --service`: the real `chat-recovery serve` against the stack's
floor (floor_app.py), driven by the same load (service_load.py), per store
and connection count, in interleaved rounds (floor, service, floor,
service) so a busy minute on a shared machine does not decide the ratio.
Each round gets a fresh process and an empty store, and sends the storm
from its first report, so floor and service do the same work. The floor
runs as many serving processes as `serve` does on that store (read from
`serve`'s own flags and environment: 2 on Redis unless --serve-arg says
otherwise), and each side's count is checked against what it said when it
started. A row whose run failed says why and claims no figure."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..live.redis_urls import redacted
from .service_load import run_load, wrk_path
from .storm import StormSpec, write_ndjson

SIDES = ("floor", "service")
KEY_PATTERNS = ("chat-recovery:*", "chat-recovery-floor:*")  # the service's keys, the floor's
CALIBRATION_REPORTS = 100  # about as many, posted one at a time to the service, to size the floor's documents and answers
VISITOR_ID = re.compile(rb'"visitorId":\s*"([^"\\]*)"')
FLOOR_PIDS = re.compile(r"pids ([\d ]+)\)")  # the floor's line: "...; 2 processes, pids 123 456)"
SERVICE_PROCESSES = re.compile(r"; (\d+) server processes")  # serve's banner with --processes above 1
START_TIMEOUT = 120.0  # seconds for a server to say it listens and is ready: a hang guard on a busy machine


class ServiceBenchError(RuntimeError):
    """The run cannot start: said in one line, no figure claimed."""


@dataclass(frozen=True)
class ServiceBenchSpec:
    stores: tuple[str, ...] = ("embedded", "redis")
    connections: tuple[int, ...] = (8, 32, 128)
    seconds: float = 10.0
    rounds: int = 2
    storm: StormSpec = StormSpec()
    redis_url: str | None = None
    serve_args: tuple[str, ...] = ()
    client: str = "auto"  # wrk when on PATH, else the Python client
    token: str = field(default_factory=lambda: secrets.token_hex(16))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def service_bench(
    spec: ServiceBenchSpec,
    work: Path,
    progress: Callable[[str], None] = lambda text: None,
    processes_for: Callable[[str | None], int] = lambda redis_url: 1,
) -> dict:
    """The table's rows; `processes_for(redis_url)` says how many server
    processes `serve` runs on that store (None: embedded) with the bench's
    flags, and the floor runs as many (the command line reads serve's own
    flags for it: a layer above this one)."""
    client = spec.client if spec.client != "auto" else ("wrk" if wrk_path() else "python")
    if client == "wrk" and wrk_path() is None:
        raise ServiceBenchError("wrk is not on PATH: apt-get install wrk, or --client python")
    storm_file = work / "storm.ndjson"
    with open(storm_file, "w", encoding="utf-8") as out:
        facts = write_ndjson(spec.storm, out)
    started, load_before = datetime.now(UTC), load_average()
    result: dict = {
        "date": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "client": client,
        "storm": {**facts, "bytes": storm_file.stat().st_size},
        "seconds": spec.seconds,
        "rounds": spec.rounds,
        "serveArgs": list(spec.serve_args),
        "stores": {},
        "rows": [],
    }
    redis, url, skipped = None, spec.redis_url, None
    if "redis" in spec.stores and url is None:
        if shutil.which("redis-server") is None:
            skipped = "redis-server is not on PATH (apt-get install redis-server) and no --redis-url was given"
        else:
            redis = LocalRedis(work / "redis").start()
            url = redis.url
    try:
        if "redis" in spec.stores and url:
            _refuse_used(url)
        sizing_url = url if "redis" in spec.stores else None  # on Redis when measured: it gives the document size too
        factors: dict = {}
        failed = None
        if any(store != "redis" or not skipped for store in spec.stores):
            progress(f"sizing the floor's documents and answers on the service ({'redis' if sizing_url else 'embedded'})")
            try:
                factors = calibrate(spec, sizing_url, storm_file, work)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                failed = f"sizing on the service: {exc}"
        for store in spec.stores:
            why = skipped if store == "redis" else None
            if why or failed:
                kind = "skipped" if why else "failed"
                result["rows"] += [{"store": store, "connections": c, kind: why or failed} for c in spec.connections]
                continue
            store_url = url if store == "redis" else None
            # the embedded store holds the document as objects: the floor's dict does too, so no size to match
            sized = factors if store_url else {**factors, "documentSize": [1.0, 1.0]}
            where = (redis.described if redis else redacted(store_url)) if store_url else None
            result["stores"][store] = {"redis": where, **sized}
            processes = processes_for(store_url)
            for connections in spec.connections:
                result["rows"].append(
                    _row(spec, store, store_url, connections, processes, sized, storm_file, client, work, progress)
                )
    finally:
        if redis:
            redis.stop()
    result["loadAverage"] = {"start": load_before, "end": load_average()}
    return result


def _row(spec, store, url, connections, processes, factors, storm_file, client, work, progress) -> dict:
    rounds: dict[str, list] = {side: [] for side in SIDES}
    for number in range(1, spec.rounds + 1):
        for side in SIDES:
            progress(f"{store}, {connections} connections, round {number}: {side}")
            try:
                with Server(side, spec, url, factors, work, processes) as server:
                    rounds[side].append(
                        {
                            "startedAt": round(time.time(), 3),  # the order of the rounds, for anyone to check
                            "load": load_average()[0],
                            **server.processes,
                            **run_load(server.url, spec.token, storm_file, connections, spec.seconds, client),
                        }
                    )
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                failed = f"{side}, round {number}: {exc}"
                return {"store": store, "connections": connections, "processes": processes, "failed": failed}
            finally:
                if url:
                    clear(url)
    row: dict = {"store": store, "connections": connections, "processes": processes}
    for side in SIDES:
        runs = rounds[side]
        ok = sum(r["reportsPerSecond"] * r["seconds"] for r in runs)
        row[side] = {
            "reportsPerSecond": round(ok / sum(r["seconds"] for r in runs), 1),
            "p50Ms": round(sum(r["p50Ms"] for r in runs) / len(runs), 2),
            "p99Ms": round(sum(r["p99Ms"] for r in runs) / len(runs), 2),
            "non2xx": sum(r["non2xx"] for r in runs),
            "repeats": sum(r["repeats"] for r in runs),
            "rounds": runs,
        }
    return row


def serve_flags(spec: ServiceBenchSpec, port: int, redis_url: str | None) -> list[str]:
    """What the bench gives `chat-recovery serve`."""
    store = ["--redis-url", redis_url] if redis_url else []
    return ["--port", str(port), "--token", spec.token, "--log-level", "warning", *store, *spec.serve_args]


class Server:
    """The floor app or `chat-recovery serve` on a free port, as a context:
    ready when entered (its line on stdout, then /readyz 200), stopped (SIGTERM)
    when left. With `processes`, the floor is started as that many, and
    either side that says it serves from another number fails to start."""

    def __init__(
        self, side: str, spec: ServiceBenchSpec, redis_url: str | None, factors: dict, work: Path, processes: int | None = None
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if side == "service":
            argv = [*serve_command(), "serve", *serve_flags(spec, self.port, redis_url)]
        else:
            argv = [sys.executable, "-m", "chat_recovery.bench.floor_app", "--port", str(self.port), "--token", spec.token]
            sizes = [
                "--document-size",
                "{},{}".format(*factors["documentSize"]),
                "--answer-size",
                "{},{}".format(*factors["answerSize"]),
            ]
            argv += [*(["--redis-url", redis_url] if redis_url else []), *sizes, "--processes", str(processes or 1)]
        self.side, self.argv, self.log = side, argv, work / f"{side}.log"
        self.expected = processes
        self.processes: dict = {}  # what it said it serves from: {"processes": N} (the floor: and "pids")

    def __enter__(self) -> Server:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode(errors="replace")  # the line written once the port is bound
        if not line:
            self.proc.wait(START_TIMEOUT)
            raise RuntimeError(f"{self.side} exited {self.proc.returncode}: {self._last_words()}")
        self.processes = self._serving_from(line)
        if self.expected is not None and self.processes["processes"] != self.expected:
            said = self.processes["processes"]
            raise RuntimeError(f"{self.side} serves from {said} processes, not {self.expected}: {line.strip()}")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            status = _get(self.port, "/readyz")
            if status == 200:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{self.side} was not ready (exit {self.proc.poll()}): {self._last_words()}")

    def _serving_from(self, line: str) -> dict:
        """How many processes the side said it serves from; the floor names
        their pids, each checked to be the floor or its child (where /proc says)."""
        if self.side == "service":
            found = SERVICE_PROCESSES.search(line)
            return {"processes": int(found.group(1)) if found else 1}
        found = FLOOR_PIDS.search(line)
        pids = [int(pid) for pid in found.group(1).split()] if found else []
        strangers = [pid for pid in pids if pid != self.proc.pid and _parent(pid) not in (None, self.proc.pid)]
        if not pids or strangers:
            raise RuntimeError(f"the floor's processes are not its own ({strangers or 'none named'}): {line.strip()}")
        return {"processes": len(pids), "pids": pids}

    def _last_words(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return lines[-1][:300] if lines else "no output"

    def __exit__(self, *exc: object) -> None:
        _stop(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()


def _parent(pid: int) -> int | None:
    """The parent of `pid` as /proc says (-1: gone); None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1 if Path("/proc/self").exists() else None
    return int(stat.rsplit(")", 1)[1].split()[1])


def serve_command() -> list[str]:
    """`chat-recovery` as users run it: the console script beside this Python, else on PATH."""
    beside = Path(sys.executable).with_name("chat-recovery")
    found = str(beside) if beside.exists() else shutil.which("chat-recovery")
    return [found] if found else [sys.executable, "-c", "from chat_recovery.tool import entry; entry()"]


def _get(port: int, path: str) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def calibrate(spec: ServiceBenchSpec, url: str | None, storm_file: Path, work: Path) -> dict:
    """How large the service's answers and stored documents are: the first
    reports of the storm posted one at a time to a real `serve`, each
    answer's bytes read, and with Redis the visitor's key's STRLEN after it;
    then A and B fitted (least squares) in A x the visitor's largest report
    + B x its other reports' bytes."""
    lines = sizing_reports(storm_file)
    total: dict[str, int] = {}
    largest: dict[str, int] = {}
    seen: list[tuple[int, int, int, int]] = []  # (largest, the rest, answer bytes, stored bytes)
    store = _redis_client(url) if url else None
    try:
        with Server("service", spec, url, {}, work) as server:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            headers = {"Authorization": f"Bearer {spec.token}", "Content-Type": "application/json"}
            for line in lines:
                visitor = _visitor_id(line)
                total[visitor] = total.get(visitor, 0) + len(line)
                largest[visitor] = max(largest.get(visitor, 0), len(line))
                conn.request("POST", "/v1/reports", body=line, headers=headers)
                answer = conn.getresponse()
                body = answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"serve answered {answer.status} to a storm report: {body[:300]!r}")
                stored = _stored(store, visitor) if store else 0
                seen.append((largest[visitor], total[visitor] - largest[visitor], len(body), stored))
            conn.close()
    finally:
        if store:
            store.close()
    if url:
        clear(url)
    sized = {"answerSize": fit(seen, 2), "documentSize": fit(seen, 3) if url else [1.0, 1.0], "sizedOn": len(lines)}
    return sized


def sizing_reports(storm_file: Path) -> list[bytes]:
    """Every report of the storm's first visitors, in arrival order, about
    CALIBRATION_REPORTS in all: whole histories, so that a visitor's later
    reports are sized too (the storm's first reports are nearly all first ones)."""
    chosen: set[bytes] = set()
    picked: list[bytes] = []
    with open(storm_file, "rb") as lines:
        for line in lines:
            found = VISITOR_ID.search(line)  # a regular expression: parsing 100 MB of storm took 5 s
            visitor = found.group(1) if found else b""
            if visitor not in chosen and len(picked) < CALIBRATION_REPORTS // 2:
                chosen.add(visitor)
            if visitor in chosen:
                picked.append(line.rstrip(b"\n"))
    return [line for line in picked if _visitor_id(line).encode() in chosen]  # the JSON's own word


def fit(seen: list[tuple[int, int, int, int]], column: int) -> list[float]:
    """[A, B] >= 0 that best give seen[i][column] as A x seen[i][0] + B x seen[i][1]."""
    s11 = sum(r[0] * r[0] for r in seen)
    s22 = sum(r[1] * r[1] for r in seen)
    s12 = sum(r[0] * r[1] for r in seen)
    s1y = sum(r[0] * r[column] for r in seen)
    s2y = sum(r[1] * r[column] for r in seen)
    det = s11 * s22 - s12 * s12
    a, b = ((s1y * s22 - s2y * s12) / det, (s2y * s11 - s1y * s12) / det) if det else (s1y / s11, 0.0)
    if b < 0 or a < 0:  # the rest adds nothing (or the largest nothing): one coefficient, fitted alone
        a, b = (s1y / s11, 0.0) if b < 0 else (0.0, s2y / s22)
    return [round(a, 3), round(b, 3)]


def _stored(store, visitor: str) -> int:
    """The bytes the service holds for `visitor` (its key, as live/redis_store.py names it)."""
    import redis

    try:
        return int(store.strlen(f"chat-recovery:{{{visitor}}}"))
    except redis.RedisError as exc:
        raise RuntimeError(f"reading the service's document of {visitor}: {exc}") from None


def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url)


def _visitor_id(line: bytes) -> str:
    import json

    return str(json.loads(line)["visitorId"])


def _refuse_used(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        for pattern in KEY_PATTERNS:
            if next(client.scan_iter(match=pattern, count=1000), None) is not None:
                raise ServiceBenchError(
                    f"the Redis at {redacted(url)} already holds keys {pattern}: bench --service deletes them "
                    "between rounds, so give it a Redis (or a database, /N) of its own"
                )
    except redis.RedisError as exc:
        raise ServiceBenchError(f"the Redis at {redacted(url)} does not answer: {exc}") from None
    finally:
        client.close()


def clear(url: str) -> None:
    """An empty store for the next round: the keys the service and the floor wrote."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        _delete(client)
    except redis.RedisError as exc:
        raise RuntimeError(f"emptying the Redis at {redacted(url)} for the next run: {exc}") from None
    finally:
        client.close()


def _delete(client) -> None:
    for pattern in KEY_PATTERNS:
        batch = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)


class LocalRedis:
    """`redis-server` from PATH on a free loopback port, in its own folder,
    keeping nothing on disk (the bench measures the service, not the disk)."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
        number = next((w.removeprefix("v=") for w in version if w.startswith("v=")), "?")
        self.described = f"redis-server {number} on a free loopback port, no persistence (--save '' --appendonly no)"

    def start(self) -> LocalRedis:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        argv += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
            if self.proc.poll() is not None:
                break
        self.stop()
        raise ServiceBenchError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        _stop(self.proc)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM, 30 s to leave, then SIGKILL; reaped either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
