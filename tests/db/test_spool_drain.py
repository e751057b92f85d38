"""The drainer against the real database: order across segments, idempotent
replay, quarantine of permanent failures, torn tails, and the rule that a
record leaves the spool only after its transaction committed."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import orjson
import pytest

from app import events
from app.db import Database, DatabaseUnavailable
from app.spool import Drainer, ReplayDeferred, Spool, SpoolFull, list_segments
from tests.api.test_audit_events import gateway_event, notification
from harness import ROOT, apoll

# A trigger that holds any insert of a `gated-*` chain until the test opens
# the gate: a replay transaction that is provably in flight.
GATE_SQL = """
CREATE TABLE public.test_gate (closed boolean NOT NULL);
INSERT INTO public.test_gate VALUES (true);
GRANT SELECT ON public.test_gate TO PUBLIC;
CREATE FUNCTION public.test_gate_wait() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.correlation_id LIKE 'gated-%' THEN
        WHILE (SELECT closed FROM public.test_gate) LOOP
            PERFORM pg_sleep(0.05);
        END LOOP;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_gate BEFORE INSERT ON public.audit_events
    FOR EACH ROW EXECUTE FUNCTION public.test_gate_wait();
"""


def install_gate(conn) -> None:
    conn.execute(GATE_SQL)


def set_gate(conn, closed: bool) -> None:
    conn.execute("UPDATE public.test_gate SET closed = %s", (closed,))


def gated_backends(conn) -> list[int]:
    return [r[0] for r in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'datastorage' "
        "AND wait_event = 'PgSleep'")]


def rows(cids: list[str], n: int = 1) -> tuple[str, list[str]]:
    """Payload of n prepared events per correlation id, and their ids."""
    prepared = [events.prepare(gateway_event(cid), max_event_data_bytes=1 << 20)
                for cid in cids for _ in range(n)]
    return events.payload([p.row for p in prepared]), [p.row["event_id"] for p in prepared]


def stored_counts(conn, ids) -> dict[str, int]:
    found = dict(conn.execute(
        "SELECT event_id::text, count(*) FROM audit_events WHERE event_id = ANY(%s::uuid[]) "
        "GROUP BY 1", (list(ids),)).fetchall())
    return {i: found.get(i, 0) for i in ids}


def verify(conn, cid: str) -> bool:
    return conn.execute("SELECT is_valid FROM datastorage.verify_chain_summary(%s)",
                        (cid,)).fetchone()[0]


async def open_db(url: str) -> Database:
    db = Database(url, role="datastorage_app", min_size=1, max_size=2, timeout=60)
    await db.open()
    return db


async def drain_all(spool: Spool, db: Database, drainer_class=Drainer) -> Drainer:
    drainer = drainer_class(spool, db)
    while await drainer.drain_pass():
        pass
    return drainer


def test_replay_follows_append_order_across_segments(tmp_path, db_url, conn):
    """A child spooled by one worker after its parent was spooled by another
    replays after the parent, even though the child's segment is older."""
    a, b = Spool(tmp_path, 1 << 20), Spool(tmp_path, 1 << 20)   # two writers, two segments
    cid = f"order-{uuid.uuid4()}"
    first, first_ids = rows([cid])
    parent = events.prepare(gateway_event(cid), max_event_data_bytes=1 << 20)
    child = events.prepare(gateway_event(cid, parent_event_id=parent.row["event_id"]),
                           max_event_data_bytes=1 << 20)

    async def go():
        await a.append("audit_events", first)                         # a's segment is older
        await b.append("audit_events", events.payload([parent.row]))
        await a.append("audit_events", events.payload([child.row]))
        await a.close()
        await b.close()
        assert len(list_segments(tmp_path)) == 2
        db = await open_db(db_url)
        try:
            return await drain_all(a, db)
        finally:
            await db.close()
    drainer = asyncio.run(go())
    ids = first_ids + [parent.row["event_id"], child.row["event_id"]]
    assert stored_counts(conn, ids) == {i: 1 for i in ids}
    assert drainer.stats.quarantined == 0 and verify(conn, cid)
    seqs = [r[0] for r in conn.execute(
        "SELECT event_id::text FROM audit_events WHERE correlation_id = %s ORDER BY chain_seq",
        (cid,))]
    assert seqs == ids
    assert list_segments(tmp_path) == []        # sealed and fully replayed: deleted


