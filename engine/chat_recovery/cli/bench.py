"""`chat-recovery bench`: a seeded recovery storm, every engine measured on
it end to end in the same run, as a table or JSON; `bench storm` writes that
storm as NDJSON, for `recover --batch` and for anyone's own measurements."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import IO

from ..bench.batch_run import batch_bench
from ..bench.measure import ENGINES, STAGES, available
from ..bench.run import BenchError, bench, machine, sizes
from ..bench.service_run import ServiceBenchError, ServiceBenchSpec, free_port, serve_flags, service_bench
from ..bench.service_table import write_table
from ..bench.storm import StormSpec, write_ndjson
from ..jsonio import pretty
from ..replay.engines import ENGINES as TABLE
from .common import EXIT_BAD_INPUT, EXIT_BAD_POLICY, EXIT_OK, EXIT_USAGE, Parser, whole_number


def _count(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def add_parser(sub, **kw) -> None:
    cmd = sub.add_parser("bench", help="measure every engine on a seeded recovery storm, against a hand-written reference", **kw)
    cmd.add_argument(
        "--visitors",
        type=_count,
        default=10_000,
        metavar="N",
        help="visitors in the storm (default 10000; about a third hold a chat)",
    )
    cmd.add_argument(
        "--seed", type=whole_number, default=1, metavar="S", help="the storm's seed: same seed, same storm (default 1)"
    )
    cmd.add_argument(
        "--engine",
        action="append",
        choices=ENGINES,
        metavar="ENGINE",
        help=f"measure only this engine ({', '.join(ENGINES)}); repeatable; default: every engine this Python runs",
    )
    cmd.add_argument("--format", choices=("table", "json"), default="table")
    cmd.add_argument(
        "--sizes",
        action="store_true",
        help="run 5 storms (N/10, N/3 and N visitors; N/3 visitors with 10-30 and 40-120 messages a chat) to show how cost grows",
    )
    cmd.add_argument(
        "--batch",
        action="store_true",
        help="measure `recover --batch` instead: the storm as NDJSON, each --jobs value in --repeat rounds, wall time, speed-up beside the machine's parallel ceiling, and the peak memory of the whole process tree",
    )
    cmd.add_argument(
        "--jobs",
        type=_jobs,
        default=(1, 2),
        metavar="LIST",
        help="with --batch: the --jobs values to run, comma separated (default 1,2)",
    )
    cmd.add_argument(
        "--repeat",
        type=_count,
        default=3,
        metavar="K",
        help="with --batch: rounds of every --jobs value, interleaved, so one busy minute on a shared machine does not decide the speed-up (default 3)",
    )
    _add_service_options(cmd)
    cmd.set_defaults(run=run)
    # An optional subcommand: plain `bench [flags]` still measures.
    actions = cmd.add_subparsers(dest="bench_command", metavar="{storm}", parser_class=Parser)
    out = actions.add_parser(
        "storm",
        help="write the seeded storm (the one bench measures) as NDJSON, one report a line, as `recover --batch` reads it",
        **kw,
    )
    # SUPPRESS: no default of its own, so `bench --visitors 50 storm` keeps the 50 (bench's defaults apply).
    out.add_argument(
        "--visitors", type=_count, default=argparse.SUPPRESS, metavar="N", help="visitors in the storm (default 10000)"
    )
    out.add_argument(
        "--seed",
        type=whole_number,
        default=argparse.SUPPRESS,
        metavar="S",
        help="the storm's seed: same seed, same file, byte for byte (default 1)",
    )
    out.add_argument("--out", default="-", metavar="FILE", help="where to write it (default: stdout, also -)")
    out.set_defaults(run=run_storm)


def _add_service_options(cmd) -> None:
    """`bench --service` and the options only it reads."""
    cmd.add_argument(
        "--service",
        action="store_true",
        help="measure `chat-recovery serve` against its stack's floor (the same Starlette + uvicorn + redis-py doing only what any "
        "merger must), both driven by the same load (wrk when on PATH), in interleaved rounds, and print the ratios",
    )
    cmd.add_argument(
        "--store",
        type=_stores,
        default=("embedded", "redis"),
        metavar="LIST",
        help="with --service: the stores, comma separated (default embedded,redis; redis starts redis-server from PATH unless --redis-url)",
    )
    cmd.add_argument(
        "--connections",
        type=_jobs,
        default=(8, 32, 128),
        metavar="LIST",
        help="with --service: the connection counts, comma separated (default 8,32,128)",
    )
    cmd.add_argument(
        "--duration", type=_seconds, default=10.0, metavar="S", help="with --service: seconds of load per run (default 10)"
    )
    cmd.add_argument(
        "--rounds",
        type=_count,
        default=2,
        metavar="K",
        help="with --service: rounds per row, each the floor then the service (default 2)",
    )
    cmd.add_argument(
        "--redis-url",
        metavar="URL",
        help="with --service: an empty Redis to use instead of starting redis-server (its chat-recovery keys are deleted between rounds)",
    )
    cmd.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="with --service: one more argument for `chat-recovery serve`, repeatable (--serve-arg=--workers=0)",
    )
    cmd.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="with --service: the load generator (default auto: wrk when on PATH, else a bounded Python client)",
    )


def _stores(text: str) -> tuple:
    values = tuple(dict.fromkeys(part.strip() for part in text.split(",")))
    wrong = [v for v in values if v not in ("embedded", "redis")]
    if wrong or not values:
        raise argparse.ArgumentTypeError(
            f"{wrong[0] if wrong else text!r}: the stores are embedded and redis, e.g. embedded,redis"
        )
    return values


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value > 3600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 3600 seconds")
    return value


def _run_service(args, spec: StormSpec, stdout: IO[str], stderr: IO[str]) -> int:
    service_spec = ServiceBenchSpec(
        stores=args.store,
        connections=args.connections,
        seconds=args.duration,
        rounds=args.rounds,
        storm=spec,
        redis_url=args.redis_url,
        serve_args=tuple(args.serve_arg),
        client=args.client,
    )
    with tempfile.TemporaryDirectory(prefix="chat-recovery-bench-") as work:
        try:
            result = service_bench(
                service_spec,
                Path(work),
                progress=lambda text: print(text, file=stderr),
                processes_for=lambda url: serving_processes(service_spec, url),
            )
        except ServiceBenchError as exc:
            stderr.write(f"chat-recovery bench: {exc}\n")
            return EXIT_USAGE
    result = {"machine": machine(), **result}
    if args.format == "json":
        stdout.write(pretty(result))
    else:
        write_table(result, stdout)
    return EXIT_OK


def _jobs(text: str) -> tuple:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of numbers, e.g. 1,2") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("each --jobs value must be 1 or more")
    return values


def run_storm(args, stdin, stdout: IO[str], stderr: IO[str]) -> int:
    spec = StormSpec(visitors=args.visitors, seed=args.seed)
    if args.out == "-":
        write_ndjson(spec, stdout)
        return EXIT_OK
    try:
        with open(args.out, "w", encoding="utf-8") as out:
            facts = write_ndjson(spec, out)
    except OSError as exc:
        stderr.write(f"chat-recovery bench storm: {args.out}: cannot write: {exc.strerror or exc}\n")
        return EXIT_BAD_INPUT
    stderr.write(f"{args.out}: {facts['reports']} reports of {facts['visitors']} visitors, seed {facts['seed']}\n")
    return EXIT_OK


def run(args, stdin, stdout: IO[str], stderr: IO[str]) -> int:
    can = available()
    engines = tuple(dict.fromkeys(args.engine)) if args.engine else can
    missing = [e for e in engines if e not in can]
    if missing:
        stderr.write(f"chat-recovery bench: {TABLE[missing[0]].unavailable}; use --engine compiled\n")
        return EXIT_USAGE
    spec = StormSpec(visitors=args.visitors, seed=args.seed)
    if args.service:
        return _run_service(args, spec, stdout, stderr)
    if args.batch:
        return _run_batch(args, spec, stdout, stderr)
    specs = sizes(spec) if args.sizes else [spec]
    host = machine()
    runs = []
    with tempfile.TemporaryDirectory(prefix="chat-recovery-bench-") as work:
        for one in specs:
            try:
                runs.append(bench(one, engines, Path(work), progress=lambda text: stderr.write(text + "\n")))
            except BenchError as exc:
                stderr.write(f"chat-recovery bench: {exc}\n")
                return EXIT_BAD_POLICY
    if args.format == "json":
        body = {"machine": host, "runs": runs} if args.sizes else {"machine": host, **runs[0]}
        stdout.write(pretty(body))
    elif args.sizes:
        _growth_table(host, runs, stdout)
    else:
        _table(host, runs[0], stdout)
    return EXIT_OK


def _machine_line(host: dict) -> str:
    durable = f", durable_rules {host['durableRules']}" if host.get("durableRules") else ""
    return f"machine: {host['cores']} cores, load average {host['load1']} when the run began, Python {host['python']}{durable}\n"


def _storm_line(storm: dict) -> str:
    lo, hi = storm["messagesPerChat"]
    return (
        f"storm: {storm['visitors']} visitors ({storm['chats']} with a chat of {lo}-{hi} messages), {storm['reports']} reports "
        f"holding {storm['messagesInReports']} messages, {storm['megabytes']} MB of NDJSON; seed {storm['seed']}\n"
    )


COLUMNS = (
    ("engine", "{engine}"),
    ("recoveries/s", "{recoveriesPerSecond:.0f}"),
    ("p50 ms", "{latencyMs[p50]:.2f}"),
    ("p99 ms", "{latencyMs[p99]:.2f}"),
    *((f"{s} s", "{stageSeconds[%s]:.2f}" % s) for s in STAGES),
    ("total s", "{seconds:.2f}"),
    ("peak MB", "{peakRssMB:.0f}"),
    ("x reference", "{xReference}"),
    ("x floor", "{xFloor}"),
)


def _rows(header: list, rows: list, out: IO[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write(
            "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip() + "\n"
        )


def _table(host: dict, result: dict, out: IO[str]) -> None:
    out.write(_storm_line(result["storm"]) + _machine_line(host) + "\n")
    rows = [*result["engines"], result["floor"]]
    _rows([name for name, _ in COLUMNS], [[fmt.format(**e) for _, fmt in COLUMNS] for e in rows], out)
    out.write(
        "\nstages: read = read a line and parse its JSON; validate = check the report; merge = fold it into the held state;\n"
        "replay = rebuild the chat and render the recovery; write = the recovery as one JSON line. Each engine ran in its own process.\n"
        "floor: the storm's I/O floor, orjson parsing every line and writing every recovery (the first engine's), nothing else.\n"
    )


def _growth_table(host: dict, runs: list, out: IO[str]) -> None:
    """Per engine: the visitor series (N/10, N/3, N), then the log series
    (10-30, 20-60, 40-120 messages at N/3 visitors)."""
    out.write(_machine_line(host) + "\n")
    header = [
        "engine",
        "grows",
        "visitors",
        "messages/chat",
        "reports",
        "messages",
        "total s",
        "us/visitor",
        "us/message",
        "x reference",
        "x floor",
    ]
    series = (("visitors", (0, 1, 2)), ("messages", (3, 1, 4))) if len(runs) == 5 else (("-", range(len(runs))),)
    rows = []
    for engine in [e["engine"] for e in runs[0]["engines"]] + [runs[0]["floor"]["engine"]]:
        for grows, order in series:
            for index in order:
                storm = runs[index]["storm"]
                e = next(r for r in [*runs[index]["engines"], runs[index]["floor"]] if r["engine"] == engine)
                rows.append(
                    [
                        engine,
                        grows,
                        storm["visitors"],
                        "{}-{}".format(*storm["messagesPerChat"]),
                        storm["reports"],
                        storm["messagesInReports"],
                        f"{e['seconds']:.2f}",
                        f"{e['usPerVisitor']:.0f}",
                        f"{e['usPerReportedMessage']:.2f}" if e["usPerReportedMessage"] is not None else "-",
                        e["xReference"],
                        e["xFloor"],
                    ]
                )
    _rows(header, rows, out)
    out.write(
        "\nlinear in visitors: us/visitor stays flat down a `visitors` series. n log n in messages: us/message stays\n"
        "near flat down a `messages` series (log n grows slowly; each visitor's fixed cost weighs most on short logs).\n"
    )


def _run_batch(args, spec: StormSpec, stdout: IO[str], stderr: IO[str]) -> int:
    host = machine()
    with tempfile.TemporaryDirectory(prefix="chat-recovery-bench-") as work:
        try:
            result = batch_bench(spec, args.jobs, Path(work), repeat=args.repeat, progress=lambda text: stderr.write(text + "\n"))
        except RuntimeError as exc:
            stderr.write(f"chat-recovery bench: {exc}\n")
            return EXIT_BAD_POLICY
    if args.format == "json":
        stdout.write(pretty({"machine": host, **result}))
        return EXIT_OK
    storm = result["storm"]
    stdout.write(
        f"batch: {storm['visitors']} visitors, {storm['reports']} reports, {storm['megabytes']} MB of NDJSON; seed {storm['seed']}\n"
    )
    stdout.write(_machine_line(host) + "\n")
    rows = [
        [
            r["jobs"],
            f"{r['seconds']:.2f}",
            f"{r['medianSeconds']:.2f}",
            f"{r['recoveriesPerSecond']:.0f}",
            r["speedup"],
            r["medianSpeedup"],
            r["ceiling"],
            "-" if r["peakTreePssMB"] is None else f"{r['peakTreePssMB']:.0f}",
        ]
        for r in result["runs"]
    ]
    _rows(
        ["jobs", "best s", "median s", "recoveries/s", "speed-up", "median speed-up", "ceiling", "peak MB (tree PSS)"],
        rows,
        stdout,
    )
    rounds = result["repeat"]
    stdout.write(
        f"\n{rounds} round{'s' if rounds != 1 else ''}, every --jobs value once a round; "
        f"same recoveries, byte for byte, in every run: {'yes' if result['identicalOutputs'] else 'NO'}\n"
        "speed-up: the first --jobs value's best time over this one's best; median speed-up: the median of the rounds' own ratios.\n"
        "ceiling: how much faster this machine ran the same pure-Python work split over as many processes, in the same\n"
        "rounds: about the most a speed-up can be here and now (N on N idle cores, less when neighbours share them).\n"
        "peak MB: the summed PSS of the command and its workers, sampled every 0.5 s (shared pages counted once).\n"
    )
    return EXIT_OK


def serving_processes(spec: ServiceBenchSpec, redis_url: str | None) -> int:
    """How many server processes `serve` runs with the bench's flags on this
    store, by serve's own reading of its flags and environment: the floor
    runs as many. 1 when serve would refuse them (its row then fails in
    serve's own words)."""
    import io

    from ..service.config import environment
    from . import serve as serve_cli

    sink = io.StringIO()
    top = Parser(prog="chat-recovery", stderr=sink, stdout=sink)
    serve_cli.add_parser(top.add_subparsers(parser_class=Parser), stderr=sink, stdout=sink)
    try:
        args = top.parse_args(["serve", *serve_flags(spec, free_port(), redis_url)])
    except SystemExit:
        return 1
    config = serve_cli.settings(args, environment(), sink)
    return config.processes if config is not None else 1
