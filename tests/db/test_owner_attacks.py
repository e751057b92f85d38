"""A legal hold survives the schema owner (issue 12 §1).

Every attack is performed for real by a non-superuser login that is a member
of datastorage_owner (nobody is granted that role in production; this is the
worst case of a leaked or mis-granted membership). Each statement runs in its
own transaction, so a refused step does not hide a later one; afterwards the
held events, the chain head's hold and the hold history must be intact and
every guard trigger in place.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from app.migrate import libpq_url

ATTACKER = "ds_test_mallory"


def as_login(url: str, user: str) -> str:
    parts = urlsplit(libpq_url(url))
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname or ''}"))


@pytest.fixture(scope="module")
def attacker(pg):
    with psycopg.connect(libpq_url(pg.url()), autocommit=True) as c:
        c.execute(f"DROP ROLE IF EXISTS {ATTACKER}")
        c.execute(f"CREATE ROLE {ATTACKER} LOGIN NOSUPERUSER IN ROLE datastorage_owner")
    try:
        yield ATTACKER
    finally:
        with psycopg.connect(libpq_url(pg.url()), autocommit=True) as c:
            c.execute(f"DROP ROLE IF EXISTS {ATTACKER}")


def _event(cid: str, ts: str) -> dict:
    return {"event_id": str(uuid.uuid4()), "event_timestamp": ts, "event_type": "t",
            "event_category": "gateway", "event_action": "a", "event_outcome": "success",
            "actor_type": "s", "actor_id": "x", "resource_type": "r", "resource_id": "r",
            "correlation_id": cid, "event_data": {}}


def _append(conn, *events) -> None:
    conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (json.dumps(list(events)),))


def _state(conn) -> tuple:
    return conn.execute("""
        SELECT (SELECT count(*) FROM audit_events WHERE correlation_id = 'held' AND legal_hold),
               (SELECT legal_hold FROM audit_chain_heads WHERE correlation_id = 'held'),
               (SELECT count(*) FROM audit_legal_holds)""").fetchone()


HELD_PART = "audit_events_2026_06"  # a fixed month: independent of today's date


def _held_partition(su, name: str = HELD_PART, start: str = "2026-06-01") -> None:
    """A partition as upkeep creates it: owned by datastorage_owner."""
    su.execute("SET ROLE datastorage_owner")
    su.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF audit_events "
               f"FOR VALUES FROM ('{start}') TO (date '{start}' + interval '1 month')")
    su.execute("RESET ROLE")

# name -> (preparation the owner may do, attack statements of which at least one is refused)
ATTACKS = {
    "update_hold_then_delete": ([], [
        "UPDATE audit_events SET legal_hold = false WHERE correlation_id = 'held'",
        "DELETE FROM audit_events WHERE correlation_id = 'held'"]),
    "rename_partition_then_drop": ([], [
        f"ALTER TABLE {HELD_PART} RENAME TO innocent", "DROP TABLE innocent",
        f"DROP TABLE {HELD_PART}"]),
    "set_schema_then_drop": ([], [
        f"ALTER TABLE {HELD_PART} SET SCHEMA datastorage", f"DROP TABLE datastorage.{HELD_PART}",
        f"DROP TABLE {HELD_PART}"]),
    "unhold_heads_then_drop": ([], [
        "UPDATE audit_chain_heads SET legal_hold = false", f"DROP TABLE {HELD_PART}"]),
    "delete_head_then_drop": ([], [
        "DELETE FROM audit_chain_heads", "TRUNCATE audit_chain_heads", f"DROP TABLE {HELD_PART}"]),
    "disable_trigger_then_delete": ([], [
        "ALTER TABLE audit_events DISABLE TRIGGER enforce_legal_hold",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        f"ALTER TABLE {HELD_PART} DISABLE TRIGGER ALL",
        "ALTER TABLE audit_events ENABLE REPLICA TRIGGER enforce_legal_hold",
        "DELETE FROM audit_events WHERE correlation_id = 'held'"]),
    "drop_guard_then_drop": ([], [
        "DROP FUNCTION datastorage_guard.ddl_end() CASCADE",
        "DROP EVENT TRIGGER datastorage_guard_end",
        "DROP SCHEMA datastorage_guard CASCADE",
        "DROP SCHEMA datastorage CASCADE",
        f"DROP TABLE {HELD_PART}"]),
    "truncate_handmade_partition": ([
        "CREATE TABLE public.audit_events_2097_01 PARTITION OF audit_events "
        "FOR VALUES FROM ('2097-01-01') TO ('2097-02-01')",
        "SELECT datastorage.append_audit_events(jsonb_build_array(jsonb_build_object("
        "'event_id', gen_random_uuid(), 'event_timestamp', '2097-01-15T00:00:00Z', 'event_type', 't', "
        "'event_category', 'gateway', 'event_action', 'a', 'event_outcome', 'success', 'actor_type', 's', "
        "'actor_id', 'x', 'resource_type', 'r', 'resource_id', 'r', 'correlation_id', 'held', "
        "'event_data', '{}'::jsonb)))"], [
        "TRUNCATE audit_events_2097_01", "DROP TABLE audit_events_2097_01"]),
    "truncate_attached_table": ([
        "CREATE TABLE public.side_table (LIKE audit_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
        "ALTER TABLE audit_events ATTACH PARTITION public.side_table "
        "FOR VALUES FROM ('2096-01-01') TO ('2096-02-01')",
        "SELECT datastorage.append_audit_events(jsonb_build_array(jsonb_build_object("
        "'event_id', gen_random_uuid(), 'event_timestamp', '2096-01-15T00:00:00Z', 'event_type', 't', "
        "'event_category', 'gateway', 'event_action', 'a', 'event_outcome', 'success', 'actor_type', 's', "
        "'actor_id', 'x', 'resource_type', 'r', 'resource_id', 'r', 'correlation_id', 'held', "
        "'event_data', '{}'::jsonb)))"], [
        "TRUNCATE public.side_table", "ALTER TABLE audit_events DETACH PARTITION public.side_table",
        "DROP TABLE public.side_table"]),
    "detach_then_drop": ([], [
        f"ALTER TABLE audit_events DETACH PARTITION {HELD_PART}", f"DROP TABLE {HELD_PART}",
        "DROP TABLE audit_events"]),
    "detach_concurrently": ([], [
        f"ALTER TABLE audit_events DETACH PARTITION {HELD_PART} CONCURRENTLY",
        f"ALTER TABLE audit_events DETACH PARTITION {HELD_PART} FINALIZE",
        f"DROP TABLE {HELD_PART}"]),
    "replace_guard_trigger": ([
        "CREATE FUNCTION datastorage.noop() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN OLD; END $$"], [
        "CREATE OR REPLACE TRIGGER enforce_legal_hold BEFORE DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION datastorage.noop()",
        "DROP TRIGGER enforce_legal_hold ON audit_events",
        "DELETE FROM audit_events WHERE correlation_id = 'held'"]),
    "weaken_guard_condition": ([], [
        "CREATE OR REPLACE TRIGGER enforce_legal_hold BEFORE DELETE ON audit_events "
        "FOR EACH ROW WHEN (false) EXECUTE FUNCTION datastorage_guard.refuse_held_delete()",
        "CREATE OR REPLACE TRIGGER audit_events_immutable BEFORE UPDATE ON audit_events "
        "FOR EACH ROW WHEN (false) EXECUTE FUNCTION datastorage_guard.refuse_audit_update()",
        f"CREATE OR REPLACE TRIGGER enforce_legal_hold BEFORE DELETE ON {HELD_PART} "
        "FOR EACH ROW WHEN (old.legal_hold AND false) EXECUTE FUNCTION datastorage_guard.refuse_held_delete()",
        "UPDATE audit_events SET legal_hold = false WHERE correlation_id = 'held'",
        "DELETE FROM audit_events WHERE correlation_id = 'held'"]),
    "trigger_rewrites_after_guard": ([
        "CREATE FUNCTION datastorage.unhold() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN NEW.legal_hold := false; RETURN NEW; END $$"], [
        "CREATE TRIGGER zzz_unhold BEFORE UPDATE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION datastorage.unhold()",
        "UPDATE audit_events SET legal_hold_reason = legal_hold_reason WHERE correlation_id = 'held'",
        "DELETE FROM audit_events WHERE correlation_id = 'held'"]),
    "rule_or_row_security": ([], [
        "CREATE RULE no_updates AS ON UPDATE TO audit_events DO INSTEAD NOTHING",
        "ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE audit_events FORCE ROW LEVEL SECURITY",
        f"DROP TABLE {HELD_PART}"]),
    "drop_or_swap_hold_column": ([], [
        "ALTER TABLE audit_events DROP COLUMN legal_hold CASCADE",
        "ALTER TABLE audit_events RENAME COLUMN legal_hold TO was_held",
        "ALTER TABLE audit_events ADD COLUMN legal_hold2 boolean NOT NULL DEFAULT false",
        "DELETE FROM audit_events WHERE correlation_id = 'held'"]),
    # A column rewrite sets every value without an UPDATE (no row trigger fires).
    "rewrite_hold_column": ([], [
        "ALTER TABLE audit_events ALTER COLUMN legal_hold TYPE boolean USING false",
        f"ALTER TABLE {HELD_PART} ALTER COLUMN legal_hold TYPE boolean USING false",
        "ALTER TABLE audit_chain_heads ALTER COLUMN legal_hold TYPE boolean USING false",
        "ALTER TABLE audit_chain_heads ALTER COLUMN legal_hold_reason TYPE text USING ''",
        "DELETE FROM audit_events WHERE correlation_id = 'held'"]),
    "forge_hold_history": ([], [
        "INSERT INTO audit_legal_holds (correlation_id, action, reason, actor, events_affected) "
        "VALUES ('held', 'release', 'forged', 'mallory', 2)",
        "TRUNCATE audit_legal_holds", "DROP TABLE audit_legal_holds",
        "ALTER TABLE audit_legal_holds RENAME TO history_old"]),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_owner_cannot_take_a_hold_away(name, attacker, db_url):
    prep, attack = ATTACKS[name]
    with psycopg.connect(libpq_url(db_url), autocommit=True) as su:
        _held_partition(su)
        _append(su, _event("held", "2026-06-10T10:00:00Z"), _event("held", "2026-06-11T10:00:00Z"),
                _event("free", "2026-06-10T10:00:00Z"))
        su.execute("SELECT datastorage.place_legal_hold('held', 'litigation', 'legal')")
        with psycopg.connect(as_login(db_url, attacker), autocommit=True) as owner:
            owner.execute("SET ROLE datastorage_owner")
            assert owner.execute("SELECT rolsuper FROM pg_roles WHERE rolname = session_user"
                                 ).fetchone() == (False,)
            for sql in prep:
                owner.execute(sql)
            before = _state(su)
            assert before[0] >= 2 and before[1] is True
            refused = []
            for sql in attack:
                try:
                    owner.execute(sql)
                except psycopg.Error as exc:
                    refused.append(exc.sqlstate)
        assert refused, f"{name}: every step went through"
        assert _state(su) == before, f"{name}: the hold was weakened"
        su.execute("SELECT datastorage_guard.check_guards('{}')")  # every guard still in place


def test_a_partition_without_held_rows_can_be_dropped_by_the_owner(attacker, db_url):
    with psycopg.connect(libpq_url(db_url), autocommit=True) as su:
        _held_partition(su, "audit_events_2031_01", "2031-01-01")
        _held_partition(su)
        _append(su, _event("held", "2026-06-10T10:00:00Z"), _event("free", "2031-01-10T10:00:00Z"))
        su.execute("SELECT datastorage.place_legal_hold('held', 'litigation', 'legal')")
        with psycopg.connect(as_login(db_url, attacker), autocommit=True) as owner:
            owner.execute("SET ROLE datastorage_owner")
            owner.execute("ALTER TABLE audit_events DETACH PARTITION audit_events_2031_01")
            owner.execute("DROP TABLE audit_events_2031_01")
        assert su.execute("SELECT to_regclass('audit_events_2031_01')").fetchone() == (None,)
        assert su.execute(f"SELECT count(*) FROM {HELD_PART} WHERE legal_hold").fetchone() == (1,)


def test_hold_changes_land_in_the_history(db_url):
    """The hold functions are the only way to change hold columns, and each call is recorded."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as su:
        _append(su, _event("h", "2026-06-10T10:00:00Z"))
        su.execute("SET ROLE datastorage_app")
        su.execute("SELECT datastorage.place_legal_hold('h', 'case 1', 'alice')")
        su.execute("SELECT datastorage.release_legal_hold('h', 'closed', 'bob')")
        su.execute("RESET ROLE")
        rows = su.execute("SELECT action, reason, actor FROM audit_legal_holds "
                          "WHERE correlation_id = 'h' ORDER BY id").fetchall()
        assert rows == [("place", "case 1", "alice"), ("release", "closed", "bob")]
        assert su.execute("SELECT pg_get_userbyid(proowner) FROM pg_proc "
                          "WHERE oid = 'datastorage.place_legal_hold(text,text,text)'::regprocedure"
                          ).fetchone() == ("datastorage_hold_keeper",)


