"""Every recovery byte for byte as recorded in tests/golden/recoveries/, on
every engine this Python has: each folder of examples/ and corpus/ (with and
without --explain), each case of the shipped suites rules/tests/*.test.yaml,
and the 10,000-visitor storm of `bench storm` (recorded as digests: the
output is 62 MB).

It drives only the `chat-recovery` command and the public API (`import
chat_recovery as cr`), never a module inside the package, so it holds across
a reorganisation of the package: that is its job.

When to update (`pytest tests/test_golden_recoveries.py --update-golden`):
only for an intended change to what recoveries say, e.g. seed-fidelity work
that corrects a value, a new field, an explain text, or any edit of rules/
(every recovery carries rule positions and the policy's digest). A refactor
never needs it: if this fails after one, the refactor changed behaviour.
Review the whole diff of tests/golden/recoveries/ before committing it; in
storm/*.lines each line is one visitor's recovery (a digest), so the diff
shows which visitors changed.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import chat_recovery as cr
from conftest import ROOT, cli, without_fallback_note

GOLDEN = ROOT / "tests" / "golden" / "recoveries"
NOW = "2026-11-24T09:00:30Z"  # README, `make demo` and corpus/README recover at this time
ENGINES = ("durable", "compiled", "python")
REPORT_SUFFIXES = (".json", ".yaml", ".yml")  # what `recover` and `recover --batch DIR` read as one report
STORM_VISITORS, STORM_SEED = 10000, 1
STORM_RECORD = GOLDEN / "storm" / f"seed-{STORM_SEED}-{STORM_VISITORS}-visitors.json"
STORM_LINES = STORM_RECORD.with_suffix(".lines")  # a short digest of each output line, one a line
# Both ways `recover --batch` runs (in its own process, and in worker
# processes) give the same bytes; each is pinned on some engine on every Python.
STORM_JOBS = {"durable": 2, "compiled": 1, "python": 2}


def update_mode(config) -> bool:
    return bool(config.getoption("--update-golden"))


@functools.cache
def engine_missing(engine: str) -> str:
    """Why this engine cannot run on this Python, or ''."""
    if engine != "durable":
        return ""
    try:
        import durable.engine  # noqa: F401  (the third-party package, not ours)
    except Exception as exc:  # noqa: BLE001  (ImportError, or the undefined symbol of its C extension on 3.13)
        return (
            f"durable_rules does not import on Python {sys.version_info.major}.{sys.version_info.minor} "
            f"({type(exc).__name__}: {exc}); the compiled and python engines still run"
        )
    return ""


def engines_here() -> list[str]:
    return [engine for engine in ENGINES if not engine_missing(engine)]


def need(engine: str) -> None:
    if engine_missing(engine):
        pytest.skip(engine_missing(engine))


# --- the inputs --------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """One recovery to pin: `name` is its golden path, less the suffix."""

    name: str
    now: str
    reports: tuple
    files: tuple = ()  # the report files, for inputs that are folders


def plain(value, where: str):
    """A report as JSON would give it; PyYAML reads some unquoted scalars
    (times, dates) as other types, which the command never does."""
    if isinstance(value, dict):
        return {key: plain(item, where) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item, where) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise AssertionError(f"{where}: YAML value {value!r} reads as {type(value).__name__}; quote it")


def read_report(path: Path):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return plain(yaml.safe_load(text), str(path.relative_to(ROOT)))


def report_sets(kind: str) -> list[Visitor]:
    """Each folder of examples/ or corpus/: its report files in name order,
    as `recover --now NOW FOLDER/*.json` takes them."""
    found = []
    for folder in sorted(p for p in (ROOT / kind).iterdir() if p.is_dir()):
        files = tuple(sorted(p for p in folder.iterdir() if p.suffix in REPORT_SUFFIXES))
        if files:
            found.append(Visitor(f"{kind}/{folder.name}", NOW, tuple(read_report(f) for f in files), files))
    return found


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80].rstrip("-")


def suite_cases() -> list[Visitor]:
    """Each case of rules/tests/*.test.yaml, read as `policy test` reads it:
    the reports (a `file:` relative to the suite), defaults filled in, the
    case's `now` else the suite's."""
    found = []
    for suite in sorted((ROOT / "rules" / "tests").glob("*.test.y*ml")):
        doc = yaml.safe_load(suite.read_text(encoding="utf-8"))
        defaults = doc.get("defaults") or {}
        seen: dict[str, str] = {}
        for spec in doc["tests"]:
            reports = []
            for item in spec["reports"]:
                report = read_report(suite.parent / item["file"]) if "file" in item else plain(dict(item), str(suite))
                for key in ("visitorId", "sentAt"):
                    if isinstance(report, dict) and key not in report and key in defaults:
                        report[key] = defaults[key]
                reports.append(report)
            stem = slug(spec["name"])
            assert stem not in seen, (
                f"{suite.name}: cases '{seen[stem]}' and '{spec['name']}' share the golden name {stem}; reword one"
            )
            seen[stem] = spec["name"]
            name = f"suites/{suite.name.split('.')[0]}/{stem}"
            found.append(Visitor(name, spec.get("now", defaults.get("now", NOW)), tuple(reports)))
    return found


EXAMPLES = report_sets("examples")
CORPUS = report_sets("corpus")
SUITE_CASES = suite_cases()
SETS = EXAMPLES + CORPUS


# --- per visitor: recover, and compare with the recorded bytes ----------------


def recovered(policy, visitor: Visitor, engine: str, explain: bool) -> tuple[str, bytes]:
    """(golden file name, bytes): what `recover` prints (JSON, 2-space
    indent, UTF-8), or the error the API raises."""
    stem = visitor.name + (".explain" if explain else "")
    try:
        recovery = cr.recover(policy, copy.deepcopy(list(visitor.reports)), visitor.now, explain=explain, engine=engine)
    except (cr.ReportError, cr.RecoveryError) as exc:
        return f"{stem}.error.txt", f"{type(exc).__name__}: {exc}\n".encode()
    return f"{stem}.json", (json.dumps(recovery, indent=2, ensure_ascii=False) + "\n").encode()


def recover_all(policy, engine: str) -> dict[str, bytes]:
    return dict(recovered(policy, visitor, engine, explain) for visitor in SETS + SUITE_CASES for explain in (False, True))


def recorded() -> dict[str, bytes]:
    """Every golden file but the storm's, by its path under GOLDEN."""
    return {
        p.relative_to(GOLDEN).as_posix(): p.read_bytes()
        for p in sorted(GOLDEN.rglob("*"))
        if p.is_file() and p.parent.name != "storm"
    }


def first_difference(old: bytes, new: bytes, width: int = 30) -> str:
    """A unified diff of the two texts, cut to `width` lines; one-line JSON
    (a batch line) is shown indented first, and where only the spelling
    differs, the first differing character."""
    old_text, new_text = old.decode(errors="replace"), new.decode(errors="replace")
    if old_text.count("\n") <= 1 and new_text.count("\n") <= 1:
        try:
            old_pretty, new_pretty = (json.dumps(json.loads(t), indent=2, ensure_ascii=False) for t in (old_text, new_text))
        except ValueError:
            old_pretty = new_pretty = None
        if old_pretty is not None and old_pretty != new_pretty:
            old_text, new_text = old_pretty, new_pretty
        else:
            at = next((i for i, (a, b) in enumerate(zip(old_text, new_text)) if a != b), min(len(old_text), len(new_text)))
            return (
                f"      the same JSON, spelt otherwise; from character {at}:\n"
                f"      recorded: {old_text[max(0, at - 40) : at + 40]!r}\n      now:      {new_text[max(0, at - 40) : at + 40]!r}"
            )
    lines = list(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), "recorded", "now", n=2, lineterm=""))
    more = f"\n      ... {len(lines) - width} more diff lines" if len(lines) > width else ""
    return "\n".join("      " + line for line in lines[:width]) + more


def differences(golden: dict[str, bytes], produced: dict[str, bytes], how: str) -> list[str]:
    problems = []
    for name in sorted(set(golden) | set(produced)):
        if name not in golden:
            problems.append(f"{name}: {how} gives it, but nothing is recorded (a new input? record it with --update-golden)")
        elif name not in produced:
            problems.append(
                f"{name}: recorded, but {how} no longer gives it (an input gone, or a recovery turned into an error or back)"
            )
        elif golden[name] != produced[name]:
            problems.append(f"{name}: {how} gives other bytes than recorded:\n{first_difference(golden[name], produced[name])}")
    return problems


def verdict(problems: list[str], limit: int = 5) -> str:
    shown = "\n".join(problems[:limit])
    rest = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} of the recorded outputs differ (tests/golden/recoveries/):\n{shown}{rest}"


@pytest.fixture(scope="session")
def golden(request, policy) -> dict[str, bytes]:
    """The recorded bytes; with --update-golden, first rewritten from what
    every engine here recovers (which must agree: one golden serves them all)."""
    if update_mode(request.config):
        outputs = {engine: recover_all(policy, engine) for engine in engines_here()}
        first, *others = engines_here()
        for engine in others:
            disagree = differences(outputs[first], outputs[engine], f"engine {engine}")
            assert not disagree, (
                f"engines {first} and {engine} disagree, so one golden file per input cannot hold both; "
                f"make them agree (or record one per engine):\n" + verdict(disagree)
            )
        for old in recorded():
            (GOLDEN / old).unlink()
        for name, data in outputs[first].items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
        for folder in sorted(GOLDEN.rglob("*"), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    found = recorded()
    assert found, "nothing recorded in tests/golden/recoveries/; run pytest tests/test_golden_recoveries.py --update-golden"
    return found


@pytest.mark.parametrize("engine", ENGINES)
def test_every_set_and_suite_case_recovers_as_recorded(engine, policy, golden):
    """The API, in this process: every example, corpus set and suite case,
    with and without explain."""
    need(engine)
    problems = differences(golden, recover_all(policy, engine), f"cr.recover(engine={engine!r})")
    if problems:
        pytest.fail(verdict(problems), pytrace=False)


@pytest.mark.parametrize("explain", [False, True], ids=["json", "explain"])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda v: v.name.split("/")[-1])
def test_each_example_prints_as_recorded(example, explain, golden):
    """The README's and `make demo`'s own command, on the default engine:
    the bytes a user sees."""
    flags = ["--explain"] if explain else []
    done = cli("recover", "--now", NOW, *flags, *example.files)
    assert done.returncode == 0 and without_fallback_note(done.stderr) == b"", done.stderr.decode()
    name = example.name + (".explain" if explain else "") + ".json"
    problems = differences(
        {name: golden.get(name, b"")}, {name: done.stdout}, f"`{' '.join(['chat-recovery recover --now', NOW, *flags])}`"
    )
    if problems:
        pytest.fail(verdict(problems), pytrace=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_batch_recovers_every_set_as_recorded(engine, golden, tmp_path):
    """`recover --batch` over a folder of all the examples and corpus sets:
    each line is the recorded recovery, as one JSON line."""
    need(engine)
    for kind in ("examples", "corpus"):
        shutil.copytree(ROOT / kind, tmp_path / "sets" / kind)
    for explain in (False, True):
        flags = ["--explain"] if explain else []
        done = cli("recover", "--batch", tmp_path / "sets", "--now", NOW, "--engine", engine, *flags)
        assert done.returncode == 0, done.stderr.decode()
        produced, expected = {}, {}
        for visitor in SETS:
            name = visitor.name + (".explain" if explain else "") + ".json"
            if name in golden:
                recovery = json.loads(golden[name])
                line = json.dumps(recovery, ensure_ascii=False, separators=(",", ":"))  # compact, as orjson writes
                expected[recovery["visitorId"]] = (name, line.encode() + b"\n")
        for line in done.stdout.splitlines(keepends=True):
            visitor_id = json.loads(line)["visitorId"]
            name = expected.get(visitor_id, (f"(visitor {visitor_id})",))[0]
            produced[name] = line
        problems = differences(
            {name: data for name, data in expected.values()},
            produced,
            f"`{' '.join(['chat-recovery recover --batch --engine', engine, *flags])}`",
        )
        if problems:
            pytest.fail(verdict(problems), pytrace=False)


def test_every_engine_the_command_offers_is_pinned_here():
    done = cli("recover", "--help")
    offered = re.search(r"--engine \{([a-z,]+)\}", done.stdout.decode())
    assert offered, done.stdout.decode()
    assert set(offered.group(1).split(",")) - {"auto"} == set(ENGINES)


# --- the storm ---------------------------------------------------------------


def storm_command(out) -> list:
    return ["bench", "storm", "--visitors", STORM_VISITORS, "--seed", STORM_SEED, "--out", out]


def batch_command(storm, engine: str, out) -> list:
    return ["recover", "--batch", storm, "--now", NOW, "--engine", engine, "--jobs", STORM_JOBS[engine], "--out", out]


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


@dataclass(frozen=True)
class Digests:
    sha256: str
    bytes: int
    lines: tuple  # a short digest of each line: enough to find the first that differs
    first_changed: int  # the first line whose digest is not the recorded one (0: none)
    first_changed_line: bytes


def digests(path: Path, recorded_lines: tuple) -> Digests:
    whole, lines, size, first, first_line = hashlib.sha256(), [], 0, 0, b""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            whole.update(line)
            size += len(line)
            lines.append(hashlib.sha256(line).hexdigest()[:8])
            if not first and (number > len(recorded_lines) or recorded_lines[number - 1] != lines[-1]):
                first, first_line = number, line
    return Digests(whole.hexdigest(), size, tuple(lines), first, first_line)


def recorded_lines() -> tuple:
    return tuple(STORM_LINES.read_text(encoding="utf-8").split()) if STORM_LINES.is_file() else ()


@pytest.fixture(scope="session")
def storm(tmp_path_factory):
    """The storm's NDJSON (106 MB; the same bytes for the same seed), and its digest."""
    path = tmp_path_factory.mktemp("storm") / "storm.ndjson"
    done = cli(*storm_command(path))
    assert done.returncode == 0, done.stderr.decode()
    yield path, file_digest(path)
    path.unlink()


@pytest.fixture(scope="session")
def storm_run(storm):
    """Each engine's recoveries of the storm, run once per session: digests
    read, then the 62 MB output removed."""
    path, _ = storm

    @functools.cache
    def run(engine: str) -> Digests:
        out = path.with_name(f"{engine}.ndjson")
        done = cli(*batch_command(path, engine, out))
        assert done.returncode == 0, done.stderr.decode()
        try:
            return digests(out, recorded_lines())
        finally:
            out.unlink()

    return run


@pytest.fixture(scope="session")
def storm_record(request, storm, storm_run) -> dict:
    """The recorded digests; with --update-golden, first rewritten from
    every engine here (which must agree)."""
    if update_mode(request.config):
        runs = {engine: storm_run(engine) for engine in engines_here()}
        first, *others = engines_here()
        for engine in others:
            assert runs[engine].lines == runs[first].lines, (
                f"engines {first} and {engine} recover the storm differently; make them agree (or record one per engine)"
            )
        record = {
            "storm": " ".join(map(str, ["chat-recovery", *storm_command("storm.ndjson")])),
            "storm_sha256": storm[1],
            "recover": f"chat-recovery recover --batch storm.ndjson --now {NOW} --engine ENGINE --jobs JOBS[ENGINE] --out out.ndjson",
            "jobs": STORM_JOBS,
            "engines_recorded": engines_here(),
            "output_lines": len(runs[first].lines),
            "output_bytes": runs[first].bytes,
            "output_sha256": runs[first].sha256,
        }
        STORM_RECORD.parent.mkdir(parents=True, exist_ok=True)
        STORM_RECORD.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        STORM_LINES.write_text("".join(f"{digest}\n" for digest in runs[first].lines), encoding="utf-8")
    assert STORM_RECORD.is_file() and STORM_LINES.is_file(), (
        f"{STORM_RECORD.relative_to(ROOT)} is missing; run pytest tests/test_golden_recoveries.py --update-golden"
    )
    return json.loads(STORM_RECORD.read_text(encoding="utf-8"))


def test_the_storm_is_the_recorded_input(storm, storm_record):
    """Else the recoveries below cannot be compared: `bench storm` itself changed."""
    if storm[1] != storm_record["storm_sha256"]:
        pytest.fail(
            f"`{storm_record['storm']}` no longer writes the storm the recoveries were recorded from "
            f"(sha256 {storm[1]}, recorded {storm_record['storm_sha256']}): the generator changed. "
            f"If that is intended, record again with --update-golden and review it",
            pytrace=False,
        )


@pytest.mark.parametrize("engine", ENGINES)
def test_the_storm_recovers_as_recorded(engine, storm, storm_run, storm_record):
    """`recover --batch` of the 10,000-visitor storm: the whole output's
    SHA-256 and line count as recorded; on a difference, the first visitor
    line that differs and how to see it whole."""
    need(engine)
    if storm[1] != storm_record["storm_sha256"]:
        pytest.fail("the storm input is not the recorded one (see test_the_storm_is_the_recorded_input)", pytrace=False)
    got = storm_run(engine)
    if (got.sha256, len(got.lines)) == (storm_record["output_sha256"], storm_record["output_lines"]):
        return
    old = recorded_lines()
    changed = sum(a != b for a, b in zip(old, got.lines))
    found = re.match(rb'\{"visitorId": "([^"]+)"', got.first_changed_line)
    who = found.group(1).decode() if found else "?"
    shown = got.first_changed_line.decode(errors="replace").rstrip("\n")
    if got.first_changed:
        where = (
            f"the first at line {got.first_changed} (visitor {who}):\n  now: {shown[:400]}{' ...' if len(shown) > 400 else ''}"
        )
    elif len(got.lines) < len(old):
        where = f"the output ends at line {len(got.lines)}"
    else:
        where = f"every line's digest is the recorded one: a change the 8-hex digests miss, or {STORM_RECORD.name} was edited"
    pytest.fail(
        f"the storm on engine {engine}: sha256 {got.sha256} ({len(got.lines)} lines), recorded "
        f"{storm_record['output_sha256']} ({storm_record['output_lines']} lines); {changed} of the first "
        f"{min(len(old), len(got.lines))} lines differ, {where}\n"
        f"To see a line whole (the storm is the same bytes for the same seed):\n"
        f"  chat-recovery {' '.join(map(str, storm_command('storm.ndjson')))}\n"
        f"  chat-recovery {' '.join(map(str, batch_command('storm.ndjson', engine, 'out.ndjson')))} && sed -n {got.first_changed or 1}p out.ndjson\n"
        f"and the same on the commit that recorded it (git log -1 -- tests/golden/recoveries/storm) to compare.",
        pytrace=False,
    )
