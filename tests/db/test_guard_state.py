"""The DDL guard's memory (datastorage_guard.ddl_state, issue 14): whether
the guards were intact when last looked at. While it says so, a DDL command
skips listing what was already wrong before it and is blamed for everything
wrong after it. So no value of it can let an attack through: the owner
cannot write it, a stale "intact" refuses even harmless DDL (fail closed)
until note_guards() records the truth, and a forged "not intact" only makes
the guard list again. Attacks by a real non-superuser login (as in
test_owner_attacks.py)."""
from __future__ import annotations

import psycopg
import pytest

from app.migrate import libpq_url
from tests.db.test_owner_attacks import _append, _event, _held_partition, _sqlstate, _state, as_login
from tests.db.test_owner_attacks import attacker  # noqa: F401  (a fixture)

HARMLESS = "COMMENT ON TABLE audit_events IS 'harmless'"
ATTACK = "ALTER TABLE audit_events DISABLE TRIGGER enforce_legal_hold"


def _intact(su) -> bool:
    return su.execute("SELECT intact FROM datastorage_guard.ddl_state").fetchone()[0]


@pytest.fixture
def held(db_url, attacker):
    """(superuser, owner) connections; a held chain in a partition."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as su:
        _held_partition(su)
        _append(su, _event("held", "2026-06-10T10:00:00Z"), _event("held", "2026-06-11T10:00:00Z"))
        su.execute("SELECT datastorage.place_legal_hold('held', 'litigation', 'legal')")
        with psycopg.connect(as_login(db_url, attacker), autocommit=True) as owner:
            owner.execute("SET ROLE datastorage_owner")
            yield su, owner


def test_a_migrated_database_starts_intact(held):
    su, owner = held
    assert _intact(su) is True
    assert _sqlstate(owner, HARMLESS) is None
    assert _sqlstate(owner, ATTACK) == "42501"


def test_the_owner_cannot_write_the_guard_state(held):
    su, owner = held
    su.execute("UPDATE datastorage_guard.ddl_state SET intact = false")
    for sql in ("UPDATE datastorage_guard.ddl_state SET intact = true",
                "DELETE FROM datastorage_guard.ddl_state",
                "INSERT INTO datastorage_guard.ddl_state (one, intact) VALUES (false, true)",
                "TRUNCATE datastorage_guard.ddl_state",
                "DROP TABLE datastorage_guard.ddl_state",
                "ALTER TABLE datastorage_guard.ddl_state RENAME TO x",
                "CREATE OR REPLACE FUNCTION datastorage_guard.guards_intact() RETURNS boolean "
                "LANGUAGE sql AS $$ SELECT true $$"):
        assert _sqlstate(owner, sql) == "42501", sql
    assert _intact(su) is False
    # What it may do (note_guards) writes the truth, not a value of its own.
    assert owner.execute("SELECT datastorage_guard.note_guards()").fetchone() == (True,)
    assert _intact(su) is True


def test_a_stale_intact_state_fails_closed(held):
    su, owner = held
    # A superuser breaks a guard with the event triggers off: the state
    # still says intact, and nothing told the guard otherwise.
    su.execute("ALTER EVENT TRIGGER datastorage_guard_end DISABLE")
    su.execute("ALTER EVENT TRIGGER datastorage_guard_start DISABLE")
    su.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable")
    su.execute("ALTER EVENT TRIGGER datastorage_guard_start ENABLE")
    su.execute("ALTER EVENT TRIGGER datastorage_guard_end ENABLE")
    assert _intact(su) is True
    before = _state(su)

    # Every owner command is now blamed for the superuser's leftover: refused.
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        owner.execute(HARMLESS)
    assert "audit_events_immutable" in refused.value.diag.message_primary
    assert "note_guards" in refused.value.diag.message_hint
    assert _sqlstate(owner, ATTACK) == "42501"

    # Recording the truth excuses the leftover and nothing else.
    assert owner.execute("SELECT datastorage_guard.note_guards()").fetchone() == (False,)
    assert _intact(su) is False
    assert _sqlstate(owner, HARMLESS) is None
    assert _sqlstate(owner, ATTACK) == "42501"
    assert _sqlstate(owner, "DELETE FROM audit_events WHERE correlation_id = 'held'") == "23503"
    assert _state(su) == before

    # Repaired (by the superuser), the next command that passes records it.
    su.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable")
    assert _intact(su) is False
    assert _sqlstate(owner, HARMLESS) is None
    assert _intact(su) is True
    assert _sqlstate(owner, ATTACK) == "42501"


def test_a_forged_not_intact_state_changes_no_verdict(held):
    su, owner = held
    su.execute("UPDATE datastorage_guard.ddl_state SET intact = false")
    before = _state(su)
    for sql in (ATTACK, "ALTER TABLE audit_events_2026_06 RENAME TO innocent",
                "ALTER TABLE audit_events DETACH PARTITION audit_events_2026_06",
                "DROP TABLE audit_events_2026_06"):
        assert _sqlstate(owner, sql) in ("42501", "23503"), sql
        assert _intact(su) is False  # a refused command records nothing
    assert _state(su) == before
    assert _sqlstate(owner, HARMLESS) is None
    assert _intact(su) is True


def test_what_a_superuser_leaves_with_the_guard_on_is_not_held_against_the_owner(held):
    su, owner = held
    su.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable")
    assert _intact(su) is False  # the superuser's DDL is not checked: nothing known
    assert _sqlstate(owner, HARMLESS) is None
    assert _intact(su) is False  # still broken: still listed before each command
    assert _sqlstate(owner, ATTACK) == "42501"



def test_a_hold_over_many_events_still_keeps_its_partitions(held):
    """More than 1,000 held rows: the guard asks partition by partition."""
    su, owner = held
    _held_partition(su, "audit_events_2031_01", "2031-01-01")
    _held_partition(su, "audit_events_2031_02", "2031-02-01")
    _append(su, *(_event("long", f"2031-01-{1 + i // 60:02d}T00:{i % 60:02d}:00Z") for i in range(1200)),
            _event("long", "2031-02-03T00:00:00Z"), _event("free", "2031-02-03T00:00:00Z"))
    _held_partition(su, "audit_events_2031_03", "2031-03-01")
    _append(su, _event("free", "2031-03-03T00:00:00Z"))
    su.execute("SELECT datastorage.place_legal_hold('long', 'litigation', 'legal')")
    assert su.execute("SELECT count(*) FROM audit_events WHERE legal_hold").fetchone()[0] > 1001
    held_names = {h["name"] for h in su.execute("SELECT datastorage_guard.held_partitions()").fetchone()[0]}
    assert held_names == {f"public.audit_events_{m}" for m in ("2026_06", "2031_01", "2031_02")}
    for part in ("audit_events_2031_01", "audit_events_2031_02"):
        assert _sqlstate(owner, f"ALTER TABLE audit_events DETACH PARTITION {part}") == "23503"
        assert _sqlstate(owner, f"DROP TABLE {part}") == "23503"
    assert _sqlstate(owner, "ALTER TABLE audit_events DETACH PARTITION audit_events_2031_03") is None
    assert _sqlstate(owner, "DROP TABLE audit_events_2031_03") is None
