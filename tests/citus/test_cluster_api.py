"""The HTTP API with the coordinator of a Citus cluster as its database: the
real service (harness.Service, migrating with the superuser URL, serving
through the runtime login), the helpers of the single-node API tests, and
a worker's PostgreSQL killed in the middle of a stream of writes."""
from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from harness import poll
from tests.api.test_audit_events import USER, gateway_event
from tests.api.test_spool_faults import start_service, wait_drained
from tests.citus.test_cluster_rules import as_role, verify_offline
from tests.db.test_verifier_cli import verify


@pytest.fixture(scope="module")
def spool_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("citus-spool") / "spool"


@pytest.fixture(scope="module")
def svc(citus_db, spool_dir):
    service = start_service(citus_db, spool_dir)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def client(svc):
    with svc.client() as c:
        yield c


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
        write(safe, 3)
    finally:
        victim.start()
    assert acked[202], "writes to the dead worker's chain were not spooled"
    wait_drained(svc, spool_dir)
    write(cid, 2)
    assert stored(coord, acked[201] + acked[202]) == len(acked[201]) + len(acked[202])
    assert verify_offline(coord, cid) == 12
    assert verify_offline(coord, safe) == 3
