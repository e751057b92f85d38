"""Every rule of the audit trail, broken for real on a 3-node Citus cluster
(as the role each rule guards against) and watched being refused; tests run
against the coordinator of a database `datastorage migrate` distributed."""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg import sql

from app import canonical

CHAIN_TABLES = ("audit_chain_heads", "audit_events", "audit_legal_holds")


def event(cid: str, ts: str = "2026-11-26T10:00:00Z", **extra) -> dict:
    return {"event_id": str(uuid.uuid4()), "event_timestamp": ts, "event_type": "gateway.signal.received",
            "event_category": "gateway", "event_action": "received", "event_outcome": "success",
            "actor_type": "service", "actor_id": "gateway", "resource_type": "Signal",
            "resource_id": cid, "correlation_id": cid, "event_data": {"n": 1.50, "s": "x"}, **extra}


def append(conn, cid: str, events: list[dict]) -> int:
    """As the service's role, through the single-chain entry point."""
    conn.execute("SET ROLE datastorage_app")
    try:
        return conn.execute("SELECT datastorage.append_chain_events(%s, %s)",
                            (cid, json.dumps(events))).fetchone()[0]
    finally:
        conn.execute("RESET ROLE")


def as_role(conn, role: str, sql: str, *params):
    conn.execute(f"SET ROLE {role}")
    try:
        return conn.execute(sql, params or None)
    finally:
        conn.execute("RESET ROLE")


def chain_rows(conn, cid: str) -> list[dict]:
    cur = conn.execute(
        "SELECT *, event_version AS version, host(actor_ip) AS actor_ip_text,"
        " event_data::text AS data_text, event_metadata::text AS metadata_text"
        " FROM audit_events WHERE correlation_id = %s ORDER BY chain_seq", (cid,))
    names = [d.name for d in cur.description]
    rows = []
    for values in cur.fetchall():
        r = dict(zip(names, values))
        r["actor_ip"] = r.pop("actor_ip_text")
        r["event_data"] = canonical.loads_exact(r.pop("data_text"))
        text = r.pop("metadata_text")
        r["event_metadata"] = None if text is None else canonical.loads_exact(text)
        rows.append(r)
    return rows


def verify_offline(conn, cid: str) -> int:
    """Recompute every hash and link of the chain from the stored rows
    (app/canonical.py, byte for byte the SQL's canonical form) and compare
    the chain head; returns the chain's length."""
    rows = chain_rows(conn, cid)
    previous = ""
    for seq, r in enumerate(rows, start=1):
        assert r["chain_seq"] == seq
        assert r["previous_event_hash"] == previous
        assert r["event_hash"] == canonical.event_hash(previous, r), f"event {seq} of {cid}"
        previous = r["event_hash"]
    head = conn.execute("SELECT last_seq, last_hash FROM audit_chain_heads WHERE correlation_id = %s",
                        (cid,)).fetchone()
    assert head == (len(rows), previous)
    return len(rows)


def refused(conn, role: str, sql: str, sqlstate: str, *params) -> str:
    with pytest.raises(psycopg.Error) as err:
        as_role(conn, role, sql, *params)
    assert err.value.sqlstate == sqlstate, str(err.value)
    return str(err.value)


@pytest.fixture(scope="module", autouse=True)
def months(citus_db):
    """The months these tests write exist as partitions whatever today's
    date (upkeep makes only the months around now), before any event."""
    with psycopg.connect(citus_db, autocommit=True) as c:
        as_role(c, "datastorage_app", "SELECT datastorage.ensure_audit_partitions(0, 2, '2026-11-01')")


def test_chain_tables_are_distributed_by_correlation_id_and_colocated(coord):
    rows = dict(coord.execute(
        "SELECT logicalrelid::text, column_to_column_name(logicalrelid, partkey) || ':' || colocationid"
        " FROM pg_dist_partition WHERE partmethod = 'h'").fetchall())
    for t in CHAIN_TABLES:
        assert rows[t].startswith("correlation_id:"), t
    assert len({rows[t] for t in CHAIN_TABLES}) == 1
    # Every monthly partition (and the default) is distributed with its parent.
    partitions = [r[0] for r in coord.execute(
        "SELECT relid::text FROM pg_partition_tree('audit_events') WHERE level = 1")]
    assert partitions and all(rows.get(p) == rows["audit_events"] for p in partitions)
    # Shards on both workers; the catalog is a reference table.
    nodes = coord.execute("SELECT count(DISTINCT nodeport) FROM citus_shards"
                          " WHERE table_name = 'audit_events'::regclass").fetchone()[0]
    assert nodes == 2
    assert coord.execute("SELECT partmethod FROM pg_dist_partition"
                         " WHERE logicalrelid = 'remediation_workflow_catalog'::regclass"
                         ).fetchone() == ("n",)


