"""`chat-recovery recover --batch INPUT`: many visitors' reports in, one
recovery a line out. The work is in `batch`; this shell reads the input,
writes the lines, draws the progress bar and prints the summary."""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import IO

from ..batch import stream as batch
from ..batch.workers import WorkersFailed
from ..stops import Terminated, held_stops, stopped
from .common import EXIT_BAD_INPUT, EXIT_BAD_POLICY, EXIT_OK


def run_batch(args, policy, now: str, stdin: IO[bytes] | None, stdout: IO[str], stderr: IO[str], keys=None) -> int:
    with tempfile.TemporaryDirectory(prefix="chat-recovery-batch-") as work:
        index = _index(args.batch, stdin, Path(work), stderr)
        if index is None:
            return EXIT_BAD_INPUT
        for problem in index.problems:
            stderr.write(f"{problem}\n")
        try:
            out = open(args.out, "w", encoding="utf-8") if args.out else stdout  # noqa: SIM115 - or stdout, which is not ours to close
        except OSError as exc:
            stderr.write(f"chat-recovery: --out {args.out}: cannot write: {exc.strerror or exc}\n")
            return EXIT_BAD_INPUT
        try:
            counts = _write(index, policy, now, args, out, stderr, keys)
        except (KeyboardInterrupt, Terminated) as exc:  # a closed pipe (`| head`) is `entry`'s to end
            line, code = stopped(exc, "; the output holds the visitors finished so far")
            stderr.write(line)
            return code
        except WorkersFailed as exc:
            stderr.write(f"chat-recovery: {exc}; the output holds the visitors finished so far\n")
            return EXIT_BAD_POLICY
        finally:
            if args.out:
                out.close()
    unread = len(index.problems)
    stderr.write(_summary(index, *counts) + "\n")
    return EXIT_BAD_INPUT if unread or counts[1] else EXIT_OK


def _index(name: str, stdin: IO[bytes] | None, work: Path, stderr: IO[str]) -> batch.Index | None:
    """The input indexed by visitor; stdin and any other input that is not a
    regular file (a named pipe, `<(zcat ...)`) is copied to `work` on the
    way, so each visitor's reports can be read again."""
    index = batch.Index()
    try:
        if name == "-":
            copy = work / "stdin.ndjson"
            with open(copy, "wb") as sink:
                batch.index_ndjson(index, stdin or sys.stdin.buffer, "<stdin>", str(copy), sink)
        elif os.path.isdir(name):
            batch.index_directory(index, Path(name))
            if not index.sources:
                stderr.write(f"chat-recovery: {name}: no report files (.json, .yaml, .yml, .ndjson, .jsonl) in this directory\n")
                return None
        else:
            with open(name, "rb") as stream:
                if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                    batch.index_ndjson(index, stream, name, name)
                else:  # a named pipe or `<(zcat ...)` cannot be read twice: keep a copy, as for stdin
                    copy = work / "input.ndjson"
                    with open(copy, "wb") as sink:
                        batch.index_ndjson(index, stream, name, str(copy), sink)
    except OSError as exc:
        stderr.write(f"chat-recovery: {name}: cannot read: {exc.strerror or exc}\n")
        return None
    return index


def _write(index: batch.Index, policy, now: str, args, out: IO[str], stderr: IO[str], keys=None) -> tuple[int, int]:
    """Write each recovery as it comes; (recovered, not recovered). However
    the loop ends (Ctrl-C, SIGTERM, a closed pipe), the workers are stopped
    here, before the temporary folder they read from is removed."""
    recovered = lost = 0
    bar = Progress(stderr, len(index.groups)) if _is_terminal(stderr) else None
    with closing(
        batch.outcomes(index, policy, args.policy, now, engine=args.engine, explain=args.explain, jobs=args.jobs, keys=keys)
    ) as results:
        for outcome in results:
            if outcome.line is None:
                lost += 1
                if bar:
                    bar.clear()
                for problem in outcome.problems:
                    stderr.write(f"{problem} (visitor '{outcome.visitor}' is not recovered)\n")
            else:
                recovered += 1
                with held_stops():  # whole lines only, whenever Ctrl-C or SIGTERM comes
                    out.write(outcome.line + "\n")
            if bar:
                bar.step()
    if bar:
        bar.clear()
    return recovered, lost


def _summary(index: batch.Index, recovered: int, lost: int) -> str:
    visitors = len(index.groups)
    text = f"chat-recovery: {recovered} of {visitors} visitor{'s' if visitors != 1 else ''} recovered from {index.reports} report{'s' if index.reports != 1 else ''}"
    if lost:
        text += f"; {lost} not recovered because a report was bad"
    if index.problems:
        text += f"; {len(index.problems)} unreadable (no visitor could be read, so none took it)"
    return text


def _is_terminal(stream: IO[str]) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


class Progress:
    """A one-line bar, redrawn at most ten times a second."""

    def __init__(self, stream: IO[str], total: int):
        self.stream, self.total, self.done = stream, total, 0
        self.started = self.drawn = time.monotonic()
        self.width = max(10, min(40, shutil.get_terminal_size((80, 24)).columns - 45))
        self._draw()

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.drawn >= 0.1 or self.done == self.total:
            self.drawn = now
            self._draw()

    def _draw(self) -> None:
        share = self.done / self.total if self.total else 1.0
        filled = int(share * self.width)
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} visitors  {rate:.0f}/s")
        self.stream.flush()

    def clear(self) -> None:
        """Take the bar off the line, so a message or the shell prompt starts clean."""
        self.stream.write("\r\033[K")
        self.stream.flush()
