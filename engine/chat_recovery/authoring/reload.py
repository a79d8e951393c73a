"""A policy that a running server can replace without stopping.

Readers take one reference to a compiled, frozen `Policy` per recovery, so a
swap (one attribute assignment, made under a lock that only reloads take) is
atomic for them: a recovery sees the old policy or the new one, never a mix.
A policy that fails to load or check never replaces the one in force; the
failure is kept and reported. This is a shell around the pure core: it reads
files and may start a thread; the core it calls does neither."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api import apply, load_policy, recover, render
from ..diagnostics import Code, Diagnostic, PolicyError
from ..policy.files import rule_files
from ..policy.model import Policy
from ..timeutil import Instant
from .check import check_policy


@dataclass(frozen=True)
class ReloadResult:
    """What one reload did. `ok` is False when the files did not load or a
    check found errors; then `policy` is the one still in force."""

    ok: bool
    changed: bool  # a different policy is now in force
    policy: Policy
    problems: tuple[Diagnostic, ...]  # errors that kept the old policy, or warnings

    def __str__(self) -> str:
        head = f"policy {_label(self.policy)}"
        if not self.ok:
            return "\n".join([f"reload refused, {head} stays in force:"] + [f"  {p}" for p in self.problems])
        return f"{head} {'now in force' if self.changed else 'unchanged'}"


def _label(policy: Policy) -> str:
    name = f"{policy.name} {policy.version}" if policy.name else policy.root
    return f"{name} ({policy.digest[:19]})"


def fingerprint(directory: Path) -> tuple:
    """Cheap change detection: where the directory points (a deploy may flip
    a symlink) and each rule file's name, size and mtime."""
    try:
        return (str(directory.resolve()),) + tuple(
            (p.name, st.st_size, st.st_mtime_ns) for p in rule_files(directory) for st in [p.stat()]
        )
    except OSError:
        return ()


class LivePolicy:
    """The policy a server recovers with, reloadable while it serves.

    `check=True` runs the same checks as `policy check` (invariants
    included) before a new version may replace the old; warnings do not
    block. Safe to use from several threads."""

    def __init__(self, directory: str | Path, check: bool = True, on_reload: Callable[[ReloadResult], None] | None = None):
        self.directory = Path(directory)
        self._check = check
        self._on_reload = on_reload
        self._lock = threading.Lock()
        self._watcher: _Watcher | None = None
        self.last_result: ReloadResult | None = None
        policy, problems = self._load()
        if policy is None:
            raise PolicyError(problems)
        self._policy = policy
        self._seen = fingerprint(self.directory)

    @property
    def policy(self) -> Policy:
        """The policy in force now; hold on to it for a multi-step job."""
        return self._policy

    def _load(self) -> tuple[Policy | None, tuple[Diagnostic, ...]]:
        try:
            if self._check:
                policy, problems = check_policy(self.directory)
            else:
                policy, problems = load_policy(self.directory), ()
        except PolicyError as exc:
            policy, problems = None, exc.diagnostics
        except OSError as exc:  # a file removed or unreadable mid-load
            where = exc.filename or self.directory
            policy, problems = None, (Diagnostic(str(where), 0, 0, f"cannot read: {exc.strerror or exc}", Code.UNREADABLE),)
        if policy is not None and any(p.severity == "error" for p in problems):
            policy = None
        return policy, tuple(problems)

    def reload(self) -> ReloadResult:
        """Load the directory again; swap only when it loads and checks clean."""
        with self._lock:
            seen = fingerprint(self.directory)
            new, problems = self._load()
            old = self._policy
            if new is None:
                result = ReloadResult(False, False, old, problems)
            else:
                changed = new.digest != old.digest
                if changed:
                    self._policy = new
                result = ReloadResult(True, changed, self._policy, problems)
            self._seen = seen
            self.last_result = result
        if self._on_reload is not None:
            self._on_reload(result)
        return result

    def reload_if_changed(self) -> ReloadResult | None:
        """Reload when a rule file was added, removed or written since the last
        load; None when nothing changed."""
        if fingerprint(self.directory) == self._seen:
            return None
        return self.reload()

    # Recoveries, each under one policy from start to end.

    def recover(
        self, reports: Iterable[Any], now: Instant, explain: bool = False, engine: str | None = None, *, keys: Any = None
    ) -> dict:
        return recover(self._policy, reports, now, explain=explain, engine=engine, keys=keys)

    def apply(self, state: dict | None, report: Any, now: Instant, *, keys: Any = None) -> dict:
        return apply(self._policy, state, report, now, keys=keys)

    def render(self, state: dict, explain: bool = False, engine: str | None = None) -> dict:
        return render(self._policy, state, explain=explain, engine=engine)

    # Watching the files.

    def watch(self, interval: float = 1.0) -> LivePolicy:
        """Poll the directory every `interval` seconds in a daemon thread and
        reload on change. A change must hold still for one more interval
        first, so an editor saving several files is loaded once, complete."""
        if self._watcher is None:
            self._watcher = _Watcher(self, interval)
            self._watcher.start()
        return self

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def __enter__(self) -> LivePolicy:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _Watcher(threading.Thread):
    def __init__(self, live: LivePolicy, interval: float):
        super().__init__(name="chat-recovery-policy-watch", daemon=True)
        self._live = live
        self._interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        pending = None
        while not self._stopped.wait(self._interval):
            now = fingerprint(self._live.directory)
            if now == self._live._seen:
                pending = None
            elif now != pending:
                pending = now  # changed: wait for it to settle
            else:
                pending = None
                try:
                    self._live.reload()
                except Exception as exc:  # noqa: BLE001 - a watcher that dies would silently stop reloading
                    self._live.last_result = ReloadResult(
                        False,
                        False,
                        self._live.policy,
                        (Diagnostic(str(self._live.directory), 0, 0, f"reload failed: {exc!r}", Code.RELOAD_FAILED),),
                    )

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)
