"""Policy YAML is composed by libyaml where PyYAML has it, and by the
pure-Python loader otherwise and for every error: both must give the same
data and the same positions, and an error must read as it always did."""

import string

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_recovery.policy.yamlsource import _NOT_FOR_LIBYAML, YamlError, _FastLoader, _Loader, load, read
from conftest import ROOT

pytestmark = pytest.mark.skipif(_FastLoader is None, reason="PyYAML was built without libyaml here")

FILES = sorted(
    p
    for pattern in ("*.yaml", "*.yml")
    for p in ROOT.rglob(pattern)
    if not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
)


def both(text):
    """What each loader makes of `text`: the Located, or the error's diagnostics."""
    out = []
    for loader in (_FastLoader, _Loader):
        try:
            located = read(text, "f.yaml", loader)
            out.append((located.data, located.values, located.keys))
        except YamlError as exc:
            out.append([str(d) for d in exc.diagnostics])
    return out


def test_the_repositorys_yaml_files_are_many():
    assert len(FILES) >= 15  # rules, their test suites, the corpus: a guard against an empty glob


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_here_reads_the_same_with_both_loaders(path):
    fast, pure = both(path.read_text(encoding="utf-8"))
    assert isinstance(pure, tuple), pure
    assert fast == pure


text = st.text(alphabet=string.ascii_letters + string.digits + " -_:#'\"&*!%@`|>{}[],?\t\\" + "访客坐席中文", max_size=12)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32), text
)
documents = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)), max_leaves=20
)


@settings(max_examples=300, deadline=None)
@given(documents, st.sampled_from([True, False, None]), st.sampled_from([2, 4]), st.booleans())
def test_dumped_documents_read_the_same_with_both_loaders(data, flow, indent, unicode):
    dumped = yaml.safe_dump(data, default_flow_style=flow, indent=indent, allow_unicode=unicode, sort_keys=False)
    fast, pure = both(dumped)
    assert fast == pure


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.ascii_letters[:6] + " :-#\n\t[]{},&*!?'\"|>%~.0\r\x85\ufeff\x07\u00e9访😀", max_size=60))
def test_any_text_reads_the_same_or_fails_the_same(source):
    """Whatever libyaml makes of arbitrary text, `load` answers what the pure loader answers."""
    try:
        pure = read(source, "f.yaml", _Loader)
    except YamlError as exc:
        with pytest.raises(YamlError) as got:
            load(source, "f.yaml")
        assert [str(d) for d in got.value.diagnostics] == [str(d) for d in exc.diagnostics]
        return
    located = load(source, "f.yaml")
    assert (located.data, located.values, located.keys) == (pure.data, pure.values, pure.keys)


@pytest.mark.parametrize(
    "source",
    [
        "a: 1\na: 2\n",  # duplicate key
        "a: &x [1]\nb: *x\n",  # alias
        "a:\n\t- 1\n",  # tab indentation
        "a: !python/object:os.system x\n",  # unknown tag
        "a: [1, 2\n",  # unclosed flow
        "a: \x07\n",  # a control character
        "? [1, 2]\n: x\n",  # a key that is not text
        "x:\n" + "".join("  " * i + "- \n" for i in range(1, 70)),  # deep
    ],
    ids=["duplicate", "alias", "tab", "tag", "unclosed", "control", "bad-key", "deep"],
)
def test_problems_are_worded_by_the_pure_loader(source):
    with pytest.raises(YamlError) as pure:
        read(source, "f.yaml", _Loader)
    with pytest.raises(YamlError) as got:
        load(source, "f.yaml")
    assert [str(d) for d in got.value.diagnostics] == [str(d) for d in pure.value.diagnostics]


@pytest.mark.parametrize("path", [p for p in FILES if p.parent.name == "rules"], ids=lambda p: p.name)
def test_the_shipped_policy_files_take_the_fast_path(path):
    """Nothing in them sends them to the pure loader (the speed is not silently lost)."""
    assert _NOT_FOR_LIBYAML.search(path.read_text(encoding="utf-8")) is None
