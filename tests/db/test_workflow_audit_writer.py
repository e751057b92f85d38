"""app.workflows.AuditWriter against a real database: group commit, no row
dropped when the backlog is full, when a row is refused, or while the
database is down."""
from __future__ import annotations

import asyncio
import threading
import uuid
from types import SimpleNamespace

import psycopg
import pytest

from app.db import Database
from app.migrate import libpq_url
from app.workflows import AuditWriter, service_event
from harness import apoll


def row(correlation_id: str) -> dict:
    return service_event("workflow.catalog.search_completed", "search_completed",
                         "workflow_catalog", correlation_id, correlation_id,
                         {"event_type": "workflow.catalog.search_completed",
                          "query": {"top_k": 1}, "results": {"total_found": 0, "returned": 0,
                                                             "workflows": []},
                          "search_metadata": {"duration_ms": 0, "embedding_dimensions": 768,
                                              "embedding_model": "all-mpnet-base-v2"}},
                         max_bytes=1 << 20)


def stored(conn, prefix: str) -> int:
    return conn.execute("SELECT count(*) FROM audit_events WHERE correlation_id LIKE %s",
                        (prefix + "%",)).fetchone()[0]


async def with_writer(db_url: str, body, **kw):
    db = Database(db_url, role="datastorage_app", min_size=1, max_size=4, timeout=10)
    await db.open()
    writer = AuditWriter(SimpleNamespace(ctx=SimpleNamespace(db=db, spool=None)), **kw)
    try:
        return await body(writer)
    finally:
        await writer.close()
        await db.close()


def test_concurrent_rows_are_group_committed(db_url, conn):
    async def body(writer):
        await asyncio.gather(*(writer.submit(row(f"gc-{i % 7}")) for i in range(300)))
        await writer.close()
        return writer.flushes, writer.stored
    flushes, count = asyncio.run(with_writer(db_url, body))
    assert count == 300 and stored(conn, "gc-") == 300
    assert flushes < 300 / 2, "rows that arrive together share an append call"
    assert conn.execute("SELECT bool_and(is_valid) FROM (SELECT (datastorage.verify_chain_summary("
                        "'gc-' || i)).is_valid FROM generate_series(0, 6) i) v").fetchone()[0]
    # The workflow catalog's events enter the transparency log like any other.
    conn.execute("SELECT datastorage.tlog_integrate(100000)")
    assert conn.execute("SELECT count(*) FROM tlog_leaves l JOIN audit_events a USING (event_id) "
                        "WHERE a.correlation_id LIKE 'gc-%'").fetchone()[0] == 300


def test_a_refused_row_does_not_take_its_batch_with_it(db_url, conn):
    async def body(writer):
        bad = row("refused-x")
        bad["correlation_id"] = None  # NOT NULL: the database refuses this one row
        rows = [row(f"refused-{i}") for i in range(20)]
        await asyncio.gather(*(writer.submit(r) for r in rows[:10] + [bad] + rows[10:]))
        await writer.close()
        return writer.failed
    assert asyncio.run(with_writer(db_url, body)) == 1
    assert stored(conn, "refused-") == 20


def test_a_full_backlog_waits_instead_of_dropping(db_url, conn):
    # Hold the chain lock so that the first flush cannot finish.
    blocker = psycopg.connect(libpq_url(db_url))
    blocker.execute("INSERT INTO audit_chain_heads (correlation_id) VALUES ('bp-0')")
    blocker.commit()
    blocker.execute("SELECT * FROM audit_chain_heads WHERE correlation_id = 'bp-0' FOR UPDATE")

    async def body(writer):
        submits = [asyncio.ensure_future(writer.submit(row("bp-0"))) for _ in range(12)]
        # The first batch is stuck on the lock and the backlog is full.
        await apoll(lambda: len(writer.pending) >= 4, timeout=30, what="a full backlog")
        waiting = sum(not s.done() for s in submits)
        threading.Thread(target=blocker.rollback).start()  # release the chain
        await asyncio.gather(*submits)
        await writer.close()
        return waiting
    waiting = asyncio.run(with_writer(db_url, body, max_batch=2, max_backlog=4))
    blocker.close()
    assert waiting > 0, "submits beyond the backlog wait for room"
    assert stored(conn, "bp-") == 12


def test_rows_wait_out_a_database_outage_without_a_spool(pg, db_url):
    async def body(writer):
        await writer.submit(row("outage-0"))
        await writer.close()
        # "fast", not "immediate": the test cluster commits asynchronously and
        # an immediate stop could lose outage-0 after it was committed.
        pg.stop_server("fast")
        try:
            flushes = writer.flushes
            for i in range(1, 6):
                await writer.submit(row(f"outage-{i}"))
            # The writer keeps retrying meanwhile (and failing: the database is down).
            await apoll(lambda: writer.flushes >= flushes + 3, timeout=60, what="retries")
            assert writer.stored == 1
        finally:
            pg.start_server()
        await writer.close(timeout=60)
        return writer.stored
    assert asyncio.run(with_writer(db_url, body)) == 6
    with psycopg.connect(libpq_url(db_url), autocommit=True) as c:
        assert stored(c, "outage-") == 6


def test_event_ids_are_unique_per_row():
    assert len({row(str(uuid.uuid4()))["event_id"] for _ in range(50)}) == 50


@pytest.mark.parametrize("count, min_batch, linger", [
    (20, 100, 1.0),   # a trickle within the window: one call, not one per row
    (8, 8, 60.0),     # min_batch reached: sent at once, long before the window ends
])
def test_the_window_gathers_rows_but_a_full_batch_goes_at_once(db_url, conn, count, min_batch,
                                                                linger):
    prefix = f"window-{count}-"

    async def body(writer):
        for i in range(count):   # after the first row the writer waits for company
            await writer.submit(row(f"{prefix}{i}"))
            await asyncio.sleep(0.002)
        await apoll(lambda: writer.stored == count, timeout=20, what="the rows stored")
        return writer.flushes
    assert asyncio.run(with_writer(db_url, body, min_batch=min_batch, linger=linger)) == 1
    assert stored(conn, prefix) == count


def test_shutdown_does_not_wait_out_the_window(db_url, conn):
    async def body(writer):
        await writer.submit(row("closing-0"))
        await writer.close(timeout=20)   # past it, close gives up and logs the row unstored
        return writer.stored
    assert asyncio.run(with_writer(db_url, body, linger=60.0)) == 1
    assert stored(conn, "closing-") == 1
