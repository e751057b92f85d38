"""Audit events over HTTP against the real service and database:
writes (single, batch), query, notifications, legal hold, bad input."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.api.test_foundation import assert_problem
from harness import Service, unique


def now_iso(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(timezone.utc) + delta).isoformat().replace("+00:00", "Z")


def gateway_event(cid: str, **overrides) -> dict:
    ev = {
        "version": "1.0", "event_type": "gateway.signal.received", "event_timestamp": now_iso(),
        "event_category": "gateway", "event_action": "received", "event_outcome": "success",
        "correlation_id": cid,
        "event_data": {"event_type": "gateway.signal.received", "signal_type": "prometheus-alert",
                       "alert_name": "HighCPU", "namespace": "payments", "fingerprint": "abc123"},
    }
    ev.update(overrides)
    return ev


def row(conn, event_id: str) -> dict:
    cur = conn.execute("SELECT * FROM audit_events WHERE event_id = %s", (event_id,))
    names = [d.name for d in cur.description]
    values = cur.fetchone()
    return dict(zip(names, values)) if values else None


# --- single writes -----------------------------------------------------------

def test_write_one_event_with_server_defaults(client, module_conn):
    cid = unique("rr")
    resp = client.post("/api/v1/audit/events", json=gateway_event(cid))
    assert resp.status_code == 201, resp.text
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body["message"] == "Audit event created successfully"
    assert body["event_timestamp"].endswith("Z") and "." not in body["event_timestamp"]
    stored = row(module_conn, body["event_id"])
    assert stored["actor_type"] == "service"
    assert stored["actor_id"] == "gateway-service"
    assert stored["resource_type"] == "gateway"
    assert stored["resource_id"] == cid
    assert stored["severity"] == "info"
    assert stored["retention_days"] == 2555
    assert stored["chain_seq"] == 1 and stored["previous_event_hash"] == ""
    assert len(stored["event_hash"]) == 64


def test_explicit_values_and_unknown_members_are_kept(client, module_conn):
    cid = unique("rr")
    ev = gateway_event(cid, version="v" * 20, severity=None, actor_id="", duration_ms=1500,
                       namespace="payments")
    ev["event_data"]["custom_note"] = {"nested": [1, 2.5, "x"], "quote": "it's \"here\""}
    resp = client.post("/api/v1/audit/events", json=ev)
    assert resp.status_code == 201, resp.text
    stored = row(module_conn, resp.json()["event_id"])
    assert stored["event_version"] == "v" * 20  # fits: no poison event
    assert stored["severity"] is None
    assert stored["actor_id"] == ""
    assert stored["duration_ms"] == 1500
    assert stored["event_data"]["custom_note"] == {"nested": [1, 2.5, "x"], "quote": "it's \"here\""}


def test_nulls_inside_event_data_survive_the_query(client):
    cid = unique("rr")
    ev = gateway_event(cid)
    ev["event_data"]["optional_note"] = None
    assert client.post("/api/v1/audit/events", json=ev).status_code == 201
    found = client.get("/api/v1/audit/events", params={"correlation_id": cid}).json()["data"]
    assert "optional_note" in found[0]["event_data"] and found[0]["event_data"]["optional_note"] is None
    assert "namespace" not in found[0]  # envelope NULLs are still omitted, as the original does


def test_microseconds_are_kept_and_offsets_normalised(client, module_conn):
    ts = (datetime.now(timezone(timedelta(hours=2)))).replace(microsecond=123456)
    text = ts.isoformat()[:-6] + "789+02:00"  # nanoseconds: truncated, not rounded
    resp = client.post("/api/v1/audit/events", json=gateway_event(unique("rr"), event_timestamp=text))
    assert resp.status_code == 201, resp.text
    assert resp.json()["event_timestamp"].endswith("+02:00")
    stored = row(module_conn, resp.json()["event_id"])
    assert stored["event_timestamp"] == ts.replace(microsecond=123456)


def test_parent_must_exist(client):
    cid = unique("rr")
    parent = client.post("/api/v1/audit/events", json=gateway_event(cid)).json()["event_id"]
    ok = client.post("/api/v1/audit/events", json=gateway_event(cid, parent_event_id=parent))
    assert ok.status_code == 201
    missing = client.post("/api/v1/audit/events",
                          json=gateway_event(cid, parent_event_id=str(uuid.uuid4())))
    body = assert_problem(missing, 400, "/validation-error")
    assert "parent event does not exist" in body["detail"]
    bad = client.post("/api/v1/audit/events", json=gateway_event(cid, parent_event_id="not-a-uuid"))
    assert_problem(bad, 400, "/invalid_request")


@pytest.mark.parametrize("field", ["event_type", "correlation_id", "version", "event_data"])
def test_missing_required_field_is_named(client, field):
    ev = gateway_event(unique("rr"))
    del ev[field]
    body = assert_problem(client.post("/api/v1/audit/events", json=ev), 400, "/validation-error")
    assert field in body["detail"]
    assert field in body["field_errors"]


@pytest.mark.parametrize("overrides, fragment", [
    ({"event_outcome": "maybe"}, "event_outcome"),
    ({"event_category": "nope"}, "event_category"),
    ({"correlation_id": "c" * 256}, "maximum string length is 255"),
    ({"version": "v" * 21}, "maximum string length is 20"),
    ({"actor_type": "a" * 51}, "maximum string length is 50"),   # column limit
    ({"namespace": "n" * 254}, "maximum string length is 253"),
    ({"duration_ms": 2**31}, "duration_ms"),
    ({"duration_ms": "12"}, "duration_ms"),
    ({"event_action": ""}, "minimum string length is 1"),
    ({"event_data": {"signal_type": "x"}}, 'discriminator property "event_type"'),
    ({"event_data": {"event_type": "no.such.type"}}, "has invalid value"),
    ({"event_data": {"event_type": "gateway.signal.received"}}, "alert_name"),
    ({"event_data": "string"}, "event_data"),
])
def test_invalid_envelope_and_payload(client, overrides, fragment):
    resp = client.post("/api/v1/audit/events", json=gateway_event(unique("rr"), **overrides))
    body = assert_problem(resp, 400)
    assert fragment in body["detail"], body


def test_timestamp_rules(client):
    cid = unique("rr")
    future = client.post("/api/v1/audit/events",
                         json=gateway_event(cid, event_timestamp=now_iso(timedelta(minutes=61))))
    assert "timestamp is in the future" in assert_problem(future, 400, "/validation-error")["detail"]
    old = client.post("/api/v1/audit/events",
                      json=gateway_event(cid, event_timestamp=now_iso(timedelta(days=-8))))
    assert "timestamp is too old" in assert_problem(old, 400, "/validation-error")["detail"]
    zoneless = client.post("/api/v1/audit/events",
                           json=gateway_event(cid, event_timestamp="2026-01-01T00:00:00"))
    assert_problem(zoneless, 400, "/invalid_request")
    nonsense = client.post("/api/v1/audit/events",
                           json=gateway_event(cid, event_timestamp="2026-02-30T00:00:00Z"))
    assert_problem(nonsense, 400)


@pytest.mark.parametrize("raw", [
    b'{"version": "1.0"',                                   # truncated
    b'[1, 2',                                               # truncated array
    b'{"a": 1e400}',                                        # infinite number
    b'{"event_data": {"x": "\\ud800"}}',                    # lone surrogate
    b'\xff\xfe garbage',                                    # not UTF-8
])
def test_malformed_bodies_are_4xx(client, raw):
    resp = client.post("/api/v1/audit/events", content=raw, headers={"content-type": "application/json"})
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.headers["content-type"] == "application/problem+json"


def test_nul_and_sql_looking_strings(client, module_conn):
    cid = unique("rr")
    ev = gateway_event(cid)
    ev["event_data"]["alert_name"] = "x\u0000y"
    assert_problem(client.post("/api/v1/audit/events", json=ev), 400)
    ev["event_data"]["alert_name"] = "'; DROP TABLE audit_events; --"
    resp = client.post("/api/v1/audit/events", json=ev)
    assert resp.status_code == 201
    assert row(module_conn, resp.json()["event_id"])["event_data"]["alert_name"] == ev["event_data"]["alert_name"]


def test_event_data_size_limit(client):
    ev = gateway_event(unique("rr"))
    ev["event_data"]["blob"] = "x" * (1024 * 1024 + 10)
    body = assert_problem(client.post("/api/v1/audit/events", json=ev), 413)
    assert "1048576" in body["detail"]


# --- batches -------------------------------------------------------------------

def test_batch_is_ordered_versioned_and_chained(client, module_conn):
    cids = [unique("batch") for _ in range(3)]
    events = [gateway_event(cids[i % 3], version=f"2.{i}") for i in range(9)]
    resp = client.post("/api/v1/audit/events/batch", json=events)
    assert resp.status_code == 201, resp.text
    ids = resp.json()["event_ids"]
    assert resp.json()["message"] == "9 audit events created successfully"
    assert len(ids) == 9
    for i, eid in enumerate(ids):
        stored = row(module_conn, eid)
        assert stored["event_version"] == f"2.{i}"  # as sent (the original stored 1.0)
        assert stored["correlation_id"] == cids[i % 3]
        assert stored["chain_seq"] == i // 3 + 1   # request order inside each chain
    for cid in cids:
        assert module_conn.execute("SELECT is_valid FROM datastorage.verify_chain_summary(%s)",
                                   (cid,)).fetchone() == (True,)


def test_batch_errors(client, module_conn):
    assert "array" in assert_problem(client.post("/api/v1/audit/events/batch", json={}), 400)["detail"]
    assert "batch cannot be empty" in assert_problem(
        client.post("/api/v1/audit/events/batch", json=[]), 400)["detail"]
    cid = unique("batch")
    bad = [gateway_event(cid), gateway_event(cid, event_outcome="bogus")]
    body = assert_problem(client.post("/api/v1/audit/events/batch", json=bad), 400)
    assert "/1/event_outcome" in body["detail"]
    late = [gateway_event(cid), gateway_event(cid, event_timestamp=now_iso(timedelta(days=-9)))]
    assert "event at index 1" in assert_problem(
        client.post("/api/v1/audit/events/batch", json=late), 400)["detail"]
    # All or nothing: a missing parent in the last event stores none of them.
    orphan = [gateway_event(cid), gateway_event(cid, parent_event_id=str(uuid.uuid4()))]
    assert_problem(client.post("/api/v1/audit/events/batch", json=orphan), 400)
    assert module_conn.execute("SELECT count(*) FROM audit_events WHERE correlation_id = %s",
                               (cid,)).fetchone()[0] == 0


def test_batch_nesting_limit_as_for_single_events(client, module_conn):
    """The batch fast path proves the nesting limit from event_data's JSON
    text instead of walking the body: the same limit, the same problem."""
    from app.validation import MAX_JSON_DEPTH
    from tests.test_json_depth import nested

    cid = unique("deep")
    ok = [gateway_event(cid) for _ in range(3)]
    # List, event and event_data take three levels; nested(k) adds k - 1.
    ok[1]["event_data"]["deep"] = nested(MAX_JSON_DEPTH - 3)
    resp = client.post("/api/v1/audit/events/batch", json=ok)
    assert resp.status_code == 201, resp.text
    stored = row(module_conn, resp.json()["event_ids"][1])["event_data"]["deep"]
    assert stored == nested(MAX_JSON_DEPTH - 3)
    deeper = [gateway_event(cid) for _ in range(3)]
    deeper[2]["event_data"]["deep"] = nested(MAX_JSON_DEPTH - 2)
    body = assert_problem(client.post("/api/v1/audit/events/batch", json=deeper), 400,
                          "/validation-error")
    assert body["detail"] == (f"request body has an error: JSON nested deeper than "
                              f"{MAX_JSON_DEPTH} levels")
    # Under an envelope member the models ignore: refused as well, never stored.
    hidden = [gateway_event(cid, x_ignored=nested(MAX_JSON_DEPTH))]
    assert assert_problem(client.post("/api/v1/audit/events/batch", json=hidden),
                          400)["detail"] == body["detail"]
    assert module_conn.execute("SELECT count(*) FROM audit_events WHERE correlation_id = %s",
                               (cid,)).fetchone()[0] == 3


def test_batch_size_limit(module_db):
    svc = Service(module_db, env={"DS_MAX_BATCH_EVENTS": "5"}).start()
    try:
        with svc.client() as c:
            events = [gateway_event(unique("b")) for _ in range(6)]
            body = assert_problem(c.post("/api/v1/audit/events/batch", json=events), 400)
            assert "maximum of 5" in body["detail"]
    finally:
        svc.stop()


# --- query -----------------------------------------------------------------------

def test_query_filters_and_pagination(client):
    cid = unique("q")
    events = [gateway_event(cid, event_outcome="failure" if i % 2 else "success") for i in range(7)]
    assert client.post("/api/v1/audit/events/batch", json=events).status_code == 201
    page = client.get("/api/v1/audit/events", params={"correlation_id": cid, "limit": 3})
    assert page.status_code == 200 and page.headers["content-type"] == "application/json"
    body = page.json()
    assert body["pagination"] == {"limit": 3, "offset": 0, "total": 7, "has_more": True}
    assert len(body["data"]) == 3
    assert all(e["correlation_id"] == cid for e in body["data"])
    rest = client.get("/api/v1/audit/events", params={"correlation_id": cid, "limit": 3, "offset": 3}).json()
    seen = [e["event_id"] for e in body["data"] + rest["data"]]
    assert len(set(seen)) == 6
    failures = client.get("/api/v1/audit/events",
                          params={"correlation_id": cid, "event_outcome": "failure", "since": "1h"}).json()
    assert failures["pagination"]["total"] == 3
    default = client.get("/api/v1/audit/events", params={"correlation_id": cid}).json()
    assert default["pagination"]["limit"] == 50
    none = client.get("/api/v1/audit/events", params={"correlation_id": unique("none")}).json()
    assert none["data"] == [] and none["pagination"]["total"] == 0


@pytest.mark.parametrize("params, fragments", [
    ({"limit": "0"}, ["limit", "must be at least 1"]),
    ({"limit": "1001"}, ["limit", "must be at most 1000"]),
    ({"offset": "-1"}, ["offset", "must be at least 0"]),
    ({"limit": "abc"}, ["limit", "invalid integer"]),
    ({"limit": "0x10"}, ["limit"]),
    ({"event_outcome": "maybe"}, ["event_outcome", "allowed values"]),
    ({"since": "yesterday"}, ["invalid time format"]),
    ({"until": "2026-13-01"}, ["invalid time format"]),
    ({"event_type": ""}, ["empty value is not allowed"]),
])
def test_query_parameter_errors(client, params, fragments):
    body = assert_problem(client.get("/api/v1/audit/events", params=params), 400, "/validation-error")
    for fragment in fragments:
        assert fragment in body["detail"]


# --- notifications -------------------------------------------------------------

def notification(**overrides) -> dict:
    n = {"remediation_id": unique("rem"), "notification_id": unique("n"), "recipient": "ops@example.com",
         "channel": "email", "message_summary": "Pod restarted", "status": "sent", "sent_at": now_iso()}
    n.update(overrides)
    return n


def test_notification_created_and_duplicate_conflicts(client):
    n = notification(escalation_level=2)
    resp = client.post("/api/v1/audit/notifications", json=n)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert isinstance(body["id"], int) and body["created_at"] and body["updated_at"]
    assert body["notification_id"] == n["notification_id"] and body["escalation_level"] == 2
    dup = assert_problem(client.post("/api/v1/audit/notifications", json=n), 409, "/conflict")
    assert dup["title"] == "Resource Conflict"
    assert (dup["resource"], dup["field"], dup["value"]) == (
        "notification_audit", "notification_id", n["notification_id"])


# Built when the test runs, not when it is collected: a "future" instant
# taken at collection is in the past by the time a long suite reaches it.
@pytest.mark.parametrize("overrides, field", [
    (lambda: {"recipient": "   "}, "recipient"),
    (lambda: {"sent_at": now_iso(timedelta(minutes=10))}, "sent_at"),
])
def test_notification_rules(client, overrides, field):
    body = assert_problem(client.post("/api/v1/audit/notifications", json=notification(**overrides())), 400,
                          "/validation-error")
    assert body["detail"].startswith("Validation failed for notification_audit")
    assert field in body["field_errors"]
    assert body["resource"] == "notification_audit"


@pytest.mark.parametrize("overrides", [{"channel": "carrier-pigeon"}, {"status": "lost"},
                                       {"escalation_level": 6}, {"recipient": "r" * 501}])
def test_notification_contract_errors(client, overrides):
    assert_problem(client.post("/api/v1/audit/notifications", json=notification(**overrides)), 400)


# --- legal hold ----------------------------------------------------------------

USER = {"X-Auth-Request-User": "system:serviceaccount:legal:alice"}


def test_legal_hold_lifecycle(client, module_conn):
    cid = unique("hold")
    client.post("/api/v1/audit/events/batch", json=[gateway_event(cid) for _ in range(3)])
    placed = client.post("/api/v1/audit/legal-hold", json={"correlation_id": cid, "reason": "litigation"},
                         headers=USER)
    assert placed.status_code == 200, placed.text
    assert placed.json()["events_affected"] == 3
    assert placed.json()["placed_by"] == USER["X-Auth-Request-User"]
    later = client.post("/api/v1/audit/events", json=gateway_event(cid)).json()["event_id"]
    assert row(module_conn, later)["legal_hold"] is True
    holds = client.get("/api/v1/audit/legal-hold").json()
    mine = [h for h in holds["holds"] if h["correlation_id"] == cid]
    assert mine and mine[0]["events_affected"] == 4
    with pytest.raises(Exception, match="Cannot delete audit event with legal hold"):
        module_conn.execute("DELETE FROM audit_events WHERE correlation_id = %s", (cid,))
    released = client.request("DELETE", f"/api/v1/audit/legal-hold/{cid}", json={"release_reason": "settled"},
                              headers=USER)
    assert released.status_code == 200, released.text
    assert released.json()["events_released"] == 4
    assert released.json()["released_by"] == USER["X-Auth-Request-User"]
    history = module_conn.execute("SELECT action, actor FROM datastorage.legal_hold_history(%s)", (cid,)).fetchall()
    assert history == [("place", USER["X-Auth-Request-User"]), ("release", USER["X-Auth-Request-User"])]


def test_legal_hold_errors(client):
    cid = unique("hold")
    assert_problem(client.post("/api/v1/audit/legal-hold", json={"correlation_id": cid, "reason": "x"}),
                   401, "/unauthorized")
    assert_problem(client.post("/api/v1/audit/legal-hold", json={"correlation_id": cid, "reason": "x"},
                               headers=USER), 404, "/not-found")
    assert_problem(client.post("/api/v1/audit/legal-hold", json={"correlation_id": "", "reason": "x"},
                               headers=USER), 400, "/missing-correlation-id")
    assert_problem(client.post("/api/v1/audit/legal-hold", json={"correlation_id": cid, "reason": ""},
                               headers=USER), 400, "/missing-reason")
    assert_problem(client.request("DELETE", f"/api/v1/audit/legal-hold/{cid}", json={"release_reason": ""},
                                  headers=USER), 400, "/missing-release-reason")
    assert_problem(client.request("DELETE", f"/api/v1/audit/legal-hold/{cid}", json={"release_reason": "x"},
                                  headers=USER), 404, "/not-found")


def test_identity_header_ignored_from_untrusted_peer(module_db):
    svc = Service(module_db, env={"DS_TRUSTED_PROXIES": "10.99.0.0/16"}).start()
    try:
        with svc.client() as c:
            resp = c.post("/api/v1/audit/legal-hold", json={"correlation_id": "x", "reason": "y"},
                          headers=USER)
            assert_problem(resp, 401, "/unauthorized")
    finally:
        svc.stop()


# --- metrics -------------------------------------------------------------------

def test_audit_metrics_after_a_gateway_write(client):
    assert client.post("/api/v1/audit/events", json=gateway_event(unique("m"))).status_code == 201
    client.post("/api/v1/audit/events", json={"bad": True})
    text = client.get("/metrics").text
    assert 'datastorage_audit_traces_total{service="gateway",status="success"}' in text
    assert 'datastorage_audit_lag_seconds_count{service="gateway"}' in text
    assert 'datastorage_write_duration_seconds_count{table="audit_events"}' in text
    assert 'datastorage_validation_failures_total{field="openapi_middleware",reason="validation_error"}' in text
