"""A benchmark run: write the storm as NDJSON once, measure each engine on
it in a fresh process, then the storm's I/O floor (orjson parse of every
line, write of every recovery, nothing else), and set each engine's time
beside the reference's and the floor's from the same run."""

from __future__ import annotations

import json  # stdlib for the storm it writes: spaced, as `bench storm` writes it
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..jsonio import loads
from .measure import FLOOR
from .storm import StormSpec, storm


class BenchError(Exception):
    """An engine failed under measurement; the message says which and why."""


def machine() -> dict:
    """What the figures depend on: cores, load when the run began, Python."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    info = {
        "cores": os.cpu_count(),
        "load1": round(load, 2) if load is not None else None,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    from importlib.metadata import PackageNotFoundError, version

    try:
        info["durableRules"] = version("durable-rules")
    except PackageNotFoundError:  # not installed on this Python
        info["durableRules"] = None
    return info


def write_storm(spec: StormSpec, path: Path) -> dict:
    """The storm as one report a line, in arrival order, and what it holds."""
    started = time.perf_counter()
    reports = storm(spec)
    generated = time.perf_counter() - started
    chats, messages = set(), 0
    with open(path, "w", encoding="utf-8") as out:
        for report in reports:
            chat = report.get("chat")
            if chat:
                chats.add(chat["id"])
                messages += len(chat.get("messages") or ())
            out.write(json.dumps(report, ensure_ascii=False) + "\n")
    return {
        "visitors": spec.visitors,
        "seed": spec.seed,
        "messagesPerChat": list(spec.messages),
        "agentsPerChat": list(spec.agents),
        "chats": len(chats),
        "reports": len(reports),
        "messagesInReports": messages,
        "megabytes": round(path.stat().st_size / 1e6, 1),
        "generateSeconds": round(generated, 2),
        "now": spec.now,
    }


def measure_engine(engine: str, storm_path: Path, out_path: Path, now: str, *more: str) -> dict:
    """One engine (or the floor, with the recoveries it writes as `more`) in
    a fresh interpreter; its recoveries go to `out_path`."""
    done = subprocess.run(
        [sys.executable, "-m", "chat_recovery.bench.measure", engine, str(storm_path), str(out_path), now, *more],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise BenchError(f"engine '{engine}' failed (exit {done.returncode}):\n{tail}")
    return loads(done.stdout)


def bench(spec: StormSpec, engines: tuple[str, ...], workdir: Path, progress=None) -> dict:
    """Every engine on one storm, then the storm's I/O floor writing the
    first engine's recoveries; each with its time as a ratio to the
    reference's (when the reference ran) and to the floor's."""
    storm_path = workdir / f"storm-{spec.visitors}-{spec.messages[0]}-{spec.messages[1]}.ndjson"
    facts = write_storm(spec, storm_path)
    results = []
    kept = workdir / "recoveries-for-the-floor.ndjson"  # the first engine's: what the floor writes
    try:
        for engine in engines:
            if progress:
                progress(f"measuring {engine} on {spec.visitors} visitors ...")
            out_path = workdir / f"recoveries-{engine}.ndjson"
            try:
                results.append(measure_engine(engine, storm_path, out_path, spec.now))
                if not kept.exists():
                    out_path.rename(kept)
            finally:
                out_path.unlink(missing_ok=True)
        if progress:
            progress(f"measuring the I/O floor on {spec.visitors} visitors ...")
        out_path = workdir / "recoveries-floor.ndjson"
        try:
            floor = measure_engine(FLOOR, storm_path, out_path, spec.now, str(kept))
        finally:
            out_path.unlink(missing_ok=True)
    finally:
        storm_path.unlink(missing_ok=True)
        kept.unlink(missing_ok=True)
    reference: dict | None = next((r for r in results if r["engine"] == "reference"), None)
    for result in (*results, floor):
        result["xReference"] = _ratio(result, reference)
        result["xFloor"] = _ratio(result, floor)
        messages = facts["messagesInReports"]
        result["usPerVisitor"] = round(result["seconds"] / facts["visitors"] * 1e6, 1)
        result["usPerReportedMessage"] = round(result["seconds"] / messages * 1e6, 2) if messages else None
    return {"storm": facts, "engines": results, "floor": floor}


def _ratio(result: dict, base: dict | None) -> float | None:
    """`result`'s time over `base`'s, rounded as the table shows it."""
    return round(result["seconds"] / base["seconds"], 2) if base and base["seconds"] else None


def sizes(spec: StormSpec) -> list[StormSpec]:
    """Three visitor counts at the default log size, then three log sizes:
    the cost should grow linearly with visitors, and about n log n with
    the messages of a chat."""
    third = replace(spec, visitors=max(1, spec.visitors // 3))
    return [
        replace(spec, visitors=max(1, spec.visitors // 10)),
        third,
        spec,  # visitors grow
        replace(third, messages=(10, 30)),
        replace(third, messages=(40, 120)),
    ]  # with `third`: logs grow
