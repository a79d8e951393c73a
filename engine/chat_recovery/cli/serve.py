"""`chat-recovery serve`: the HTTP service. Each setting is a flag and an
environment variable (CHAT_RECOVERY_<NAME>); a flag wins."""

from __future__ import annotations

import errno
import logging
import math
import signal
import warnings
from dataclasses import replace
from typing import IO

from ..diagnostics import suggest
from ..replay.engines import CHOICES, choices_text
from .common import EXIT_BAD_INPUT, EXIT_BAD_POLICY, EXIT_CANNOT_LISTEN, EXIT_OK, EXIT_USAGE, keys_or_report, load_or_report

SERVE_EXTRA = ("starlette", "uvicorn", "redis", "prometheus_client", "anyio")  # what `pip install 'chat-recovery[serve]'` brings


def switch(text: str) -> bool:
    """A setting that is on or off: the flag alone, or its variable set to one of these words."""
    words = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
    if text.strip().lower() not in words:
        raise ValueError(text)
    return words[text.strip().lower()]


TYPE_NAMES = {
    int: "a whole number",
    float: "a number",
    switch: "on or off (1, true, yes, on / 0, false, no, off)",
}  # for "'http' is not a whole number"

FLAGS = (  # field, flag, parser, help
    ("host", "--host", str, "address to listen on (default 127.0.0.1)"),
    ("port", "--port", int, "port (default 8080)"),
    (
        "redis_url",
        "--redis-url",
        str,
        "a Redis store for several nodes, e.g. redis://10.0.0.5:6379/0 (default: the embedded store)",
    ),
    ("token", "--token", str, "the bearer token every /v1 request must carry (required unless --host is loopback)"),
    ("policy", "--policy", str, "policy directory (default: the bundled policy)"),
    ("window", "--window", float, "seconds a recovery stays open after its first report (default 120)"),
    ("retain", "--retain", float, "seconds a recovery is kept after its window closes (default 3600)"),
    (
        "max_in_flight",
        "--max-in-flight",
        int,
        "reports applied at once; more are answered 429 with a jittered Retry-After (default 64)",
    ),
    ("max_body", "--max-body", int, "bytes a request body may hold (default 16 MiB)"),
    (
        "workers",
        "--workers",
        int,
        "replay worker processes, supervised (default 2); 0 replays in the server's process (one server process only: "
        "with --processes above 1 each replays in-process)",
    ),
    ("engine", "--engine", str, f"action-rule engine: {', '.join(CHOICES)} (default: the policy's)"),
    ("log_level", "--log-level", str, "debug, info (an access line per request; the default), warning or error"),
    ("log_format", "--log-format", str, "text (the default) or json: one object a line, for log shippers"),
    ("purge_every", "--purge-every", float, "seconds between purges of the embedded store's expired documents (default 60)"),
    (
        "max_documents",
        "--max-documents",
        int,
        "visitors the embedded store holds at most; past it the one expiring first is dropped (default 10000)",
    ),
    (
        "message_keys_file",
        "--message-keys",
        str,
        "a JSON or YAML file of key id -> secret: verify message signatures with these keys and set aside the copies that do not verify (default: not verified)",
    ),
    (
        "max_clock_skew",
        "--max-clock-skew",
        float,
        "seconds a report's sentAt may be after the server's clock; a later one is refused, 422 (default 300)",
    ),
    (
        "max_list",
        "--max-list",
        int,
        "reports one list request may hold; a longer list is answered 413, nothing applied (default 500)",
    ),
    (
        "max_visitor_reports",
        "--max-visitor-reports",
        int,
        "distinct reports one visitor's recovery holds; past it a report is answered 422, nothing written (default 500)",
    ),
    (
        "max_visitor_sources",
        "--max-visitor-sources",
        int,
        "sources (the visitor, each agent) one visitor's recovery holds (default 64)",
    ),
    ("max_visitor_messages", "--max-visitor-messages", int, "distinct messages one visitor's recovery holds (default 10000)"),
    (
        "max_visitor_bytes",
        "--max-visitor-bytes",
        int,
        "bytes of one visitor's held document, as compact JSON (default 32 MiB)",
    ),
    (
        "deadline",
        "--deadline",
        float,
        "seconds a report may take to apply, store retries and replay included; past it 503 and nothing is written (default 10)",
    ),
    (
        "worker_timeout",
        "--worker-timeout",
        float,
        "seconds a replay step may run before its worker is killed and the step runs again on a new one (default 30)",
    ),
    (
        "playground",
        "--playground",
        switch,
        "serve the policy playground at /playground, behind the token (a login form sets a session cookie); "
        "it checks and recovers edited copies in memory, never changes the policy in force, never writes (default off)",
    ),
    (
        "processes",
        "--processes",
        int,
        "server processes, each a complete server replaying in-process, on the shared Redis; one that dies is replaced "
        "(default: 2 on Redis; 1, the only choice, with the embedded store or --playground)",
    ),
)


