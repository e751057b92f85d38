"""Bounded work per request (issue 12 §5), against the real service and
database: a busy pool is told from an unreachable database, a call past its
deadline is refused without spooling, offsets and verifications are capped,
unknown methods share one metrics label, broad counts are estimated."""
from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest

from app.migrate import libpq_url
from app.spool import list_segments
from tests.api.test_audit_events import gateway_event
from harness import Service, poll

EVENTS = "/api/v1/audit/events"


def _connect(url: str):
    return psycopg.connect(libpq_url(url), autocommit=True)


def _hold_chain_head(url: str, cid: str):
    """A superuser transaction holding the chain head of `cid`: any write
    to that chain waits for it, keeping its pooled connection busy."""
    conn = psycopg.connect(libpq_url(url))
    conn.execute("SELECT 1 FROM audit_chain_heads WHERE correlation_id = %s FOR UPDATE", (cid,))
    return conn


def _waiting_writes(url: str) -> int:
    with _connect(url) as c:
        return c.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                         "'datastorage' AND wait_event_type = 'Lock'").fetchone()[0]


@pytest.fixture(scope="module")
def tight(module_db, tmp_path_factory):
    """One connection per worker, half a second of waiting for it, a 4 s
    deadline per call, verify-chain capped at 5 events."""
    spool = tmp_path_factory.mktemp("tight") / "spool"
    svc = Service(module_db, env={"DS_POOL_MAX": "1", "DS_POOL_WAIT": "0.5", "DS_DB_TIMEOUT": "4",
                                  "DS_MAX_VERIFY_EVENTS": "5", "DS_SPOOL_DIR": str(spool)}).start()
    try:
        yield svc, spool
    finally:
        svc.stop()


def test_a_busy_pool_answers_503_with_retry_after_and_spools_nothing(tight, module_db):
    svc, spool = tight
    cid = f"busy-{uuid.uuid4()}"
    with svc.client() as c:
        assert c.post(EVENTS, json=gateway_event(cid)).status_code == 201
    holder = _hold_chain_head(module_db, cid)
    results = {}

    def blocked_write():
        with svc.client() as c:
            results["blocked"] = c.post(EVENTS, json=gateway_event(cid))

    t = threading.Thread(target=blocked_write)
    t.start()
    try:
        # The only connection is taken.
        poll(lambda: _waiting_writes(module_db) == 1, timeout=30, what="a write waiting on the lock")
        with svc.client() as c:
            r = c.post(EVENTS, json=gateway_event(f"other-{uuid.uuid4()}"))
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "1"
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["type"] == "https://kubernaut.ai/problems/service-unavailable"
        assert "every database connection" in body["detail"] and body["retry"] is True
        assert list_segments(spool) == []               # busy is not "database down"
    finally:
        holder.rollback()
        holder.close()
        t.join(60)
    # Released in time it commits; held past the deadline it is refused: never spooled.
    assert results["blocked"].status_code in (201, 503)
    assert list_segments(spool) == []


def test_a_call_past_its_deadline_is_refused_not_spooled(tight, module_db):
    svc, spool = tight
    cid = f"slow-{uuid.uuid4()}"
    with svc.client() as c:
        assert c.post(EVENTS, json=gateway_event(cid)).status_code == 201
        holder = _hold_chain_head(module_db, cid)
        try:
            started = time.monotonic()
            r = c.post(EVENTS, json=gateway_event(cid))
            waited = time.monotonic() - started
        finally:
            holder.rollback()
            holder.close()
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "1" and "deadline" in r.json()["detail"]
        assert 3.5 < waited < 25                    # the server's 4 s deadline ended it
        assert list_segments(spool) == []
        assert c.post(EVENTS, json=gateway_event(cid)).status_code == 201


@pytest.mark.parametrize("path", ["/api/v1/audit/events", "/api/v1/workflows",
                                  "/api/v1/audit/export"])
