"""The batch targets, measured: `recover --batch` on a storm of many
visitors, each --jobs value in its own process tree and in interleaved
rounds, with the peak memory of the whole tree (parent and workers
together) and the machine's parallel ceiling beside each speed-up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

from .parallel_ceiling import ceiling
from .storm import CHUNK, StormSpec, write_ndjson

RUN_BATCH = ("import sys; from chat_recovery.cli import main; sys.exit(main(sys.argv[1:]))",)


def write_big_storm(spec: StormSpec, path: Path, chunk: int = CHUNK) -> dict:
    """N visitors as NDJSON in a file (`storm.write_ndjson`), and what it holds."""
    with open(path, "w", encoding="utf-8") as out:
        facts = write_ndjson(spec, out, chunk)
    return {**facts, "megabytes": round(path.stat().st_size / 1e6, 1)}


def _tree(pid: int) -> list[int]:
    """pid and every descendant (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        one = todo.pop()
        out.append(one)
        todo.extend(children.get(one, ()))
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory:
    """Samples the summed PSS of a process tree (each page shared by the
    workers counted once across them) until stopped; PSS is None where
    /proc has no smaps_rollup (not Linux)."""

    def __init__(self, pid: int, every: float = 0.5):
        self.pid, self.every, self.peak_kb = pid, every, 0
        self.supported = os.path.exists(f"/proc/{os.getpid()}/smaps_rollup")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in _tree(self.pid)))
            self._stop.wait(self.every)

    def __enter__(self) -> TreeMemory:
        if self.supported:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.supported:
            self._thread.join()

    @property
    def peak_mb(self) -> float | None:
        return round(self.peak_kb / 1024, 1) if self.supported else None


def run_batch(storm_path: Path, out_path: Path, jobs: int, now: str) -> dict:
    argv = [
        sys.executable,
        "-c",
        *RUN_BATCH,
        "recover",
        "--batch",
        str(storm_path),
        "--jobs",
        str(jobs),
        "--now",
        now,
        "--out",
        str(out_path),
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with TreeMemory(proc.pid) as memory:
        _, err = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"recover --batch --jobs {jobs} failed (exit {proc.returncode}): {err.strip()[-400:]}")
    return {"jobs": jobs, "seconds": round(seconds, 2), "peakTreePssMB": memory.peak_mb, "summary": err.strip().splitlines()[-1]}


def batch_bench(
    spec: StormSpec, jobs: tuple[int, ...], workdir: Path, repeat: int = 3, progress: Callable[[str], object] = lambda text: None
) -> dict:
    """Each --jobs value on one storm, `repeat` rounds with the values
    interleaved (a neighbour that slows one round slows every value in it),
    and this machine's parallel ceiling measured in each round. Speed-ups are
    against the first value: best against best, and the median of the
    rounds' own ratios. Every run must write the first run's recoveries."""
    storm_path = workdir / "batch-storm.ndjson"
    progress(f"writing a storm of {spec.visitors} visitors ...")
    facts = write_big_storm(spec, storm_path)
    rounds: list[dict[int, dict]] = []
    ceilings: list[dict[int, float]] = []
    first_out, same = workdir / "batch-out-first.ndjson", True
    try:
        for number in range(1, repeat + 1):
            runs: dict[int, dict] = {}
            for n in jobs:
                progress(f"round {number} of {repeat}: recover --batch --jobs {n} ...")
                first = not rounds and not runs  # its output is the one every other run must equal
                out_path = first_out if first else workdir / "batch-out.ndjson"
                runs[n] = run_batch(storm_path, out_path, n, spec.now)
                if not first:
                    same = same and _same_file(first_out, out_path)
                    out_path.unlink()
            rounds.append(runs)
            progress(f"round {number} of {repeat}: this machine's parallel ceiling ...")
            ceilings.append({n: ceiling(n) for n in jobs})
    finally:
        for path in (storm_path, first_out):
            path.unlink(missing_ok=True)
    return {
        "storm": facts,
        "repeat": repeat,
        "runs": [_summarize(n, jobs[0], rounds, ceilings, spec.visitors) for n in jobs],
        "identicalOutputs": same,
    }


def _summarize(n: int, base: int, rounds: list[dict[int, dict]], ceilings: list[dict[int, float]], visitors: int) -> dict:
    seconds = [r[n]["seconds"] for r in rounds]
    best, best_base = min(seconds), min(r[base]["seconds"] for r in rounds)
    return {
        "jobs": n,
        "seconds": best,
        "medianSeconds": round(median(seconds), 2),
        "roundSeconds": seconds,
        "recoveriesPerSecond": round(visitors / best, 1),
        "speedup": round(best_base / best, 2),
        "medianSpeedup": round(median(r[base]["seconds"] / r[n]["seconds"] for r in rounds), 2),
        "ceiling": round(median(c[n] / c[base] for c in ceilings), 2),
        "peakTreePssMB": None if rounds[0][n]["peakTreePssMB"] is None else max(r[n]["peakTreePssMB"] for r in rounds),
        "summary": rounds[0][n]["summary"],
    }


def _same_file(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True
