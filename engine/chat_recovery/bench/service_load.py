"""One load run for `bench --service`: the storm's reports POSTed to
/v1/reports, one a request, in the storm's order, over C keep-alive
connections for S seconds; each report once while the storm lasts, then
again from the start (counted as repeats). Two drivers, the same result
shape: `wrk` with a Lua script when it is on PATH (it costs the 2 cores
least), else a bounded asyncio client (a fixed request list, a deadline,
a timeout per request)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path

REQUEST_TIMEOUT = 30.0  # seconds: past the service's --deadline (10 s), so a slow answer is measured, not dropped

# One wrk thread cycles through the storm's lines; done() prints one JSON line.
WRK_SCRIPT = r"""
local lines, i, n = {}, 0, 0
statuses = {}  -- a global: done() reads it from each thread
local headers = {["Content-Type"] = "application/json", ["Authorization"] = os.getenv("BENCH_AUTH")}
function init(args)
  for line in io.lines(os.getenv("BENCH_STORM")) do
    n = n + 1
    lines[n] = wrk.format("POST", "/v1/reports", headers, line)
  end
end
function request()
  i = i + 1
  return lines[(i - 1) % n + 1]
end
function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("statuses")) do
      counts[tostring(code)] = (counts[tostring(code)] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(counts) do table.insert(parts, string.format('"%s": %d', code, count)) end
  io.write(string.format(
    'WRK-RESULT {"requests": %d, "seconds": %.3f, "p50": %.3f, "p99": %.3f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    table.concat(parts, ", ")))
end
"""


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_load(url: str, token: str, storm: Path, connections: int, seconds: float, driver: str) -> dict:
    """{driver, requests, seconds, reportsPerSecond (2xx only), p50Ms, p99Ms,
    statuses, non2xx, errors, repeats}; raises RuntimeError when the run failed."""
    if driver == "wrk":
        return _wrk(url, token, storm, connections, seconds)
    return asyncio.run(_python(url, token, storm, connections, seconds))


def _result(driver: str, requests: int, seconds: float, p50: float, p99: float, statuses: dict, errors: int, lines: int) -> dict:
    ok = sum(count for code, count in statuses.items() if code.startswith("2"))
    return {
        "driver": driver,
        "requests": requests,
        "seconds": round(seconds, 3),
        "reportsPerSecond": round(ok / seconds, 1) if seconds > 0 else 0.0,
        "p50Ms": round(p50, 2),
        "p99Ms": round(p99, 2),
        "statuses": dict(sorted(statuses.items())),
        "non2xx": requests - ok,  # answered otherwise, or not at all (errors)
        "errors": errors,
        "repeats": max(0, requests - lines),
    }


def _wrk(url: str, token: str, storm: Path, connections: int, seconds: float) -> dict:
    script = storm.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    argv = [
        wrk_path() or "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={int(REQUEST_TIMEOUT)}s",
        "-s",
        str(script),
        url,
    ]
    env = {"BENCH_STORM": str(storm), "BENCH_AUTH": f"Bearer {token}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 120)
    line = next((text for text in done.stdout.splitlines() if text.startswith("WRK-RESULT ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk exited {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}")
    raw = json.loads(line.removeprefix("WRK-RESULT "))
    errors = sum(raw["errors"].values())
    lines = sum(1 for _ in storm.open("rb"))
    return _result("wrk", raw["requests"], raw["seconds"], raw["p50"], raw["p99"], raw["statuses"], errors, lines)


async def _python(url: str, token: str, storm: Path, connections: int, seconds: float) -> dict:
    host, _, port = url.removeprefix("http://").partition(":")
    bodies = storm.read_bytes().splitlines()
    head = f"POST /v1/reports HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    requests = [head.encode() + b"Content-Length: %d\r\n\r\n" % len(b) + b for b in bodies]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    counter = iter(range(10**12))
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def one_connection() -> None:
        nonlocal errors
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while time.perf_counter() < deadline:
            request = requests[next(counter) % len(requests)]
            try:
                if reader is None or writer is None:
                    reader, writer = await asyncio.open_connection(host, int(port))
                sent = time.perf_counter()
                writer.write(request)
                status, close = await asyncio.wait_for(_answer(reader), REQUEST_TIMEOUT)
                latencies.append(time.perf_counter() - sent)
                statuses[status] = statuses.get(status, 0) + 1
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                close = True
            if close and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    took = time.perf_counter() - started
    latencies.sort()

    def quantile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    return _result("python", len(latencies) + errors, took, quantile(0.5), quantile(0.99), statuses, errors, len(bodies))


async def _answer(reader: asyncio.StreamReader) -> tuple[str, bool]:
    """The status of one HTTP/1.1 answer, its body read; whether the server closes."""
    status = (await reader.readuntil(b"\r\n")).split(b" ", 2)[1].decode()
    length, close = 0, False
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    await reader.readexactly(length)
    return status, close
