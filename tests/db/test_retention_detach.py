"""Retention drops a fully expired month in two steps (docs/retention.md,
"Runs"): a short DETACH, committed, then the DROP. A run killed between the
two leaves a detached month that no verification sees and that the next run
drops; a step that cannot get the parent's lock soon gives up instead of
queueing every writer behind it; row-wise steps stay within their batch.
Every date is explicit (2020)."""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from app.migrate import libpq_url
from tests.db.test_owner_attacks import _append, _event

JAN = "audit_events_2020_01"
AS_OF = "2020-04-01"


def _chain(cid: str, first_day: int, n: int, days: int, month: str = "01") -> list[dict]:
    evs = [_event(cid, f"2020-{month}-{first_day:02d}T00:{i:02d}:00Z") for i in range(n)]
    for ev in evs:
        ev["retention_days"] = days
    return evs


@pytest.fixture
def su(db_url):
    """January expires whole (two chains); a held chain and a live one in March."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("SET ROLE datastorage_owner")
        for m, nxt in (("01", "02"), ("03", "04")):
            conn.execute(f"CREATE TABLE audit_events_2020_{m} PARTITION OF audit_events "
                         f"FOR VALUES FROM ('2020-{m}-01') TO ('2020-{nxt}-01')")
        conn.execute("RESET ROLE")
        _append(conn, *_chain("jan-a", 3, 4, 10), *_chain("jan-b", 5, 3, 10),
                *_chain("held", 2, 2, 1, "03"), *_chain("live", 2, 2, 36500, "03"))
        conn.execute("SELECT datastorage.place_legal_hold('held', 'litigation', 'legal')")
        yield conn


def _maintenance(db_url: str) -> psycopg.Connection:
    conn = psycopg.connect(libpq_url(db_url), autocommit=True)
    conn.execute("SET ROLE datastorage_maintenance")
    return conn


def _all_chains(su) -> dict:
    rows = su.execute("SELECT correlation_id, is_valid, expired, total_events FROM "
                      "datastorage.verify_chains(ARRAY(SELECT correlation_id FROM audit_chain_heads))")
    return {r[0]: r[1:] for r in rows}


def _detached(su) -> tuple | None:
    return su.execute("SELECT relispartition FROM pg_class WHERE oid = to_regclass(%s)",
                      (JAN,)).fetchone()


def test_a_run_killed_between_detach_and_drop_resumes_cleanly(su, db_url):
    m = _maintenance(db_url)
    run = m.execute("SELECT datastorage.retention_begin(%s, 'test')", (AS_OF,)).fetchone()[0]
    step = m.execute("SELECT datastorage.retention_step(%s)", (run,)).fetchone()[0]
    assert step.pop("locked_ms") >= 0
    assert step == {"action": "detach", "partition": JAN, "events": 7, "chains": 2}
    # Killed for real: its session ends before the drop step.
    pid = m.info.backend_pid
    assert su.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    with pytest.raises(psycopg.OperationalError):
        m.execute("SELECT datastorage.retention_step(%s)", (run,))
    m.close()

    # The month is detached, not dropped: out of audit_events, its chains'
    # horizons committed with the DETACH, so every chain still verifies.
    assert _detached(su) == (False,)
    assert su.execute(f"SELECT count(*) FROM {JAN}").fetchone() == (7,)
    assert su.execute("SELECT count(*) FROM audit_events WHERE correlation_id LIKE 'jan-%'"
                      ).fetchone() == (0,)
    chains = _all_chains(su)
    assert chains["jan-a"] == (True, True, 0) and chains["jan-b"] == (True, True, 0)
    assert all(valid for valid, *_ in chains.values()), chains
    assert su.execute("SELECT status, partitions_detached, partitions_dropped FROM audit_retention_runs "
                      "WHERE run_id = %s", (run,)).fetchone() == ("running", [JAN], [])
    # The dry run says the next run will drop it.
    plan = su.execute("SELECT datastorage.retention_plan(%s)", (AS_OF,)).fetchone()[0]
    assert plan["partitions_to_drop"] == [JAN]

    # The next run marks the dead one abandoned and drops the leftover.
    with _maintenance(db_url) as m2:
        record = m2.execute("SELECT datastorage.enforce_retention(%s)", (AS_OF,)).fetchone()[0]
    assert record["status"] == "succeeded" and record["partitions_dropped"] == [JAN], record
    assert record["events_deleted"] == 0, "the killed run already counted January's events"
    assert _detached(su) is None
    assert su.execute("SELECT status, error LIKE 'abandoned%%' FROM audit_retention_runs "
                      "WHERE run_id = %s", (run,)).fetchone() == ("failed", True)
    assert _all_chains(su) == chains
    assert su.execute("SELECT count(*) FROM audit_events WHERE correlation_id IN ('held', 'live')"
                      ).fetchone() == (4,)


def test_a_step_gives_up_the_parent_lock_instead_of_queueing_writers(su, db_url):
    """A long reader holds audit_events: the detach step waits at most a
    moment per try, then fails and leaves everything as it was; the next
    step, once the reader is gone, detaches."""
    reader = psycopg.connect(libpq_url(db_url))
    reader.execute("SELECT count(*) FROM audit_events")  # its transaction stays open
    with _maintenance(db_url) as m:
        run = m.execute("SELECT datastorage.retention_begin(%s, 'test')", (AS_OF,)).fetchone()[0]
        with pytest.raises(psycopg.errors.LockNotAvailable):
            m.execute("SELECT datastorage.retention_step(%s)", (run,))
        assert _detached(su) == (True,)
        assert su.execute("SELECT count(*) FROM audit_retention_horizons").fetchone() == (0,)
        # Writers were never locked out for good: an append goes through now.
        _append(su, _event(f"w-{uuid.uuid4()}", "2020-03-20T00:00:00Z"))
        reader.rollback()
        reader.close()
        step = m.execute("SELECT datastorage.retention_step(%s)", (run,)).fetchone()[0]
        assert step["action"] == "detach", step
        step = m.execute("SELECT datastorage.retention_step(%s)", (run,)).fetchone()[0]
        assert step.pop("locked_ms") >= 0
        assert step == {"action": "drop", "partition": JAN, "events": 0}
        m.execute("SELECT datastorage.retention_finish(%s)", (run,))
    assert _detached(su) is None


def test_only_a_table_retention_detached_is_dropped_as_leftover(su, db_url):
    """A month someone else detached (it held nothing, so the guard let it)
    is not retention's to drop: the run leaves it alone."""
    su.execute("SET ROLE datastorage_owner")
    su.execute(f"ALTER TABLE audit_events DETACH PARTITION {JAN}")
    su.execute("RESET ROLE")
    with _maintenance(db_url) as m:
        record = m.execute("SELECT datastorage.enforce_retention(%s)", (AS_OF,)).fetchone()[0]
    assert record["status"] == "succeeded", record
    assert record["partitions_dropped"] == [] and record["partitions_detached"] == [], record
    assert _detached(su) == (False,)