BOUNDS = tuple((field, flag) for field, flag, *_ in FLAGS if field.startswith(("max_list", "max_visitor_")))  # 1 or more


def add_parser(sub, **kw) -> None:
    from ..service.config import env_name

    cmd = sub.add_parser("serve", help="serve live recovery over HTTP (reports in, recoveries out)", **kw)
    for field, flag, parser, text in FLAGS:
        if parser is switch:  # given alone; its variable says on or off
            cmd.add_argument(flag, dest=field, action="store_const", const="on", help=f"{text} [{env_name(field)}]")
        else:
            cmd.add_argument(flag, dest=field, metavar=field.upper(), help=f"{text} [{env_name(field)}]")
    cmd.set_defaults(run=run)


def settings(args, environ, stderr: IO[str]):
    """The ServeConfig from defaults, then environment, then flags; None
    (with the reason written) when a value does not parse."""
    from ..service.config import ServeConfig, defaults, env_name, from_env

    values = defaults()
    given = {**from_env(environ), **{f: getattr(args, f) for f, *_ in FLAGS if getattr(args, f) is not None}}
    parsers = {f: p for f, _, p, _ in FLAGS}
    for field, text in given.items():
        try:
            value = parsers[field](text)
        except ValueError:
            source = "--" + field.replace("_", "-") if getattr(args, field) is not None else env_name(field)
            stderr.write(f"chat-recovery serve: {source}: {text!r} is not {TYPE_NAMES[parsers[field]]}\n")
            return None
        values[field] = value
    config = ServeConfig(**values)
    problems = problems_of(config)
    for problem in problems:
        stderr.write(f"chat-recovery serve: {problem}\n")
    if problems:
        return None
    from ..service.config import processes_in_force

    return replace(config, processes=processes_in_force(config))


