"""Retention on a 3-node Citus cluster, through the coordinator
(docs/scaling-out.md, "Retention"): expired prefixes leave, held chains keep
every event, chains verify from their horizons afterwards, a dry run changes
nothing, the app role is refused, a second concurrent run is told "already
running". Dates are relative to the database clock."""
from __future__ import annotations

import json
import threading
import uuid

import psycopg
import pytest

from harness import poll

from tests.api.test_cli import run_cli
from tests.citus.test_cluster_rules import as_role, event


def ago(coord, days: int) -> str:
    return coord.execute("SELECT to_char(now() - make_interval(days => %s),"
                         " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')", (days,)).fetchone()[0]


def append(coord, cid: str, evs: list[dict]) -> None:
    as_role(coord, "datastorage_app", "SELECT datastorage.append_chain_events(%s, %s)",
            cid, json.dumps(evs))


def count(coord, cid: str) -> int:
    return coord.execute("SELECT count(*) FROM audit_events WHERE correlation_id = %s",
                         (cid,)).fetchone()[0]


def verdict(coord, cid: str) -> tuple:
    return as_role(coord, "datastorage_app",
                   "SELECT is_valid, total_events, pruned_events, expired"
                   " FROM datastorage.verify_one_chain(%s)", cid).fetchone()


@pytest.fixture
def chains(coord):
    """pruned: two expired events, then one that is not; held: two expired,
    under hold; gone: every event expired."""
    tag = uuid.uuid4().hex[:8]
    c = {k: f"ret-{k}-{tag}" for k in ("pruned", "held", "gone")}
    old = ago(coord, 40)
    append(coord, c["pruned"], [event(c["pruned"], ts=old, retention_days=1) for _ in range(2)]
           + [event(c["pruned"], ts=ago(coord, 1))])
    append(coord, c["held"], [event(c["held"], ts=old, retention_days=1) for _ in range(2)])
    as_role(coord, "datastorage_app", "SELECT datastorage.place_legal_hold(%s, 'case', 'legal')",
            c["held"])
    append(coord, c["gone"], [event(c["gone"], ts=old, retention_days=1) for _ in range(3)])
    return c


def test_dry_run_then_run_prunes_expired_keeps_held_and_chains_verify(coord, chains):
    before = {k: count(coord, cid) for k, cid in chains.items()}
    runs = coord.execute("SELECT count(*) FROM audit_retention_runs").fetchone()[0]
    plan = as_role(coord, "datastorage_maintenance",
                   "SELECT datastorage.enforce_retention(p_dry_run => true)").fetchone()[0]
    by_chain = {c["correlation_id"]: c for c in plan["chains"]}
    assert by_chain[chains["pruned"]]["prunable_events"] == 2
    assert by_chain[chains["held"]]["held"] is True and by_chain[chains["held"]]["prunable_events"] == 0
    assert by_chain[chains["gone"]]["whole_chain"] is True
    assert {k: count(coord, cid) for k, cid in chains.items()} == before
    assert coord.execute("SELECT count(*) FROM audit_retention_runs").fetchone()[0] == runs

    record = as_role(coord, "datastorage_maintenance",
                     "CALL datastorage.run_retention(now(), 'test', 10000, NULL)").fetchone()[0]
    assert record["status"] == "succeeded", record
    assert count(coord, chains["pruned"]) == 1
    assert count(coord, chains["held"]) == 2
    assert count(coord, chains["gone"]) == 0
    assert verdict(coord, chains["pruned"]) == (True, 1, 2, False)
    assert verdict(coord, chains["held"]) == (True, 2, 0, False)
    assert verdict(coord, chains["gone"]) == (True, 0, 3, True)


def test_app_role_refused_and_a_second_run_is_told_already_running(citus_db, coord):
    cid = f"ret-lock-{uuid.uuid4().hex[:8]}"
    append(coord, cid, [event(cid, ts=ago(coord, 40), retention_days=1) for _ in range(2)])
    with pytest.raises(psycopg.Error) as err:
        as_role(coord, "datastorage_app", "SELECT datastorage.enforce_retention()")
    assert err.value.sqlstate == "42501", str(err.value)
    with psycopg.connect(citus_db, autocommit=True) as first:
        run = as_role(first, "datastorage_maintenance",
                      "SELECT datastorage.retention_begin(now(), 'first')").fetchone()[0]
        with pytest.raises(psycopg.Error) as err:
            as_role(coord, "datastorage_maintenance", "SELECT datastorage.enforce_retention()")
        assert "already running" in str(err.value)
        assert count(coord, cid) == 2
        as_role(first, "datastorage_maintenance", "SELECT datastorage.retention_finish(%s)", run)
    record = as_role(coord, "datastorage_maintenance", "SELECT datastorage.enforce_retention()").fetchone()[0]
    assert record["status"] == "succeeded" and count(coord, cid) == 0
    assert verdict(coord, cid) == (True, 0, 2, True)


def month(coord, name: str, start: str, end: str) -> None:
    as_role(coord, "datastorage_owner",
            f"CREATE TABLE {name} PARTITION OF audit_events FOR VALUES FROM ('{start}') TO ('{end}')")


