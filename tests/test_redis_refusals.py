"""What a Redis store refuses, and says, at start and per write, against
real servers: a cluster node behind redis://, a database number on a
cluster URL, a document larger than the Redis takes in one value, and a
Redis that keeps nothing on disk."""

import io
import json

import pytest

from chat_recovery.cli import main
from chat_recovery.diagnostics import ReportError
from chat_recovery.live import OutcomeUnknown
from conftest import ROOT
from redis_server import RedisServer, free_port
from service import Served

pytest.importorskip("redis")


def _serve(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    code = main(["serve", "--port", str(free_port()), "--workers", "0", *argv], stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


def _big_document(size: int) -> dict:
    return {"visitorId": "v-big", "blob": "x" * size}


def test_a_cluster_node_behind_redis_and_a_db_on_a_cluster_url_are_refused_at_start(tmp_path):
    from redis_cluster import RedisCluster

    cluster = RedisCluster(tmp_path).start()
    try:
        node = cluster.nodes[0].port
        code, err = _serve("--redis-url", f"redis://127.0.0.1:{node}/0")
        assert (code, err) == (
            2,
            f"chat-recovery serve: --redis-url: Redis at redis://127.0.0.1:{node}/0: it is a Redis Cluster node: "
            "use redis+cluster://host:port[,host:port...] (no /db)\n",
        )
        code, err = _serve("--redis-url", f"redis://127.0.0.1:{node}/1")  # SELECT 1 refused by the node itself
        assert code == 2 and "use redis+cluster://" in err, err
        code, err = _serve("--redis-url", f"redis+cluster://127.0.0.1:{node}/1")
        assert (code, err) == (
            2,
            f"chat-recovery serve: redis+cluster://127.0.0.1:{node}/1: a Redis Cluster has one database (0), "
            "so /1 cannot be selected: drop it from the URL\n",
        )
    finally:
        cluster.stop()
    assert all(n.proc is None for n in cluster.nodes)


def test_a_cluster_url_at_a_single_redis_is_refused_at_start(redis_server):
    code, err = _serve("--redis-url", f"redis+cluster://127.0.0.1:{redis_server.port}")
    assert code == 2 and "is not a Redis Cluster: use redis://host:port/db" in err, err


def test_a_document_over_proto_max_bulk_len_is_an_error_of_the_report_not_a_conflict(tmp_path):
    """The write is never sent: the error names both sizes, nothing is
    written, and the store is not asked 50 times (it used to drop the
    connection, which redis-py said as WatchError: 'changed 50 times')."""
    from chat_recovery.live.redis_store import RedisStore

    server = RedisServer(tmp_path, options=("--proto-max-bulk-len", "1mb")).start()
    try:
        store = RedisStore(server.url)
        calls = []

        def change(doc):
            calls.append(doc)
            return _big_document(1_100_000), "written"

        with pytest.raises(
            ReportError, match=r"would be 1,100,0\d\d bytes, more than the 1,048,576 bytes the Redis takes in one value"
        ):
            store.update("v-big", change, lambda doc: 60)
        assert calls == [None] and store.get("v-big") is None
        assert store.update("v-big", lambda doc: (_big_document(900_000), "written"), lambda doc: 60) == "written"
    finally:
        server.stop()


def test_a_served_report_whose_document_redis_would_refuse_is_a_422_naming_the_sizes(tmp_path):
    """What a client sees: one answer, 422, at once (it used to be a 503
    'changed 50 times' after 50 dropped connections); nothing written."""
    server = RedisServer(tmp_path, options=("--proto-max-bulk-len", "1mb")).start()
    served = Served("--workers", "0", "--redis-url", server.url)
    try:
        report = json.loads(sorted((ROOT / "examples" / "plain-visitor").glob("*.json"))[0].read_text())
        report["visitor"]["info"]["customVariables"]["blob"] = "x" * 700_000
        posted = served.client.post("/v1/reports", json=report)
        held = served.client.get(f"/v1/visitors/{report['visitorId']}/recovery")
    finally:
        served.stop()
        server.stop()
    assert posted.status_code == 422, posted.text
    assert "bytes the Redis takes in one value (proto-max-bulk-len); nothing was written" in posted.json()["error"]["message"]
    assert held.status_code == 404


def test_on_a_cluster_too_a_document_over_proto_max_bulk_len_is_an_error_of_the_report(tmp_path):
    from chat_recovery.live.redis_store import RedisStore
    from redis_cluster import RedisCluster

    cluster = RedisCluster(tmp_path, options=("--proto-max-bulk-len", "1mb")).start()
    try:
        store = RedisStore(cluster.url)
        with pytest.raises(ReportError, match="more than the 1,048,576 bytes the Redis takes in one value"):
            store.update("v-big", lambda doc: (_big_document(1_100_000), "written"), lambda doc: 60)
        assert store.get("v-big") is None
        store.close()
    finally:
        cluster.stop()


def test_an_oversized_write_the_store_could_not_measure_is_an_unknown_outcome_not_a_conflict(tmp_path):
    """CONFIG renamed away: the limit cannot be read, Redis drops the
    connection mid-write; the answer says the write may have happened and a
    retry is safe, after one try (not 50, not 'nothing was written')."""
    from chat_recovery.live.redis_store import RedisStore

    server = RedisServer(tmp_path, options=("--proto-max-bulk-len", "1mb", "--rename-command", "CONFIG", "")).start()
    try:
        store = RedisStore(server.url)
        calls = []

        def change(doc):
            calls.append(doc)
            return _big_document(2_000_000), "written"

        with pytest.raises(OutcomeUnknown) as raised:
            store.update("v-big", change, lambda doc: 60)
        assert len(calls) == 1
        assert (
            "the report may or may not have been applied: retry the submit, a retry is safe because duplicates count once"
            in str(raised.value)
        )
        assert "nothing was written" not in str(raised.value)
    finally:
        server.stop()


@pytest.mark.parametrize(
    "options, warning",
    [
        (
            ("--appendonly", "no"),
            "keeps nothing on disk (appendonly no, no save points): a Redis restart loses every accepted report",
        ),
        (
            ("--appendonly", "no", "--rename-command", "CONFIG", ""),
            "persistence unknown (appendonly is off and CONFIG GET save was refused",
        ),
    ],
    ids=["no-persistence", "config-renamed"],
)
def test_a_redis_that_keeps_nothing_on_disk_is_ready_with_a_warning_in_readyz_and_the_start_log(tmp_path, options, warning):
    server = RedisServer(tmp_path, options=options).start()
    served = Served("--workers", "0", "--redis-url", server.url, "--log-format", "json")
    try:
        ready = served.client.get("/readyz")
        line = served.wait_log(lambda l: '"storeWarning"' in l)
    finally:
        served.stop()
        server.stop()
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and len(ready.json()["warnings"]) == 1
    assert warning in ready.json()["warnings"][0]
    assert line is not None and warning in json.loads(line)["cause"]


def test_a_redis_with_aof_is_ready_without_warnings(redis_server):
    served = Served("--workers", "0", "--redis-url", redis_server.url)
    try:
        assert served.client.get("/readyz").json() == {"status": "ready"}
    finally:
        served.stop()
    assert not [l for l in served.log if l and "storeWarning" in l]


def test_a_cluster_that_does_not_answer_at_start_is_a_503_with_retry_after_not_a_refusal():
    """Nothing listens at the cluster URL: serve starts (the cluster may come
    up later), says so in the log, and answers 503 with Retry-After."""
    port = free_port()
    served = Served("--workers", "0", "--redis-url", f"redis+cluster://127.0.0.1:{port}")
    try:
        ready = served.client.get("/readyz")
        report = json.loads(sorted((ROOT / "examples" / "plain-visitor").glob("*.json"))[0].read_text())
        posted = served.client.post("/v1/reports", json=report)
        line = served.wait_log(lambda l: "storeUnavailable" in l)
    finally:
        served.stop()
    assert ready.status_code == 503 and f"redis+cluster://127.0.0.1:{port}" in ready.text
    assert line is not None
    assert posted.status_code == 503 and posted.headers["Retry-After"] == "1"


def test_a_write_the_redis_refuses_writes_nothing_and_leaves_the_next_write_to_succeed(tmp_path):
    """A Redis out of memory refuses the SET inside the transaction (OOM,
    then EXECABORT): one try, nothing was written, the Redis's word quoted;
    and the connection goes back clean (every answer read), so once memory
    is freed the next change of the same store reads and writes as usual."""
    import redis

    from chat_recovery.live import StoreUnavailable
    from chat_recovery.live.redis_store import RedisStore

    server = RedisServer(tmp_path, options=("--maxmemory-policy", "noeviction")).start()
    try:
        store = RedisStore(server.url)
        store.update("v-fill", lambda doc: (_big_document(6_000_000), None), lambda doc: 60)
        admin = redis.Redis.from_url(server.url)
        admin.config_set("maxmemory", "4mb")  # now past it
        calls = []

        def change(doc):
            calls.append(doc)
            return {"visitorId": "v-small", "n": 1}, "written"

        with pytest.raises(StoreUnavailable) as raised:
            store.update("v-small", change, lambda doc: 60)
        assert len(calls) == 1
        assert "used memory > 'maxmemory'" in str(raised.value) and "nothing was written" in str(raised.value)
        assert not isinstance(raised.value, OutcomeUnknown)
        assert store.get("v-small") is None

        admin.config_set("maxmemory", "0")
        assert store.update("v-small", change, lambda doc: 60) == "written"
        assert store.get("v-small") == {"visitorId": "v-small", "n": 1}
        assert store.get("v-fill")["blob"] == "x" * 6_000_000
    finally:
        server.stop()