def test_a_drop_waits_for_a_hold_being_placed(attacker, db_url):
    """The guard's look at a partition cannot be overtaken: a DROP that starts
    while a hold on its rows is being placed waits for it, then is refused."""
    part = "audit_events_2031_01"
    with psycopg.connect(libpq_url(db_url), autocommit=True) as su:
        _held_partition(su, part, "2031-01-01")
        _append(su, _event("late", "2031-01-10T10:00:00Z"))
        with psycopg.connect(libpq_url(db_url)) as holder, \
                psycopg.connect(as_login(db_url, attacker), autocommit=True) as owner:
            holder.execute("SELECT datastorage.place_legal_hold('late', 'case', 'legal')")
            owner.execute("SET ROLE datastorage_owner")
            pid = owner.info.backend_pid
            outcome = {}

            def drop():
                try:
                    owner.execute(f"DROP TABLE {part}")
                    outcome["result"] = "dropped"
                except psycopg.Error as exc:
                    outcome["result"] = exc.sqlstate

            worker = threading.Thread(target=drop)
            worker.start()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and worker.is_alive():
                waiting = su.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                     (pid,)).fetchone()
                if waiting == ("Lock",):
                    break
                time.sleep(0.02)
            assert worker.is_alive(), f"the DROP did not wait for the hold: {outcome}"
            holder.commit()
            worker.join(30)
        assert outcome.get("result") == "23503", outcome
        assert su.execute(f"SELECT count(*) FROM {part} WHERE legal_hold").fetchone() == (1,)