def test_unique_keys_carry_the_distribution_column(coord):
    keys = dict(coord.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid IN ('audit_events'::regclass, 'audit_legal_holds'::regclass)"
        " AND contype = 'p'").fetchall())
    assert keys["audit_events_pkey"] == "PRIMARY KEY (event_id, event_date, correlation_id)"
    assert "correlation_id" in keys["audit_legal_holds_pkey"]


def test_per_chain_functions_are_delegated_by_their_correlation_id(coord):
    delegated = {r[0] for r in coord.execute(
        "SELECT objid::regprocedure::text FROM pg_dist_object"
        " WHERE classid = 'pg_proc'::regclass AND distribution_argument_index IS NOT NULL"
        " AND colocationid = (SELECT colocationid FROM pg_dist_partition"
        "                     WHERE logicalrelid = 'audit_chain_heads'::regclass)")}
    for f in ("datastorage.append_chain_events(text,jsonb)",
              "datastorage.place_legal_hold(text,text,text)",
              "datastorage.release_legal_hold(text,text,text)",
              "datastorage.legal_hold_history(text)",
              "datastorage.verify_chain_summary(text)"):
        assert f in delegated, f
    assert any(f.startswith("datastorage.query_audit_events(") for f in delegated)


def test_a_per_chain_call_runs_on_exactly_the_shard_of_its_chain(coord):
    cid = f"route-{uuid.uuid4()}"
    append(coord, cid, [event(cid)])
    node = coord.execute(
        "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)"
        " WHERE p.shardid = get_shard_id_for_distribution_column('audit_chain_heads', %s::text)",
        (cid,)).fetchone()[0]
    for call in ("SELECT datastorage.query_audit_events({})",
                 "SELECT datastorage.append_chain_events({}, '[]')"):
        query = sql.SQL("EXPLAIN (COSTS OFF) " + call).format(sql.Literal(cid))
        plan = "\n".join(r[0] for r in coord.execute(query))
        assert "Task Count: 1" in plan, plan
        assert f"port={node} " in plan, plan
    # A query without a chain is not delegated: it fans out to every shard.
    plan = "\n".join(r[0] for r in coord.execute(
        "EXPLAIN (COSTS OFF) SELECT count(*) FROM audit_events WHERE event_type = 'x'"))
    assert "Task Count: 1\n" not in plan + "\n"


def test_replay_is_stored_once_and_the_chain_verifies(coord):
    cid = f"replay-{uuid.uuid4()}"
    batch = [event(cid), event(cid, event_data={"k": [1, 2, {"x": None}]}), event(cid)]
    assert append(coord, cid, batch) == 3
    assert append(coord, cid, batch) == 0
    assert append(coord, cid, batch[1:] + [event(cid)]) == 1
    assert coord.execute("SELECT count(*) FROM audit_events WHERE correlation_id = %s",
                         (cid,)).fetchone()[0] == 4
    assert verify_offline(coord, cid) == 4


def test_an_id_replayed_under_another_chain_is_an_event_of_that_chain(coord):
    """The registry is keyed by chain on a cluster (docs/scaling-out.md,
    "Idempotency on event_id"): the same id under another chain is not a
    replay there; each chain stores it once and verifies."""
    a, b = f"id-a-{uuid.uuid4()}", f"id-b-{uuid.uuid4()}"
    first = event(a)
    assert append(coord, a, [first]) == 1
    again = {**first, "correlation_id": b, "resource_id": b}
    assert append(coord, b, [again]) == 1
    assert append(coord, b, [again]) == 0
    assert append(coord, a, [first]) == 0
    rows = coord.execute("SELECT correlation_id, count(*) FROM audit_events WHERE event_id = %s"
                         " GROUP BY 1 ORDER BY 1", (first["event_id"],)).fetchall()
    assert rows == [(a, 1), (b, 1)]
    assert verify_offline(coord, a) == 1 and verify_offline(coord, b) == 1
    # The transparency log, which sees every id, keeps one leaf per id.
    as_role(coord, "datastorage_app", "SELECT datastorage.tlog_integrate()")
    leaves = coord.execute("SELECT correlation_id FROM tlog_leaves WHERE event_id = %s",
                           (first["event_id"],)).fetchall()
    assert len(leaves) == 1 and leaves[0][0] in (a, b)
    # An auditor's query across the shards finds the repeat.
    repeats = [r[0] for r in coord.execute(
        "SELECT event_id::text FROM audit_event_ids GROUP BY event_id HAVING count(*) > 1")]
    assert first["event_id"] in repeats
    assert coord.execute("SELECT count(*) FROM tlog_outbox WHERE event_id = %s",
                         (first["event_id"],)).fetchone()[0] == 0


