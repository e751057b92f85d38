"""`datastorage migrate` is idempotent, safe to run concurrently, and re-applies
function files every time."""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import psycopg

from app.migrate import libpq_url, migrate
from harness import ROOT


def _fresh(pg, name):
    with psycopg.connect(libpq_url(pg.url()), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return pg.url(name)


def test_migrate_twice_is_a_no_op(pg):
    url = _fresh(pg, "ds_migrate_twice")
    assert migrate(url) >= 2
    assert migrate(url) == 0
    with psycopg.connect(libpq_url(url)) as c:
        assert c.execute("SELECT to_regprocedure('datastorage.append_audit_events(jsonb)')"
                         ).fetchone()[0] is not None


def test_concurrent_migrations_from_two_replicas(pg):
    url = _fresh(pg, "ds_migrate_concurrent")
    env_cmd = [sys.executable, "-m", "app.cli", "migrate"]
    import os
    env = {**os.environ, "DS_DATABASE_URL": url}

    def run(_):
        return subprocess.run(env_cmd, cwd=ROOT, env=env, capture_output=True, text=True)

    with ThreadPoolExecutor(3) as ex:
        results = list(ex.map(run, range(3)))
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    applied = sorted(int(r.stdout.split(": ")[1].split()[0]) for r in results)
    assert applied[0] == 0 and applied[-1] >= 2, applied  # exactly one replica applied them


def test_functions_are_reapplied_without_a_migration(pg):
    url = _fresh(pg, "ds_migrate_reapply")
    migrate(url)
    with psycopg.connect(libpq_url(url), autocommit=True) as c:
        c.execute("DROP FUNCTION datastorage.list_legal_holds()")
    assert migrate(url) == 0
    with psycopg.connect(libpq_url(url)) as c:
        assert c.execute("SELECT to_regprocedure('datastorage.list_legal_holds()')").fetchone()[0]


def test_an_older_head_guard_is_replaced_and_the_guards_are_intact(db_url):
    """A database migrated before the chain heads' guard had WHEN conditions
    (one trigger for UPDATE and DELETE) comes out of migrate with the two
    narrower triggers and the DDL guard finding every guard intact."""
    url = libpq_url(db_url)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("DROP TRIGGER audit_chain_heads_held_delete ON audit_chain_heads")
        c.execute("CREATE OR REPLACE TRIGGER audit_chain_heads_hold BEFORE UPDATE OR DELETE "
                  "ON audit_chain_heads FOR EACH ROW EXECUTE FUNCTION datastorage_guard.guard_chain_head()")
        assert c.execute("SELECT datastorage_guard.note_guards()").fetchone() == (False,)
    assert migrate(db_url) == 0
    with psycopg.connect(url) as c:
        assert c.execute("SELECT intact FROM datastorage_guard.ddl_state").fetchone() == (True,)
        heads = c.execute("""
            SELECT tgname, tgtype, tgattr::text,
                   substring(pg_get_triggerdef(oid) FROM ' WHEN \\((.*)\\) EXECUTE ')
            FROM pg_trigger WHERE tgrelid = 'audit_chain_heads'::regclass
            AND tgname <> 'audit_chain_heads_no_truncate' ORDER BY 1""").fetchall()
        assert heads == [("audit_chain_heads_held_delete", 11, "", "old.legal_hold"),
                         ("audit_chain_heads_hold", 19, "5 6 7 8", None)]
        assert c.execute("SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute "
                         "WHERE attrelid = 'audit_chain_heads'::regclass AND attnum BETWEEN 5 AND 8"
                         ).fetchone() == (["legal_hold", "legal_hold_reason", "legal_hold_placed_by",
                                           "legal_hold_placed_at"],)
