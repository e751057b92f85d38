"""The HTTP API with the coordinator of a Citus cluster as its database: the
real service (harness.Service, migrating with the superuser URL, serving
through the runtime login), the helpers of the single-node API tests, and
a worker's PostgreSQL killed in the middle of a stream of writes; the write
path's routing (one delegated call per chain) from the service, the group
commit and the spool's drain."""
from __future__ import annotations

import asyncio
import uuid

import orjson
import psycopg
import pytest

from app import events
from app.spool import Spool
from app.writes import GroupCommit
from harness import poll
from tests.api.test_audit_events import USER, gateway_event
from tests.api.test_spool_faults import wait_drained
from tests.citus.test_cluster_rules import as_role, chain_rows, verify_offline
from tests.db.test_spool_drain import drain_all, open_db
from tests.db.test_verifier_cli import verify


def chain_on(coord, port: int, prefix: str) -> str:
    """A fresh correlation id whose shard lives on the node at `port`."""
    def candidate():
        cid = f"{prefix}-{uuid.uuid4()}"
        node = coord.execute(
            "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE"
            " p.shardid = get_shard_id_for_distribution_column('audit_chain_heads', %s::text)",
            (cid,)).fetchone()[0]
        return cid if node == port else None
    return poll(candidate, timeout=10, what=f"a chain on port {port}", interval=0)


def stored(coord, ids) -> int:
    return coord.execute("SELECT count(*) FROM audit_events WHERE event_id = ANY (%s::uuid[])",
                         (list(ids),)).fetchone()[0]


def calls_on(citus, node, citus_db: str, function: str) -> int:
    """How often `function` ran on that node's PostgreSQL (track_functions)."""
    with citus.connect(node, citus_db.rsplit("/", 1)[1]) as c:
        return int(c.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions"
                             " WHERE schemaname = 'datastorage' AND funcname = %s",
                             (function,)).fetchone()[0])


def test_a_chain_s_writes_run_on_its_worker(client, coord, citus, citus_db):
    """A single event and a batch of one chain reach the cluster as one call
    of append_chain_events that the coordinator sends whole to the chain's
    worker: the function runs there, not on the other worker."""
    home, away = citus.workers
    cid = chain_on(coord, home.port, "routed")

    def calls(node):
        return calls_on(citus, node, citus_db, "append_chain_events")

    before = {n.port: calls(n) for n in citus.nodes}
    assert client.post("/api/v1/audit/events", json=gateway_event(cid)).status_code == 201
    batch = client.post("/api/v1/audit/events/batch", json=[gateway_event(cid), gateway_event(cid)])
    assert batch.status_code == 201, batch.text
    poll(lambda: calls(home) >= before[home.port] + 2, timeout=30,
         what="two calls of append_chain_events on the chain's worker")
    assert calls(home) == before[home.port] + 2
    assert calls(away) == before[away.port]
    assert calls(citus.coordinator) == before[citus.coordinator.port]
    assert verify_offline(coord, cid) == 3


def test_the_spool_drains_chain_by_chain(coord, citus, citus_db, tmp_path):
    """Spooled records replay on the cluster through the single-chain entry
    point, one call per chain, in spool order within each chain; a record of
    several chains stays one transaction and a child whose parent is in
    another chain replays after it (app/writes.py, replay_calls)."""
    a = chain_on(coord, citus.workers[0].port, "drain-a")
    b = chain_on(coord, citus.workers[1].port, "drain-b")

    def row(cid, **kw):
        return events.prepare(gateway_event(cid, **kw), max_event_data_bytes=1 << 20).row

    a1, b1, a2 = row(a), row(b), row(a)
    both = [row(a), row(b)]
    records = [[a1], [b1], [a2], both, [row(b, parent_event_id=a2["event_id"])], [row(a)]]
    (tmp_path / "spool").mkdir()
    spool = Spool(tmp_path / "spool", 1 << 20)

    def calls(node):
        return calls_on(citus, node, citus_db, "append_chain_events")

    async def go():
        for record in records:
            await spool.append("audit_events", events.payload(record))
        await spool.close()
        db = await open_db(citus_db)
        try:
            return await drain_all(spool, db)
        finally:
            await db.close()

    before = [calls(w) for w in citus.workers]
    drainer = asyncio.run(go())
    ids = [r["event_id"] for record in records for r in record]
    assert drainer.stats.events == len(ids) and drainer.stats.quarantined == 0
    assert stored(coord, ids) == len(ids)
    order = {cid: [str(r["event_id"]) for r in chain_rows(coord, cid)] for cid in (a, b)}
    assert order == {a: [r["event_id"] for r in (a1, a2, both[0], records[5][0])],
                     b: [r["event_id"] for r in (b1, both[1], records[4][0])]}
    assert verify_offline(coord, a) == 4 and verify_offline(coord, b) == 3
    # Before the two-chain record, each chain's bucket; after it, each again.
    poll(lambda: [calls(w) for w in citus.workers] == [n + 2 for n in before], timeout=30,
         what="two calls of append_chain_events on each worker")