def test_replay_is_idempotent_and_duplicates_are_not_stored(tmp_path, db_url, conn):
    spool = Spool(tmp_path, 1 << 22, group_records=7)
    cids = [f"idem-{i}-{uuid.uuid4()}" for i in range(3)]
    batches = [rows(cids, 2) for _ in range(10)]
    note = notification()
    note_payload = orjson.dumps(note).decode()

    async def go():
        for payload, _ in batches:
            await spool.append("audit_events", payload)
        await spool.append("notification", note_payload)
        await spool.close()
        db = await open_db(db_url)
        try:
            # Three batches and the notification were committed but their
            # replies lost (the spool has them too).
            for payload, _ in batches[:3]:
                await db.call("datastorage.append_audit_events", payload)
            await db.call("datastorage.record_notification", note_payload)
            return await drain_all(spool, db)
        finally:
            await db.close()
    drainer = asyncio.run(go())
    ids = [i for _, batch_ids in batches for i in batch_ids]
    assert stored_counts(conn, ids) == {i: 1 for i in ids}
    assert conn.execute("SELECT count(*) FROM notification_audit WHERE notification_id = %s",
                        (note["notification_id"],)).fetchone()[0] == 1
    assert (drainer.stats.records, drainer.stats.events, drainer.stats.duplicates,
            drainer.stats.quarantined) == (11, 42, 1, 0)
    assert all(verify(conn, c) for c in cids)
    print(f"\n11 records replayed over 3 already stored: {len(ids)} events once each, "
          "1 notification once")


def test_permanent_failure_is_quarantined_and_its_group_mates_are_stored(tmp_path, db_url, conn):
    spool = Spool(tmp_path, 1 << 22)
    cid = f"poison-{uuid.uuid4()}"
    good_before, ids_before = rows([cid], 3)
    orphan = events.prepare(gateway_event(cid, parent_event_id=str(uuid.uuid4())),
                            max_event_data_bytes=1 << 20)
    good_after, ids_after = rows([cid], 2)

    async def go():
        await spool.append("audit_events", good_before)
        await spool.append("audit_events", events.payload([orphan.row]))
        await spool.append("audit_events", good_after)
        await spool.close()
        db = await open_db(db_url)
        try:
            return await drain_all(spool, db)
        finally:
            await db.close()
    drainer = asyncio.run(go())
    assert stored_counts(conn, ids_before + ids_after) == {i: 1 for i in ids_before + ids_after}
    assert stored_counts(conn, [orphan.row["event_id"]]) == {orphan.row["event_id"]: 0}
    (entry,) = [orjson.loads(line) for line in spool.quarantine_path.read_bytes().splitlines()]
    assert entry["reason"] == "permanent_error" and entry["detail"].startswith("DS400")
    assert entry["ids"] == [orphan.row["event_id"]]
    assert orjson.loads(entry["payload"]) == [orphan.row]      # kept whole for the operator
    assert drainer.stats.quarantined == 1 and spool.status().quarantined == 1
    assert list_segments(tmp_path) == []
    print(f"\n1 poison record quarantined ({entry['detail'][:40]}...), 5 events stored")


def test_torn_tail_is_reported_and_earlier_records_replayed(tmp_path, db_url, conn):
    spool = Spool(tmp_path, 1 << 22)
    cid = f"torn-{uuid.uuid4()}"
    payloads = [rows([cid]) for _ in range(8)]

    async def go():
        for payload, _ in payloads:
            await spool.append("audit_events", payload)
        await spool.close()
        ((name, st),) = list_segments(tmp_path)
        os.truncate(tmp_path / name, st.st_size - 7)
        db = await open_db(db_url)
        try:
            return await drain_all(spool, db)
        finally:
            await db.close()
    drainer = asyncio.run(go())
    ids = [ids[0] for _, ids in payloads]
    assert stored_counts(conn, ids) == {**{i: 1 for i in ids[:-1]}, ids[-1]: 0}
    (entry,) = [orjson.loads(line) for line in spool.quarantine_path.read_bytes().splitlines()]
    assert entry["reason"] == "torn_record" and entry["ids"] == [ids[-1]]
    assert drainer.stats.records == 7 and list_segments(tmp_path) == []
    print(f"\ntorn tail: 7 records replayed, 1 torn record reported with event id {ids[-1]}")