def problems_of(config) -> list:
    """What is wrong with settings that each parsed: one line each, every one said."""
    from ..live.stores import unknown_scheme
    from ..service.config import env_name
    from ..service.logs import FORMATS, LEVELS

    problems = []
    if not 0 < config.port < 65536:
        problems.append(f"--port must be 1-65535, not {config.port}")
    if config.window <= 0 or config.retain < 0:
        problems.append("--window must be more than 0 and --retain 0 or more")
    if config.max_in_flight < 1 or config.max_body < 1 or config.workers < 0:
        problems.append("--max-in-flight and --max-body must be 1 or more, --workers 0 or more")
    if config.purge_every <= 0 or config.max_documents < 1:
        problems.append("--purge-every must be more than 0 and --max-documents 1 or more")
    if not 0 <= config.max_clock_skew < float("inf"):
        problems.append(f"--max-clock-skew must be a number of seconds, 0 or more, not {config.max_clock_skew}")
    problems += [
        f"{flag} must be 1 or more, not {getattr(config, field)}" for field, flag in BOUNDS if getattr(config, field) < 1
    ]
    if not all(0 < s < math.inf for s in (config.deadline, config.worker_timeout)):  # NaN fails both comparisons
        problems.append("--deadline and --worker-timeout must be a number of seconds more than 0")
    problems += _processes_problems(config)
    if config.redis_url and unknown_scheme(config.redis_url):
        problems.append(f"--redis-url: {unknown_scheme(config.redis_url)}")
    if config.engine is not None and config.engine not in CHOICES:
        problems.append(f"--engine must be {choices_text()}, not {config.engine!r}{suggest(config.engine, list(CHOICES))}")
    if config.log_level not in LEVELS:
        problems.append(f"--log-level must be {', '.join(LEVELS[:-1])} or {LEVELS[-1]}, not {config.log_level!r}")
    if config.log_format not in FORMATS:
        problems.append(f"--log-format must be {' or '.join(FORMATS)}, not {config.log_format!r}")
    if config.token is not None and not config.token.strip():  # no client could send it: the service would be open or shut
        problems.append(f"the token is empty or only whitespace: give --token or {env_name('token')} a real secret")
    elif not config.token and not config.loopback:
        problems.append(f"a token is required to listen on {config.host}: --token or {env_name('token')}")
    return problems


def _processes_problems(config) -> list:
    """--processes: 1 or more, and more than 1 only where every process sees the same state (Redis)."""
    if config.processes is None or config.processes == 1:
        return []
    if config.processes < 1:
        return [f"--processes must be 1 or more, not {config.processes}"]
    if not config.redis_url:
        return [
            "--processes: the embedded store is one process's memory, so it is served by one process; "
            "give --redis-url to serve from several"
        ]
    if config.playground:
        return ["--processes: the playground's sessions live in one process's memory; serve it from one process"]
    return []


def run(args, stdin, stdout: IO[str], stderr: IO[str]) -> int:
    try:
        from ..service.config import environment
        from ..service.logs import configure, event, log
        from ..service.server import build, engine_in_force, listen, serve, serve_processes
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in SERVE_EXTRA:
            raise
        stderr.write(
            f"chat-recovery serve: the service needs the serve extra ({exc.name} is not installed): pip install 'chat-recovery[serve]'\n"
        )
        return EXIT_USAGE
    config = settings(args, environment(), stderr)
    if config is None:
        return EXIT_USAGE
    policy = load_or_report(config.policy, stderr)
    if policy is None:
        return EXIT_BAD_POLICY
    keys = keys_or_report(config.message_keys_file, {}, "chat-recovery serve", stderr)
    if keys is False:
        return EXIT_USAGE
    playground = _playground(config, stderr) if config.playground else None
    if playground is False:
        return EXIT_BAD_POLICY
    try:
        sock = listen(config)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            stderr.write(
                f"chat-recovery serve: port {config.port} on {config.host} is in use (another server listens there): stop it or choose another --port\n"
            )
        else:
            stderr.write(f"chat-recovery serve: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}\n")
        return EXIT_CANNOT_LISTEN
    configure(config.log_level, config.log_format, stderr)
    warnings.showwarning = _logged_warning  # e.g. `auto` fell back to the compiled engine: a log line in the log's format
    from ..live import StoreMisconfigured

    try:
        # with several processes this one only checks the store (each builds its own): no replay workers
        checked = config if config.processes == 1 else replace(config, workers=0)
        service, close = build(checked, policy, keys or None)
    except Exception as exc:  # noqa: BLE001 - a store that cannot be made (a bad URL): said, not a traceback
        sock.close()
        stderr.write(f"chat-recovery serve: {exc}\n")
        return EXIT_USAGE if isinstance(exc, StoreMisconfigured) else EXIT_BAD_INPUT
    try:
        store_notes = _store_at_start(service.ready)
    except StoreMisconfigured as exc:  # a cluster node behind redis://, or the reverse: it would half-work
        close()
        sock.close()
        stderr.write(f"chat-recovery serve: --redis-url: {exc}\n")
        return EXIT_USAGE
    from ..live.redis_store import redacted
    from ..live.stores import EMBEDDED

    store = redacted(config.redis_url) if config.redis_url else EMBEDDED

    def announce() -> None:
        stdout.write(
            f"chat-recovery: serving on http://{config.host}:{config.port} (store: {store}; policy: "
            f"{config.policy or 'bundled'}; {_workers(config)}{_signatures(keys)})"
            f"{_playground_banner(config)}\n"
        )
        stdout.flush()
        event(
            log,
            logging.INFO,
            "start",
            host=config.host,
            port=config.port,
            store=store,
            policy=config.policy or "bundled",
            workers=config.workers if config.processes == 1 else None,
            processes=config.processes,
            engine=engine_in_force(config, policy),
            messageKeys=",".join(keys) if keys else None,
            playground="/playground/" if playground else None,
        )
        for kind, note in store_notes:
            event(log, logging.WARNING, kind, cause=note)

    try:
        if config.processes > 1:  # each process builds its own; this one only checked the store
            close()
            close = _nothing
            stopped_by = serve_processes(config, policy, keys or None, sock, announce)
        else:
            stopped_by = serve(service, config, sock, announce, playground or None)
    finally:
        close()
    event(log, logging.INFO, "stopped", signal=signal.Signals(stopped_by).name if stopped_by else None)
    return (
        128 + signal.SIGINT if stopped_by == signal.SIGINT else EXIT_OK
    )  # Ctrl-C as shells count it; SIGTERM: asked to stop, stopped


