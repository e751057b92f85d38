"""Rule: concurrent appends serialise per chain (one unbroken chain, no
duplicate sequence numbers), and concurrent batches over overlapping chains
never deadlock (chains are locked in sorted order)."""
from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import datetime, timezone

import asyncpg

from app.migrate import libpq_url


def event(cid: str, n: int) -> dict:
    return {"event_id": str(uuid.uuid4()), "event_timestamp": datetime.now(timezone.utc).isoformat(),
            "event_type": "t", "event_category": "gateway", "event_action": "a",
            "event_outcome": "success", "actor_type": "service", "actor_id": "x",
            "resource_type": "r", "resource_id": cid, "correlation_id": cid,
            "event_data": {"n": n}}


async def _append_concurrently(url: str, batches: list[list[dict]]) -> list[int]:
    conns = [await asyncpg.connect(libpq_url(url), server_settings={"role": "datastorage_app"})
             for _ in batches]
    try:
        return await asyncio.gather(*(
            c.fetchval("SELECT datastorage.append_audit_events($1::jsonb)", json.dumps(b))
            for c, b in zip(conns, batches)))
    finally:
        await asyncio.gather(*(c.close() for c in conns))


def test_fifty_concurrent_appends_make_one_unbroken_chain(db_url, conn):
    cid = "hot-chain"
    inserted = asyncio.run(_append_concurrently(db_url, [[event(cid, i)] for i in range(50)]))
    assert inserted == [1] * 50
    seqs = [r[0] for r in conn.execute(
        "SELECT chain_seq FROM audit_events WHERE correlation_id = %s ORDER BY chain_seq", (cid,))]
    assert seqs == list(range(1, 51))
    summary = conn.execute("SELECT total_events, valid_events, is_valid "
                           "FROM datastorage.verify_chain_summary(%s)", (cid,)).fetchone()
    assert summary == (50, 50, True)
    print(f"\n50 concurrent appends -> chain_seq 1..50, {summary[1]} valid")


def test_overlapping_batches_do_not_deadlock(db_url, conn):
    chains = [f"overlap-{i}" for i in range(20)]
    rng = random.Random(7)
    batches = []
    for b in range(16):
        picked = rng.sample(chains, 8)
        rng.shuffle(picked)  # each batch names its chains in a different order
        batches.append([event(c, b * 100 + k) for k, c in enumerate(picked * 3)])
    inserted = asyncio.run(_append_concurrently(db_url, batches))
    assert inserted == [24] * 16
    for cid in chains:
        ok = conn.execute("SELECT is_valid FROM datastorage.verify_chain_summary(%s)", (cid,)).fetchone()
        assert ok == (True,), cid
    assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 16 * 24


def test_concurrent_replays_of_one_event_store_it_once(db_url, conn):
    """A spool replay racing the original write (same event_id) stores nothing twice."""
    ev = event("replayed", 1)
    inserted = asyncio.run(_append_concurrently(db_url, [[ev] for _ in range(12)]))
    assert sum(inserted) == 1, inserted
    assert conn.execute("SELECT count(*) FROM audit_events WHERE event_id = %s",
                        (ev["event_id"],)).fetchone()[0] == 1


def test_concurrent_batches_repeating_each_others_ids_store_each_once(db_url, conn):
    """Batches in disjoint chains (no head lock orders them) that repeat each
    other's event ids, each in its own order: the first claim of an id makes
    the others' plain claim fail and fall back to the replay path; each id is
    stored once, nobody deadlocks, and every chain stays dense and valid."""
    pool = [str(uuid.uuid4()) for _ in range(12)]
    rng = random.Random(11)
    batches = []
    for b in range(8):
        ids = rng.sample(pool, 8)  # shuffled: array order differs per batch
        batches.append([{**event(f"cross-{b}", k), "event_id": i} for k, i in enumerate(ids)])
    inserted = asyncio.run(_append_concurrently(db_url, batches))
    distinct = {e["event_id"] for b in batches for e in b}
    assert sum(inserted) == len(distinct), inserted
    stored = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM audit_events "
                          "WHERE correlation_id LIKE 'cross-%'").fetchone()
    assert stored == (len(distinct), len(distinct))
    for b, n in enumerate(inserted):
        seqs = [r[0] for r in conn.execute("SELECT chain_seq FROM audit_events WHERE correlation_id = %s "
                                           "ORDER BY chain_seq", (f"cross-{b}",))]
        assert seqs == list(range(1, n + 1))
        if n:
            ok = conn.execute("SELECT is_valid FROM datastorage.verify_chain_summary(%s)",
                              (f"cross-{b}",)).fetchone()
            assert ok == (True,), b
