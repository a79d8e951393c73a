"""`bench --service` as a table: one row per store and connection count,
the serving processes on each side (the floor runs as many as the
service), the floor's figures, the service's, and their ratios computed
from the figures as printed (so anyone can check them). A row that was
skipped or failed says why and shows no figure."""

from __future__ import annotations

from typing import IO

HEADER = (
    "store",
    "conns",
    "procs",
    "floor r/s",
    "p50 ms",
    "p99 ms",
    "service r/s",
    "p50 ms",
    "p99 ms",
    "non-2xx",
    "x floor",
    "p99 x floor",
)


def ratio(numerator: str, denominator: str) -> str:
    """numerator / denominator, both as printed, to 2 places ("-" over zero)."""
    return f"{float(numerator) / float(denominator):.2f}" if float(denominator) else "-"


def row_cells(row: dict) -> list[str]:
    if "floor" not in row:
        return [
            row["store"],
            str(row["connections"]),
            row.get("skipped") and f"skipped: {row['skipped']}" or f"failed: {row['failed']}",
        ]
    floor, service = row["floor"], row["service"]
    cells = [row["store"], str(row["connections"]), str(row["processes"])]
    for side in (floor, service):
        cells += [f"{side['reportsPerSecond']:.0f}", f"{side['p50Ms']:.1f}", f"{side['p99Ms']:.1f}"]
    cells.append(str(service["non2xx"]))
    return [*cells, ratio(cells[6], cells[3]), ratio(cells[8], cells[5])]


def write_table(result: dict, out: IO[str]) -> None:
    storm = result["storm"]
    out.write(
        f"service against its stack's floor, {result['date']}; load average {' '.join(map(str, result['loadAverage']['start']))} "
        f"at the start, {' '.join(map(str, result['loadAverage']['end']))} at the end\n"
        f"storm: {storm['reports']} reports of {storm['visitors']} visitors, seed {storm['seed']}; load: {result['client']}, "
        f"{result['seconds']:g} s a run, {result['rounds']} round{'s' if result['rounds'] != 1 else ''} of floor then service per row"
        f"{'; serve ' + ' '.join(result['serveArgs']) if result['serveArgs'] else ''}\n"
    )
    for store, facts in result["stores"].items():
        answers = "answers {} x the visitor's largest report + {} x its other reports' bytes".format(*facts["answerSize"])
        if facts.get("redis"):
            kept = "{}; the floor stores {} x + {} x and {}".format(facts["redis"], *facts["documentSize"], answers)
        else:
            kept = f"the floor keeps documents in a dict and {answers}"
        out.write(f"{store}: {kept}, fitted on the service's {facts['sizedOn']} answers to the storm's first visitors\n")
    out.write("\n")
    rows = [row_cells(r) for r in result["rows"]]
    measured = [HEADER, *(r for r in rows if len(r) == len(HEADER))]
    widths = [max(len(r[i]) for r in measured) for i in range(len(HEADER))]
    for cells in [list(HEADER), *rows]:
        if len(cells) < len(HEADER):
            out.write(f"{cells[0].ljust(widths[0])}  {cells[1].rjust(widths[1])}  {cells[2]}\n")
            continue
        out.write("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip() + "\n")
    repeats = sum(r[side]["repeats"] for r in result["rows"] if "floor" in r for side in ("floor", "service"))
    out.write(
        "\nprocs: serving processes, the floor's and the service's alike (serve's count on that store: its default or --processes);\n"
        "r/s: reports answered 2xx per second; p50/p99: latency of every answer (the mean of the rounds); non-2xx: the\n"
        "service's other answers and failed requests; x floor: service r/s over floor r/s; p99 x floor: service p99 over floor p99.\n"
    )
    if repeats:
        out.write(
            f"{repeats} requests repeated a report already sent in their run (the storm ran out): raise --visitors for distinct reports\n"
        )