def test_database_down_acknowledges_nothing(tmp_path, db_url, conn):
    spool = Spool(tmp_path, 1 << 22)
    payload, ids = rows([f"down-{uuid.uuid4()}"], 3)

    async def go():
        await spool.append("audit_events", payload)
        await spool.close()
        db = Database(f"postgresql://nobody@/x?host={tmp_path}/nowhere", role=None, min_size=0,
                      max_size=1, timeout=2)
        await db.open()
        try:
            with pytest.raises(DatabaseUnavailable):
                await Drainer(spool, db).drain_pass()
        finally:
            await db.close()
        assert spool.status().records == 1
        db = await open_db(db_url)
        try:
            await drain_all(spool, db)
        finally:
            await db.close()
    asyncio.run(go())
    assert stored_counts(conn, ids) == {i: 1 for i in ids}


class AckFirstDrainer(Drainer):
    """The bug the spool must not have: acknowledge, then store."""

    async def _replay(self, kind, records):
        self._advance(records)
        await self._store(kind, records)


async def _interrupt_a_replay(spool: Spool, url: str, conn, drainer_class) -> None:
    """Drain with the gate closed, kill the replay's connection mid-transaction,
    open the gate, drain to the end."""
    db = await open_db(url)
    try:
        task = asyncio.ensure_future(drainer_class(spool, db).drain_pass())
        pids = await apoll(lambda: asyncio.to_thread(gated_backends, conn), timeout=30,
                           what="the replay to reach the gate")
        conn.execute("SELECT pg_terminate_backend(%s)", (pids[0],))
        with pytest.raises(DatabaseUnavailable):
            await task
        set_gate(conn, False)
        await drain_all(spool, db, drainer_class)
    finally:
        await db.close()


def _gated_spool(tmp_path) -> tuple[Spool, list[str], list[str]]:
    spool = Spool(tmp_path, 1 << 22, group_records=4)
    plain, gated = [], []
    payloads = []
    for i in range(12):
        cid = f"gated-{uuid.uuid4()}" if i in (5, 6) else f"plain-{uuid.uuid4()}"
        payload, ids = rows([cid], 2)
        (gated if cid.startswith("gated") else plain).extend(ids)
        payloads.append(payload)

    async def go():
        for p in payloads:
            await spool.append("audit_events", p)
        await spool.close()
    asyncio.run(go())
    return spool, plain, gated


def test_a_record_leaves_the_spool_only_after_its_transaction_committed(tmp_path, db_url, conn):
    install_gate(conn)
    spool, plain, gated = _gated_spool(tmp_path)
    asyncio.run(_interrupt_a_replay(spool, db_url, conn, Drainer))
    counts = stored_counts(conn, plain + gated)
    assert counts == {i: 1 for i in plain + gated}
    assert list_segments(tmp_path) == []
    print(f"\nreplay killed mid-transaction: all {len(counts)} events stored once afterwards")


def test_the_commit_rule_check_catches_a_drainer_that_acknowledges_first(tmp_path, db_url, conn):
    """Proof the previous test can fail: the same scenario with the bug loses
    the records of the interrupted transaction."""
    install_gate(conn)
    spool, plain, gated = _gated_spool(tmp_path)
    asyncio.run(_interrupt_a_replay(spool, db_url, conn, AckFirstDrainer))
    counts = stored_counts(conn, plain + gated)
    lost = [i for i, n in counts.items() if n == 0]
    assert set(gated) <= set(lost)          # the interrupted group is gone
    assert list_segments(tmp_path) == []    # ... and the spool no longer has it
    print(f"\nack-before-commit drainer: {len(lost)} of {len(counts)} events lost "
          "(the commit-rule test would be red)")


