"""Rule: every event is verified in the canonical form its hash_version names
(docs/hash-chain.md). A chain stored before migration 0070 (version 1, its
hashes computed here by app/canonical.py, not by the database) still verifies
after the migration; events appended to it afterwards are version 2 and the
mixed chain verifies, in SQL, in the export and in the offline verifier's
check; tampering with a version-2 event, or with any event's hash_version,
is detected."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from app import canonical, verifier
from app.migrate import MIGRATIONS, libpq_url, migrate, yoyo_url

V2_MIGRATION = "0070_hash_version"
START = datetime(2001, 3, 4, 5, 6, 7, 123400, tzinfo=timezone.utc)  # the default partition


def _v1_events(cid: str, n: int) -> list[dict]:
    """Version-1 events with their hashes computed in Python."""
    out, previous = [], ""
    for seq in range(1, n + 1):
        ts = START + timedelta(seconds=seq)
        ev = {"event_id": str(uuid.uuid4()), "version": "1.0", "event_timestamp": ts,
              "event_date": ts.date(), "event_type": "gw.signal", "event_category": "gateway",
              "event_action": "received", "event_outcome": "success", "actor_type": "service",
              "actor_id": "gw", "actor_ip": "10.0.0.1", "resource_type": "gateway",
              "resource_id": cid, "resource_name": None, "correlation_id": cid,
              "parent_event_id": None, "parent_event_date": None, "trace_id": None,
              "span_id": None, "namespace": "payments", "cluster_name": None, "severity": "info",
              "duration_ms": seq, "error_code": None, "error_message": "é \"q\"\n",
              "retention_days": 2555, "is_sensitive": False, "event_metadata": None,
              "event_data": {"n": seq, "ratio": canonical.loads_exact("0.50")},
              "chain_seq": seq, "previous_event_hash": previous}
        ev["event_hash"] = previous = canonical.event_hash(previous, ev, 1)
        out.append(ev)
    return out


TAMPERING = [
    (4, "event_data = event_data || '{\"n\": 99}'"),       # a v2 event's content
    (5, "actor_ip = '10.9.9.9'"),                          # a v2 event's scalar column
    (4, "hash_version = 1"),                               # a v2 event read as v1
    (2, "hash_version = 2"),                               # a v1 event read as v2
]


@pytest.fixture(scope="module")
def mixed(pg):
    """A database migrated up to, not including, migration 0070 (no function
    files: those of this checkout expect the new column), holding version-1
    chains of 3 events; then migrated to the end. Returns its URL and the
    chains' events."""
    name = f"ds_hv_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(pg.url()), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    url = pg.url(name)
    backend = get_backend(yoyo_url(url))
    try:
        migrations = read_migrations(str(MIGRATIONS))
        older = migrations.filter(lambda m: m.id != V2_MIGRATION)
        assert len(older) == len(migrations) - 1
        with backend.lock():
            backend.apply_migrations(backend.to_apply(older))
    finally:
        backend.connection.close()
    chains = {k: _v1_events(f"hv-{k}-{uuid.uuid4()}", 3) for k in range(1 + len(TAMPERING))}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for events in chains.values():
            _store_v1(conn, events)
    migrate(url)
    yield url, chains
    with psycopg.connect(libpq_url(pg.url()), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _store_v1(conn, events: list[dict]) -> None:
    cols = ["event_id", "event_version", "event_timestamp", "event_date", "event_type",
            "event_category", "event_action", "event_outcome", "actor_type", "actor_id",
            "actor_ip", "resource_type", "resource_id", "correlation_id", "namespace",
            "severity", "duration_ms", "error_message", "retention_days", "is_sensitive",
            "event_data", "chain_seq", "event_hash", "previous_event_hash"]
    for ev in events:
        values = {**ev, "event_version": ev["version"],
                  "event_data": canonical.render(ev["event_data"])}
        conn.execute(f"INSERT INTO audit_events ({', '.join(cols)}) "
                     f"VALUES ({', '.join(['%s'] * len(cols))})", [values[c] for c in cols])
    last = events[-1]
    conn.execute("INSERT INTO audit_chain_heads (correlation_id, last_seq, last_hash, last_event_id) "
                 "VALUES (%s, %s, %s, %s)", (last["correlation_id"], last["chain_seq"],
                                             last["event_hash"], last["event_id"]))


def _append(conn, cid: str, n: int) -> None:
    batch = [{"event_id": str(uuid.uuid4()),
              "event_timestamp": (START + timedelta(days=1, seconds=i)).isoformat(),
              "event_type": "gw.signal", "event_category": "gateway", "event_action": "received",
              "event_outcome": "success", "actor_type": "service", "actor_id": "gw",
              "resource_type": "gateway", "resource_id": cid, "correlation_id": cid,
              "event_data": {"n": i, "note": "v2 \u2028 🙂"}} for i in range(n)]
    assert conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)",
                        (json.dumps(batch),)).fetchone()[0] == n