# The chain heads' guard runs only when it can refuse (a column list and a
# WHEN condition, 110_audit_immutability.sql), so the DDL guard must hold
# every guard trigger to its exact shape: events, timing, column list,
# condition, enablement. Each rewrite below keeps the trigger's name and
# function; the exploit beside it is what the rewrite would let the owner do.
HOLD_COLUMNS = "legal_hold, legal_hold_reason, legal_hold_placed_by, legal_hold_placed_at"
UNHOLD_HEAD = "UPDATE audit_chain_heads SET legal_hold = false WHERE correlation_id = 'held'"
DELETE_HEAD = "DELETE FROM audit_chain_heads WHERE correlation_id = 'held'"
HEAD_GUARD = "EXECUTE FUNCTION datastorage_guard.guard_chain_head()"
REWRITES = {
    "heads_update_when_false": (
        f"CREATE OR REPLACE TRIGGER audit_chain_heads_hold BEFORE UPDATE OF {HOLD_COLUMNS} "
        f"ON audit_chain_heads FOR EACH ROW WHEN (false) {HEAD_GUARD}", UNHOLD_HEAD),
    "heads_update_of_fewer_columns": (
        f"CREATE OR REPLACE TRIGGER audit_chain_heads_hold BEFORE UPDATE OF legal_hold "
        f"ON audit_chain_heads FOR EACH ROW {HEAD_GUARD}",
        "UPDATE audit_chain_heads SET legal_hold_reason = 'forged' WHERE correlation_id = 'held'"),
    "heads_update_of_another_column": (
        f"CREATE OR REPLACE TRIGGER audit_chain_heads_hold BEFORE UPDATE OF updated_at "
        f"ON audit_chain_heads FOR EACH ROW {HEAD_GUARD}", UNHOLD_HEAD),
    "heads_delete_when_weakened": (
        f"CREATE OR REPLACE TRIGGER audit_chain_heads_held_delete BEFORE DELETE ON audit_chain_heads "
        f"FOR EACH ROW WHEN (old.legal_hold AND false) {HEAD_GUARD}", DELETE_HEAD),
    "heads_delete_dropped": ("DROP TRIGGER audit_chain_heads_held_delete ON audit_chain_heads",
                             DELETE_HEAD),
    "heads_update_dropped": ("DROP TRIGGER audit_chain_heads_hold ON audit_chain_heads", UNHOLD_HEAD),
    "heads_update_disabled": ("ALTER TABLE audit_chain_heads DISABLE TRIGGER audit_chain_heads_hold",
                              UNHOLD_HEAD),
    "heads_delete_replica_only": (
        "ALTER TABLE audit_chain_heads ENABLE REPLICA TRIGGER audit_chain_heads_held_delete", DELETE_HEAD),
    "heads_own_before_update_trigger": (
        f"CREATE TRIGGER a_first BEFORE UPDATE ON audit_chain_heads FOR EACH ROW {HEAD_GUARD}", None),
    # The same hole in the older guards, closed by the same check.
    "events_update_of_another_column": (
        "CREATE OR REPLACE TRIGGER audit_events_immutable BEFORE UPDATE OF event_data ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION datastorage_guard.refuse_audit_update()",
        "UPDATE audit_events SET legal_hold = false WHERE correlation_id = 'held'"),
    "history_without_insert": (
        "CREATE OR REPLACE TRIGGER audit_legal_holds_append_only BEFORE UPDATE OR DELETE "
        "ON audit_legal_holds FOR EACH ROW EXECUTE FUNCTION datastorage_guard.guard_hold_history()",
        "INSERT INTO audit_legal_holds (correlation_id, action, reason, actor, events_affected) "
        "VALUES ('held', 'release', 'forged', 'mallory', 2)"),
}
TRIGGERS = """SELECT tgrelid::regclass::text, tgname, tgenabled, pg_get_triggerdef(oid)
              FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN
              ('audit_chain_heads'::regclass, 'audit_events'::regclass, 'audit_legal_holds'::regclass)
              ORDER BY 1, 2"""


