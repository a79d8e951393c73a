"""tests/seed_tables.py against the seed's Chinese original (the English
rendering it was transcribed from says the original stands): the original's
tables are parsed and every transcribed row is held to its row there."""

import itertools
import re
from pathlib import Path

import pytest

from seed_tables import (
    ACTION_STATE,
    ACTION_STATUS,
    CHAT_PROPS,
    CLIENT,
    CLIENT_ORIGINAL,
    COBROWSE_NAMED,
    ORIGINAL_READINGS,
    ORIGINAL_ROW_KEYS,
    ORIGINAL_SPELLINGS,
    TRANSFER_ENDS,
    VISITOR_INFO,
    VISITOR_STATUS,
)

# The seed travels with the repository (docs/seed/, as the design team wrote
# it), so this runs wherever the tests run, CI's clean clone included.
SEED = Path(__file__).resolve().parent.parent / "docs" / "seed"
ORIGINAL = SEED / "000_34a503043f723f65.txt"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "seed"
NOT_SEED_ROWS = ("latestPrechatTime", "latestOfflineMessageTime")  # set by the status table


def original_tables():
    """heading -> its tables (blocks of pipe rows split by other lines), separator rows dropped."""
    sections, heading, block = {}, None, None
    for line in ORIGINAL.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading, block = line.strip("# ").strip(), None
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(set(c) <= set("- ") for c in cells):
                continue
            if block is None:
                block = []
                sections.setdefault(heading, []).append(block)
            block.append(cells)
        else:
            block = None
    return sections


TABLES = original_tables()


def spelled(words):
    return re.sub(r"\w+", lambda m: ORIGINAL_SPELLINGS.get(m.group(), m.group()), words)


def keys_of(name):
    """A row name of the original -> the keys it covers."""
    if name in ORIGINAL_ROW_KEYS:
        return ORIGINAL_ROW_KEYS[name]
    if " " not in name:  # already a key (latestActivityTime)
        return [name]
    first, *rest = spelled(name).split()
    return [first + "".join(w[:1].upper() + w[1:] for w in rest)]


def strategy_of(words):
    words = spelled(words.lower())
    if words.startswith("specify"):
        return "specify"
    return keys_of(words)[0] if " " in words else words


def actions_of(cell):
    """'agent send file/image, agent sent file/image' -> the action names."""
    out = []
    for phrase in (p.strip() for p in cell.split(",")):
        phrase = spelled(phrase.rstrip(" .").removesuffix("..."))
        if phrase in ORIGINAL_READINGS:
            out.append(ORIGINAL_READINGS[phrase])
            continue
        for words in itertools.product(*(w.split("/") for w in phrase.split())):
            out.append(keys_of(" ".join(words))[0])
    return out


def rows(heading, index=0, header=True):
    table = TABLES[heading][index]
    return table[1:] if header else table


def test_every_visitor_property_row_of_the_original_in_order():
    got = []
    for name, strategy, *_ in rows("具体访客属性对应使用的策略"):
        got += [(key, strategy_of(strategy)) for key in keys_of(name)]
    transcribed = [(k, s) for k, s in VISITOR_INFO.items() if k not in NOT_SEED_ROWS]
    assert got == transcribed


def test_the_original_names_each_strategy_the_transcription_uses():
    named = {strategy_of(row[0]) for row in rows("状态恢复策略说明")}
    assert named == set(VISITOR_INFO.values())


def test_every_visitor_status_row_of_the_original():
    got = {}
    for status, strategy, *description in rows("visitor status"):
        recovered = ORIGINAL_READINGS[strategy] if strategy in ORIGINAL_READINGS else keys_of(strategy)[0]
        sets = re.search(r"将(\w+)设置为当前时间", " ".join(description))
        got[keys_of(status)[0]] = (recovered, sets.group(1) if sets else None)
    assert got == VISITOR_STATUS


def test_every_chat_prop_row_of_the_original():
    assert {keys_of(name)[0]: strategy_of(strategy) for name, strategy, *_ in rows("chat")} == CHAT_PROPS


def test_every_state_from_actions_row_of_the_original():
    got = {keys_of(name)[0]: actions_of(actions) for name, actions, *_ in rows("基于动作的状态恢复")}
    assert got.keys() == ACTION_STATE.keys()
    for prop, actions in got.items():
        if prop == "cobrowse":  # an open list: the one it names, the rest a reading
            assert actions == COBROWSE_NAMED and set(COBROWSE_NAMED) <= set(ACTION_STATE[prop])
        else:
            assert sorted(actions) == sorted(ACTION_STATE[prop]), prop


def test_every_chat_related_status_row_of_the_original():
    got = {keys_of(name)[0]: actions_of(actions) for name, actions, *_ in rows("基于动作的状态恢复", 1, header=False)}
    assert got.keys() == ACTION_STATUS.keys()
    for status, actions in got.items():
        read = ACTION_STATUS[status] + (TRANSFER_ENDS if status == "transferring" else [])
        assert sorted(actions) == sorted(read), status


def test_every_client_item_in_the_original_words():
    text = ORIGINAL.read_text(encoding="utf-8")
    assert CLIENT_ORIGINAL.keys() == CLIENT.keys()
    for said in CLIENT_ORIGINAL.values():
        for words in said:
            assert words in text


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared copy of the seed beside the repository")
def test_the_repository_s_seed_is_the_design_team_s():
    """docs/seed/ is a copy: where the design team's folder is at hand, the
    two are the same, byte for byte."""
    for name in ("000_34a503043f723f65.txt", "recover-chat.en.md"):
        assert (SEED / name).read_bytes() == (SHARED / name).read_bytes(), name
