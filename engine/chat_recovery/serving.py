"""Running an ASGI app under uvicorn on a socket bound beforehand, until
SIGINT or SIGTERM, for `serve` and `playground` alike. Our own stop handler
is in force before `announce` says where the server listens: a SIGTERM sent
the moment that line is read must ask the server to stop, not raise the
console script's exception inside the event loop, where asyncio swallows it
in a callback and the server runs on (a CI run waited 60 s for a server that
had been told to stop). uvicorn's own handler re-raises the signal after
shutdown, which would kill the process before its workers are stopped and
its last line is written."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from typing import Any


def run_until_stopped(
    config: Any,
    sock: socket.socket,
    announce: Callable[[], None] = lambda: None,
    on_shutdown: Callable[[int | None, int], None] = lambda sig, connections: None,
) -> int | None:
    """Serve `config` (a uvicorn.Config) on `sock`; the signal that stopped
    it (None if none). `on_shutdown(signal, open connections)` is called as
    the shutdown starts (serve logs it)."""
    import uvicorn

    class Server(uvicorn.Server):
        stopped_by: int | None = None

        def handle_exit(self, sig: int, frame) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C: now
            self.should_exit = True
            self.stopped_by = self.stopped_by or sig

        async def shutdown(self, sockets=None) -> None:
            on_shutdown(self.stopped_by, len(self.server_state.connections))
            await super().shutdown(sockets)

    server = Server(config)
    previous = {sig: signal.signal(sig, server.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        announce()
        server.run(sockets=[sock])  # a stop that came during `announce` ends it at once
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return server.stopped_by