def test_offset_is_capped(tight, path):
    client = tight[0].client()
    r = client.get(path, params={"offset": "100001"},
                   headers={"X-Auth-Request-User": "auditor@example.com"})
    assert r.status_code == 400, r.text
    assert r.json()["field_errors"] == {"offset": "number must be at most 100000"}
    ok = client.get(path, params={"offset": "100000"},
                    headers={"X-Auth-Request-User": "auditor@example.com"})
    assert ok.status_code == 200, ok.text


def test_verify_chain_is_capped_by_the_events_it_would_read(tight):
    svc, _ = tight
    with svc.client() as c:
        small, big = f"small-{uuid.uuid4()}", f"big-{uuid.uuid4()}"
        for cid, n in ((small, 2), (big, 4)):
            r = c.post(EVENTS + "/batch", json=[gateway_event(cid) for _ in range(n)])
            assert r.status_code == 201, r.text
        assert c.post("/api/v1/audit/verify-chain",
                      json={"correlation_ids": [small]}).status_code == 200
        assert c.post("/api/v1/audit/verify-chain", json={"correlation_id": big}).status_code == 200
        r = c.post("/api/v1/audit/verify-chain", json={"correlation_ids": [small, big]})
        assert r.status_code == 400, r.text
        assert r.json()["field_errors"] == {
            "correlation_ids": "the chains hold 6 events; at most 5 per request"}


def test_unknown_methods_share_one_metrics_label(tight):
    client = tight[0].client()
    for method in ("FROBNICATE", "X-" + uuid.uuid4().hex[:12]):
        r = client.request(method, "/health")
        assert 400 <= r.status_code < 500
    text = client.get("/metrics").text
    assert "FROBNICATE" not in text and 'method="X-' not in text
    assert 'datastorage_http_requests_total{method="OTHER"' in text


def _query(conn, **filters):
    args = {"p_correlation_id": None, "p_event_type": None, "p_limit": 50, "p_offset": 0, **filters}
    return conn.execute(
        "SELECT datastorage.query_audit_events(p_correlation_id => %(p_correlation_id)s, "
        "p_event_type => %(p_event_type)s, p_limit => %(p_limit)s, p_offset => %(p_offset)s)",
        args).fetchone()[0]


def test_broad_totals_are_estimated_selective_ones_exact(conn):
    """10,050 events: an unfiltered query stops counting at 10,001 and
    reports the planner's estimate; a selective filter, a correlation id and
    the last page stay exact. The answer's shape never changes."""
    conn.execute("""
        SELECT datastorage.append_audit_events(jsonb_agg(jsonb_build_object(
            'event_id', gen_random_uuid(), 'event_timestamp', now() - make_interval(secs => i),
            'event_version', '1.0', 'event_type', CASE WHEN i <= 3 THEN 'rare.kind' ELSE 'bulk.kind' END,
            'event_category', 'gateway', 'event_action', 'received', 'event_outcome', 'success',
            'correlation_id', 'bulk-' || (i % 50), 'actor_type', 'service', 'actor_id', 'gw',
            'resource_type', 'pod', 'resource_id', 'p-' || i, 'event_data', '{}'::jsonb)))
        FROM generate_series(1, 10050) i""")
    conn.execute("ANALYZE audit_events")
    broad = _query(conn)
    assert set(broad) == {"data", "pagination"} and len(broad["data"]) == 50
    total = broad["pagination"]["total"]
    assert isinstance(total, int) and total > 10000 and abs(total - 10050) < 2000
    assert broad["pagination"]["has_more"] is True
    assert _query(conn, p_event_type="rare.kind")["pagination"]["total"] == 3
    assert _query(conn, p_correlation_id="bulk-7")["pagination"]["total"] == 201
    last = _query(conn, p_limit=1000, p_offset=10000)["pagination"]
    assert (last["total"], last["has_more"]) == (10050, False)