def test_a_parent_in_another_chain_is_found_and_a_missing_one_refused(coord):
    a, b = f"parent-a-{uuid.uuid4()}", f"parent-b-{uuid.uuid4()}"
    parent = event(a)
    append(coord, a, [parent])
    assert append(coord, b, [event(b, parent_event_id=parent["event_id"])]) == 1
    with pytest.raises(psycopg.Error) as err:
        append(coord, b, [event(b, parent_event_id=str(uuid.uuid4()))])
    assert err.value.sqlstate == "DS400"
    assert verify_offline(coord, b) == 1


def remote_commands(conn, sql_text: str, *params) -> list[str]:
    """The commands Citus sends to other nodes while `sql_text` runs here,
    as datastorage_app (citus.log_remote_commands, one notice per command)."""
    seen: list[str] = []

    def handler(diag):
        seen.append(f"{diag.message_primary} [{diag.message_detail}]")

    conn.add_notice_handler(handler)
    conn.execute("SET citus.log_remote_commands = on")
    try:
        as_role(conn, "datastorage_app", sql_text, *params)
    finally:
        conn.execute("RESET citus.log_remote_commands")
        conn.remove_notice_handler(handler)
    return [m for m in seen if m.startswith("issuing ")]


def node_of(coord, cid: str) -> int:
    return coord.execute(
        "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)"
        " WHERE p.shardid = get_shard_id_for_distribution_column('audit_chain_heads', %s::text)",
        (cid,)).fetchone()[0]


def test_an_append_of_one_chain_touches_only_its_worker(coord, citus, citus_db):
    """The coordinator sends the whole call to the chain's worker and nothing
    else; there, every statement of the append runs on local shards: no
    command to another node, no two-phase commit."""
    cid = f"local-{uuid.uuid4()}"
    append(coord, cid, [event(cid)])           # the chain exists; the next one is typical
    port = node_of(coord, cid)
    sent = remote_commands(coord, "SELECT datastorage.append_chain_events(%s, %s)",
                           cid, json.dumps([event(cid)]))
    assert len(sent) == 1, sent
    assert "append_chain_events" in sent[0] and f"@127.0.0.1:{port} " in sent[0], sent
    worker = next(w for w in citus.workers if w.port == port)
    dbname = citus_db.rsplit("/", 1)[1]
    with citus.connect(worker, dbname) as direct:
        for events in ([event(cid)], [event(cid), event(cid, ts="2026-11-27T10:00:00Z")]):
            assert remote_commands(direct, "SELECT datastorage.append_chain_events(%s, %s)",
                                   cid, json.dumps(events)) == []
    assert verify_offline(coord, cid) == 5


def test_a_batch_of_several_chains_goes_through_the_coordinator(coord, citus):
    """All or nothing across chains (spec: one transaction per batch): the
    coordinator runs it and commits on both workers with two-phase commit."""
    a, b = (f"multi-{uuid.uuid4()}" for _ in range(2))
    while node_of(coord, a) == node_of(coord, b):
        b = f"multi-{uuid.uuid4()}"
    events = [event(a), event(b), event(a, ts="2027-01-02T00:00:00Z")]
    sent = remote_commands(coord, "SELECT datastorage.append_audit_events(%s)", json.dumps(events))
    prepared = {m.rsplit("@127.0.0.1:", 1)[1].split()[0] for m in sent if "PREPARE TRANSACTION" in m}
    assert prepared == {str(w.port) for w in citus.workers}, sent
    assert verify_offline(coord, a) == 2 and verify_offline(coord, b) == 1
    # A refused event on one worker's chain: nothing is stored on the other.
    c, d = f"none-{uuid.uuid4()}", f"none-{uuid.uuid4()}"
    while node_of(coord, c) == node_of(coord, d):
        d = f"none-{uuid.uuid4()}"
    with pytest.raises(psycopg.Error) as err:
        as_role(coord, "datastorage_app", "SELECT datastorage.append_audit_events(%s)",
                json.dumps([event(c), event(d, parent_event_id=str(uuid.uuid4()))]))
    assert err.value.sqlstate == "DS400"
    assert coord.execute("SELECT count(*) FROM audit_events WHERE correlation_id IN (%s, %s)",
                         (c, d)).fetchone()[0] == 0


