"""The read side on a 3-node Citus cluster, through the coordinator: the
query across chains (compared with a single node holding the same events),
reconstruction, verification (SQL and HTTP, one chain delegated to its
worker, many through the coordinator, tampering on a shard found), the
console pages and the transparency log's proofs and `log verify`."""
from __future__ import annotations

import json
import uuid

import psycopg
from psycopg import sql

from app import tlog
from app.migrate import libpq_url
from harness import poll
from tests.api.test_audit_events import gateway_event
from tests.api.test_reconstruction import full_trail, ok, store
from tests.citus.test_cluster_rules import as_role, event
from tests.db.test_tlog_attacks import Log

VERIFY = "/api/v1/audit/verify-chain"


def chain_via_api(client, n: int, prefix: str) -> str:
    cid = f"{prefix}-{uuid.uuid4()}"
    r = client.post("/api/v1/audit/events/batch", json=[gateway_event(cid) for _ in range(n)])
    assert r.status_code == 201, r.text
    return cid


def on_worker(citus, coord, cid: str, statement: str, *params) -> int:
    """As the superuser of the worker holding the chain's shard, triggers
    off (what an attacker with that access can do); the rows changed."""
    url = libpq_url(citus.url(worker_of(citus, coord, cid), coord.info.dbname))
    with psycopg.connect(url, autocommit=True) as w, w.transaction():
        w.execute("SET LOCAL session_replication_role = replica")
        return w.execute(statement, params).rowcount


def worker_of(citus, coord, cid: str):
    port = coord.execute(
        "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE"
        " p.shardid = get_shard_id_for_distribution_column('audit_chain_heads', %s::text)",
        (cid,)).fetchone()[0]
    return next(w for w in citus.workers if w.port == port)


# -- the query across chains ---------------------------------------------------

def across_events(kind: str) -> list[dict]:
    """Three chains, two event types, outcomes and categories mixed, equal
    timestamps across chains (the event id breaks the tie)."""
    evs = []
    for c in range(3):
        cid = f"{kind}-chain-{c}-{uuid.uuid4()}"
        for i in range(5):
            evs.append(event(cid, ts=f"2026-11-{20 + i:02d}T0{c}:00:00Z",
                             event_type=f"{kind}.{'signal' if i % 2 else 'step'}.done",
                             event_category=f"{kind}-{c % 2}",
                             event_outcome="failure" if (i + c) % 3 == 0 else "success",
                             event_data={"i": i, "c": c, "x": 1.50}))
    return evs


def test_the_query_across_chains_answers_as_a_single_node_does(coord, module_conn, client):
    kind = f"xq{uuid.uuid4().hex[:8]}"
    evs = across_events(kind)
    as_role(coord, "datastorage_app", "SELECT datastorage.append_audit_events(%s)", json.dumps(evs))
    module_conn.execute("SET ROLE datastorage_app")
    module_conn.execute("SELECT datastorage.append_audit_events(%s)", (json.dumps(evs),))
    module_conn.execute("RESET ROLE")
    searches = [
        {"p_event_type": f"{kind}.signal.done"},
        {"p_event_category": f"{kind}-0"},
        {"p_event_category": f"{kind}-1", "p_event_outcome": "failure"},
        {"p_event_type": f"{kind}.step.done", "p_since": "2026-11-21T00:00:00Z",
         "p_until": "2026-11-23T01:00:00Z"},
        {"p_event_category": f"{kind}-0", "p_limit": 3, "p_offset": 4},
    ]
    for args in searches:
        call = sql.SQL("SELECT datastorage.search_audit_events({})::text").format(
            sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(k), sql.Placeholder(k))
                               for k in args))
        single = json.loads(module_conn.execute(call, args).fetchone()[0])
        cluster = json.loads(_as_app(coord, call, args))
        assert single["data"], args
        assert cluster == single, args
    # The service through the coordinator, as clients ask it.
    r = client.get("/api/v1/audit/events", params={"event_type": f"{kind}.signal.done", "limit": 4})
    assert r.status_code == 200, r.text
    single = json.loads(module_conn.execute(
        "SELECT datastorage.query_audit_events(p_event_type => %s, p_limit => 4)::text",
        (f"{kind}.signal.done",)).fetchone()[0])
    assert r.json() == single and single["pagination"]["total"] == 6