def _sqlstate(conn, sql: str) -> str | None:
    try:
        conn.execute(sql)
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


def test_every_guard_trigger_keeps_its_exact_shape(attacker, db_url):
    with psycopg.connect(libpq_url(db_url), autocommit=True) as su:
        _held_partition(su)
        _append(su, _event("held", "2026-06-10T10:00:00Z"))
        su.execute("SELECT datastorage.place_legal_hold('held', 'litigation', 'legal')")
        # Each rewrite is a real weakening: made by a superuser (whom the
        # guard does not check), its exploit goes through as the owner.
        for name, (rewrite, exploit) in REWRITES.items():
            if exploit is None:
                continue
            with su.transaction(force_rollback=True):
                su.execute(rewrite)
                su.execute("SET LOCAL ROLE datastorage_owner")
                assert su.execute(exploit).rowcount == 1, name
        before, state = su.execute(TRIGGERS).fetchall(), _state(su)
        with psycopg.connect(as_login(db_url, attacker), autocommit=True) as owner:
            owner.execute("SET ROLE datastorage_owner")
            refusals = {name: _sqlstate(owner, rewrite) for name, (rewrite, _) in REWRITES.items()}
            assert refusals == dict.fromkeys(REWRITES, "42501")
            # So the exploits meet the guards.
            assert _sqlstate(owner, UNHOLD_HEAD) == "42501"
            assert _sqlstate(owner, DELETE_HEAD) == "23503"
        assert su.execute(TRIGGERS).fetchall() == before and _state(su) == state
        assert su.execute("SELECT datastorage_guard.note_guards()").fetchone() == (True,)


