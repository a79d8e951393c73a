"""Each closed set of names (picks, effect ops, invariant kinds, engines,
stores by URL scheme) is one table in the code and one list in a schema (the
README for stores): the two hold the same names, so a name admitted without
an implementation, or implemented and never admitted, fails here. Each check
is also run with one name added on one side (a schema in a temporary copy, an
entry in the test), to see it fail. And a misspelt name is refused where it is
written, with a did-you-mean, so no unknown name reaches a recovery."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import chat_recovery as cr
from chat_recovery.authoring.check.invariants import KINDS
from chat_recovery.authoring.docs import markdown
from chat_recovery.cli import main
from chat_recovery.live.store import MemoryStore, StoreUnavailable
from chat_recovery.live.stores import STORES, make_store
from chat_recovery.policy.chat_model import SENDER_TYPES, TRUST_MODES
from chat_recovery.policy.conditions import CONDITIONS, closed_kinds, kind_of
from chat_recovery.policy.effects import EFFECT_OPS
from chat_recovery.recovery.picks import PICKS
from chat_recovery.recovery.screening import SET_ASIDE_CODES
from chat_recovery.replay.engines import AUTO, CHOICES, ENGINES
from conftest import ROOT, edit

STRATEGIES = "schemas/policy-strategies.schema.json"
ACTIONS = "schemas/policy-chat-actions.schema.json"
INVARIANTS = "schemas/policy-invariants.schema.json"
MANIFEST = "schemas/policy-manifest.schema.json"
RECOVERY = "schemas/recovery.schema.json"
NOT_EFFECTS = {"on", "when", "priority", "trust", "status", "seed"}  # an action rule's other keys
NOT_THE_FORM = {"seed", "description"}  # an invariant's other keys
FIELD_PATTERN = "[A-Za-z0-9_]+"  # `<field>` in a condition kind's pattern


def _read(root: Path, name: str) -> dict:
    return json.loads((root / name).read_text(encoding="utf-8"))


def _write(root: Path, name: str, schema: dict) -> None:
    (root / name).write_text(json.dumps(schema), encoding="utf-8")


def _pick_enum(schema: dict) -> list:
    return schema["$defs"]["strategy"]["properties"]["pick"]["enum"]


def _picks(root: Path) -> set:
    return set(_pick_enum(_read(root, STRATEGIES)))


def _admit_pick(root: Path, name: str) -> None:
    schema = _read(root, STRATEGIES)
    _pick_enum(schema).append(name)
    _write(root, STRATEGIES, schema)


def _ops(root: Path) -> set:
    return set(_read(root, ACTIONS)["$defs"]["rule"]["properties"]) - NOT_EFFECTS


def _admit_op(root: Path, name: str) -> None:
    schema = _read(root, ACTIONS)
    schema["$defs"]["rule"]["properties"][name] = {"type": "object"}
    _write(root, ACTIONS, schema)


def _kinds(root: Path) -> set:
    """The forms an invariant may take: its keys, and the oneOf that wants exactly one."""
    invariant = _read(root, INVARIANTS)["$defs"]["invariant"]
    keys = set(invariant["properties"]) - NOT_THE_FORM
    one_of = {o["required"][0] for o in invariant["oneOf"]}
    return keys | one_of


def _admit_kind(root: Path, name: str) -> None:
    schema = _read(root, INVARIANTS)
    invariant = schema["$defs"]["invariant"]
    invariant["properties"][name] = {"$ref": "#/$defs/statuses"}
    invariant["oneOf"].append({"required": [name]})
    _write(root, INVARIANTS, schema)


def _engines(root: Path) -> set:
    return set(_read(root, MANIFEST)["properties"]["engine"]["enum"]) - {AUTO}


def _admit_engine(root: Path, name: str) -> None:
    schema = _read(root, MANIFEST)
    schema["properties"]["engine"]["enum"].append(name)
    _write(root, MANIFEST, schema)


def _when(schema: dict) -> dict:
    return schema["$defs"]["rule"]["properties"]["when"]["propertyNames"]


def _conditions(root: Path) -> set:
    """The condition kinds: the pattern's alternatives (`data\\.[A-Za-z0-9_]+` is
    `data.<field>`) and the examples the did-you-mean offers."""
    names = _when(_read(root, ACTIONS))
    alternatives = re.fullmatch(r"\^\((.*)\)\$", names["pattern"]).group(1).split("|")
    from_pattern = {a.replace(FIELD_PATTERN, "<field>").replace("\\.", ".") for a in alternatives}
    return from_pattern | set(names["examples"])


def _admit_condition(root: Path, name: str) -> None:
    schema = _read(root, ACTIONS)
    names = _when(schema)
    names["pattern"] = names["pattern"].replace(")$", f"|{name})$")
    names["examples"].append(name)
    _write(root, ACTIONS, schema)


def _code_enum(schema: dict) -> list:
    return schema["$defs"]["setAsideMessage"]["properties"]["code"]["enum"]


def _rejection_codes(root: Path) -> set:
    return set(_code_enum(_read(root, RECOVERY)))


def _admit_rejection_code(root: Path, name: str) -> None:
    schema = _read(root, RECOVERY)
    _code_enum(schema).append(name)
    _write(root, RECOVERY, schema)


STORES_PARAGRAPH = re.compile(
    r"\*\*Stores\.\*\* The store is chosen by the scheme of `--redis-url`:(.*?)\s+give the Redis store", re.S
)


def _schemes(root: Path) -> set:
    """The URL schemes the README's Stores paragraph names."""
    found = STORES_PARAGRAPH.search((root / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md: the Stores paragraph that names the store URL schemes"
    return set(re.findall(r"`([a-z][a-z0-9+.-]*)://", found.group(1)))


def _admit_scheme(root: Path, name: str) -> None:
    readme = root / "README.md"
    readme.write_text(
        re.sub(r"\s+give the Redis store", f" or `{name}://` give the Redis store", readme.read_text(encoding="utf-8"), count=1),
        encoding="utf-8",
    )


@dataclass(frozen=True)
class ClosedSet:
    name: str
    admitted: Callable[[Path], set]  # the names the files under a root admit
    implemented: frozenset  # the table's names
    admit: Callable[[Path, str], None]  # one more admitted name, written into a copy
    files: tuple  # what to copy


CLOSED = (
    ClosedSet("pick", _picks, frozenset(PICKS), _admit_pick, (STRATEGIES,)),
    ClosedSet("effect op", _ops, frozenset(EFFECT_OPS), _admit_op, (ACTIONS,)),
    ClosedSet("condition kind", _conditions, frozenset(CONDITIONS), _admit_condition, (ACTIONS,)),
    ClosedSet("invariant kind", _kinds, frozenset(KINDS), _admit_kind, (INVARIANTS,)),
    ClosedSet("engine", _engines, frozenset(ENGINES), _admit_engine, (MANIFEST,)),
    ClosedSet("store scheme", _schemes, frozenset(STORES), _admit_scheme, ("README.md",)),
    ClosedSet("set-aside code", _rejection_codes, frozenset(SET_ASIDE_CODES), _admit_rejection_code, (RECOVERY,)),
)


def mismatch(closed: ClosedSet, root: Path, implemented: frozenset | None = None) -> list[str]:
    admitted = closed.admitted(root)
    implemented = closed.implemented if implemented is None else implemented
    return [f"{closed.name} '{n}' is admitted but has no implementation" for n in sorted(admitted - implemented)] + [
        f"{closed.name} '{n}' is implemented but not admitted" for n in sorted(implemented - admitted)
    ]


def _copy(closed: ClosedSet, tmp_path: Path) -> Path:
    for name in closed.files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("closed", CLOSED, ids=lambda c: c.name)
def test_each_table_holds_exactly_the_names_its_schema_admits(closed):
    assert mismatch(closed, ROOT) == []


@pytest.mark.parametrize("closed", CLOSED, ids=lambda c: c.name)
def test_a_name_admitted_without_an_implementation_fails(closed, tmp_path):
    root = _copy(closed, tmp_path)
    closed.admit(root, "madeup")
    assert mismatch(closed, root) == [f"{closed.name} 'madeup' is admitted but has no implementation"]


@pytest.mark.parametrize("closed", CLOSED, ids=lambda c: c.name)
def test_an_implementation_nothing_admits_fails(closed):
    assert mismatch(closed, ROOT, closed.implemented | {"madeup"}) == [f"{closed.name} 'madeup' is implemented but not admitted"]


def test_each_condition_kind_is_its_alternative_of_the_schema_pattern():
    """The pattern admits a field exactly when the table has a kind for it."""
    pattern = re.compile(_when(_read(ROOT, ACTIONS))["pattern"])
    for kind in CONDITIONS.values():
        field = kind.name.replace("<field>", "kind_1")
        assert pattern.fullmatch(field) and re.fullmatch(kind.pattern, field) and kind_of(field) is kind
    assert not pattern.fullmatch("sender.name") and not pattern.fullmatch("data.")


def test_the_schema_texts_that_list_a_set_name_every_member():
    """The descriptions a person reads when a name is wrong list the table's names."""
    pick = _read(ROOT, STRATEGIES)["$defs"]["strategy"]["properties"]["pick"]["description"]
    assert all(f"{name}:" in pick for name in PICKS)
    invariant = _read(ROOT, INVARIANTS)["$defs"]["invariant"]["description"]
    assert re.findall(r"\b(\w+)[,.]", invariant.split(": ", 1)[1]) == list(KINDS)
    when = _read(ROOT, ACTIONS)["$defs"]["rule"]["properties"]["when"]
    assert all(name in when["description"] and name in _when(_read(ROOT, ACTIONS))["description"] for name in CONDITIONS)
    assert f"({' and '.join(closed_kinds())} only)" in when["description"]
    engine = _read(ROOT, MANIFEST)["properties"]["engine"]["description"]
    assert all(f"{name} (" in engine for name in CHOICES)


def test_the_sender_types_are_the_report_schemas():
    schema = _read(ROOT, "schemas/report.schema.json")
    sender = schema["$defs"]["message"]["properties"]["sender"]
    sender = schema["$defs"][sender["$ref"].rsplit("/", 1)[-1]] if "$ref" in sender else sender
    assert tuple(sender["properties"]["type"]["enum"]) == SENDER_TYPES
    signed = _read(ROOT, ACTIONS)["properties"]["signatures"]["properties"]["required"]["items"]["enum"]
    assert tuple(signed) == SENDER_TYPES  # the actor types a policy may require signed


def test_the_actor_types_and_trust_modes_are_the_schemas():
    """`actors` is keyed by the report's sender types; `trust.mode` is the model's table of modes."""
    schema = _read(ROOT, "schemas/policy-chat-actions.schema.json")["properties"]
    assert tuple(schema["actors"]["properties"]) == SENDER_TYPES
    assert tuple(schema["trust"]["properties"]["mode"]["enum"]) == TRUST_MODES


def test_the_generated_docs_say_what_each_pick_and_effect_does():
    text = markdown()
    assert all(f"| `{p.name}` | {p.doc} |" in text for p in PICKS.values())
    assert all(f"| `{op.name}` | {op.doc} |" in text for op in EFFECT_OPS.values())
    assert all(f"| `{kind.name}` | {kind.doc} |" in text for kind in CONDITIONS.values())


@pytest.mark.parametrize(
    "file, old, new, message",
    [
        (
            "strategies.yaml",
            "pick: priority",
            "pick: priorty",
            "'priorty' is not one of: first, priority, latest (did you mean 'priority'?)",
        ),
        ("chat-actions.yaml", "    set: ", "    sett: ", "unknown key 'sett' (did you mean 'set'?)"),
        ("invariants.yaml", "    terminal: ", "    termnal: ", "unknown key 'termnal' (did you mean 'terminal'?)"),
        (
            "policy.yaml",
            "engine: auto",
            "engine: compild",
            "'compild' is not one of: auto, durable, compiled, python (did you mean 'compiled'?)",
        ),
        (
            "chat-actions.yaml",
            "when: {status: {not",
            "when: {stauts: {not",
            "condition field 'stauts' is not allowed (did you mean 'status'?); a condition tests sender.type, sender.id, data.<field>, status or state.<field>",
        ),
    ],
    ids=["pick", "effect op", "invariant kind", "engine", "condition kind"],
)
def test_a_misspelt_name_is_refused_where_it_is_written(rules_copy, file, old, new, message):
    edit(rules_copy / file, old, new)
    with pytest.raises(cr.PolicyError) as err:
        cr.load_policy(rules_copy)
    assert [d.message for d in err.value.diagnostics if d.file.endswith(file) and "did you mean" in d.message] == [message]


def _serve(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    code = main(["serve", *argv], stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


def test_serve_refuses_a_store_url_no_store_takes_before_it_starts():
    assert _serve("--redis-url", "http://10.0.0.5:6379/0") == (
        2,
        "chat-recovery serve: --redis-url: no store for http:// URLs (one of redis://, rediss://, unix://, redis+cluster://, rediss+cluster://)\n",
    )
    assert _serve("--redis-url", "reddis://:secret@h/0") == (
        2,
        "chat-recovery serve: --redis-url: no store for reddis:// URLs (one of redis://, rediss://, unix://, redis+cluster://, rediss+cluster://) (did you mean 'redis'?)\n",
    )


def test_serve_refuses_an_engine_the_table_lacks():
    assert _serve("--engine", "compild") == (
        2,
        "chat-recovery serve: --engine must be auto, durable, compiled or python, not 'compild' (did you mean 'compiled'?)\n",
    )


def test_each_scheme_makes_its_store_and_no_url_the_embedded_one():
    pytest.importorskip("redis")
    from chat_recovery.live.redis_store import RedisStore

    assert isinstance(make_store(None), MemoryStore)
    for url in (
        "redis://127.0.0.1:6379/0",
        "rediss://127.0.0.1:6380/0",
        "unix:///tmp/no-such-redis.sock",
        "redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
        "rediss+cluster://127.0.0.1:7000",
    ):
        assert isinstance(make_store(url), RedisStore), url  # made, not connected: nothing listens there
    with pytest.raises(StoreUnavailable, match="no store for http:// URLs"):
        make_store("http://127.0.0.1:6379")
