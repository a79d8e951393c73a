"""Worker processes for `recover --batch --jobs N`: chunks of visitors out,
their outcomes back in chunk order, and a worker that dies survived.

Not multiprocessing.Pool, for two measured reasons. Its worker-handler thread
waits on the result pipe too, so it spins while results are read: a third of
a second of CPU per 10,000 visitors, taken from the workers on two cores. And
a worker that dies (durable_rules is a C extension with known segfaults)
takes its task with it: the run waited forever. Here the parent's one thread
hands each idle worker one chunk, reads answers as they come and yields them
in order. A chunk whose worker died runs again one visitor at a time, then on
the compiled engine; a visitor that kills that too is said as not recovered."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from ..diagnostics import RecoveryError
from ..processes import Worker
from ..replay import FALLBACK_ENGINE

ATTEMPTS = 3  # a visitor's tries: in its chunk, alone, alone on the fallback engine
# Deaths in a row with no answer between them after which the workers are
# taken to be unable to run at all: more than two visitors' every attempt at
# once, and one for each worker (all of them may die together).
GIVE_UP = 2 * ATTEMPTS
STOP_WAIT = 5.0  # seconds a worker is given to leave after the last chunk


class WorkersFailed(RecoveryError):
    """Worker processes kept dying before they answered anything."""


def pool_start_method() -> str:
    """Fork where the system has it: workers then start with the parent's memory, policy included."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _chunk_step(start: Callable, args: tuple) -> Callable:
    """In the worker: make the recoverer once; each message is a chunk and the engine to run it on."""
    recoverer = start(*args)
    return lambda message: recoverer.recover_chunk(*message)


@dataclass
class _Task:
    number: int  # the chunk's place in the output
    part: int | None  # None: the whole chunk; i: its i-th visitor alone, after a crash
    items: list  # (visitor, entries) pairs
    attempt: int = 0

    @property
    def engine(self) -> str | None:
        return FALLBACK_ENGINE if self.attempt == ATTEMPTS - 1 else None  # None: the run's own engine


class _Worker(Worker):
    """A worker and the task it is on. Ctrl-C and SIGTERM are the run's to
    handle (`parent_stops`): it ends its workers and says what was written."""

    def __init__(self, context, start: Callable, args: tuple):
        super().__init__(context, _chunk_step, (start, args), name="chat-recovery-batch", parent_stops=True)
        self.task: _Task | None = None

    def give(self, task: _Task) -> None:
        """Only an idle worker is given a task, so it is reading when the
        parent writes and the parent reads when it writes: no deadlock
        whatever the size of a chunk or of its answer."""
        self.task = task
        self.send((task.items, task.engine))


class _Slot:
    """One chunk's outcomes as they come back, whole or one visitor at a time."""

    def __init__(self, size: int):
        self.outcomes: list = [None] * size
        self.missing = size

    def fill(self, task: _Task, outcomes: list) -> None:
        start = 0 if task.part is None else task.part
        for offset, outcome in enumerate(outcomes):
            self.outcomes[start + offset] = outcome
        self.missing -= len(outcomes)


def ordered(
    chunks: Iterable[list],
    jobs: int,
    method: str,
    start: Callable,
    args: tuple,
    lost: Callable[[str, list, str], object],
    window: int | None = None,
) -> Iterator[list]:
    """Each chunk's outcomes, in chunk order, recovered by `jobs` processes
    that each run `start(*args)` once (a module-level function, so spawned
    workers can find it). At most `window` chunks are out or waiting to be
    yielded, so memory stays bounded. `lost(visitor, entries, why)` is the
    outcome of a visitor every attempt of which killed its worker."""
    return _Run(chunks, jobs, method, start, args, lost, window or jobs * 4).outcomes()