def test_events_of_another_chain_are_refused_by_the_single_chain_append(coord):
    with pytest.raises(psycopg.Error) as err:
        append(coord, "chain-x", [event("chain-y")])
    assert err.value.sqlstate == "DS400"


def test_events_are_immutable_on_the_shards(coord):
    cid = f"immutable-{uuid.uuid4()}"
    append(coord, cid, [event(cid)])
    message = refused(coord, "datastorage_owner",
                      "UPDATE audit_events SET actor_id = 'mallory' WHERE correlation_id = %s",
                      "55000", cid)
    assert "immutable" in message
    # The hold columns too, outside the hold functions.
    refused(coord, "datastorage_owner",
            "UPDATE audit_events SET legal_hold = true WHERE correlation_id = %s", "42501", cid)
    # Nor rewritten wholesale, which fires no row trigger (the coordinator's
    # table_rewrite guard refuses the distributed ALTER before any shard).
    message = refused(coord, "datastorage_owner",
                      "ALTER TABLE audit_events ALTER COLUMN actor_id TYPE text USING 'mallory'",
                      "42501")
    assert "Rewriting" in message
    assert verify_offline(coord, cid) == 1


def test_the_app_role_has_no_table_privilege(coord):
    cid = f"grants-{uuid.uuid4()}"
    append(coord, cid, [event(cid)])
    for stmt in ("UPDATE audit_events SET actor_id = 'x' WHERE correlation_id = %s",
                 "DELETE FROM audit_events WHERE correlation_id = %s",
                 "DELETE FROM audit_chain_heads WHERE correlation_id = %s",
                 "SELECT count(*) FROM audit_events WHERE correlation_id = %s"):
        refused(coord, "datastorage_app", stmt, "42501", cid)
    # Nor on a shard, reached on a worker directly.
    assert verify_offline(coord, cid) == 1


def test_held_events_cannot_be_deleted_or_truncated(coord):
    cid = f"held-{uuid.uuid4()}"
    append(coord, cid, [event(cid), event(cid)])
    held = as_role(coord, "datastorage_app", "SELECT datastorage.place_legal_hold(%s, 'case 1', 'legal')",
                   cid).fetchone()[0]
    assert held["events_affected"] == 2
    message = refused(coord, "datastorage_owner", "DELETE FROM audit_events WHERE correlation_id = %s",
                      "23503", cid)
    assert "legal hold" in message
    refused(coord, "datastorage_owner", "DELETE FROM audit_chain_heads WHERE correlation_id = %s",
            "23503", cid)
    refused(coord, "datastorage_owner", "DELETE FROM audit_legal_holds WHERE correlation_id = %s",
            "55000", cid)
    for table in ("audit_events", "audit_events_2026_11", "audit_chain_heads", "audit_legal_holds"):
        refused(coord, "datastorage_owner", f"TRUNCATE {table}", "55000")
    # A forged hold-history row is refused on the shard.
    refused(coord, "datastorage_owner",
            "INSERT INTO audit_legal_holds (correlation_id, action, reason, actor, events_affected)"
            " VALUES (%s, 'release', 'forged', 'mallory', 0)", "42501", cid)
    assert verify_offline(coord, cid) == 2
    history = as_role(coord, "datastorage_app", "SELECT action FROM datastorage.legal_hold_history(%s)",
                      cid).fetchall()
    assert history == [("place",)]


