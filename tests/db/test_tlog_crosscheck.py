"""The SQL transparency log against an independent RFC 9162 §2.1
implementation written here from the RFC's recursive definitions (MTH, PATH,
PROOF/SUBPROOF): roots for every size 1..300 and random sizes up to 10,000,
inclusion and consistency proofs likewise, and the Python verifiers of
app/tlog.py accept the SQL proofs and refuse altered ones."""
from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from hashlib import sha256

import psycopg
import pytest

from app import tlog
from app.migrate import libpq_url

N = 10_000
RNG = random.Random(13)


# --- RFC 9162 §2.1, literally -------------------------------------------------
def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return sha256(b"").digest()
    if n == 1:
        return sha256(b"\x00" + d[0]).digest()
    k = _k(n)
    return sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return subproof(m, d, True)


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]
# ------------------------------------------------------------------------------


def _events(n: int) -> list[dict]:
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    chains = [f"xcheck-{i}-{uuid.uuid4()}" for i in range(7)]
    return [{"event_id": str(uuid.uuid4()),
             "event_timestamp": (start + timedelta(milliseconds=i)).isoformat(),
             "event_type": "gateway.signal.received", "event_category": "gateway",
             "event_action": "received", "event_outcome": "success", "actor_type": "service",
             "actor_id": "gw", "resource_type": "gateway", "resource_id": "r",
             "correlation_id": chains[i % 7], "event_data": {"n": i}} for i in range(n)]


@pytest.fixture(scope="module")
def log(module_db):
    """N events through the real append path, integrated in uneven batches;
    the leaves as the RFC sees them, rebuilt from the events."""
    with psycopg.connect(libpq_url(module_db), autocommit=True) as conn:
        events = _events(N)
        for i in range(0, N, 2500):
            conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)",
                         (json.dumps(events[i:i + 2500]),))
        added = 0
        for batch in (1, 2, 3, 997, 1024, 5000, 100000):
            added += conn.execute("SELECT datastorage.tlog_integrate(%s)", (batch,)).fetchone()[0]
        assert added == N
        rows = conn.execute(
            "SELECT l.leaf_index, a.event_id::text, a.event_hash, a.correlation_id "
            "FROM tlog_leaves l JOIN audit_events a USING (event_id) ORDER BY l.leaf_index").fetchall()
        assert [r[0] for r in rows] == list(range(N))  # each event once, no gaps
        leaves = [f"{eid}\n{h}\n{cid}".encode() for _, eid, h, cid in rows]
        yield conn, leaves


def _sizes() -> list[int]:
    return list(range(1, 301)) + sorted(RNG.sample(range(301, N + 1), 40)) + [N]


def test_roots_match_the_rfc(log):
    conn, leaves = log
    sizes = _sizes()
    got = dict(conn.execute("SELECT n, datastorage.tlog_root(n) FROM unnest(%s::bigint[]) n",
                            (sizes,)).fetchall())
    # Prefix roots incrementally: the streaming builder must agree with MTH too.
    builder = tlog.RootBuilder()
    want_stream = {}
    for i, leaf in enumerate(leaves, 1):
        builder.add(tlog.leaf_hash(leaf))
        want_stream[i] = builder.root()
    # ... and fed in batches (RootBuilder.extend, as log verify does).
    batched, hashes = tlog.RootBuilder(), [tlog.leaf_hash(leaf) for leaf in leaves]
    for n in sizes:
        want = mth(leaves[:n])
        assert bytes(got[n]) == want, f"root of size {n}"
        assert want_stream[n] == want, f"streaming root of size {n}"
        batched.extend(hashes[batched.size:n])
        assert batched.root() == want, f"batched root of size {n}"
    assert bytes(conn.execute("SELECT datastorage.tlog_root(0)").fetchone()[0]) == mth([])


def _pairs() -> list[tuple[int, int]]:
    pairs = [(m, n) for n in range(1, 65) for m in range(n)]
    for n in range(65, 301):
        pairs += [(0, n), (n - 1, n), (RNG.randrange(n), n)]
    for n in RNG.sample(range(301, N + 1), 25) + [N]:
        pairs += [(0, n), (n - 1, n), (RNG.randrange(n), n), (RNG.randrange(n), n)]
    return pairs