def _as_app(conn, query, params) -> str:
    conn.execute("SET ROLE datastorage_app")
    try:
        return conn.execute(query, params).fetchone()[0]
    finally:
        conn.execute("RESET ROLE")


def test_a_chain_with_filters_is_delegated_and_a_null_chain_is_never_sent(coord, client):
    cid = chain_via_api(client, 3, "filtered")
    plan = "\n".join(r[0] for r in coord.execute(sql.SQL(
        "EXPLAIN (COSTS OFF) SELECT datastorage.query_audit_events({}, 'gateway.signal.received')"
    ).format(sql.Literal(cid))))
    assert "Task Count: 1" in plan, plan
    r = client.get("/api/v1/audit/events", params={"correlation_id": cid, "event_outcome": "success"})
    assert r.status_code == 200 and r.json()["pagination"]["total"] == 3
    # No correlation id: the coordinator still answers (a NULL distribution
    # argument would crash the backend planning the delegated call).
    r = client.get("/api/v1/audit/events", params={"event_category": "gateway", "limit": 2})
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 2
    assert coord.execute("SELECT 1").fetchone() == (1,)


# -- reconstruction --------------------------------------------------------------

def test_a_remediation_request_is_reconstructed_on_the_cluster(client):
    cid = f"rr-citus-{uuid.uuid4()}"
    store(client, full_trail(cid))
    body, doc = ok(client, cid)
    assert body["validation"] == {"is_valid": True, "completeness": 100, "errors": [], "warnings": []}
    assert doc["kind"] == "RemediationRequest"
    assert doc["metadata"]["labels"]["kubernaut.ai/correlation-id"] == cid
    assert doc["spec"]["signalName"] == "HighCPUUsage"
    missing = client.post(f"/api/v1/audit/remediation-requests/nothing-{uuid.uuid4()}/reconstruct")
    assert missing.status_code == 404, missing.text


# -- verification ----------------------------------------------------------------

def test_one_chain_is_verified_on_its_worker_and_many_through_the_coordinator(coord, client):
    a, b = chain_via_api(client, 4, "verify-a"), chain_via_api(client, 2, "verify-b")
    for call in ("SELECT * FROM datastorage.verify_one_chain({})",
                 "SELECT * FROM datastorage.verify_chain({})",
                 "SELECT * FROM datastorage.verify_chain_summary({})"):
        plan = "\n".join(r[0] for r in coord.execute(
            sql.SQL("EXPLAIN (COSTS OFF) " + call).format(sql.Literal(a))))
        assert "Task Count: 1" in plan, plan
    coord.execute("SET ROLE datastorage_app")
    try:
        rows = coord.execute("SELECT chain_seq, verdict FROM datastorage.verify_chain(%s)", (a,)).fetchall()
        many = coord.execute("SELECT correlation_id, total_events, is_valid"
                             " FROM datastorage.verify_chains(%s)", ([b, a, "never-written"],)).fetchall()
    finally:
        coord.execute("RESET ROLE")
    assert rows == [(1, "ok"), (2, "ok"), (3, "ok"), (4, "ok")]
    assert many == [(b, 2, True), (a, 4, True), ("never-written", 0, True)]
    one = client.post(VERIFY, json={"correlation_id": a})
    assert one.status_code == 200, one.text
    assert (one.json()["is_valid"], one.json()["verified_events"]) == (True, 4)
    both = client.post(VERIFY, json={"correlation_ids": [a, b]})
    assert both.status_code == 200, both.text
    assert [(c["correlation_id"], c["total_events"]) for c in both.json()["chains"]] == [(a, 4), (b, 2)]
    assert both.json()["is_valid"] is True