def _verdicts(conn, cid: str) -> list[tuple]:
    return conn.execute("SELECT chain_seq, verdict FROM datastorage.verify_chain(%s) "
                        "ORDER BY chain_seq", (cid,)).fetchall()


def _summary(conn, cid: str) -> tuple:
    return conn.execute("SELECT total_events, valid_events, is_valid "
                        "FROM datastorage.verify_chains(ARRAY[%s])", (cid,)).fetchone()


def _exported(conn, cid: str) -> list[dict]:
    rows = conn.execute("SELECT body FROM datastorage.export_audit_events('json', NULL, NULL, %s, "
                        "NULL, 100, 0) WHERE kind = 'event'", (cid,)).fetchall()
    return [canonical.loads_exact(body) for (body,) in rows]


def test_a_v1_chain_from_before_the_migration_verifies_and_continues_in_v2(mixed):
    url, chains = mixed
    old = chains[0]
    cid = old[0]["correlation_id"]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        assert conn.execute("SELECT array_agg(hash_version ORDER BY chain_seq) FROM audit_events "
                            "WHERE correlation_id = %s", (cid,)).fetchone()[0] == [1, 1, 1]
        assert _summary(conn, cid) == (3, 3, True)

        _append(conn, cid, 2)
        rows = conn.execute("SELECT chain_seq, hash_version, previous_event_hash FROM audit_events "
                            "WHERE correlation_id = %s ORDER BY chain_seq", (cid,)).fetchall()
        assert [(s, v) for s, v, _ in rows] == [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2)]
        assert rows[3][2] == old[-1]["event_hash"], "the first v2 event links to the v1 tail"
        assert _summary(conn, cid) == (5, 5, True)
        assert {v for _, v in _verdicts(conn, cid)} == {"ok"}

        # The export: v1 events carry no hash_version (their bytes are as
        # before versions existed), v2 events say so; the offline check
        # recomputes each in its own version.
        events = _exported(conn, cid)
        assert ["hash_version" in e for e in events] == [False, False, False, True, True]
        assert [e.get("hash_version") for e in events[3:]] == [2, 2]
        report = verifier.Report("mixed")
        verifier.check_events(events, report, verifier.Progress(False, len(events)), True)
        assert report.problems == [] and report.hashes_checked == 5

        # log verify's query recomputes the same hashes in SQL.
        assert conn.execute("SELECT bool_and(datastorage.chain_hash(previous_event_hash, e) = event_hash) "
                            "FROM audit_events e WHERE correlation_id = %s", (cid,)).fetchone()[0]


def _tamper(conn, cid: str, seq: int, assignment: str) -> None:
    """As the superuser, past the immutability trigger (as an attacker would)."""
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(f"UPDATE audit_events SET {assignment} WHERE correlation_id = %s "
                     "AND chain_seq = %s", (cid, seq))


@pytest.mark.parametrize("case", range(len(TAMPERING)))
def test_tampering_is_detected_whatever_the_version(mixed, case):
    url, chains = mixed
    seq, assignment = TAMPERING[case]
    cid = chains[1 + case][0]["correlation_id"]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        _append(conn, cid, 2)
        assert _summary(conn, cid) == (5, 5, True)
        _tamper(conn, cid, seq, assignment)
        verdicts = dict(_verdicts(conn, cid))
        assert verdicts[seq] == "content_mismatch"
        assert [s for s, v in verdicts.items() if v != "ok"] == [seq]
        assert _summary(conn, cid) == (5, 4, False)
        events = _exported(conn, cid)
        report = verifier.Report("tampered")
        verifier.check_events(events, report, verifier.Progress(False, len(events)), True)
        assert any(f"seq {seq})" in p and "does not recompute" in p for p in report.problems), \
            report.problems


def test_an_unknown_version_is_refused(conn):
    cid = f"hv-{uuid.uuid4()}"
    with pytest.raises(psycopg.errors.CheckViolation):
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            _append(conn, cid, 1)
            conn.execute("UPDATE audit_events SET hash_version = 3 WHERE correlation_id = %s", (cid,))
    ev = {**_v1_events(cid, 1)[0], "hash_version": 3}
    with pytest.raises(canonical.CanonicalError, match="hash_version"):
        canonical.event_hash("", ev)