def test_the_group_commit_makes_one_call_per_chain(coord, citus, citus_db):
    """Single events of several chains waiting together are sent as one
    delegated call per chain, each on its chain's worker, never as one
    transaction across workers."""
    chains = [chain_on(coord, w.port, f"group-{i}") for w in citus.workers for i in range(2)]
    rows = [events.prepare(gateway_event(cid), max_event_data_bytes=1 << 20).row
            for cid in chains for _ in range(2)]

    def calls(node):
        return calls_on(citus, node, citus_db, "append_chain_events")

    async def go():
        db = await open_db(citus_db)
        try:
            group = GroupCommit(db, calls=1, wait=30)
            await asyncio.gather(*(group.append(orjson.dumps(r), r["correlation_id"]) for r in rows))
            return group
        finally:
            await db.close()

    before = [calls(w) for w in citus.workers]
    group = asyncio.run(go())
    assert group.flushed_events == len(rows)
    assert group.flushes == len(chains)           # one call per chain, all waiting together
    assert stored(coord, [r["event_id"] for r in rows]) == len(rows)
    poll(lambda: [calls(w) for w in citus.workers] == [n + 2 for n in before], timeout=30,
         what="two calls of append_chain_events on each worker")
    for cid in chains:
        assert verify_offline(coord, cid) == 2


def test_writes_batches_and_query_by_chain(client, coord):
    cid, other = f"api-{uuid.uuid4()}", f"api-{uuid.uuid4()}"
    one = client.post("/api/v1/audit/events", json=gateway_event(cid))
    assert one.status_code == 201, one.text
    batch = client.post("/api/v1/audit/events/batch",
                        json=[gateway_event(cid), gateway_event(other), gateway_event(cid)])
    assert batch.status_code == 201, batch.text
    assert len(batch.json()["event_ids"]) == 3
    page = client.get("/api/v1/audit/events", params={"correlation_id": cid})
    assert page.status_code == 200, page.text
    assert page.json()["pagination"]["total"] == 3
    assert [e["chain_seq"] for e in page.json()["data"]] == [3, 2, 1]
    assert verify_offline(coord, cid) == 3 and verify_offline(coord, other) == 1


def test_legal_hold_lifecycle(client, coord):
    cid = f"hold-{uuid.uuid4()}"
    client.post("/api/v1/audit/events/batch", json=[gateway_event(cid) for _ in range(3)])
    placed = client.post("/api/v1/audit/legal-hold", json={"correlation_id": cid, "reason": "litigation"},
                         headers=USER)
    assert placed.status_code == 200, placed.text
    assert placed.json()["events_affected"] == 3
    later = client.post("/api/v1/audit/events", json=gateway_event(cid))
    assert later.status_code == 201
    held = coord.execute("SELECT count(*) FILTER (WHERE legal_hold), count(*) FROM audit_events"
                         " WHERE correlation_id = %s", (cid,)).fetchone()
    assert held == (4, 4)
    holds = client.get("/api/v1/audit/legal-hold").json()
    assert [h["events_affected"] for h in holds["holds"] if h["correlation_id"] == cid] == [4]
    with pytest.raises(psycopg.Error, match="Cannot delete audit event with legal hold"):
        as_role(coord, "datastorage_owner", "DELETE FROM audit_events WHERE correlation_id = %s", cid)
    released = client.request("DELETE", f"/api/v1/audit/legal-hold/{cid}",
                              json={"release_reason": "settled"}, headers=USER)
    assert released.status_code == 200, released.text
    assert released.json()["events_released"] == 4
    assert verify_offline(coord, cid) == 4


def test_export_of_a_chain_verifies_offline(client, coord, tmp_path):
    cid = f"export-{uuid.uuid4()}"
    ids = client.post("/api/v1/audit/events/batch",
                      json=[gateway_event(cid) for _ in range(4)]).json()["event_ids"]
    r = client.get("/api/v1/audit/export", params={"correlation_id": cid}, headers=USER)
    assert r.status_code == 200, r.text
    assert all(i in r.text for i in ids)
    path = tmp_path / "export.json"
    path.write_bytes(r.content)
    cert = tmp_path / "cert.pem"
    cert.write_bytes(client.get("/api/v1/audit/export/certificate").content)
    result = verify(path, "--cert", cert)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_worker_killed_mid_stream_loses_nothing_acknowledged(client, coord, citus, svc, spool_dir):
    victim = citus.workers[0]
    cid = chain_on(coord, victim.port, "victim")
    safe = chain_on(coord, citus.workers[1].port, "survivor")
    acked: dict[int, list[str]] = {201: [], 202: []}

    def write(chain: str, n: int) -> None:
        for _ in range(n):
            r = client.post("/api/v1/audit/events", json=gateway_event(chain))
            assert r.status_code in (201, 202), r.text + svc.logs()[-1500:]
            acked[r.status_code].append(r.json()["event_id"])

    write(cid, 5)
    victim.stop("immediate")
    try:
        write(cid, 5)
        survivor = len(acked[201])
        write(safe, 3)
        # A write needs its own chain's worker only.
        assert len(acked[201]) == survivor + 3, "writes to the surviving worker's chain were spooled"
    finally:
        victim.start()
    assert acked[202], "writes to the dead worker's chain were not spooled"
    wait_drained(svc, spool_dir)
    write(cid, 2)
    assert stored(coord, acked[201] + acked[202]) == len(acked[201]) + len(acked[202])
    assert verify_offline(coord, cid) == 12
    assert verify_offline(coord, safe) == 3
