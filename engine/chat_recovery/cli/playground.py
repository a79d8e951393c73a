"""`chat-recovery playground`: the policy playground on this machine's
loopback; prints its URL and serves until Ctrl-C or SIGTERM."""

from __future__ import annotations

import errno
import signal
from pathlib import Path
from typing import IO

from .common import EXIT_BAD_POLICY, EXIT_CANNOT_LISTEN, EXIT_OK, EXIT_USAGE, whole_number

SERVE_EXTRA = ("starlette", "uvicorn", "anyio")


def add_parser(sub, **kw) -> None:
    cmd = sub.add_parser("playground", help="edit a policy in a local web page and watch the recoveries change as you type", **kw)
    cmd.add_argument("--policy", metavar="DIR", help="the policy directory to edit (default: the bundled rules, read only)")
    cmd.add_argument(
        "--port", type=whole_number, default=8470, metavar="P", help="the loopback port (default 8470; 0: any free port)"
    )
    cmd.add_argument(
        "--write",
        action="store_true",
        help="let the page's Save write the edited rule files into --policy DIR (only when `policy check` passes); "
        "without it nothing is written to disk",
    )
    cmd.add_argument(
        "--reports",
        action="append",
        metavar="DIR",
        help="a folder of report sets (one folder of report files each) to pick from; repeatable "
        "(default: examples/ and corpus/ in the current folder and beside the policy directory)",
    )
    cmd.set_defaults(run=run)


def run(args, stdin, stdout: IO[str], stderr: IO[str]) -> int:
    try:
        from ..playground.server import listen
        from ..playground.server import run as serve
        from ..playground.workspace import Refused, Workspace
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in SERVE_EXTRA:
            raise
        stderr.write(
            f"chat-recovery playground: the playground needs the serve extra ({exc.name} is not installed): "
            "pip install 'chat-recovery[serve]'\n"
        )
        return EXIT_USAGE
    from ..policy import bundled

    if args.write and not args.policy:
        stderr.write("chat-recovery playground: --write needs --policy DIR (the bundled rules are not edited in place)\n")
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        stderr.write(f"chat-recovery playground: --port {args.port} is not a port (0 to 65535)\n")
        return EXIT_USAGE
    directory = Path(args.policy) if args.policy else bundled.rules_dir()
    roots = [Path(r) for r in args.reports] if args.reports else default_roots(directory)
    try:
        workspace = Workspace.open(directory, roots, writable=args.write)
    except Refused as exc:
        stderr.write(f"chat-recovery playground: {exc}\n")
        return EXIT_BAD_POLICY
    try:
        sock = listen(args.port)
    except OSError as exc:
        why = "is in use: choose another --port" if exc.errno == errno.EADDRINUSE else f"cannot be bound: {exc.strerror or exc}"
        stderr.write(f"chat-recovery playground: port {args.port} on 127.0.0.1 {why}\n")
        return EXIT_CANNOT_LISTEN
    port = sock.getsockname()[1]

    def announce() -> None:
        saving = f"Save writes into {workspace.directory}" if args.write else "nothing is written to disk (no --write)"
        stdout.write(f"chat-recovery: playground on http://127.0.0.1:{port}/ (policy: {args.policy or 'bundled'}; {saving})\n")
        stdout.flush()

    stopped_by = serve(workspace, sock, announce)
    return 128 + signal.SIGINT if stopped_by == signal.SIGINT else EXIT_OK


def default_roots(directory: Path) -> list[Path]:
    """examples/ and corpus/ in the current folder and beside the policy directory."""
    roots: list[Path] = []
    for base in (Path.cwd(), directory.resolve().parent):
        for name in ("examples", "corpus"):
            if (base / name).is_dir() and (base / name).resolve() not in [r.resolve() for r in roots]:
                roots.append(base / name)
    return roots