def test_a_partition_holding_held_events_cannot_be_detached_or_dropped(coord):
    cid = f"partition-{uuid.uuid4()}"
    append(coord, cid, [event(cid, ts="2026-12-15T08:00:00Z")])
    as_role(coord, "datastorage_app", "SELECT datastorage.place_legal_hold(%s, 'case 2', 'legal')", cid)
    where = "audit_events_2026_12"
    assert coord.execute(f"SELECT count(*) FROM {where} WHERE correlation_id = %s",
                         (cid,)).fetchone()[0] == 1
    refused(coord, "datastorage_owner", f"ALTER TABLE audit_events DETACH PARTITION {where}", "23503")
    refused(coord, "datastorage_owner", f"DROP TABLE {where}", "23503")
    refused(coord, "datastorage_owner", f"ALTER TABLE {where} RENAME TO gone", "23503")
    assert verify_offline(coord, cid) == 1
    # A partition without held rows can go (retention), on the cluster too.
    as_role(coord, "datastorage_owner",
            "CREATE TABLE audit_events_2031_01 PARTITION OF audit_events"
            " FOR VALUES FROM ('2031-01-01') TO ('2031-02-01')")
    as_role(coord, "datastorage_owner", "ALTER TABLE audit_events DETACH PARTITION audit_events_2031_01")
    as_role(coord, "datastorage_owner", "DROP TABLE audit_events_2031_01")


def test_a_new_partition_is_distributed_and_guarded(coord):
    as_role(coord, "datastorage_app", "SELECT datastorage.ensure_audit_partitions(0, 0, '2032-03-10')")
    assert coord.execute("SELECT colocationid FROM pg_dist_partition"
                         " WHERE logicalrelid = 'audit_events_2032_03'::regclass").fetchone() == \
        coord.execute("SELECT colocationid FROM pg_dist_partition"
                      " WHERE logicalrelid = 'audit_events'::regclass").fetchone()
    cid = f"new-partition-{uuid.uuid4()}"
    append(coord, cid, [event(cid, ts="2032-03-10T12:00:00Z")])
    refused(coord, "datastorage_owner", "TRUNCATE audit_events_2032_03", "55000")
    refused(coord, "datastorage_owner",
            "UPDATE audit_events_2032_03 SET actor_id = 'x' WHERE correlation_id = %s", "55000", cid)


def test_migrate_again_changes_nothing(coord, citus_db):
    from app.migrate import migrate
    before = coord.execute("SELECT count(*) FROM pg_dist_partition").fetchone()[0]
    assert migrate(citus_db) == 0
    assert coord.execute("SELECT count(*) FROM pg_dist_partition").fetchone()[0] == before


def test_an_older_head_guard_is_replaced_on_every_shard(coord, citus, citus_db):
    """A cluster migrated when the chain heads' guard was one trigger for
    every update and delete: migrate gives every shard the two narrower
    triggers, and the guards are intact."""
    from app.migrate import migrate
    coord.execute("DROP TRIGGER audit_chain_heads_held_delete ON audit_chain_heads")
    coord.execute("CREATE OR REPLACE TRIGGER audit_chain_heads_hold BEFORE UPDATE OR DELETE ON audit_chain_heads"
                  " FOR EACH ROW EXECUTE FUNCTION datastorage_guard.guard_chain_head()")
    assert migrate(citus_db) == 0
    assert coord.execute("SELECT datastorage_guard.note_guards()").fetchone() == (True,)
    for worker in citus.workers:
        with citus.connect(worker, citus_db.rsplit("/", 1)[1]) as w:
            w.execute("SET citus.override_table_visibility = off")  # shards are hidden otherwise
            shards = w.execute(
                "SELECT c.oid FROM pg_class c WHERE c.relname ~ '^audit_chain_heads_[0-9]+$'").fetchall()
            triggers = w.execute(
                "SELECT t.tgtype, t.tgqual IS NOT NULL, t.tgattr::text, count(*) FROM pg_trigger t"
                " JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname ~ '^audit_chain_heads_[0-9]+$'"
                " AND t.tgtype & 1 = 1 GROUP BY 1, 2, 3 ORDER BY 1").fetchall()
        # DELETE: WHEN (old.legal_hold); UPDATE OF the four hold columns.
        assert shards and triggers == [(11, True, "", len(shards)), (19, False, "5 6 7 8", len(shards))]


def definitions(coord) -> dict:
    """What a migrate leaves: every function of ours (body and settings),
    which are delegated and by what, and where every table is."""
    return {
        "functions": dict(coord.execute(
            "SELECT p.oid::regprocedure::text, md5(p.prosrc || coalesce(p.proconfig::text, ''))"
            " FROM pg_proc p WHERE p.pronamespace IN ('datastorage'::regnamespace,"
            " 'datastorage_guard'::regnamespace)").fetchall()),
        "delegated": dict(coord.execute(
            "SELECT objid::regprocedure::text, distribution_argument_index || ':' || colocationid"
            " FROM pg_dist_object WHERE classid = 'pg_proc'::regclass"
            " AND distribution_argument_index IS NOT NULL").fetchall()),
        "tables": dict(coord.execute(
            "SELECT logicalrelid::text, partmethod::text || ':' || colocationid FROM pg_dist_partition"
            ).fetchall()),
    }


