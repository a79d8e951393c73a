"""Which action rule fires for each message: a small interface (Engine,
Session) with three implementations. durable_rules (durable_engine, the
design card's engine) where it imports; the rules compiled to plain Python
(compiled_engine) where it does not (Python 3.13+) and on request; a
plain-Python matcher (python_engine) as the reference of both. `auto`
resolves to the first of durable and compiled that runs here.

An engine only *chooses* the rule; the effects are applied by
`recovery/chat.py` in plain Python, so an error in an effect is never
swallowed by the engine."""
from __future__ import annotations

import threading
import warnings

from ..policy.chat_model import ChatPolicy
from .engines import CHOICES, choices_text, durable_available
from .engines import ENGINES as TABLE
from .interface import Engine, ReplayError, Session

__all__ = ["CHOICES", "ENGINES", "FALLBACK_ENGINE", "Engine", "EngineCache", "EngineFallbackWarning", "ReplayError",
           "Session", "durable_available", "make_engine", "resolve"]


ENGINES = CHOICES   # what --engine and policy.yaml accept: the table's names and auto
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
    """An engine of the table (replay/engines.py); `auto` prefers durable_rules where it imports."""
    name = resolve(name)
    kind = TABLE.get(name)
    if kind is None:
        raise ValueError(f"unknown engine '{name}' ({choices_text()})")
    if not kind.available():
        raise ReplayError(f"{kind.unavailable}; use --engine compiled")
    return kind.make(chat)


class EngineCache:
    """One engine per thread and kind, made on first use. durable_rules must
    not be shared between threads (its C code runs one thread's actions on
    another's), so each thread gets its own."""

    def __init__(self, chat: ChatPolicy):
        self._chat = chat
        self._local = threading.local()

    def get(self, name: str = "auto") -> Engine:
        engines = self._local.__dict__.setdefault("engines", {})
        if name not in engines:
            engines[name] = make_engine(self._chat, name)
        engine: Engine = engines[name]
        return engine
