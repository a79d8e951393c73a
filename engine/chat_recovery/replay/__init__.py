"""Which action rule fires for each message: a small interface (Engine,
Session) with three implementations. durable_rules (durable_engine, the
design card's engine) where it imports; the rules compiled to plain Python
(compiled_engine) where it does not (Python 3.13+) and on request; a
plain-Python matcher (python_engine) as the reference of both. `auto`
resolves to the first of durable and compiled that runs here.

An engine only *chooses* the rule; the effects are applied by
`recovery/chat.py` in plain Python, so an error in an effect is never
swallowed by the engine.

The compiled `Policy` is plain data and holds no engine: `engine_for(policy,
name)` is the one place to ask which engine replays a policy; it makes each
on first use and keeps it here, beside the policy."""

from __future__ import annotations

import threading
import warnings
import weakref

from ..policy.chat_model import ChatPolicy
from ..policy.model import Policy
from .engines import CHOICES, choices_text, durable_available
from .engines import ENGINES as TABLE
from .interface import Engine, ReplayError, Session

__all__ = [
    "CHOICES",
    "FALLBACK_ENGINE",
    "Engine",
    "EngineFallbackWarning",
    "ReplayError",
    "Session",
    "durable_available",
    "engine_for",
    "engine_name",
    "make_engine",
    "resolve",
]


FALLBACK_ENGINE = "compiled"  # where a replay runs after it crashed its worker: plain Python, held equal to durable_rules
FALLBACK_NOTE = f"{TABLE['durable'].unavailable}: action rules run on the compiled engine, which gives the same recoveries"
_noted = False


class EngineFallbackWarning(UserWarning):
    """`auto` could not have durable_rules and took the compiled engine."""


def resolve(name: str) -> str:
    """The engine `auto` stands for here: durable_rules where it imports,
    else the compiled engine, said once per process (a warning, which the
    CLI prints on stderr), not once per recovery."""
    global _noted
    if name != "auto":
        return name
    if durable_available():
        return "durable"
    if not _noted:
        _noted = True
        warnings.warn(FALLBACK_NOTE, EngineFallbackWarning, stacklevel=3)
    return "compiled"


def make_engine(chat: ChatPolicy, name: str = "auto") -> Engine:
    """An engine of the table (replay/engines.py); `auto` prefers durable_rules where it imports."""
    name = resolve(name)
    kind = TABLE.get(name)
    if kind is None:
        raise ValueError(f"unknown engine '{name}' ({choices_text()})")
    if not kind.available():
        raise ReplayError(f"{kind.unavailable}; use --engine compiled")
    engine: Engine = kind.make(chat)
    return engine


def engine_name(policy: Policy, name: str | None = None) -> str:
    """Which engine runs `policy`: `name` (a caller's --engine), else the
    policy's manifest, with `auto` resolved here."""
    return resolve(name or policy.engine)


# id(policy) -> that policy's engines, one dict per thread: durable_rules
# must not be shared between threads (its C code runs one thread's actions on
# another's). An entry goes when its policy is collected (so an id is never
# reused while its entry stands).
_made: dict[int, threading.local] = {}
_made_lock = threading.Lock()


def engine_for(policy: Policy, name: str | None = None) -> Engine:
    """The engine that replays `policy` on this thread (`name` as for
    `engine_name`), made on first use and kept beside the policy, which is
    plain data and holds none. The one place callers ask for an engine."""
    per_thread = _made.get(id(policy))
    if per_thread is None:
        with _made_lock:
            per_thread = _made.get(id(policy))
            if per_thread is None:
                per_thread = _made[id(policy)] = threading.local()
                weakref.finalize(policy, _made.pop, id(policy), None)
    engines = per_thread.__dict__.setdefault("engines", {})
    key = name or policy.engine
    engine: Engine | None = engines.get(key)
    if engine is None:
        engine = engines[key] = make_engine(policy.chat, engine_name(policy, name))
    return engine