def test_an_interrupted_migrate_is_healed_by_the_next_and_never_unguards(coord, citus_db,
                                                                        monkeypatch):
    """On a cluster each function file commits on its own: a migrate that
    dies between two of them leaves some files applied. The DDL guard holds
    in that state, and the next migrate restores everything."""
    from app import migrate as m
    cid = f"interrupted-{uuid.uuid4()}"
    append(coord, cid, [event(cid, ts="2027-01-20T08:00:00Z")])
    as_role(coord, "datastorage_app", "SELECT datastorage.place_legal_hold(%s, 'case 3', 'legal')", cid)
    before = definitions(coord)
    run_file = m._run_file

    def dies_before_export(conn, path, one_by_one):
        if path.name.startswith("160_"):
            raise m.MigrationError("killed")
        run_file(conn, path, one_by_one)

    monkeypatch.setattr(m, "_run_file", dies_before_export)
    with pytest.raises(m.MigrationError, match="killed"):
        m.migrate(citus_db)
    monkeypatch.setattr(m, "_run_file", run_file)
    # Files up to 150 were applied again; the upkeep's cluster setting went
    # with its file, the guard's cluster branch did not.
    assert definitions(coord)["functions"] != before["functions"]
    refused(coord, "datastorage_owner", "ALTER TABLE audit_events DETACH PARTITION audit_events_2027_01",
            "23503")
    assert m.migrate(citus_db) == 0
    assert definitions(coord) == before
    assert verify_offline(coord, cid) == 1


def test_appended_events_reach_the_transparency_log(coord):
    """The capture fills the chain's outbox shard (a row trigger on a
    cluster); the integrator on the coordinator turns it into leaves."""
    a, b = f"tlog-a-{uuid.uuid4()}", f"tlog-b-{uuid.uuid4()}"
    append(coord, a, [event(a), event(a)])
    as_role(coord, "datastorage_app", "SELECT datastorage.append_audit_events(%s)",
            json.dumps([event(b)]))
    as_role(coord, "datastorage_app", "SELECT datastorage.tlog_integrate()")
    leaves = dict(coord.execute(
        "SELECT correlation_id, count(*) FROM tlog_leaves WHERE correlation_id IN (%s, %s)"
        " GROUP BY 1", (a, b)).fetchall())
    assert leaves == {a: 2, b: 1}


def test_log_verify_chunks_recompute_the_log_of_a_cluster(coord, citus_db):
    """`log verify`'s chunk query runs on the coordinator against the
    distributed events, including an id appended in two chains (one leaf,
    naming one of them): the leaves rebuild the log's root; a rewrite of
    that event is named."""
    from app import tlog
    from app.tlog_cli import leaf_chunks

    def recompute(size):
        builder, odd = tlog.RootBuilder(), []
        for chunk in leaf_chunks(citus_db, size):
            assert chunk.gap is None
            builder.extend(chunk.leaves)
            odd += chunk.odd
        return builder.root(), odd

    a, b = f"tlog-v-{uuid.uuid4()}", f"tlog-w-{uuid.uuid4()}"
    append(coord, a, [event(a), event(a)])
    twice = event(b)
    append(coord, b, [twice])
    append(coord, a, [{**twice, "correlation_id": a}])
    as_role(coord, "datastorage_app", "SELECT datastorage.tlog_integrate()")
    size = coord.execute("SELECT datastorage.tlog_size()").fetchone()[0]
    root = bytes(coord.execute("SELECT datastorage.tlog_root(%s)", (size,)).fetchone()[0])
    assert recompute(size) == (root, [])
    index, chain = coord.execute("SELECT leaf_index, correlation_id FROM tlog_leaves "
                                 "WHERE event_id = %s", (twice["event_id"],)).fetchone()
    with coord.transaction():  # as the superuser, on the worker too
        coord.execute("SET LOCAL citus.propagate_set_commands = 'local'")
        coord.execute("SET LOCAL session_replication_role = replica")
        coord.execute("UPDATE audit_events SET event_data = '{}' WHERE event_id = %s "
                      "AND correlation_id = %s", (twice["event_id"], chain))
    assert recompute(size)[1] == [(index, twice["event_id"], chain, True)]