def test_inclusion_proofs_match_the_rfc_and_verify(log):
    conn, leaves = log
    pairs = _pairs()
    rows = conn.execute(
        "SELECT m, n, datastorage.tlog_inclusion_proof(m, n) "
        "FROM unnest(%s::bigint[], %s::bigint[]) AS p(m, n)",
        ([m for m, _ in pairs], [n for _, n in pairs])).fetchall()
    for m, n, got in rows:
        want = path(m, leaves[:n])
        got = [bytes(h) for h in got]
        assert got == want, f"inclusion proof of leaf {m} in size {n}"
        root = mth(leaves[:n])
        tlog.verify_inclusion(tlog.leaf_hash(leaves[m]), m, n, got, root)
        if got:
            bad = got[:-1] + [sha256(got[-1]).digest()]
            with pytest.raises(tlog.ProofError):
                tlog.verify_inclusion(tlog.leaf_hash(leaves[m]), m, n, bad, root)
        if n > 1:
            with pytest.raises(tlog.ProofError):  # the wrong leaf
                tlog.verify_inclusion(tlog.leaf_hash(leaves[(m + 1) % n]), m, n, got, root)


def test_consistency_proofs_match_the_rfc_and_verify(log):
    conn, leaves = log
    pairs = [(m, n) for m, n in _pairs() if m >= 1] + [(n, n) for n in (1, 2, 300)]
    rows = conn.execute(
        "SELECT m, n, datastorage.tlog_consistency_proof(m, n) "
        "FROM unnest(%s::bigint[], %s::bigint[]) AS p(m, n)",
        ([m for m, _ in pairs], [n for _, n in pairs])).fetchall()
    for m, n, got in rows:
        want = proof(m, leaves[:n])
        got = [bytes(h) for h in got]
        assert got == want, f"consistency proof {m} -> {n}"
        r1, r2 = mth(leaves[:m]), mth(leaves[:n])
        tlog.verify_consistency(m, n, got, r1, r2)
        if m < n:
            with pytest.raises(tlog.ProofError):  # a forged old root
                tlog.verify_consistency(m, n, got, sha256(r1).digest(), r2)
            with pytest.raises(tlog.ProofError):  # a forged new root
                tlog.verify_consistency(m, n, got, r1, sha256(r2).digest())


@pytest.mark.parametrize("sql", [
    "SELECT datastorage.tlog_root(-1)",
    "SELECT datastorage.tlog_root(datastorage.tlog_size() + 1)",
    "SELECT datastorage.tlog_inclusion_proof(5, 5)",
    "SELECT datastorage.tlog_inclusion_proof(0, 0)",
    "SELECT datastorage.tlog_consistency_proof(0, 5)",
    "SELECT datastorage.tlog_consistency_proof(6, 5)",
    "SELECT datastorage.tlog_consistency_proof(1, datastorage.tlog_size() + 1)",
])
def test_out_of_range_sizes_are_refused(log, sql):
    conn, _ = log
    with pytest.raises(psycopg.Error) as exc:
        conn.execute(sql)
    assert exc.value.sqlstate == "DS400"


def test_tiles_match_the_rfc(log):
    """C2SP tlog-tiles: hash i of tile (l, n) is MTH(D[(n*256+i)*256^l : (n*256+i+1)*256^l])."""
    conn, leaves = log
    full0 = N // 256
    for level, index, width in [(0, 0, 256), (0, 7, 256), (0, full0, N % 256), (0, 3, 5),
                                (1, 0, full0)]:
        got = bytes(conn.execute("SELECT datastorage.tlog_tile(%s, %s, %s)",
                                 (level, index, width)).fetchone()[0])
        span = 256 ** level
        want = b"".join(mth(leaves[(index * 256 + i) * span:(index * 256 + i + 1) * span])
                        for i in range(width))
        assert got == want, (level, index, width)
    bundle = bytes(conn.execute("SELECT datastorage.tlog_entry_bundle(2, 256)").fetchone()[0])
    entries = tlog.bundle_entries(bundle)
    assert entries == leaves[512:768]
    for level, index, width in [(0, full0, N % 256 + 1), (1, 0, full0 + 1), (2, 0, 1), (0, -1, 1)]:
        with pytest.raises(psycopg.Error) as exc:
            conn.execute("SELECT datastorage.tlog_tile(%s, %s, %s)", (level, index, width))
        assert exc.value.sqlstate == "DS404"