def test_expired_months_are_emptied_row_by_row_and_held_rows_stay(coord):
    """Chains spread over the shards; 2020-01 expires whole, 2020-02 too but
    one chain in it is held (on one shard only). A cluster drops no month
    (sql/citus/37_functions_retention.sql): January is emptied row by row,
    February keeps exactly the held chain's rows."""
    tag = uuid.uuid4().hex[:8]
    month(coord, "audit_events_2020_01", "2020-01-01", "2020-02-01")
    month(coord, "audit_events_2020_02", "2020-02-01", "2020-03-01")
    jan = [f"jan-{i}-{tag}" for i in range(6)]
    feb = [f"feb-{i}-{tag}" for i in range(6)]
    for i, cid in enumerate(jan):
        append(coord, cid, [event(cid, ts=f"2020-01-{10 + i:02d}T00:00:0{j}Z", retention_days=10)
                            for j in range(3)])
    for i, cid in enumerate(feb):
        append(coord, cid, [event(cid, ts=f"2020-02-{10 + i:02d}T00:00:0{j}Z", retention_days=10)
                            for j in range(2)])
    # A chain across the two months: its February row goes row by row
    # when January is detached.
    cross = f"cross-{tag}"
    append(coord, cross, [event(cross, ts=f"2020-01-2{j}T00:00:00Z", retention_days=10) for j in range(2)]
           + [event(cross, ts="2020-02-20T00:00:00Z", retention_days=10)])
    as_role(coord, "datastorage_app", "SELECT datastorage.place_legal_hold(%s, 'case', 'legal')", feb[0])
    shards = coord.execute("SELECT count(DISTINCT get_shard_id_for_distribution_column('audit_events', c))"
                           " FROM unnest(%s::text[]) c", (jan,)).fetchone()[0]
    assert shards > 1

    plan = as_role(coord, "datastorage_maintenance",
                   "SELECT datastorage.enforce_retention(p_dry_run => true)").fetchone()[0]
    parts = {p["partition"]: p for p in plan["partitions"]}
    assert parts["audit_events_2020_01"]["prunable_events"] == parts["audit_events_2020_01"]["events"] == 20
    assert parts["audit_events_2020_02"]["held_events"] == 2
    assert not any(p["droppable"] for p in plan["partitions"]) and plan["partitions_to_drop"] == []

    record = as_role(coord, "datastorage_maintenance",
                     "CALL datastorage.run_retention(now(), 'test', 10000, NULL)").fetchone()[0]
    assert record["status"] == "succeeded", record
    assert record["partitions_dropped"] == [] and record["events_deleted"] >= 31
    assert coord.execute("SELECT count(*) FROM audit_events_2020_01").fetchone()[0] == 0
    assert coord.execute("SELECT count(*) FROM audit_events_2020_02").fetchone()[0] == 2
    assert count(coord, feb[0]) == 2 and count(coord, cross) == 0
    for cid in jan + feb[1:] + [cross]:
        assert verdict(coord, cid) == (True, 0, 2 if cid in feb else 3, True), cid
    assert verdict(coord, feb[0]) == (True, 2, 0, False)
    # The same through the coordinator, many chains at once (not delegated).
    rows = as_role(coord, "datastorage_app", "SELECT correlation_id, is_valid, expired"
                   " FROM datastorage.verify_chains(%s)", jan + feb + [cross]).fetchall()
    assert {r[0]: (r[1], r[2]) for r in rows} == {
        c: (True, c != feb[0]) for c in jan + feb + [cross]}


def test_cli_plan_and_run_against_the_coordinator(citus_db, coord):
    cid = f"ret-cli-{uuid.uuid4().hex[:8]}"
    append(coord, cid, [event(cid, ts=ago(coord, 40), retention_days=1) for _ in range(2)]
           + [event(cid, ts=ago(coord, 1))])
    env = {"DS_DATABASE_URL": citus_db}
    plan = run_cli("retention", "plan", "--json", env=env)
    assert plan.returncode == 0, plan.stderr
    mine = {c["correlation_id"]: c for c in json.loads(plan.stdout)["chains"]}
    assert mine[cid]["prunable_events"] == 2 and count(coord, cid) == 3
    run = run_cli("retention", "run", "--json", env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["status"] == "succeeded" and record["started_by"] == "cli"
    assert count(coord, cid) == 1
    assert verdict(coord, cid) == (True, 1, 2, False)


def test_writers_keep_writing_while_a_month_is_pruned(citus_db, coord):
    """Appends to live chains run throughout a run that empties a month:
    the run succeeds and every acknowledged event is there afterwards."""
    tag = uuid.uuid4().hex[:8]
    month(coord, "audit_events_2019_06", "2019-06-01", "2019-07-01")
    old = [f"jun-{i}-{tag}" for i in range(8)]
    for i, cid in enumerate(old):
        append(coord, cid, [event(cid, ts=f"2019-06-{10 + i:02d}T00:00:00Z", retention_days=10)])
    live = [f"live-{i}-{tag}" for i in range(4)]
    acked: list[str] = []
    stop = threading.Event()

    def write(k: int) -> None:
        with psycopg.connect(citus_db, autocommit=True) as w:
            i = 0
            while not stop.is_set():
                cid = live[(i + k) % len(live)]
                ev = event(cid, ts=ago(w, 0))
                append(w, cid, [ev])
                acked.append(ev["event_id"])
                i += 1

    threads = [threading.Thread(target=write, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    try:
        poll(lambda: len(acked) >= 5, timeout=60, what="writes before the run")
        record = as_role(coord, "datastorage_maintenance",
                         "CALL datastorage.run_retention(now(), 'test', 10000, NULL)").fetchone()[0]
        n = len(acked)
        poll(lambda: len(acked) >= n + 5, timeout=60, what="writes after the run")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert record["status"] == "succeeded", record
    assert all(count(coord, cid) == 0 for cid in old)
    assert coord.execute("SELECT count(*) FROM audit_events WHERE event_id = ANY (%s::uuid[])",
                         (acked,)).fetchone()[0] == len(acked)
    rows = as_role(coord, "datastorage_app", "SELECT bool_and(is_valid) FROM datastorage.verify_chains(%s)",
                   live + old).fetchone()
    assert rows == (True,)