class _Run:
    def __init__(self, chunks, jobs, method, start, args, lost, window):
        self.context = multiprocessing.get_context(method)
        self.start, self.args, self.lost, self.window, self.jobs = start, args, lost, window, jobs
        self.chunks = iter(chunks)
        self.exhausted = False
        self.again: list[_Task] = []  # tasks to run again after a crash, before any new chunk
        self.slots: dict[int, _Slot] = {}
        self.taken = self.written = 0  # chunks taken (the next one's number), and yielded
        self.fruitless = 0  # deaths since the last answer: workers that cannot even start end the run

    def outcomes(self) -> Iterator[list]:
        workers: list[_Worker] = []
        finished = False
        try:
            workers.extend(_Worker(self.context, self.start, self.args) for _ in range(self.jobs))
            for worker in workers:
                self._feed(worker)
            while True:
                busy: dict[Any, _Worker] = {worker.conn: worker for worker in workers if worker.task is not None}
                if not busy:
                    break
                ended: dict[Any, _Worker] = {worker.sentinel: worker for worker in busy.values()}
                for ready in wait([*busy, *ended]):
                    worker = busy.get(ready) or ended[ready]
                    if worker.task is not None:  # not when its pipe and its sentinel were both ready
                        workers[workers.index(worker)] = self._collect(worker)
                while self.written in self.slots and self.slots[self.written].missing == 0:
                    yield self.slots.pop(self.written).outcomes
                    self.written += 1
                    for worker in workers:  # the window moved: idle workers may take a chunk now
                        if worker.task is None:
                            self._feed(worker)
            if self.slots:  # never a silent gap in the output
                raise RuntimeError(f"internal error: chunks {sorted(self.slots)} were never answered; please report it")
            finished = True
        finally:
            for worker in workers:
                worker.stop(STOP_WAIT if finished else 0)

    def _collect(self, worker: _Worker) -> _Worker:
        """The worker's answer filed and its next task given, before anything
        is written, so it does not wait for the parent; or, when it died, its
        task put back and a new worker in its place."""
        task, worker.task = worker.task, None
        assert task is not None  # only a busy worker is collected
        outcomes = worker.receive()
        if outcomes is not None:
            self.fruitless = 0
            self._feed(worker)
            self.slots[task.number].fill(task, outcomes)
            return worker
        why = worker.how_it_ended()
        self.fruitless += 1
        if self.fruitless > GIVE_UP + self.jobs:
            raise WorkersFailed(f"worker processes keep dying before they answer ({why}); run with --jobs 1")
        self.again = _after_crash(task, why, self.slots, self.lost) + self.again  # a visitor's next try comes first
        worker.stop(0)
        fresh = _Worker(self.context, self.start, self.args)
        self._feed(fresh)
        return fresh

    def _feed(self, worker: _Worker) -> None:
        if self.again:
            worker.give(self.again.pop(0))
            return
        if self.exhausted or self.taken - self.written >= self.window:
            return
        try:
            items = next(self.chunks)
        except StopIteration:
            self.exhausted = True
            return
        number, self.taken = self.taken, self.taken + 1
        self.slots[number] = _Slot(len(items))
        worker.give(_Task(number, None, items))


def _after_crash(task: _Task, why: str, slots: dict, lost: Callable) -> list[_Task]:
    """What runs again after `task`'s worker died: each of its visitors alone,
    then alone on the fallback engine; after that the visitor is lost, with why."""
    if task.part is None:
        return [_Task(task.number, i, [item], 1) for i, item in enumerate(task.items)]
    if task.attempt + 1 < ATTEMPTS:
        return [_Task(task.number, task.part, task.items, task.attempt + 1)]
    ((visitor, entries),) = task.items
    slots[task.number].fill(
        task,
        [
            lost(
                visitor,
                entries,
                (
                    f"its worker process died recovering it {ATTEMPTS} times ({why}), the {FALLBACK_ENGINE} "
                    f"engine included; this is a fault of ours, please report it"
                ),
            )
        ],
    )
    return []
