"""`chat-recovery policy docs`: the policy as Markdown tables; `--check`
tells CI when the committed copy is stale."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from ..authoring.docs import markdown
from ..diagnostics import PolicyError
from .common import EXIT_BAD_INPUT, EXIT_BAD_POLICY, EXIT_OK, EXIT_USAGE


def add_parser(sub, **kw) -> None:
    docs = sub.add_parser("docs", help="print the policy as Markdown tables (property | strategy | description zh | en)", **kw)
    docs.add_argument("directory", nargs="?", metavar="DIR", help="policy directory (default: the bundled rules)")
    docs.add_argument("--out", metavar="FILE", help="write the Markdown to FILE instead of stdout")
    docs.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when FILE (--out) differs from what would be written"
    )
    docs.set_defaults(run=run)


def run(args, stdin, stdout: IO[str], stderr: IO[str]) -> int:
    if args.check and not args.out:
        stderr.write("chat-recovery policy docs: --check needs --out FILE (the committed copy to compare)\n")
        return EXIT_USAGE
    try:
        text = markdown(args.directory)
    except PolicyError as exc:
        for diagnostic in exc.diagnostics:
            stderr.write(f"{diagnostic}\n")
        return EXIT_BAD_POLICY
    if not args.out:
        stdout.write(text)
        return EXIT_OK
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else None
        if current == text:
            stdout.write(f"{args.out}: up to date\n")
            return EXIT_OK
        state = "missing" if current is None else "stale"
        again = " ".join(["chat-recovery policy docs", *([args.directory] if args.directory else []), "--out", args.out])
        stderr.write(f"{args.out}: {state}: the policy changed since it was generated; regenerate it with `{again}`\n")
        return EXIT_BAD_INPUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return EXIT_OK