def test_tampering_on_a_shard_is_detected_through_the_coordinator(citus, coord, client):
    cid = chain_via_api(client, 3, "tamper")
    target, original = coord.execute("SELECT event_id, event_data::text FROM audit_events"
                                     " WHERE correlation_id = %s AND chain_seq = 2", (cid,)).fetchone()
    update = "UPDATE audit_events SET event_data = %s::jsonb WHERE correlation_id = %s AND chain_seq = 2"
    assert on_worker(citus, coord, cid, update, '{"n": 99}', cid) == 1
    try:
        body = client.post(VERIFY, json={"correlation_id": cid}).json()
        assert body["is_valid"] is False and body["broken_events"] == 1
        assert body["first_broken_event_id"] == str(target)
        assert body["message"] == "Hash chain verification FAILED: tampering detected"
        many = client.post(VERIFY, json={"correlation_ids": [cid, f"other-{uuid.uuid4()}"]})
        assert many.status_code == 404  # the other chain was never written
        many = client.post(VERIFY, json={"correlation_ids": [cid]}).json()
        assert many["is_valid"] is False
    finally:
        # Put it back: the log tests below verify every event of this database.
        on_worker(citus, coord, cid, update, original, cid)
    assert client.post(VERIFY, json={"correlation_id": cid}).json()["is_valid"] is True


# -- the console -----------------------------------------------------------------

def test_every_console_page_that_reads_the_database_answers(client):
    cid = f"rr-console-{uuid.uuid4()}"
    store(client, full_trail(cid))
    for path, params, text in [
        ("/console/", {}, "Overview"),
        ("/console/search", {"event_category": "gateway"}, cid),
        ("/console/search", {"correlation_id": cid}, cid),
        ("/console/reconstruction", {"correlation_id": cid}, "RemediationRequest"),
        ("/console/trail", {"correlation_id": cid}, "gateway.signal.received"),
        ("/console/trail/events", {"correlation_id": cid, "offset": 0}, "gateway.signal.received"),
    ]:
        r = client.get(path, params=params)
        assert r.status_code == 200, (path, r.text[-2000:])
        assert text in r.text, path


# -- the transparency log ----------------------------------------------------------

def signed_log(citus_db, coord, tmp_path) -> tuple[Log, list[str], object]:
    log = Log(citus_db, coord, tmp_path)
    cid = f"tlog-{uuid.uuid4()}"
    log.append([event(cid), event(cid), event(f"other-{uuid.uuid4()}")])
    ids = [r[0] for r in coord.execute("SELECT event_id FROM audit_events WHERE correlation_id = %s",
                                       (cid,))]

    def covering():
        # The module's service integrates the log too: a checkpoint signed
        # while it holds a batch may not cover these events yet.
        cp = log.sign()
        n = coord.execute("SELECT count(*) FROM tlog_leaves WHERE event_id = ANY (%s)"
                          " AND leaf_index < %s", (ids, cp.size)).fetchone()[0]
        return cp if n == len(ids) else None
    return log, ids, poll(covering, timeout=60, what="a checkpoint covering the events")


def test_inclusion_proofs_from_the_coordinator_verify(citus_db, coord, tmp_path):
    _, ids, cp = signed_log(citus_db, coord, tmp_path)
    assert cp.size >= 3 and len(ids) == 2
    for event_id in ids:
        row = as_role(coord, "datastorage_app",
                      "SELECT leaf_index, leaf_hash, root_hash, proof"
                      " FROM datastorage.tlog_event_proof(%s, %s)", event_id, cp.size).fetchone()
        assert bytes(row[2]) == cp.root
        tlog.verify_inclusion(bytes(row[1]), row[0], cp.size, [bytes(p) for p in row[3]], cp.root)


def test_log_verify_against_the_coordinator_catches_a_changed_event(citus, citus_db, coord, tmp_path):
    log, ids, _ = signed_log(citus_db, coord, tmp_path)
    run = log.verify()
    assert run.returncode == 0, run.stdout + run.stderr
    cid, actor = coord.execute("SELECT correlation_id, actor_id FROM audit_events WHERE event_id = %s",
                               (ids[1],)).fetchone()
    update = "UPDATE audit_events SET actor_id = %s WHERE event_id = %s"
    assert on_worker(citus, coord, cid, update, "mallory", ids[1]) == 1
    try:
        run = log.verify()
    finally:
        on_worker(citus, coord, cid, update, actor, ids[1])
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"event {ids[1]}" in run.stdout and "does not hash to its stored event_hash" in run.stdout