def run_spool_cli(*args, spool_dir, db_url):
    env = {**os.environ, "DS_SPOOL_DIR": str(spool_dir), "DS_DATABASE_URL": db_url,
           "DS_DATA_DIR": str(spool_dir.parent)}
    return subprocess.run([sys.executable, "-m", "app.cli", "spool", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_drains_a_stopped_services_spool_and_refuses_while_one_drains(tmp_path, db_url, conn):
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir, 1 << 22)
    payload, ids = rows([f"cli-{uuid.uuid4()}"], 5)
    asyncio.run(spool.append("audit_events", payload))
    asyncio.run(spool.close())

    status = orjson.loads(run_spool_cli("status", "--json", spool_dir=spool_dir,
                                        db_url=db_url).stdout)
    assert (status["records"], status["records_by_stream"]["events"]) == (1, 1)
    listed = orjson.loads(run_spool_cli("inspect", "--json", spool_dir=spool_dir,
                                        db_url=db_url).stdout)["records"]
    assert [(r["state"], r["ids"]) for r in listed] == [("pending", ids)]

    holder = Spool(spool_dir, 1 << 22)
    assert holder.acquire_drain_lock()            # a running service's drainer
    refused = run_spool_cli("drain", spool_dir=spool_dir, db_url=db_url)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"drain lock is held by process {os.getpid()}" in refused.stderr
    assert stored_counts(conn, ids) == {i: 0 for i in ids}
    holder.release_drain_lock()

    done = run_spool_cli("drain", "--json", spool_dir=spool_dir, db_url=db_url)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == {
        "replayed": 1, "events_inserted": 5, "notifications_already_stored": 0,
        "quarantined": 0, "remaining": 0, "active_segments": 0}
    assert stored_counts(conn, ids) == {i: 1 for i in ids}
    assert list_segments(spool_dir) == []


# --- issue 12 §6: edge cases of the drain ------------------------------------------

def test_a_notification_hitting_another_unique_key_is_quarantined_not_counted(tmp_path, db_url,
                                                                              conn):
    """Only a replay that meets its own notification_id counts as stored; a
    different conflict means the spooled record was never stored."""
    conn.execute("CREATE UNIQUE INDEX test_one_per_recipient "
                 "ON notification_audit (remediation_id, recipient)")
    stored, same_id, other = notification(), None, notification()
    other["remediation_id"], other["recipient"] = stored["remediation_id"], stored["recipient"]
    same_id = dict(stored)
    spool = Spool(tmp_path, 1 << 22)

    async def go():
        db = await open_db(db_url)
        try:
            await db.call("datastorage.record_notification", orjson.dumps(stored).decode())
            await spool.append("notification", orjson.dumps(same_id).decode())
            await spool.append("notification", orjson.dumps(other).decode())
            await spool.close()
            return await drain_all(spool, db)
        finally:
            await db.close()
    drainer = asyncio.run(go())
    assert (drainer.stats.duplicates, drainer.stats.records, drainer.stats.quarantined) == (1, 1, 1)
    (entry,) = [orjson.loads(line) for line in spool.quarantine_path.read_bytes().splitlines()]
    assert entry["reason"] == "permanent_error" and entry["detail"].startswith("23505")
    assert entry["ids"] == [other["notification_id"]]
    assert conn.execute("SELECT count(*) FROM notification_audit WHERE notification_id = %s",
                        (other["notification_id"],)).fetchone()[0] == 0
    assert list_segments(tmp_path) == []


CURSE_SQL = """
CREATE FUNCTION public.test_curse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.correlation_id LIKE 'cursed-%' THEN
        RAISE EXCEPTION 'this chain is cursed' USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_curse BEFORE INSERT ON public.audit_events
    FOR EACH ROW EXECUTE FUNCTION public.test_curse();
"""


def test_a_record_failing_forever_outside_22_23_is_quarantined_after_bounded_retries(
        tmp_path, db_url, conn):
    """SQLSTATE P0001 (not 22/23) on every attempt: the record is retried
    max_attempts times, then quarantined with the reason, and the records
    around it (same transaction group) are stored."""
    conn.execute(CURSE_SQL)
    spool = Spool(tmp_path, 1 << 22, max_attempts=3)
    good = f"fine-{uuid.uuid4()}"
    before, ids_before = rows([good], 2)
    cursed, cursed_ids = rows([f"cursed-{uuid.uuid4()}"], 1)
    after, ids_after = rows([good], 2)

    async def go():
        for payload in (before, cursed, after):
            await spool.append("audit_events", payload)
        await spool.close()
        db = await open_db(db_url)
        outcomes = []
        try:
            for _ in range(3):
                try:
                    outcomes.append(await Drainer(spool, db).drain_pass())
                except ReplayDeferred as exc:
                    outcomes.append(str(exc))
                    # Retried, not given up: nothing stored, nothing quarantined.
                    assert not spool.quarantine_path.exists()
                    assert spool.status().records == 3
            return outcomes
        finally:
            await db.close()
    outcomes = asyncio.run(go())
    assert [o if isinstance(o, int) else o.split(":")[0] for o in outcomes] == ["P0001", "P0001", 3]
    assert "attempt 2 of 3" in outcomes[1]
    assert stored_counts(conn, ids_before + ids_after) == {i: 1 for i in ids_before + ids_after}
    assert stored_counts(conn, cursed_ids) == {cursed_ids[0]: 0}
    (entry,) = [orjson.loads(line) for line in spool.quarantine_path.read_bytes().splitlines()]
    assert entry["reason"] == "retries_exhausted" and entry["detail"].startswith("P0001")
    assert "failed 3 times" in entry["detail"] and entry["ids"] == cursed_ids
    assert list_segments(tmp_path) == [] and verify(conn, good)


def test_the_quarantine_counts_against_capacity_and_is_reported(tmp_path, db_url, conn):
    from prometheus_client import REGISTRY
    capacity = 24 * 1024
    spool = Spool(tmp_path, capacity)
    cid = f"big-poison-{uuid.uuid4()}"
    ev = gateway_event(cid, parent_event_id=str(uuid.uuid4()))
    ev["event_data"]["alert_name"] = "x" * 12000
    orphan = events.prepare(ev, max_event_data_bytes=1 << 20)

    async def go():
        await spool.append("audit_events", events.payload([orphan.row]))
        await spool.close()
        db = await open_db(db_url)
        try:
            await drain_all(spool, db)
        finally:
            await db.close()
        quarantined = spool.quarantine_path.stat().st_size
        assert quarantined > 12000 and list_segments(tmp_path) == []
        accepted = 0
        with pytest.raises(SpoolFull):
            for _ in range(100):
                payload, _ = rows([f"fill-{uuid.uuid4()}"])
                await spool.append("audit_events", payload)
                accepted += len(payload)
        await spool.close()
        st = spool.publish()
        return quarantined, accepted, st
    quarantined, accepted, st = asyncio.run(go())
    # Without the quarantine the empty spool would have taken all of capacity.
    assert st.bytes + quarantined <= capacity and st.bytes < capacity - 12000
    assert accepted > 0 and st.quarantine_bytes == quarantined and st.quarantined == 1
    assert st.capacity_ratio == (st.bytes + quarantined) / capacity
    assert st.as_dict()["quarantine_bytes"] == quarantined
    assert REGISTRY.get_sample_value("datastorage_spool_quarantine_bytes") == quarantined
    assert REGISTRY.get_sample_value("datastorage_spool_quarantine_records") == 1


def test_a_record_past_its_deadline_every_time_is_quarantined_too(tmp_path, db_url, conn):
    """The per-call deadline (statement_timeout, SQLSTATE 57014) counts as a
    failed attempt like any other refusal outside 22/23."""
    conn.execute(CURSE_SQL.replace("RAISE EXCEPTION 'this chain is cursed' USING ERRCODE = 'P0001'",
                                   "PERFORM pg_sleep(5)"))
    spool = Spool(tmp_path, 1 << 22, max_attempts=2)
    slow, slow_ids = rows([f"cursed-{uuid.uuid4()}"], 1)

    async def go():
        await spool.append("audit_events", slow)
        await spool.close()
        db = Database(db_url, role="datastorage_app", min_size=1, max_size=2, timeout=0.5)
        await db.open()
        try:
            with pytest.raises(ReplayDeferred, match="57014"):
                await Drainer(spool, db).drain_pass()
            return await Drainer(spool, db).drain_pass()
        finally:
            await db.close()
    assert asyncio.run(go()) == 1
    (entry,) = [orjson.loads(line) for line in spool.quarantine_path.read_bytes().splitlines()]
    assert entry["reason"] == "retries_exhausted" and entry["detail"].startswith("57014")
    assert entry["ids"] == slow_ids and stored_counts(conn, slow_ids) == {slow_ids[0]: 0}
