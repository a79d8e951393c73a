"""`chat-recovery policy diff OLD NEW`: what changes in behaviour between two
policy directories, rule by rule and case by case, for a pull request."""

from __future__ import annotations

from typing import IO

from .. import timeutil
from ..authoring.diff.behaviour import DEFAULT_NOW, show_change
from ..authoring.diff.compare import CorpusError, PolicyDiff, corpus_cases, diff, suite_cases
from ..authoring.diff.structure import BEHAVIOUR, CHECK, COSMETIC
from ..jsonio import pretty
from .common import EXIT_BAD_INPUT, EXIT_BAD_POLICY, EXIT_OK, load_or_report

HEADINGS = {
    BEHAVIOUR: "Rule changes that change behaviour",
    CHECK: "Invariant changes (what `policy check` proves)",
    COSMETIC: "Edits that change no recovery (descriptions, comments, order, renames, name and version)",
}


def add_parser(sub, **kw) -> None:
    cmd = sub.add_parser(
        "diff",
        help="what changes in behaviour between two policy directories",
        **kw,
        description="Compare two policies rule by rule, and recover every case under both. "
        "Exit 0, or with --exit-code 1 when behaviour changes; 3 when a policy does not load.",
    )
    cmd.add_argument("old", metavar="OLD", help="the policy before the change (a directory)")
    cmd.add_argument("new", metavar="NEW", help="the policy after the change (a directory)")
    cmd.add_argument(
        "--corpus",
        action="append",
        default=[],
        metavar="DIR",
        help="report sets to recover under both policies: each subfolder is one visitor's reports (repeatable)",
    )
    cmd.add_argument(
        "--now",
        default=DEFAULT_NOW,
        help=f"the recovery time of every corpus case (default {DEFAULT_NOW}, so the diff is reproducible)",
    )
    cmd.add_argument(
        "--no-suites", action="store_true", help="leave out the cases of the policies' test suites (DIR/tests/*.test.yaml)"
    )
    cmd.add_argument("--format", choices=tuple(WRITERS), default="text")
    cmd.add_argument("--exit-code", action="store_true", help="exit 1 when behaviour changes (like git diff --exit-code)")
    cmd.set_defaults(run=run)


def run(args, stdin, stdout: IO[str], stderr: IO[str]) -> int:
    try:
        now = timeutil.canonical(args.now)
    except ValueError as exc:
        stderr.write(f"chat-recovery: --now: {exc}\n")
        return EXIT_BAD_INPUT
    old = load_or_report(args.old, stderr)
    new = load_or_report(args.new, stderr)
    if old is None or new is None:
        return EXIT_BAD_POLICY
    try:
        cases = corpus_cases(args.corpus, now)
    except CorpusError as exc:
        stderr.write(f"chat-recovery: {exc}\n")
        return EXIT_BAD_INPUT
    suites, notes = ([], []) if args.no_suites else suite_cases([args.new, args.old])
    result = diff(old, new, [*cases, *suites], notes)
    for note in result.notes:
        stderr.write(f"chat-recovery: {note}\n")
    WRITERS[args.format](result, stdout)
    return EXIT_BAD_INPUT if args.exit_code and result.changes_behaviour else EXIT_OK


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _headline(result: PolicyDiff) -> str:
    s = result.summary()
    if not result.changes_behaviour:
        return f"no behaviour change: no rule changes meaning, and {s['cases']} of {_n(s['cases'], 'case')} recover the same"
    return (
        f"behaviour changes: {_n(s['behaviourChanges'], 'rule change')}, {s['casesChanged']} of {_n(s['cases'], 'case')} "
        f"recover differently ({_n(s['valuesChanged'], 'value')})"
    )


def _text(result: PolicyDiff, out: IO[str]) -> None:
    out.write(f"policy diff {result.old} -> {result.new}\n")
    for kind in (BEHAVIOUR, CHECK, COSMETIC):
        changes = [c for c in result.structural if c.kind == kind]
        if changes:
            out.write(f"\n{HEADINGS[kind]}:\n")
            out.writelines(f"{c}\n" for c in changes)
    if result.changed_cases:
        out.write(f"\nRecoveries that differ ({len(result.changed_cases)} of {len(result.cases)} cases):\n")
        for d in result.changed_cases:
            out.writelines(f"{d.case.name}: {v.path}: {' -> '.join(show_change(v))}\n" for v in d.changes)
    out.write(f"\n{_headline(result)}\n")


def _json(result: PolicyDiff, out: IO[str]) -> None:
    data = {
        "old": result.old,
        "new": result.new,
        "structural": [c.to_dict() for c in result.structural],
        "cases": [
            {"name": d.case.name, "where": d.case.where, "now": d.case.now, "changes": [v.to_dict() for v in d.changes]}
            for d in result.cases
        ],
        "notes": list(result.notes),
        "summary": result.summary(),
    }
    out.write(pretty(data))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + _cell(text).replace("`", "'") + "`"


def _markdown(result: PolicyDiff, out: IO[str]) -> None:
    """For pasting into a pull request: tables, the long lists folded."""
    out.write(f"### Policy diff: {_code(result.old)} -> {_code(result.new)}\n\n**{_headline(result)}**\n")
    for kind in (BEHAVIOUR, CHECK, COSMETIC):
        changes = [c for c in result.structural if c.kind == kind]
        if not changes:
            continue
        rows = "".join(f"| {_code(c.where())} | {_cell(c.subject)} | {_cell(c.message)} |\n" for c in changes)
        table = f"| where | what | change |\n| - | - | - |\n{rows}"
        if kind == BEHAVIOUR:
            out.write(f"\n#### {HEADINGS[kind]}\n\n{table}")
        else:
            out.write(f"\n<details><summary>{HEADINGS[kind]}: {len(changes)}</summary>\n\n{table}\n</details>\n")
    if result.changed_cases:
        out.write(f"\n#### Recoveries that differ ({len(result.changed_cases)} of {len(result.cases)} cases)\n")
        for d in result.changed_cases:
            rows = "".join(f"| {_code(v.path)} | {' | '.join(map(_code, show_change(v)))} |\n" for v in d.changes)
            out.write(f"\n**{_cell(d.case.name)}**\n\n| path | old | new |\n| - | - | - |\n{rows}")


WRITERS = {"text": _text, "json": _json, "markdown": _markdown}