def test_run_retention_keeps_every_delete_step_within_its_batch(su, db_url):
    """Row-wise steps stay small: never above p_batch events (plus at most
    the rest of the last chain taken), however fast the machine."""
    feb = [ev for k in range(60) for ev in _chain(f"feb-{k}", 10, 5, 1, "02")]  # the default partition
    _append(su, *feb)
    steps: list[dict] = []
    with _maintenance(db_url) as m:
        m.add_notice_handler(lambda d: steps.append(json.loads(d.message_primary)))
        record = m.execute("CALL datastorage.run_retention(%s, 'test', 50, NULL)", (AS_OF,)).fetchone()[0]
    deletes = [s for s in steps if s["action"] == "delete"]
    assert record["status"] == "succeeded" and record["events_deleted"] == 7 + 300, record
    assert [s["action"] for s in steps[:3]] == ["plan", "detach", "drop"]
    assert sum(s["events"] for s in deletes) == 300 and len(deletes) >= 6, deletes
    assert all(s["events"] <= 50 + 4 for s in deletes), deletes


def test_a_run_rests_between_steps_as_long_as_it_is_told(su, db_url):
    """datastorage.retention_pause: after each step the run sleeps that many
    times the step's own time, so it can never take less wall time than
    (1 + pause) x the steps' time (a lower bound: true on any machine)."""
    _append(su, *[ev for k in range(20) for ev in _chain(f"feb-{k}", 10, 5, 1, "02")])
    steps: list[dict] = []
    with _maintenance(db_url) as m:
        m.add_notice_handler(lambda d: steps.append(json.loads(d.message_primary)))
        m.execute("SET datastorage.retention_pause = 4")
        record = m.execute("CALL datastorage.run_retention(%s, 'test', 20, NULL)", (AS_OF,)).fetchone()[0]
        took = m.execute("SELECT extract(epoch FROM finished_at - started_at)::float8 "
                         "FROM audit_retention_runs WHERE run_id = %s", (record["run_id"],)).fetchone()[0]
    work = sum(s["seconds"] for s in steps if s["action"] != "plan")
    assert record["status"] == "succeeded" and record["events_deleted"] == 7 + 100, record
    assert len(steps) >= 6 and took >= 5 * work, (took, work, steps)


@pytest.mark.parametrize("value", ["-1", "101", "NaN"])
def test_a_pause_out_of_range_is_refused_before_the_run_starts(su, db_url, value):
    with _maintenance(db_url) as m:
        m.execute("SELECT set_config('datastorage.retention_pause', %s, false)", (value,))
        with pytest.raises(psycopg.Error, match="retention_pause must lie between 0 and 100"):
            m.execute("CALL datastorage.run_retention(%s, 'test', 20, NULL)", (AS_OF,))
        assert m.execute("SELECT count(*) FROM audit_retention_runs").fetchone()[0] == 0