def _store_at_start(ready) -> list[tuple[str, str]]:
    """What the start log says of the store, as (event, cause): its warnings
    (a Redis with no persistence), or that it does not answer yet (the
    server starts all the same and says 503 until it does). A store of the
    wrong kind (StoreMisconfigured) is raised: serve refuses to start."""
    from ..live import StoreMisconfigured, StoreUnavailable

    try:
        return [("storeWarning", note) for note in ready() or ()]
    except StoreMisconfigured:
        raise
    except StoreUnavailable as exc:
        return [("storeUnavailable", str(exc))]


def _playground(config, stderr: IO[str]):
    """The playground app for `--playground`, over the policy directory the
    service loaded (read again: its own copy, which edits never reach the
    service's); False, with the reason written, when it cannot be opened."""
    from pathlib import Path

    from ..playground.gate import for_service
    from ..playground.workspace import Refused, Workspace
    from ..policy import bundled
    from .playground import default_roots

    directory = Path(config.policy) if config.policy else bundled.rules_dir()
    try:
        workspace = Workspace.open(directory, default_roots(directory), writable=False)
    except Refused as exc:
        stderr.write(f"chat-recovery serve: --playground: {exc}\n")
        return False
    return for_service(workspace, config.token)


def _playground_banner(config) -> str:
    if not config.playground:
        return ""
    how = "sign in with the token" if config.token else "this machine only, no token"
    return f"; playground on http://{config.host}:{config.port}/playground/ ({how})"


def _signatures(keys) -> str:
    """The banner's word on signatures: the key ids in force (never a secret), or nothing."""
    return f"; message signatures verified, key ids: {', '.join(keys)}" if keys else ""


def _workers(config) -> str:
    if config.processes > 1:
        return f"{config.processes} server processes, each replaying in-process"
    count = config.workers
    return "no replay workers" if count == 0 else "1 replay worker" if count == 1 else f"{count} replay workers"


def _nothing() -> None:
    pass


def _logged_warning(message, category, filename, lineno, file=None, line=None) -> None:
    from ..service.logs import event, log

    event(log, logging.WARNING, "warning", message=str(message), category=category.__name__)
