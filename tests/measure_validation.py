"""The report check's cost, measured (not a test: run it by hand, as issue 17's
report did). On the seeded storm (4,000 visitors: 7,128 reports) it prints
the best of --repeat rounds, in ms, of:

- verdict: `policy.validate_report.passes` over every report (what
  `recover --batch` and the service pay per valid report);
- words (refused reports only): python-jsonschema's errors through
  schema_errors, against jsonschema-rs's own errors, over near misses of
  the storm's reports (one value replaced, removed or added);
- rule files: the bundled policy's files checked against their schemas by
  python-jsonschema and by jsonschema-rs.

With --code DIR, the verdict is measured on another checkout's package too
(`git archive <commit> engine rules schemas | tar -x -C DIR`), in turn with
this one, round by round, so both see the same machine load.

    git archive 25f3f45 engine rules schemas | tar -x -C /tmp/before   # the generated checker
    .venv/bin/python tests/measure_validation.py --code /tmp/before --repeat 3
"""

import argparse
import copy
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

VERDICT = """
import sys, time
import chat_recovery as cr
from chat_recovery.bench.storm import StormSpec, storm
reports = storm(StormSpec(visitors=int(sys.argv[1])))
passes = cr.load_policy().validate_report.passes
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    ok = sum(map(passes, reports))
    print(len(reports), ok, round((time.perf_counter() - start) * 1000, 1), flush=True)
"""


def verdicts(code: Path | None, visitors: int, rounds: int) -> list[tuple[int, int, float]]:
    env = {"PYTHONPATH": str(code / "engine")} if code else {}
    out = subprocess.run(
        [sys.executable, "-c", VERDICT, str(visitors), str(rounds)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout
    return [(int(n), int(ok), float(ms)) for n, ok, ms in (line.split() for line in out.splitlines())]


def near_misses(reports: list[dict], count: int) -> list[dict]:
    rng = random.Random(7)
    out = []
    while len(out) < count:
        body = copy.deepcopy(rng.choice(reports))
        key = rng.choice(sorted(body))
        how = rng.choice(["replace", "remove", "add"])
        if how == "replace":
            body[key] = rng.choice([1, None, "x", [], {"a": 1}])
        elif how == "remove":
            del body[key]
        else:
            body[rng.choice(["chta", "extra", "sentat"])] = 1
        out.append(body)
    return out


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(min(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--code", type=Path, help="another checkout's package to measure the verdict on, in turn")
    args = parser.parse_args()
    print("load", Path("/proc/loadavg").read_text().split()[:3])
    for _ in range(args.repeat):
        for name, code in [("this", None)] + ([("other", args.code)] if args.code else []):
            (n, ok, ms), *_ = sorted(verdicts(code, args.visitors, 3), key=lambda r: r[2])
            print(f"verdict {name}: {n} reports, {ok} valid, {ms} ms")

    import jsonschema_rs
    from jsonschema import Draft202012Validator

    import chat_recovery as cr
    from chat_recovery.bench.storm import StormSpec, storm
    from chat_recovery.policy import schema_errors
    from chat_recovery.policy.bundled import contract as bundled_contract
    from chat_recovery.policy.bundled import rules_dir, schemas_dir
    from chat_recovery.policy.contract import POLICY_KINDS
    from chat_recovery.policy.yamlsource import load

    policy = cr.load_policy()
    bad = [b for b in near_misses(storm(StormSpec(visitors=args.visitors)), 2000) if not policy.validate_report.passes(b)]
    schema = json.loads((schemas_dir() / "report.schema.json").read_text())
    rs = jsonschema_rs.validator_for(schema)
    words = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    print(f"words, {len(bad)} refused near misses:")
    print(
        "  jsonschema + schema_errors",
        best(lambda: [list(schema_errors.problems(words.iter_errors(b))) for b in bad], args.repeat),
    )
    print("  jsonschema-rs iter_errors  ", best(lambda: [[e.message for e in rs.iter_errors(b)] for b in bad], args.repeat))

    docs = [load(p.read_text(), p.name).data for p in sorted(rules_dir().glob("*.yaml"))]
    held = bundled_contract()
    pairs = [(held.validator(POLICY_KINDS[d["kind"]]), d) for d in docs if isinstance(d, dict) and d.get("kind") in POLICY_KINDS]
    rs_pairs = [
        (jsonschema_rs.validator_for(held.schemas[POLICY_KINDS[d["kind"]]], registry=None, retriever=_retriever(held)), d)
        for _, d in pairs
    ]
    print(f"rule files, {len(pairs)} files (validators built once):")
    print("  jsonschema    ", best(lambda: [list(v.iter_errors(d)) for v, d in pairs], args.repeat))
    print("  jsonschema-rs ", best(lambda: [v.is_valid(d) for v, d in rs_pairs], args.repeat))
    print(
        "  jsonschema, building the validators too",
        best(lambda: [list(held.validator(POLICY_KINDS[d["kind"]]).iter_errors(d)) for _, d in pairs], args.repeat),
    )
    print(
        "  jsonschema-rs, building too",
        best(
            lambda: [
                jsonschema_rs.validator_for(held.schemas[POLICY_KINDS[d["kind"]]], retriever=_retriever(held)).is_valid(d)
                for _, d in pairs
            ],
            args.repeat,
        ),
    )
    print("load", Path("/proc/loadavg").read_text().split()[:3])


def _retriever(held):
    by_id = {s.get("$id"): s for s in held.schemas.values()}

    def retrieve(uri: str):
        return by_id.get(uri) or held.schemas[uri.rsplit("/", 1)[-1]]

    return retrieve


if __name__ == "__main__":
    main()
