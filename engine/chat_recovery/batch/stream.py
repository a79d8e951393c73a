"""Batch recovery: many visitors' reports in (NDJSON, one report a line, or
a directory of report files), one recovery per visitor out, in the order of
each visitor's first report.

Memory is bounded by the largest visitor, not by the input: the first pass
(`index`) keeps only where each report is (source, byte offset, line number),
grouped by visitor; the reports are read again one visitor at a time by the
process that recovers that visitor (`Recoverer`). `outcomes` runs that in
this process or in N worker processes (`workers`), with a bounded
window of work in flight so results are written in order without piling up."""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

from ..api import apply, load_policy, render
from ..diagnostics import RecoveryError, ReportError
from ..jsonio import dumps_text
from ..recovery import strict_json
from ..recovery.reports import check, parse_bytes
from ..replay import engine_name
from ..signing import MessageKeys
from . import workers

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
REPORT_SUFFIXES = (".json", ".yaml", ".yml")
WHOLE_FILE = -1  # an entry's offset when its source is one report
CHUNK = 48  # visitors sent to a worker at a time (fewer, larger tasks: less pool overhead in the parent)
# The storm and most serializers write visitorId first: read it without a parse.
_FIRST_KEY = re.compile(rb'\s*\{\s*"visitorId"\s*:\s*"([^"\\]{1,256})"')


@dataclass(frozen=True)
class Problem:
    """One report that could not be used, and where it is."""

    where: str  # file:line, or the file of a one-report file
    message: str
    visitor: str | None = None  # None when the report's visitor cannot be read

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Outcome:
    """One visitor: its recovery as a JSON line, or None when a report was bad."""

    visitor: str
    line: str | None
    reports: int
    problems: tuple[Problem, ...] = ()


@dataclass
class Index:
    """Where every report is, by visitor in order of first report."""

    sources: list[tuple[str, str]] = field(default_factory=list)  # (path to read, name to show)
    groups: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)  # visitor -> (source, offset, line)
    problems: list[Problem] = field(default_factory=list)
    reports: int = 0

    def add(self, visitor: str, source: int, offset: int, line: int) -> None:
        self.reports += 1
        entries = self.groups.get(visitor)
        if entries is None:
            self.groups[visitor] = [(source, offset, line)]
        else:
            entries.append((source, offset, line))


def where(shown: str, line: int) -> str:
    return f"{shown}:{line}" if line else shown


def index_ndjson(index: Index, stream: IO[bytes], shown: str, path: str, copy: IO[bytes] | None = None) -> None:
    """Index one NDJSON stream; `copy` keeps the bytes (stdin) so they can be read again."""
    source = len(index.sources)
    index.sources.append((path, shown))
    offset = 0
    for number, line in enumerate(stream, 1):
        if copy is not None:
            copy.write(line)
        if line.strip():
            try:
                index.add(_visitor_of_line(line), source, offset, number)
            except ReportError as exc:
                index.problems.append(Problem(where(shown, number), str(exc)))
        offset += len(line)


def index_directory(index: Index, root: Path) -> None:
    """Every report file under `root`, in sorted path order: .json/.yaml/.yml
    files hold one report, .ndjson/.jsonl files one a line; others are skipped."""
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p, root)):
        suffix = path.suffix.lower()
        if suffix in NDJSON_SUFFIXES:
            with open(path, "rb") as stream:
                index_ndjson(index, stream, str(path), str(path))
        elif suffix in REPORT_SUFFIXES:
            index.sources.append((str(path), str(path)))
            try:
                index.add(_visitor_of(parse_bytes(path.read_bytes(), path.name)), len(index.sources) - 1, WHOLE_FILE, 0)
            except ReportError as exc:
                index.problems.append(Problem(str(path), str(exc)))
            except OSError as exc:
                index.problems.append(Problem(str(path), f"cannot read: {exc.strerror or exc}"))


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _visitor_of_line(line: bytes) -> str:
    found = _FIRST_KEY.match(line)
    if found:
        try:
            return found.group(1).decode("utf-8")
        except UnicodeDecodeError:
            pass  # the full parse below says what is wrong
    return _visitor_of(_parse_line(line))


def _parse_line(line: bytes):
    try:
        return strict_json.loads(line)
    except strict_json.BadJson as exc:
        raise ReportError(exc.message, exc.path) from None
    except UnicodeDecodeError as exc:
        raise ReportError(f"not UTF-8 text (byte {line[exc.start]:#04x} at offset {exc.start})") from None
    except RecursionError:
        raise ReportError("nested too deep") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"not JSON at column {exc.colno}: {exc.msg}") from None


def _visitor_of(report) -> str:
    if not isinstance(report, dict):
        raise ReportError(f"a report is an object, not {type(report).__name__}", "$")
    visitor = report.get("visitorId")
    if not isinstance(visitor, str) or not visitor:
        raise ReportError("no visitorId: cannot tell whose report this is, so no visitor takes it", "$.visitorId")
    return visitor


