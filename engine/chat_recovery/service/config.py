"""The service's settings: ServeConfig's fields with their defaults, and each
field's environment variable, named from the field (CHAT_RECOVERY_<FIELD>).
The flags, their parsers and help are a second table keyed by the same field
names (FLAGS in cli/serve.py, whose `settings` merges defaults, environment
and flags, a flag winning)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from ..live import limits

ENV_PREFIX = "CHAT_RECOVERY_"
REDIS_PROCESSES = 2  # server processes on Redis when not given: what the 32-connection load measured best on 2 cores


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    redis_url: str | None = None  # None: the embedded (in-process) store
    token: str | None = None
    policy: str | None = None  # a policy directory; None: the bundled one
    window: float = 120.0  # seconds a recovery stays open
    retain: float = 3600.0  # seconds a recovery is kept after its window
    max_in_flight: int = 64  # reports being applied at once; more get 429
    max_body: int = 16 * 1024 * 1024  # bytes a request body may hold
    workers: int = 2  # replay worker processes; 0: in the server's process
    engine: str | None = None
    log_level: str = "info"  # debug, info, warning, error
    log_format: str = "text"  # text, or json: one object a line
    purge_every: float = 60.0  # seconds between purges of the embedded store's expired documents
    max_documents: int = 10_000  # documents the embedded store holds at most; past it the oldest go
    message_keys_file: str | None = None  # the message-signature key file; None: signatures are not verified
    max_clock_skew: float = 300.0  # seconds a report's sentAt may be after the server's clock; more is 422
    max_list: int = 500  # reports one list request may hold; a longer list is 413
    max_visitor_reports: int = limits.MAX_REPORTS  # per visitor (live/limits.py says why these): past one, 422
    max_visitor_sources: int = limits.MAX_SOURCES
    max_visitor_messages: int = limits.MAX_MESSAGES
    max_visitor_bytes: int = limits.MAX_DOCUMENT_BYTES
    deadline: float = 10.0  # seconds a report may take to apply (replay and store retries); nothing is written after
    worker_timeout: float = 30.0  # seconds a replay step may run before its worker is killed and the step runs again
    playground: bool = False  # the policy playground at /playground, behind the token; it never changes the policy in force
    processes: int | None = None  # server processes on the socket; None: REDIS_PROCESSES on Redis, else 1

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def processes_in_force(config: ServeConfig) -> int:
    """How many server processes serve: as given, else REDIS_PROCESSES on
    Redis; one with the embedded store (its documents are one process's
    memory) or the playground (its sessions are)."""
    if config.processes is not None:
        return config.processes
    return REDIS_PROCESSES if config.redis_url and not config.playground else 1


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def from_env(environ: Mapping[str, str]) -> dict:
    """The settings the environment gives, as text, by field name."""
    return {f.name: environ[env_name(f.name)] for f in fields(ServeConfig) if env_name(f.name) in environ}


def defaults() -> dict:
    return {f.name: f.default for f in fields(ServeConfig)}


def environment() -> Mapping[str, str]:
    return os.environ
