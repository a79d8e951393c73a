"""Which action rule fires for each message: a small interface with two
implementations. durable_rules (the design card's engine) where it imports;
the rules compiled to plain Python (compiled_engine) elsewhere (Python
3.13+) and on request; a plain-Python matcher as the reference of both.

An engine only *chooses* the rule; the effects are applied by `chat.py` in
plain Python, so an error in an effect is never swallowed by the engine.

The compiled `Policy` is plain data and holds no engine: `engine_for(policy,
name)` is the one place to ask which engine replays a policy; it makes each
on first use and keeps it here, beside the policy."""
from __future__ import annotations

import threading
import warnings
import weakref
from typing import Optional, Protocol

from ..policy.chat_model import ChatPolicy
from ..policy.model import Policy
from ..diagnostics import RecoveryError


class Session(Protocol):
    def fire(self, event: dict) -> Optional[int]:
        """Index into ChatPolicy.rules of the rule that fired, or None."""

    def close(self) -> None:
        ...


class Engine(Protocol):
    name: str

    def open(self) -> Session:
        ...


class ReplayError(RecoveryError):
    """The rule engine misbehaved; the recovery fails rather than guess."""


def durable_available() -> bool:
    try:
        import durable.engine  # noqa: F401
    except Exception:  # ImportError, or the undefined-symbol error on 3.13
        return False
    return True


ENGINES = ("auto", "durable", "compiled", "python")   # what --engine and policy.yaml accept
FALLBACK_ENGINE = "compiled"   # where a replay runs after it crashed its worker: plain Python, held equal to durable_rules
FALLBACK_NOTE = ("durable_rules does not import on this Python (it works on 3.11 and 3.12): "
                 "action rules run on the compiled engine, which gives the same recoveries")
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
    """`durable`, `compiled` or `python`; `auto` prefers durable_rules where it imports."""
    name = resolve(name)
    if name == "durable":
        if not durable_available():
            raise ReplayError("durable_rules does not import on this Python (it works on 3.11 and 3.12); use --engine compiled")
        from .durable_engine import DurableEngine
        return DurableEngine(chat)
    if name == "compiled":
        from .compiled_engine import CompiledEngine
        return CompiledEngine(chat)
    if name == "python":
        from .python_engine import PythonEngine
        return PythonEngine(chat)
    raise ValueError(f"unknown engine '{name}' (durable, compiled or python)")


def engine_name(policy: Policy, name: Optional[str] = None) -> str:
    """Which engine runs `policy`: `name` (a caller's --engine), else the
    policy's manifest, with `auto` resolved here."""
    return resolve(name or policy.engine)


# id(policy) -> that policy's engines, one dict per thread: durable_rules
# must not be shared between threads (its C code runs one thread's actions on
# another's). An entry goes when its policy is collected (so an id is never
# reused while its entry stands).
_made: dict[int, threading.local] = {}
_made_lock = threading.Lock()


def engine_for(policy: Policy, name: Optional[str] = None) -> Engine:
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
    engine = engines.get(key)
    if engine is None:
        engine = engines[key] = make_engine(policy.chat, engine_name(policy, name))
    return engine
