"""The stack's floor: the least a report costs any merger built on the
service's own stack (Starlette under uvicorn's h11 protocol, redis-py), so
`bench --service` can say how far the service is from it. Per report it
does what any Redis-backed merger must and nothing else: parse the body,
WATCH/GET the visitor's key, parse what is held, MULTI/SET/EXEC a document
of the size the service stores, and answer JSON of the size the service
answers. Both sizes are A x the visitor's largest report + B x its other
reports' bytes (`--document-size A,B`, `--answer-size A,B`), A and B fitted
on the service by the bench: a report holds most of its chat, so a
visitor's recovery grows with its largest report far more than with the
other copies of the same log. The embedded variant keeps
the documents in a dict and does the same work less Redis. It speaks the
service's route, POST /v1/reports with the bearer token, so one load drives
both; it merges nothing, so its answers are padding, not recoveries.

With `--processes N` it serves as N processes on one listening socket,
bound here and shared as `serve --processes N` shares its own, so the floor
of a service that serves from N processes is N processes too. It says it
serves once every process does, naming their pids.

    python -m chat_recovery.bench.floor_app --port 8081 [--token T] [--redis-url URL] [--processes N]
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import queue
import signal
import socket
import sys
from typing import Any

PREFIX = "chat-recovery-floor"  # never the service's keys: both may share a Redis
TTL_MS = 3_720_000  # the service's default window plus --retain

try:  # the JSON library the service uses, when installed: the floor must not be slower than it needs to be
    import orjson  # type: ignore[import-not-found,unused-ignore]

    loads: Any = orjson.loads
    dumps: Any = orjson.dumps
    JSON = "orjson"
except ImportError:
    loads = json.loads

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    JSON = "json"


def size(document: dict, coefficients: tuple[float, float]) -> int:
    """A x the visitor's largest report + B x its other reports' bytes."""
    largest, total = document["largest"], document["total"]
    return int(coefficients[0] * largest + coefficients[1] * (total - largest))


def next_document(held: dict | None, report: dict, length: int, coefficients: tuple[float, float]) -> dict:
    """The visitor's document after `report` (of `length` bytes): every
    report held, padded (or trimmed to its latest reports) to the size the
    service's document has after as many report bytes."""
    reports = [*held["reports"], report] if held else [report]
    sizes = [*held["sizes"], length] if held else [length]
    document = {
        "reports": reports,
        "sizes": sizes,
        "total": (held["total"] if held else 0) + length,
        "largest": max(held["largest"] if held else 0, length),
    }
    target = size(document, coefficients)
    while len(sizes) > 1 and sum(sizes) > target:  # a service that stores less than the reports
        reports, sizes = reports[1:], sizes[1:]
    return {**document, "reports": reports, "sizes": sizes, "pad": "x" * max(0, target - sum(sizes))}


def answer(visitor_id: str, document: dict, coefficients: tuple[float, float]) -> bytes:
    return dumps({"visitorId": visitor_id, "reports": len(document["sizes"]), "pad": "x" * size(document, coefficients)})


def create_floor(
    redis_url: str | None,
    token: str | None,
    document_size: tuple[float, float] = (1.0, 1.0),
    answer_size: tuple[float, float] = (1.0, 0.3),
) -> Any:
    """The floor as an ASGI app: the Redis store when `redis_url`, else a dict."""
    import anyio
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    expected = f"Bearer {token}".encode() if token else None

    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url)

        def submit(visitor_id: str, report: dict, length: int) -> dict:
            key = f"{PREFIX}:{{{visitor_id}}}"
            with client.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        pipe.watch(key)
                        raw = pipe.get(key)
                        document = next_document(loads(raw) if raw else None, report, length, document_size)
                        pipe.multi()
                        pipe.set(key, dumps(document), px=TTL_MS)
                        pipe.execute()
                        return document
                    except redis.WatchError:
                        continue  # another writer first: again, on what it wrote

        def ready() -> bool:
            return bool(client.ping())
    else:
        documents: dict[str, dict] = {}

        def submit(visitor_id: str, report: dict, length: int) -> dict:
            document = next_document(documents.get(visitor_id), report, length, document_size)
            documents[visitor_id] = document
            return document

        def ready() -> bool:
            return True

    async def post_report(request: Request) -> Response:
        if expected is not None and not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
            return JSONResponse({"error": {"code": "unauthorized"}}, status_code=401)
        body = await request.body()
        try:
            report = loads(body)
            visitor_id = report["visitorId"]
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"error": {"code": "badJson"}}, status_code=400)
        # in a thread, as the service submits: the merge a real service does there would block the loop
        document = await anyio.to_thread.run_sync(submit, visitor_id, report, len(body))
        return Response(answer(visitor_id, document, answer_size), media_type="application/json")

    async def readyz(request: Request) -> Response:
        ok = await anyio.to_thread.run_sync(ready)
        return JSONResponse({"status": "ready" if ok else "down"}, status_code=200 if ok else 503)

    return Starlette(routes=[Route("/v1/reports", post_report, methods=["POST"]), Route("/readyz", readyz)])


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound and listening before the floor says it serves. Made with the
    protocol number, as serve makes its own: asyncio sets TCP_NODELAY only on
    sockets whose proto is IPPROTO_TCP, and socket.create_server's proto is 0,
    so every answer (headers, then body) waited for a delayed ACK: 40 ms."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(2048)
    return sock


