"""Running the playground under uvicorn on a loopback socket bound before
its URL is printed, so whoever reads the URL can connect at once."""

from __future__ import annotations

import socket
from collections.abc import Callable

from .app import create_app
from .workspace import Workspace

HOST = "127.0.0.1"  # the page edits files on this machine: never another interface


def listen(port: int) -> socket.socket:
    """The bound socket (port 0: any free one); OSError when it cannot be bound."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def run(workspace: Workspace, sock: socket.socket, announce: Callable[[], None]) -> int | None:
    """Serve until SIGINT or SIGTERM; the signal that stopped it (serving.py says why our own handler)."""
    import uvicorn

    from ..serving import run_until_stopped

    config = uvicorn.Config(create_app(workspace), log_config=None, access_log=False, timeout_graceful_shutdown=2)
    return run_until_stopped(config, sock, announce)
