"""What one visitor's live recovery may hold: reports, sources, merged
messages and the held document's bytes. A report past a limit is refused
with the limit named, and nothing is written (issue 16 item 5)."""

import json

import pytest

import chat_recovery as cr
from chat_recovery.live import Coordinator, MemoryStore, VisitorTooLarge, limits
from conftest import report

NOW = "2026-11-24T09:05:00Z"


def sent(i):
    return "2026-11-24T09:%02d:%02d.%03dZ" % ((i // 60000) % 60, (i // 1000) % 60, i % 1000)


def visitor_report(i, **sections):
    return report("visitor", sent(i), visitor_id="v-hot", visitor={"status": "chatting"}, **sections)


def message(i, text="hi"):
    return {"id": f"m-{i:06d}", "time": sent(i), "action": "visitorMessage", "sender": {"type": "visitor"}, "text": text}


def coordinator(policy, **bounds):
    return Coordinator(policy, MemoryStore(), window=600, **bounds)


def refused(coord, rep):
    """The refusal, having checked that nothing was written."""
    before = coord.store.get(rep["visitorId"])
    with pytest.raises(VisitorTooLarge) as caught:
        coord.submit(rep, NOW)
    assert coord.store.get(rep["visitorId"]) == before
    return caught.value


def test_a_report_past_the_reports_limit_is_refused_naming_it(policy):
    coord = coordinator(policy, max_reports=3)
    for i in range(3):
        assert coord.submit(visitor_report(i), NOW)["reports"] == i + 1
    error = refused(coord, visitor_report(3))
    assert (error.limit, error.bound, error.would) == ("reports", 3, 4)
    assert str(error) == (
        "visitor 'v-hot' would hold 4 reports, more than the limit of 3: this report was not applied (nothing was written)"
    )
    assert isinstance(error, cr.RecoveryError)
    again = coord.submit(visitor_report(2), NOW)  # a retry of a held report changes nothing and is not refused
    assert again["receipt"]["duplicate"] is True and again["reports"] == 3


def test_a_new_source_past_the_sources_limit_is_refused_but_a_known_one_may_report_again(policy):
    coord = coordinator(policy, max_sources=2)
    coord.submit(visitor_report(0), NOW)
    coord.submit(report("agent", sent(1), agent="a-1", visitor_id="v-hot"), NOW)
    error = refused(coord, report("agent", sent(2), agent="a-2", visitor_id="v-hot"))
    assert (error.limit, error.bound, error.would) == ("sources", 2, 3) and "3 sources" in str(error)
    assert coord.submit(report("agent", sent(3), agent="a-1", visitor_id="v-hot"), NOW)["reports"] == 3


def test_merged_messages_past_the_limit_are_refused(policy):
    coord = coordinator(policy, max_messages=5)
    chat = lambda ids: {"id": "c-1", "messages": [message(i) for i in ids]}  # noqa: E731
    coord.submit(visitor_report(0, chat=chat(range(4))), NOW)
    coord.submit(visitor_report(1, chat=chat(range(5))), NOW)  # one new message: 5, the limit
    error = refused(coord, visitor_report(2, chat=chat(range(3, 7))))  # 5 and 6 are new
    assert (error.limit, error.bound, error.would) == ("messages", 5, 7) and "7 merged messages" in str(error)


def test_a_document_past_its_bytes_is_refused_and_the_size_is_the_json_a_store_writes(policy):
    coord = coordinator(policy)
    coord.submit(visitor_report(0, chat={"id": "c-1", "messages": [message(0, "é" * 100)]}), NOW)
    doc = coord.store.get("v-hot")
    size = len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode())
    assert limits.document_bytes(doc) == size  # UTF-8 bytes, not characters

    small = coordinator(policy, max_document_bytes=size + 200)
    small.submit(visitor_report(0, chat={"id": "c-1", "messages": [message(0, "é" * 100)]}), NOW)
    error = refused(small, visitor_report(1, chat={"id": "c-1", "messages": [message(1, "x" * 400)]}))
    assert error.limit == "documentBytes" and error.bound == size + 200 and error.would > size + 400
    assert f"more than the limit of {size + 200}" in str(error) and "bytes of JSON" in str(error)


def test_the_first_report_alone_may_be_too_large(policy):
    """A visitor with no document yet is held to the same bounds: nothing is created."""
    coord = coordinator(policy, max_messages=2)
    error = refused(coord, visitor_report(0, chat={"id": "c-1", "messages": [message(i) for i in range(3)]}))
    assert error.limit == "messages" and coord.get("v-hot") is None


def test_the_defaults_hold_a_long_real_chat_and_refuse_the_hot_visitor(policy):
    """The defaults: 500 reports, 64 sources, 10,000 messages, 32 MiB. A chat of
    1,000 messages held by the visitor and eight agents, each uploading twice,
    is well inside them (4 MB); the 501st report of one visitor is not."""
    coord = coordinator(policy)
    assert coord.limits == {"reports": 500, "sources": 64, "messages": 10_000, "documentBytes": 32 * 1024 * 1024}
    chat = {"id": "c-1", "messages": [message(i, "a line of a real chat, of about sixty characters or so.") for i in range(1000)]}
    for upload in range(2):
        coord.submit(visitor_report(upload, chat=chat), NOW)
        for agent in range(8):
            coord.submit(report("agent", sent(10 + upload * 10 + agent), agent=f"a-{agent}", visitor_id="v-hot", chat=chat), NOW)
    assert coord.get("v-hot", NOW)["reports"] == 18
    assert limits.document_bytes(coord.store.get("v-hot")) < limits.MAX_DOCUMENT_BYTES // 8
    hot = coordinator(policy)
    for i in range(500):
        hot.submit(visitor_report(i), NOW)
    assert refused(hot, visitor_report(500)).limit == "reports"


def test_a_limit_below_one_is_refused(policy):
    with pytest.raises(ValueError, match="per-visitor limit"):
        Coordinator(policy, max_sources=0)


def _tiny_variables(i):
    variables = {f"k{j}": "v" for j in range(i * 40, i * 40 + 40)}
    return report("visitor", sent(i), visitor_id="v-hot", visitor={"status": "chatting", "info": {"customVariables": variables}})


def _new_agent(i):
    return report("agent", sent(i), agent=f"a-{i}", visitor_id="v-hot")


@pytest.mark.parametrize(
    "make", [_tiny_variables, _new_agent, lambda i: visitor_report(i, chat={"id": "c-1", "messages": [message(i)]})]
)
def test_the_size_bound_a_document_carries_is_never_below_its_size(policy, make):
    """The coordinator encodes a document only when the bound it carries could
    be past the limit: a bound below the true size would let a document grow
    past the limit unseen. Tiny custom variables grow a document most per byte."""
    coord = coordinator(policy)
    for i in range(40):
        coord.submit(make(i), NOW)
        doc = coord.store.get("v-hot")
        assert doc["sizeBound"] >= limits.document_bytes(doc)


def test_a_refused_report_writes_nothing_to_a_real_redis_and_the_next_is_applied(policy, redis_server):
    """The refusal is raised inside the store's WATCH: the transaction is
    dropped, the connection is not left watching, the document is unchanged."""
    pytest.importorskip("redis")
    from chat_recovery.live import RedisStore

    store = RedisStore(redis_server.url)
    try:
        coord = Coordinator(policy, store, window=600, max_reports=2)
        coord.submit(visitor_report(0), NOW)
        coord.submit(visitor_report(1), NOW)
        before = store.get("v-hot")
        assert refused(coord, visitor_report(2)).limit == "reports"
        assert store.get("v-hot") == before and before["reports"] == 2
        assert coord.submit({**visitor_report(0), "visitorId": "v-next"}, NOW)["reports"] == 1
    finally:
        store.close()
