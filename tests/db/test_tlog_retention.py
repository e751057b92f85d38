"""`datastorage log verify` after retention (docs/transparency-log.md,
"Pruned events"): events deleted under a retention horizon that matches the
log are accounted for as pruned; an unexpired event deleted by hand, or a
horizon whose previous_hash no leaf carries, is still reported. Every date
is explicit (2020 events, retention run as of 2020-06-01)."""
from __future__ import annotations

import uuid

import pytest

from tests.db.test_tlog_attacks import Log, as_superuser, events

OLD = "2020-01-02T00:00:00+00:00"
AS_OF = "2020-06-01T00:00:00+00:00"


def old_events(cid: str, n: int) -> list[dict]:
    """n events of 2020-01-02 with one day's retention: expired by AS_OF."""
    evs = events(cid, n)
    for i, ev in enumerate(evs):
        ev["event_timestamp"] = f"2020-01-02T00:{i:02d}:00+00:00"
        ev["retention_days"] = 1
    return evs


@pytest.fixture
def pruned(db_url, conn, tmp_path):
    """Chain `old` (4 expired events, then 2 kept), a noise chain, signed,
    then retention as of AS_OF."""
    lg = Log(db_url, conn, tmp_path)
    lg.noise = f"noise-{uuid.uuid4()}"
    lg.append(events(lg.noise, 6))
    lg.cid = f"old-{uuid.uuid4()}"
    lg.chain = old_events(lg.cid, 4) + events(lg.cid, 2, 100)
    lg.append(lg.chain)
    lg.final = lg.sign()
    result = conn.execute("SELECT datastorage.enforce_retention(%s)", (AS_OF,)).fetchone()[0]
    assert result["events_deleted"] == 4, result
    assert conn.execute("SELECT first_kept_seq FROM audit_retention_horizons WHERE correlation_id = %s",
                        (lg.cid,)).fetchone() == (5,)
    return lg


def test_pruned_events_are_accounted_for(pruned):
    r = pruned.verify()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pruned by retention: 4 of these" in r.stdout


def test_an_unexpired_event_deleted_by_hand_is_still_missing(pruned):
    # Same chain, after the horizon: not covered by it.
    target = pruned.chain[5]["event_id"]
    as_superuser(pruned.conn, ("DELETE FROM audit_events WHERE event_id = %s", (target,)))
    r = pruned.verify()
    assert r.returncode == 1, r.stdout
    assert (f"log index {pruned.index_of(target)}: event {target} is missing from audit_events "
            "(deleted after it entered the log, not pruned by retention)") in r.stdout


def test_a_forged_horizon_must_match_the_leaf(pruned):
    """A DBA deletes the noise chain's first three events and writes a horizon."""
    conn, cid = pruned.conn, pruned.noise
    third = conn.execute("SELECT event_hash FROM audit_events WHERE correlation_id = %s "
                         "AND chain_seq = 3", (cid,)).fetchone()[0]
    first = pruned.index_of(conn.execute("SELECT event_id::text FROM audit_events WHERE "
                                         "correlation_id = %s AND chain_seq = 1", (cid,)).fetchone()[0])
    as_superuser(conn, ("DELETE FROM audit_events WHERE correlation_id = %s AND chain_seq <= 3", (cid,)),
                 ("INSERT INTO audit_retention_horizons (correlation_id, first_kept_seq, previous_hash, "
                  "run_id) SELECT %s, 4, %s, max(run_id) FROM audit_retention_runs", (cid, "f" * 64)))
    r = pruned.verify()
    assert r.returncode == 1, r.stdout
    assert f"retention horizon of chain {cid} (first kept chain_seq 4): no leaf of the chain" in r.stdout
    assert f"log index {first}: event" in r.stdout and "not pruned by retention" in r.stdout
    # With the true hash of the last deleted event the horizon matches the log:
    # the log cannot tell this early deletion from retention (docs).
    as_superuser(conn, ("UPDATE audit_retention_horizons SET previous_hash = %s WHERE correlation_id = %s",
                        (third, cid)))
    r = pruned.verify()
    assert r.returncode == 0 and "pruned by retention: 7 of these" in r.stdout, r.stdout


def test_a_horizon_below_stored_events_is_reported(pruned):
    """previous_hash names a leaf whose event is still stored."""
    conn, cid = pruned.conn, pruned.noise
    second = conn.execute("SELECT event_hash FROM audit_events WHERE correlation_id = %s "
                          "AND chain_seq = 2", (cid,)).fetchone()[0]
    as_superuser(conn, ("DELETE FROM audit_events WHERE correlation_id = %s AND chain_seq = 1", (cid,)),
                 ("INSERT INTO audit_retention_horizons (correlation_id, first_kept_seq, previous_hash, "
                  "run_id) SELECT %s, 2, %s, max(run_id) FROM audit_retention_runs", (cid, second)))
    r = pruned.verify()
    assert r.returncode == 1, r.stdout
    assert "is still stored" in r.stdout


def test_inclusion_proof_of_a_pruned_event(pruned):
    from app import tlog
    target = pruned.chain[3]   # the last pruned event: the horizon keeps its hash
    (horizon_hash,) = pruned.conn.execute("SELECT previous_hash FROM audit_retention_horizons WHERE "
                                          "correlation_id = %s", (pruned.cid,)).fetchone()
    row = pruned.conn.execute("SELECT leaf_index, tree_size, root_hash, proof, event_hash, correlation_id "
                              "FROM datastorage.tlog_event_proof(%s)", (target["event_id"],)).fetchone()
    index, size, root, proof, ev_hash, cid = row
    assert size == pruned.final.size and bytes(root) == pruned.final.root
    assert ev_hash == horizon_hash
    leaf = tlog.leaf_hash(tlog.leaf_bytes(target["event_id"], ev_hash, cid))
    tlog.verify_inclusion(leaf, index, size, [bytes(p) for p in proof], pruned.final.root)