def _pair(text: str) -> tuple[float, float]:
    first, _, second = text.partition(",")
    return float(first), float(second or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chat_recovery.bench.floor_app", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=None)
    parser.add_argument("--redis-url", default=None, help="the Redis store (default: a dict in the process)")
    parser.add_argument(
        "--document-size", type=_pair, default=(1.0, 1.0), metavar="A,B", help="stored bytes: A x largest report + B x the rest"
    )
    parser.add_argument(
        "--answer-size", type=_pair, default=(1.0, 0.3), metavar="A,B", help="answer bytes: A x largest report + B x the rest"
    )
    parser.add_argument(
        "--processes", type=int, default=1, metavar="N", help="serving processes on the one socket (default 1: this one)"
    )
    args = parser.parse_args(argv)
    if args.processes < 1 or (args.processes > 1 and not args.redis_url):
        parser.error("--processes must be 1 or more, and 1 without --redis-url (a dict is one process's memory)")
    sock = listening_socket(args.host, args.port)
    if args.processes == 1:
        server = _server(args, sock)
        _say_serving(args, [os.getpid()])
        server.run(sockets=[sock])
        return 0
    return _serve_processes(args, sock)


def _server(args: argparse.Namespace, sock: socket.socket, started: Any = None) -> Any:
    """The floor's uvicorn server; `started()` is called once it accepts on `sock`."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if started is not None and not self.should_exit:
                started()

    app = create_floor(args.redis_url, args.token, args.document_size, args.answer_size)
    return Server(uvicorn.Config(app, log_config=None, access_log=False, limit_concurrency=None, http="h11"))


def _say_serving(args: argparse.Namespace, pids: list[int]) -> None:
    store = "redis" if args.redis_url else "embedded"
    count = f"{len(pids)} process{'es' if len(pids) > 1 else ''}"
    print(
        f"floor: serving on http://{args.host}:{args.port} (store: {store}; {JSON}; {count}, pids {' '.join(map(str, pids))})",
        flush=True,
    )


def _serve_one(args: argparse.Namespace, sock: socket.socket, ready: Any) -> None:
    """One of the floor's processes (spawned): serves on the parent's socket
    until SIGTERM, and dies with its parent, so a killed floor leaves no orphan."""
    from ..processes import die_with_parent

    die_with_parent()
    _server(args, sock, started=lambda: ready.put(os.getpid())).run(sockets=[sock])


def _serve_processes(args: argparse.Namespace, sock: socket.socket) -> int:
    """N processes on `sock` until SIGTERM or SIGINT (then each is stopped),
    or until one dies (then the others too, and the floor exits 1: a
    yardstick short of a process would flatter the service)."""
    import multiprocessing
    import multiprocessing.connection

    def stop(sig: int, frame: Any) -> None:
        raise SystemExit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    ctx = multiprocessing.get_context("spawn")  # as serve's: a fresh interpreter per process
    ready = ctx.Queue()
    children = [ctx.Process(target=_serve_one, args=(args, sock, ready), name=f"floor-{i}") for i in range(args.processes)]
    try:
        for child in children:
            child.start()
        _all_ready(children, ready, args)
        ended = multiprocessing.connection.wait([c.sentinel for c in children])  # serving, until one ends
        dead = next(c for c in children if c.sentinel in ended)
        dead.join()  # its exit code
        print(f"floor: process {dead.pid} ended (exit {dead.exitcode}); the floor stops", file=sys.stderr, flush=True)
        return 1
    finally:
        for child in children:
            if child.exitcode is None and child.pid is not None:
                os.kill(child.pid, signal.SIGTERM)
        for child in children:
            child.join(30)
            if child.exitcode is None:
                child.kill()
                child.join()


def _all_ready(children: list, ready: Any, args: argparse.Namespace) -> None:
    """Returns once every child accepts (then the floor says it serves), or
    silently when one died first."""
    pids: list[int] = []
    while len(pids) < len(children):
        try:
            pids.append(ready.get(timeout=0.5))
        except queue.Empty:
            if any(c.exitcode is not None for c in children):
                return
    _say_serving(args, sorted(pids))


if __name__ == "__main__":
    sys.exit(main())
