"""POST /api/v1/audit/verify-chain against the real service: whole-chain
reports (the original's shape, which never worked there, plus counts),
several chains at once, 404 for a chain nobody wrote, problems for bad
bodies, and the verdicts after real tampering."""
from __future__ import annotations

import re

import pytest

from tests.api.test_export import chain, raw_event, seed
from tests.api.test_foundation import assert_problem
from harness import unique

ROUTE = "/api/v1/audit/verify-chain"


def test_an_intact_chain(client, module_conn):
    cid = chain(module_conn, 6)
    r = client.post(ROUTE, json={"correlation_id": cid})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    verification_time = body.pop("verification_time")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", verification_time)
    assert body == {"correlation_id": cid, "is_valid": True, "total_events": 6,
                    "verified_events": 6, "valid_events": 6, "broken_events": 0,
                    "first_broken_seq": None, "first_broken_event_id": None,
                    "tampered_event_ids": [], "head_matches": True,
                    "message": "Hash chain verified successfully: no tampering detected"}


def test_several_chains_at_once(client, module_conn):
    a, b = chain(module_conn, 2), chain(module_conn, 3)
    body = client.post(ROUTE, json={"correlation_ids": [a, b, a]}).json()
    assert body["is_valid"] is True and body["total_chains"] == 2
    assert [(c["correlation_id"], c["total_events"]) for c in body["chains"]] == [(a, 2), (b, 3)]
    same = client.post(ROUTE, json={"correlation_id": [b]}).json()
    assert [c["correlation_id"] for c in same["chains"]] == [b]


def test_unknown_chain_is_404(client, module_conn):
    missing = unique("nobody")
    body = assert_problem(client.post(ROUTE, json={"correlation_id": missing}), 404, "/not-found")
    assert missing in body["detail"]
    known = chain(module_conn, 1)
    body = assert_problem(client.post(ROUTE, json={"correlation_ids": [known, missing]}), 404)
    assert body["correlation_ids"] == [missing]


@pytest.mark.parametrize("payload, fragment", [
    ({}, "correlation_id is required"),
    ({"correlation_id": ""}, "correlation_id is required"),
    ({"correlation_id": []}, "correlation_id is required"),
    ({"correlation_id": 42}, "correlation_id"),
    ({"correlation_ids": ["a", ""]}, "must be 1-255 characters"),
    ({"correlation_id": "x" * 256}, "must be 1-255 characters"),
    ({"correlation_id": "a", "correlation_ids": ["b"]}, "not both"),
    ({"correlation_ids": [f"c{i}" for i in range(101)]}, "at most 100"),
    ([1, 2], "JSON object"),
])
def test_bad_bodies_are_400_problems(client, payload, fragment):
    body = assert_problem(client.post(ROUTE, json=payload), 400, "/validation-error")
    assert fragment in body["detail"] + str(body.get("field_errors"))


def test_malformed_json_and_media_type(client):
    assert_problem(client.post(ROUTE, content=b"{nope", headers={"content-type": "application/json"}), 400)
    assert_problem(client.post(ROUTE, content=b'{"correlation_id": "x"}',
                               headers={"content-type": "text/plain"}), 415)
    assert_problem(client.post(ROUTE), 400)


def _tamper(conn, sql: str, *params) -> None:
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(sql, params)


def test_tampered_event_is_reported_with_its_hashes(client, module_conn):
    cid = chain(module_conn, 4)
    target = module_conn.execute("SELECT event_id, event_hash FROM audit_events "
                                 "WHERE correlation_id = %s AND chain_seq = 2", (cid,)).fetchone()
    _tamper(module_conn, "UPDATE audit_events SET event_data = '{\"n\": 99}' "
                         "WHERE correlation_id = %s AND chain_seq = 2", cid)
    body = client.post(ROUTE, json={"correlation_id": cid}).json()
    assert body["is_valid"] is False and body["broken_events"] == 1 and body["verified_events"] == 3
    assert body["first_broken_seq"] == 2 and body["first_broken_event_id"] == str(target[0])
    assert body["message"] == "Hash chain verification FAILED: tampering detected"
    (t,) = body["tampered_events"]
    assert (t["event_id"], t["chain_seq"], t["verdict"], t["actual_hash"]) == (
        str(target[0]), 2, "content_mismatch", target[1])
    assert t["expected_hash"] != target[1] and len(t["expected_hash"]) == 64
    assert t["message"] == "Event hash mismatch: event data has been tampered"


def test_a_first_event_that_links_somewhere_is_named(client, module_conn):
    cid = unique("first")
    seed(module_conn, [raw_event(cid, 0), raw_event(cid, 1)])
    _tamper(module_conn, "DELETE FROM audit_events WHERE correlation_id = %s AND chain_seq = 1", cid)
    body = client.post(ROUTE, json={"correlation_id": cid}).json()
    (t,) = body["tampered_events"]
    assert t["chain_seq"] == 2 and t["verdict"] == "sequence_gap"
    assert t["expected_previous_hash"] == ""


def test_removed_tail_is_caught_by_the_head(client, module_conn):
    cid = chain(module_conn, 3)
    _tamper(module_conn, "DELETE FROM audit_events WHERE correlation_id = %s AND chain_seq = 3", cid)
    body = client.post(ROUTE, json={"correlation_id": cid}).json()
    assert body["is_valid"] is False and body["head_matches"] is False
    assert body["broken_events"] == 0 and "tampered_events" not in body
    assert "removed from the end" in body["message"]
    _tamper(module_conn, "DELETE FROM audit_events WHERE correlation_id = %s", cid)
    body = client.post(ROUTE, json={"correlation_id": cid}).json()   # every event gone: not a 404
    assert body["total_events"] == 0 and body["is_valid"] is False