def test_appends_call_no_head_guard_and_a_held_chain_stays_held(db_url):
    """The head guard's function runs only for a change it may refuse: not
    for an append (which updates each head it touches), once per head for
    a hold placed or released; events appended to a held chain are held."""
    calls = "SELECT coalesce(pg_stat_get_xact_function_calls('datastorage_guard.guard_chain_head()'" \
            "::regprocedure), 0)"
    with psycopg.connect(libpq_url(db_url)) as su:
        su.execute("SET track_functions = 'pl'")
        _append(su, _event("a", "2026-06-10T10:00:00Z"), _event("b", "2026-06-10T10:00:00Z"))
        _append(su, _event("a", "2026-06-11T10:00:00Z"))
        assert su.execute(calls).fetchone() == (0,)
        su.execute("SET ROLE datastorage_app")
        su.execute("SELECT datastorage.place_legal_hold('a', 'case', 'legal')")
        su.execute("RESET ROLE")
        assert su.execute(calls).fetchone() == (1,)
        _append(su, _event("a", "2026-06-12T10:00:00Z"))
        assert su.execute(calls).fetchone() == (1,)
        assert su.execute("SELECT count(*) FILTER (WHERE legal_hold), count(*) FROM audit_events "
                          "WHERE correlation_id = 'a'").fetchone() == (3, 3)
        assert su.execute("SELECT legal_hold, last_seq FROM audit_chain_heads "
                          "WHERE correlation_id = 'a'").fetchone() == (True, 3)
        su.execute("SET ROLE datastorage_app")
        su.execute("SELECT datastorage.release_legal_hold('a', 'closed', 'legal')")
        su.execute("RESET ROLE")
        assert su.execute(calls).fetchone() == (2,)
        su.commit()


