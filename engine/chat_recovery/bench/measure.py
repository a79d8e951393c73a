"""One engine measured on one storm file, end to end, in a process of its
own (so its peak memory is its own and no engine warms another's caches):
read and parse each report, validate it, merge it, replay the chat and
render the recovery, write the recovery as one JSON line.

    python -m chat_recovery.bench.measure ENGINE STORM.ndjson OUT.ndjson NOW

prints the figures as one JSON object.

    python -m chat_recovery.bench.measure floor STORM.ndjson OUT.ndjson NOW RECOVERIES.ndjson

measures the storm's I/O floor instead: orjson's parse of every line and
write of every recovery (an engine's, read before the clock starts), and
nothing else: what any engine must at least spend on the same bytes."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable

from ..jsonio import dumps_text, loads
from ..replay.engines import ENGINES as TABLE

STAGES = ("read", "validate", "merge", "replay", "write")
REFERENCE = "reference"  # the hand-written reference merge, measured beside the engines
FLOOR = "floor"  # the I/O floor: parse every line, write every recovery, nothing between
ENGINES = (*TABLE, REFERENCE)


def available() -> tuple[str, ...]:
    """The engines this Python can run (durable_rules does not import on 3.13+)."""
    return tuple(e for e in ENGINES if e == REFERENCE or TABLE[e].available())


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _read(path: str, spent: dict) -> dict:
    """Reports grouped by visitor (arrival order within each), each with the
    time its parse took, so a visitor's latency includes its own reading."""
    groups: dict = {}
    clock = time.perf_counter
    with open(path, "rb") as handle:
        for line in handle:
            start = clock()
            report = loads(line)
            took = clock() - start
            spent["read"] += took
            groups.setdefault(report["visitorId"], []).append((report, took))
    return groups


def _engine_steps(name: str, now: str) -> tuple[Callable, Callable, Callable]:
    """validate(report), merge(held, report, seq), render(held) for a
    policy engine: the stages of `api.recover`, called one by one."""
    from ..api import load_policy
    from ..recovery.fold import fold
    from ..recovery.render import render
    from ..recovery.reports import check
    from ..replay import engine_for

    policy = load_policy()
    engine = engine_for(policy, name)
    return (
        (lambda report: check(policy, report, owned=True)),  # parsed from its line, as `recover --batch` does
        (lambda held, checked, seq: fold(policy, held, checked, now)),
        (lambda held: render(policy, held, engine)),
    )


def _reference_steps(now: str) -> tuple[Callable, Callable, Callable]:
    from . import reference
    from .reference_check import check

    def merge(held, report, seq):
        held = held or reference.Visitor(report["visitorId"])
        held.add(report, seq)
        return held

    def checked(report):
        check(report)
        return report

    return checked, merge, (lambda held: reference.render(held, now))


def measure(engine: str, storm_path: str, out_path: str, now: str) -> dict:
    started = time.perf_counter()
    validate, merge, render = _reference_steps(now) if engine == REFERENCE else _engine_steps(engine, now)
    loaded = time.perf_counter() - started
    base_mb = _peak_mb()
    spent = dict.fromkeys(STAGES, 0.0)
    clock = time.perf_counter
    wall = clock()
    groups = _read(storm_path, spent)
    latencies = []
    with open(out_path, "w", encoding="utf-8") as out:
        for reports in groups.values():
            t0 = clock()
            checked = []
            for report, _ in reports:
                checked.append(validate(report))
            t1 = clock()
            held = None
            for seq, report in enumerate(checked):
                held = merge(held, report, seq)
            t2 = clock()
            recovery = render(held)
            t3 = clock()
            out.write(dumps_text(recovery) + "\n")
            t4 = clock()
            spent["validate"] += t1 - t0
            spent["merge"] += t2 - t1
            spent["replay"] += t3 - t2
            spent["write"] += t4 - t3
            latencies.append(t4 - t0 + sum(took for _, took in reports))
    return _figures(engine, groups, spent, clock() - wall, loaded, latencies, base_mb)


def measure_floor(storm_path: str, out_path: str, recoveries_path: str) -> dict:
    """The storm's I/O floor: each line parsed by orjson, grouped by visitor
    as the engines group it, and each visitor's recovery (read untimed from
    `recoveries_path`, in the order the engines write them) written by
    orjson as one line. Only `read` and `write` are timed."""
    import orjson

    with open(recoveries_path, "rb") as handle:
        recoveries = [orjson.loads(line) for line in handle]
    base_mb = _peak_mb()
    spent = dict.fromkeys(STAGES, 0.0)
    clock, loads, dumps, newline = time.perf_counter, orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE
    wall = clock()
    groups: dict = {}
    with open(storm_path, "rb") as handle:
        for line in handle:
            start = clock()
            report = loads(line)
            took = clock() - start
            spent["read"] += took
            groups.setdefault(report["visitorId"], []).append(took)
    if len(groups) != len(recoveries):
        raise ValueError(f"{len(recoveries)} recoveries for {len(groups)} visitors: not this storm's")
    latencies = []
    with open(out_path, "wb") as out:
        for took, recovery in zip(groups.values(), recoveries):
            t0 = clock()
            out.write(dumps(recovery, option=newline))
            t1 = clock()
            spent["write"] += t1 - t0
            latencies.append(t1 - t0 + sum(took))
    return _figures(FLOOR, groups, spent, clock() - wall, 0.0, latencies, base_mb)


def _figures(engine: str, groups: dict, spent: dict, wall: float, loaded: float, latencies: list, base_mb: float) -> dict:
    """One engine's (or the floor's) line of the table, as `bench` reads it."""
    latencies.sort()
    total = sum(spent.values())
    return {
        "engine": engine,
        "visitors": len(groups),
        "reports": sum(len(g) for g in groups.values()),
        "seconds": round(total, 4),
        "wallSeconds": round(wall, 4),
        "loadSeconds": round(loaded, 4),
        "recoveriesPerSecond": round(len(groups) / total, 1) if total else None,
        "latencyMs": {
            "p50": round(_quantile(latencies, 0.50) * 1000, 3),
            "p99": round(_quantile(latencies, 0.99) * 1000, 3),
            "max": round(latencies[-1] * 1000, 3) if latencies else 0.0,
        },
        "stageSeconds": {k: round(v, 4) for k, v in spent.items()},
        "peakRssMB": round(_peak_mb(), 1),
        "rssGrowthMB": round(_peak_mb() - base_mb, 1),
    }


def _quantile(ordered: list, q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str]) -> int:
    if argv[0] == FLOOR:
        _, storm_path, out_path, _now, recoveries_path = argv
        print(dumps_text(measure_floor(storm_path, out_path, recoveries_path)))
        return 0
    engine, storm_path, out_path, now = argv
    print(dumps_text(measure(engine, storm_path, out_path, now)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
