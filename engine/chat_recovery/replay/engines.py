"""The engines that may replay action rules, one entry each: how to make
one for a compiled chat policy, whether this Python can run it, and what it
is, in the words `--help` and the docs use. `auto` is not an engine but a
choice among them (`resolve`). Everything that lists or accepts engine
names reads this table: `make_engine`, the CLI's --engine choices, serve's
settings, the benchmark. A new engine is one entry here plus the manifest
schema's enum (schemas/policy-manifest.schema.json);
tests/test_closed_sets.py holds the two to the same names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..policy.chat_model import ChatPolicy

AUTO = "auto"


@dataclass(frozen=True)
class EngineKind:
    name: str
    make: Callable[[ChatPolicy], Any]  # chat policy -> an Engine (replay.Engine); imported on first use
    available: Callable[[], bool]  # whether it runs on this Python
    about: str  # what it is, for --help and the docs
    unavailable: str = ""  # why it does not run, where it does not


def durable_available() -> bool:
    try:
        import durable.engine  # noqa: F401
    except Exception:  # noqa: BLE001  (ImportError, or the undefined-symbol error on 3.13)
        return False
    return True


def _always() -> bool:
    return True


def _durable(chat: ChatPolicy) -> Any:
    from .durable_engine import DurableEngine

    return DurableEngine(chat)


def _compiled(chat: ChatPolicy) -> Any:
    from .compiled_engine import CompiledEngine

    return CompiledEngine(chat)


def _python(chat: ChatPolicy) -> Any:
    from .python_engine import PythonEngine

    return PythonEngine(chat)


ENGINES: Mapping[str, EngineKind] = MappingProxyType(
    {
        e.name: e
        for e in (
            EngineKind(
                "durable",
                _durable,
                durable_available,
                "durable_rules, the design card's engine",
                "durable_rules does not import on this Python (it works on 3.11 and 3.12)",
            ),
            EngineKind("compiled", _compiled, _always, "the rules compiled to plain Python at load time (same recoveries)"),
            EngineKind("python", _python, _always, "the plain reference matcher"),
        )
    }
)

CHOICES = (AUTO, *ENGINES)  # what --engine and policy.yaml accept


def choices_text() -> str:
    """'auto, durable, compiled or python', for messages."""
    return ", ".join(CHOICES[:-1]) + " or " + CHOICES[-1]


def help_text() -> str:
    """Each engine and what it is, for --help."""
    return (
        "; ".join(f"{e.name}: {e.about}" for e in ENGINES.values()) + f"; {AUTO}: durable_rules where it imports, else compiled"
    )