class Recoverer:
    """Recovers visitors from an index's entries: one per process, with the
    policy compiled once and each source opened once."""

    def __init__(
        self,
        policy,
        sources: list[tuple[str, str]],
        now: str,
        engine: str | None,
        explain: bool,
        unusable: str | None = None,
        keys: MessageKeys | None = None,
    ):
        self.policy, self.sources, self.now, self.engine, self.explain = policy, sources, now, engine, explain
        self.keys = keys  # message signatures are verified with these; None: not verified
        self.unusable = unusable  # why this process cannot recover anyone (its policy did not load)
        self._open: dict[int, IO[bytes]] = {}

    def close(self) -> None:
        for handle in self._open.values():
            handle.close()

    def recover(self, visitor: str, entries: list[tuple[int, int, int]], engine: str | None = None) -> Outcome:
        """The visitor's recovery, or none and every bad report named: a
        visitor is never recovered without one of its reports."""
        state: dict | None = None
        problems: list[Problem] = []
        for source, offset, line in entries:
            at = where(self.sources[source][1], line)
            try:
                report = self._load(source, offset)
                if _visitor_of(report) != visitor:
                    raise ReportError(f"visitorId is given twice, the last as '{report['visitorId']}'", "$.visitorId")
                if problems:
                    check(self.policy, report)  # already lost: only say what else is wrong
                else:
                    state = apply(
                        self.policy, state, report, self.now, owned=True, keys=self.keys
                    )  # parsed from its line just now
            except ReportError as exc:
                problems.append(Problem(at, str(exc), visitor))
            except OSError as exc:
                problems.append(Problem(at, f"cannot read: {exc.strerror or exc}", visitor))
        if problems:
            return Outcome(visitor, None, len(entries), tuple(problems))
        assert state is not None  # a visitor has at least one entry
        try:
            recovery = render(self.policy, state, explain=self.explain, engine=engine or self.engine)
        except (RecoveryError, ReportError) as exc:
            return self.lost(visitor, entries, str(exc))
        return Outcome(visitor, dumps_text(recovery), len(entries))

    def recover_chunk(self, chunk: list[tuple[str, list]], engine: str | None = None) -> list[Outcome]:
        """`engine` overrides the run's own (a worker's fallback after a crash)."""
        if self.unusable:
            return [self.lost(visitor, entries, self.unusable) for visitor, entries in chunk]
        return [self._guarded(visitor, entries, engine) for visitor, entries in chunk]

    def _guarded(self, visitor: str, entries: list, engine: str | None) -> Outcome:
        """A fault of ours in one visitor is that visitor's problem, not the batch's end."""
        try:
            return self.recover(visitor, entries, engine)
        except Exception as exc:  # noqa: BLE001 - one visitor must not stop the others
            return self.lost(
                visitor, entries, f"internal error recovering this visitor ({type(exc).__name__}: {exc}); please report it"
            )

    def lost(self, visitor: str, entries: list, message: str) -> Outcome:
        return unrecovered(self.sources, visitor, entries, message)

    def _load(self, source: int, offset: int):
        path = self.sources[source][0]
        if offset == WHOLE_FILE:
            with open(path, "rb") as whole:
                return parse_bytes(whole.read(), path)
        handle = self._open.get(source)
        if handle is None:
            handle = self._open[source] = open(path, "rb")  # noqa: SIM115 - kept open across reads, closed with the index
        handle.seek(offset)
        return _parse_line(handle.readline())


def unrecovered(sources: list[tuple[str, str]], visitor: str, entries: list, message: str) -> Outcome:
    """A visitor not recovered for a reason of no one report: said at its first report."""
    source, _, line = entries[0]
    return Outcome(visitor, None, len(entries), (Problem(where(sources[source][1], line), message, visitor),))


def start_recoverer(
    policy, policy_dir: str | None, sources: list, now: str, engine: str | None, explain: bool, keys: MessageKeys | None = None
) -> Recoverer:
    """A worker's Recoverer. `policy` is the parent's own when the worker is
    forked (it is in the worker's memory already; loading it again cost each
    worker a quarter of a second under load); a spawned worker gets None and
    loads `policy_dir`."""
    unusable = None
    if policy is None:
        # The policy's files may have changed since the parent loaded them:
        # a failure here is every visitor's problem, said per visitor.
        try:
            policy = load_policy(policy_dir)
        except Exception as exc:  # noqa: BLE001 - said per visitor, never a dead worker
            why = "; ".join(str(exc).splitlines())  # one line a visitor on stderr
            unusable = f"a worker could not load the policy again ({type(exc).__name__}: {why}); run with --jobs 1"
    return Recoverer(policy, sources, now, engine, explain, unusable, keys)


def chunks(groups: dict, size: int = CHUNK) -> Iterator[list]:
    batch: list = []
    for item in groups.items():
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def outcomes(
    index: Index,
    policy,
    policy_dir: str | None,
    now: str,
    engine: str | None = None,
    explain: bool = False,
    jobs: int = 1,
    start_method: str | None = None,
    keys: MessageKeys | None = None,
) -> Generator[Outcome, None, None]:
    """Every visitor's outcome, in index order (each visitor's first report),
    whatever the number of processes. Workers are forked where the system
    can (`start_method` chooses otherwise, for tests)."""
    if jobs <= 1:
        here = Recoverer(policy, index.sources, now, engine, explain, keys=keys)
        try:
            for chunk in chunks(index.groups):
                yield from here.recover_chunk(chunk)
        finally:
            here.close()
        return
    method = start_method or workers.pool_start_method()
    yield from _pooled(
        index,
        policy if method == "fork" else None,
        policy_dir,
        now,
        engine_name(policy, engine),  # `auto` decided here, once: workers neither choose again nor each say so
        explain,
        jobs,
        method,
        keys,
    )


def _pooled(index: Index, policy, policy_dir, now, engine, explain, jobs: int, method: str, keys) -> Iterator[Outcome]:
    args = (policy, policy_dir, index.sources, now, engine, explain, keys)  # keys go down each worker's pipe
    lost = partial(unrecovered, index.sources)
    for finished in workers.ordered(chunks(index.groups), jobs, method, start_recoverer, args, lost):
        yield from finished
