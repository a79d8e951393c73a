"""A rule file passes its schema on jsonschema-rs's yes (1-2 ms for the
bundled policy, where jsonschema took ~95); only a file it refuses is worded
by jsonschema, so every load error keeps its file:line:col and its words.
The yes must be jsonschema's: on the shipped rule files, on every broken copy
the compile-error goldens make, and on near misses of the shipped files."""

import copy
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat_recovery.policy.contract import POLICY_KINDS, load_contract
from chat_recovery.policy.yamlsource import YamlError, load
from conftest import ROOT
from test_compile_errors import CASES, apply_edit
from test_report_verdict import _places

CONTRACT = load_contract(ROOT / "schemas")
SHIPPED = [load(p.read_text(encoding="utf-8"), p.name).data for p in sorted((ROOT / "rules").glob("*.yaml"))]


def jsonschema_says(kind, document):
    return not list(CONTRACT.validator(POLICY_KINDS[kind]).iter_errors(document))


def test_the_shipped_rule_files_pass_both():
    assert len(SHIPPED) == 8
    for document in SHIPPED:
        assert CONTRACT.passes(POLICY_KINDS[document["kind"]], document) and jsonschema_says(document["kind"], document)


def _golden_documents(where):
    for case in sorted(p for p in CASES.iterdir() if p.is_dir()):
        rules = where / case.name
        shutil.copytree(ROOT / "rules", rules)
        for change in yaml.safe_load((case / "case.yaml").read_text(encoding="utf-8")).get("edits", ()):
            apply_edit(rules, change)
        for path in sorted(rules.glob("*.yaml")):
            try:
                data = load(path.read_text(encoding="utf-8"), path.name).data
            except (YamlError, UnicodeDecodeError):
                continue
            if isinstance(data, dict) and data.get("kind") in POLICY_KINDS:
                yield f"{case.name}/{path.name}", data


def test_every_broken_copy_of_the_goldens_gets_jsonschemas_verdict(tmp_path):
    seen = {}
    for name, document in _golden_documents(tmp_path):
        said = CONTRACT.passes(POLICY_KINDS[document["kind"]], document)
        assert said == jsonschema_says(document["kind"], document), name
        seen[said] = seen.get(said, 0) + 1
    assert seen.get(False, 0) >= 10 and seen.get(True, 0) >= 100  # both verdicts met, so agreement means something


LEAVES = (
    st.none() | st.booleans() | st.integers(-2, 3) | st.sampled_from(["", "x", "first", "frist", "a\n", "on", "$x", "onHold"])
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["when", "do", "kind", "x", "pick"]), inner, max_size=2)
    ),
    max_leaves=6,
)


@st.composite
def near_misses(draw):
    document = copy.deepcopy(draw(st.sampled_from(SHIPPED)))
    for _ in range(draw(st.integers(1, 2))):
        places = [p for p in _places(document) if p and p != ("kind",)]
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        how = draw(st.sampled_from(["replace", "remove", "add"]))
        if how == "replace":
            parent[path[-1]] = draw(VALUES)
        elif how == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "when", "do", "pick", "strategy"]))] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return document


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(near_misses())
def test_near_misses_of_the_shipped_files_get_jsonschemas_verdict(document):
    assert CONTRACT.passes(POLICY_KINDS[document["kind"]], document) == jsonschema_says(document["kind"], document)


@pytest.mark.parametrize("name", ["policy-strategies.schema.json", "policy-client.schema.json"])
def test_what_is_not_json_is_a_no_and_left_to_jsonschema(name):
    assert CONTRACT.passes(name, {"kind": "x", 1: "a key that is not text"}) is False
