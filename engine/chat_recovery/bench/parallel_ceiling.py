"""The speed-up this machine gives N processes right now: the same
pure-Python work done N times in one process, then once in each of N
processes at the same time. On a shared machine the neighbours take cores
(or slow ours) from one minute to the next, so a `--jobs N` speed-up is
read against this figure, measured in the same minute, as well as against N."""

from __future__ import annotations

import multiprocessing
import time

from ..batch.workers import pool_start_method

UNIT = 600_000  # steps of work a unit: about a quarter of a second of CPU on the 2-core machine


def _spin(units: int) -> None:
    """Dictionary and string work, as a recovery does; no I/O, no sharing."""
    for _ in range(units):
        counts: dict[str, int] = {}
        for i in range(UNIT):
            key = f"k{i % 4096}"
            counts[key] = counts.get(key, 0) + i


def _wall(units_each: list[int]) -> float:
    """Seconds from starting one process per entry (each doing that many
    units) until the last has finished."""
    context = multiprocessing.get_context(pool_start_method())  # processes started as --jobs starts them
    started = time.perf_counter()
    workers = [context.Process(target=_spin, args=(units,)) for units in units_each]  # type: ignore[attr-defined]  # typeshed: BaseContext
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


def ceiling(processes: int) -> float:
    """How much faster N processes finish N units than one process does:
    N on N idle cores, less when the machine is shared."""
    if processes <= 1:
        return 1.0
    alone = _wall([processes])
    together = _wall([1] * processes)
    return alone / together
