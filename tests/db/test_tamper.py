"""Rule: tampering with stored events is detected, and the right event is
named, by all four verifiers: the export (GET /api/v1/audit/export), the
verify-chain route, the SQL functions, and the offline verifier run on the
export file. The attacker is a superuser who gets past the immutability
trigger the way a real one would (ALTER TABLE ... DISABLE TRIGGER USER, or
session_replication_role = replica). An untouched chain of 10,000 events
verifies as 100 % valid everywhere."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from app.migrate import libpq_url
from harness import ROOT

USER = {"X-Auth-Request-User": "auditor@example.com"}
CHAIN_LENGTH = 8
BIG_CHAIN = 10_000


def _events(cid: str, n: int, start: datetime) -> list[dict]:
    return [{"event_id": str(uuid.uuid4()),
             "event_timestamp": (start + timedelta(milliseconds=i)).isoformat(),
             "event_type": "gateway.signal.received", "event_category": "gateway",
             "event_action": "received", "event_outcome": "success", "actor_type": "service",
             "actor_id": "gateway-service", "resource_type": "gateway", "resource_id": cid,
             "correlation_id": cid, "severity": "info", "duration_ms": 1500,
             "event_data": {"event_type": "gateway.signal.received", "n": i,
                            "alert_name": "HighCPU", "ratio": 0.75}} for i in range(n)]


def _append(conn, events: list[dict], batch: int = 2000) -> None:
    for i in range(0, len(events), batch):
        conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)",
                     (json.dumps(events[i:i + batch]),))


def _ids(conn, cid: str) -> dict[int, str]:
    return {seq: str(eid) for seq, eid in conn.execute(
        "SELECT chain_seq, event_id FROM audit_events WHERE correlation_id = %s", (cid,))}


def _as_attacker(conn, method: str, *statements: tuple[str, tuple]) -> None:
    """Run statements the immutability trigger would refuse."""
    with conn.transaction():
        if method == "disable_trigger":
            conn.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
        else:
            conn.execute("SET LOCAL session_replication_role = replica")
        for sql, params in statements:
            conn.execute(sql, params)
        if method == "disable_trigger":
            conn.execute("ALTER TABLE audit_events ENABLE TRIGGER USER")


# case -> (attacker method, statements, seqs that must be named, first broken seq)
CASES = {
    "event_data": ("disable_trigger",
                   [("UPDATE audit_events SET event_data = event_data || '{\"alert_name\": \"LowCPU\"}' "
                     "WHERE correlation_id = %s AND chain_seq = 4", None)], [4], 4),
    "event_hash": ("replica",
                   [("UPDATE audit_events SET event_hash = md5('x') || md5('y') "
                     "WHERE correlation_id = %s AND chain_seq = 4", None)], [4, 5], 4),
    "previous_event_hash": ("replica",
                            [("UPDATE audit_events SET previous_event_hash = repeat('a', 64) "
                              "WHERE correlation_id = %s AND chain_seq = 4", None)], [4], 4),
    "delete_middle": ("disable_trigger",
                      [("DELETE FROM audit_events WHERE correlation_id = %s AND chain_seq = 4", None)],
                      [5], 5),
    "swap_seq": ("replica",
                 [("UPDATE audit_events SET chain_seq = CASE chain_seq WHEN 4 THEN 5 ELSE 4 END "
                   "WHERE correlation_id = %s AND chain_seq IN (4, 5)", None)], [4, 5, 6], 4),
}


@pytest.fixture(scope="module")
def world(module_db, service, tmp_path_factory):
    """Chains written through the real append path, then tampered; the
    signing certificate fetched from the service."""
    with psycopg.connect(libpq_url(module_db), autocommit=True) as conn:
        return _build(conn, service, tmp_path_factory)


def _build(module_conn, service, tmp_path_factory) -> dict:
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    ids = {}
    for case in CASES:
        cid = f"tamper-{case}-{uuid.uuid4()}"
        _append(module_conn, _events(cid, CHAIN_LENGTH, start))
        ids[case] = (cid, _ids(module_conn, cid))
    for case, (method, statements, _, _) in CASES.items():
        cid = ids[case][0]
        _as_attacker(module_conn, method, *[(sql, (cid,)) for sql, _ in statements])
    big = f"untouched-{uuid.uuid4()}"
    _append(module_conn, _events(big, BIG_CHAIN, start))
    tmp = tmp_path_factory.mktemp("tamper")
    with service.client() as c:
        cert = c.get("/api/v1/audit/export/certificate")
    assert cert.status_code == 200
    (tmp / "cert.pem").write_text(cert.text)
    return {"ids": ids, "big": big, "tmp": tmp}


def _named(case: str, world) -> tuple[str, list[str], str]:
    cid, ids = world["ids"][case]
    _, _, seqs, first = CASES[case]
    if case == "swap_seq":
        # After the swap, seq 4 holds the old seq-5 event and vice versa.
        ids = {**ids, 4: ids[5], 5: ids[4]}
    return cid, [ids[s] for s in seqs], ids[first]


def _offline(path: Path, cert: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", "verify", str(path), "--cert", str(cert),
                           *extra], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case", list(CASES))
def test_sql_functions_name_the_tampered_event(case, world, module_conn):
    cid, named, first = _named(case, world)
    broken = [str(r[0]) for r in module_conn.execute(
        "SELECT event_id FROM datastorage.verify_chain(%s) WHERE NOT valid ORDER BY chain_seq", (cid,))]
    assert broken == named
    summary = module_conn.execute(
        "SELECT first_broken_event_id, is_valid FROM datastorage.verify_chain_summary(%s)",
        (cid,)).fetchone()
    assert (str(summary[0]), summary[1]) == (first, False)


@pytest.mark.parametrize("case", list(CASES))
def test_export_flags_the_tampered_event(case, world, client):
    cid, named, first = _named(case, world)
    r = client.get("/api/v1/audit/export", params={"correlation_id": cid}, headers=USER)
    assert r.status_code == 200
    doc = r.json()
    flagged = [e["event_id"] for e in doc["events"] if not e["hash_chain_valid"]]
    assert sorted(flagged) == sorted(named)
    hcv = doc["hash_chain_verification"]
    assert sorted(hcv["tampered_event_ids"]) == sorted(named)
    assert hcv["broken_chain_events"] == len(named)
    assert hcv["chain_integrity_percentage"] < 100
    assert hcv["chains"][0]["first_broken_event_id"] == first
    assert hcv["chains"][0]["is_valid"] is False
    (world["tmp"] / f"{case}.json").write_bytes(r.content)


@pytest.mark.parametrize("case", list(CASES))
def test_verify_chain_route_names_the_tampered_event(case, world, client):
    cid, named, first = _named(case, world)
    r = client.post("/api/v1/audit/verify-chain", json={"correlation_id": cid})
    assert r.status_code == 200
    body = r.json()
    assert body["is_valid"] is False
    assert body["first_broken_event_id"] == first
    assert body["tampered_event_ids"] == named
    assert body["message"] == "Hash chain verification FAILED: tampering detected"
    assert [t["event_id"] for t in body["tampered_events"]] == named


@pytest.mark.parametrize("case", list(CASES))
def test_offline_verifier_names_the_tampered_event(case, world, client):
    cid, named, first = _named(case, world)
    path = world["tmp"] / f"offline-{case}.json"
    path.write_bytes(client.get("/api/v1/audit/export", params={"correlation_id": cid},
                                headers=USER).content)
    result = _offline(path, world["tmp"] / "cert.pem")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "signature: VALID" in result.stdout          # the file itself is authentic...
    assert "RESULT: FAILED" in result.stdout            # ...and says the chain is broken
    problems = result.stdout.split("PROBLEMS", 1)[1]
    for event_id in named:
        assert event_id in problems
    # Where the file holds the evidence itself, the verifier finds it without
    # trusting the service's verdicts: the hash or the hole.
    if case in ("event_data", "event_hash", "previous_event_hash", "swap_seq"):
        assert f"event {first}" in problems and "does not recompute" in problems
    if case == "delete_middle":
        assert "missing from a complete chain" in problems


def test_untouched_ten_thousand_event_chain_is_fully_valid(world, client, module_conn):
    cid = world["big"]
    summary = module_conn.execute(
        "SELECT total_events, valid_events, is_valid FROM datastorage.verify_chain_summary(%s)",
        (cid,)).fetchone()
    assert summary == (BIG_CHAIN, BIG_CHAIN, True)

    r = client.post("/api/v1/audit/verify-chain", json={"correlation_id": cid})
    assert r.json()["is_valid"] is True and r.json()["verified_events"] == BIG_CHAIN

    r = client.get("/api/v1/audit/export", params={"correlation_id": cid, "limit": BIG_CHAIN},
                   headers=USER)
    assert r.status_code == 200
    doc = r.json()
    hcv = doc["hash_chain_verification"]
    assert len(doc["events"]) == BIG_CHAIN
    assert (hcv["total_events_verified"], hcv["valid_chain_events"], hcv["broken_chain_events"],
            hcv["chain_integrity_percentage"], hcv["tampered_event_ids"]) == (
        BIG_CHAIN, BIG_CHAIN, 0, 100.0, [])
    path = world["tmp"] / "big.json"
    path.write_bytes(r.content)
    result = _offline(path, world["tmp"] / "cert.pem")
    assert result.returncode == 0, result.stdout
    assert f"event hashes: {BIG_CHAIN:,} recomputed" in result.stdout
    assert f"links: {BIG_CHAIN:,} checked" in result.stdout