TABLE_REWRITES = [
    "ALTER TABLE audit_events ALTER COLUMN event_data TYPE jsonb USING '{\"forged\": true}'::jsonb",
    "ALTER TABLE audit_events ALTER COLUMN legal_hold_reason TYPE text USING 'forged'",
    f"ALTER TABLE {HELD_PART} SET UNLOGGED",
    "ALTER TABLE audit_chain_heads ALTER COLUMN last_hash TYPE text USING 'forged'",
    "ALTER TABLE audit_legal_holds ALTER COLUMN reason TYPE text USING 'forged'",
    "ALTER TABLE audit_event_ids ALTER COLUMN event_date TYPE date USING date '2000-01-01'",
]


def test_owner_cannot_rewrite_audit_records(attacker, db_url):
    """A table rewrite sets every row without an UPDATE (no row trigger
    fires): each is refused to the owner, and nothing it touched changed."""
    def content(conn):
        return conn.execute("""
            SELECT (SELECT array_agg((event_data, legal_hold_reason)::text ORDER BY event_id)
                      FROM audit_events),
                   (SELECT array_agg(last_hash ORDER BY correlation_id) FROM audit_chain_heads),
                   (SELECT array_agg(reason ORDER BY reason) FROM audit_legal_holds),
                   (SELECT array_agg(event_date ORDER BY event_id) FROM audit_event_ids),
                   (SELECT relpersistence FROM pg_class WHERE oid = %s::regclass)""",
                            (HELD_PART,)).fetchone()
    with psycopg.connect(libpq_url(db_url), autocommit=True) as su:
        _held_partition(su)
        _append(su, _event("held", "2026-06-10T10:00:00Z"), _event("free", "2026-06-10T10:00:00Z"))
        su.execute("SELECT datastorage.place_legal_hold('held', 'litigation', 'legal')")
        before = content(su)
        with psycopg.connect(as_login(db_url, attacker), autocommit=True) as owner:
            owner.execute("SET ROLE datastorage_owner")
            for sql in TABLE_REWRITES:
                with pytest.raises(psycopg.Error) as refused:
                    owner.execute(sql)
                assert refused.value.sqlstate == "42501", (sql, refused.value)
        assert content(su) == before
        su.execute("SELECT datastorage_guard.check_guards('{}')")
