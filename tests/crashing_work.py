"""Work for the batch worker processes that really kills its process on cue
(SIGSEGV, as a C extension's crash does), so the pool is tested with real
deaths, and a hold for the replay workers that keeps one mid-step until the
test kills it. Module-level, so spawned workers can import it."""

import faulthandler
import os
import signal
import threading
import time


class Work:
    def __init__(self, crash_on, crash_on_fallback_too, payload, slow_on):
        self.crash_on, self.always, self.payload, self.slow = set(crash_on), set(crash_on_fallback_too), payload, set(slow_on)

    def recover_chunk(self, items, engine):
        done = []
        for visitor, entries in items:
            if visitor in self.slow:
                time.sleep(0.3)  # later chunks finish first
            if visitor in self.always or (visitor in self.crash_on and engine is None):
                os.kill(os.getpid(), signal.SIGSEGV)
            done.append((visitor, engine, entries, "x" * self.payload))
        return done


def start(crash_on=(), crash_on_fallback_too=(), payload=0, slow_on=()):
    faulthandler.disable()  # pytest's, inherited by forked workers: its dumps of our own crashes are noise
    return Work(crash_on, crash_on_fallback_too, payload, slow_on)


def start_and_die():
    """A worker that cannot even start."""
    os.kill(os.getpid(), signal.SIGKILL)


def lost(visitor, entries, why):
    return (visitor, "lost", entries, why)


def hold_when_armed(armed, held):
    """Before a replay step (SupervisedRunner's before_step): when the test has
    armed a hold (released `armed`), say so on `held` and wait there until the
    test's signal ends the process, so the kill lands mid-step whatever the
    machine's speed."""
    if armed.acquire(block=False):
        held.set()
        threading.Event().wait()


def refuse_when_set(refuse):
    """Before a replay worker compiles its policy (SupervisedRunner's
    before_start): once the test has set `refuse`, the worker cannot start,
    as when the machine cannot give it memory."""
    if refuse.is_set():
        raise MemoryError("the test refuses this worker a start")
